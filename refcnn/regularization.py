"""Weight decay (the article's ``weight_decay`` dict: ``func``, ``back_func``,
``params``), applied by the trainer to the weights ``W`` of ``affine``,
``maxout`` and ``convolution2d`` (never to biases or normalization scales).

* L2: penalty ``lambda/2 * sum(W**2)``, gradient ``lambda * W`` (what
  ``weight_decay=lambda`` in ``torch.optim.SGD`` adds to the gradient);
* L1: penalty ``lambda * sum(|W|)``, gradient ``lambda * sign(W)``.

The penalty is added to the training loss that ``learn`` reports.
"""

from __future__ import annotations

import numpy as np

__all__ = ["l2", "l2_back", "l1", "l1_back"]


def l2(W: np.ndarray, weight_decay_lambda: float = 0.01) -> float:
    return float(0.5 * weight_decay_lambda * np.sum(W * W))


def l2_back(W: np.ndarray, weight_decay_lambda: float = 0.01) -> np.ndarray:
    return weight_decay_lambda * W


def l1(W: np.ndarray, weight_decay_lambda: float = 0.01) -> float:
    return float(weight_decay_lambda * np.sum(np.abs(W)))


def l1_back(W: np.ndarray, weight_decay_lambda: float = 0.01) -> np.ndarray:
    return weight_decay_lambda * np.sign(W)
