"""A whole training step of the article's network against the same network in
torch, with the same weights: loss, every gradient, every updated weight."""

from __future__ import annotations

import numpy as np
import pytest

import refcnn

torch = pytest.importorskip("torch")
F = torch.nn.functional
from refcnn.conformance.expected import torch_reference as tr  # noqa: E402 - needs torch

PARAMS = [
    ("conv1", "W"),
    ("conv1", "b"),
    ("affine1", "W"),
    ("affine1", "b"),
    ("affine2", "W"),
    ("affine2", "b"),
    ("affine3", "W"),
    ("affine3", "b"),
]


def batch(n: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1)), rng.integers(0, 10, n)


def to_nchw(x: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def test_loss_and_every_gradient_match_torch() -> None:
    model = refcnn.article_model(seed=3)
    x, labels = batch()
    loss, grads = refcnn.gradients(model, x, labels)
    net = tr.article_network(model)
    torch_loss = F.cross_entropy(net(to_nchw(x)), torch.from_numpy(labels))
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item(), rel=1e-12)
    expected = tr.network_parameters_to_refcnn(net, model, "grad")
    for layer, name in PARAMS:
        np.testing.assert_allclose(
            grads[layer][name],
            expected[layer][name],
            rtol=1e-9,
            atol=1e-13,
            err_msg=f"d{name} of {layer}",
        )


@pytest.mark.parametrize(
    ("optimizer", "params", "torch_class", "torch_params"),
    [
        ("SGD", {"eta": 0.1}, "SGD", {"lr": 0.1}),
        ("momentum", {"eta": 0.1, "mu": 0.9}, "SGD", {"lr": 0.1, "momentum": 0.9}),
        ("Adam", {"alpha": 0.001}, "Adam", {"lr": 0.001}),
    ],
)
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_updated_weights_match_torch(
    optimizer, params, torch_class, torch_params, weight_decay
) -> None:
    """Two steps on one batch (the second sees the optimizer state), L2 weight
    decay on the weights only (torch: a parameter group without decay for
    the biases)."""
    model = refcnn.article_model(seed=4)
    if weight_decay:
        refcnn.set_weight_decay(model, refcnn.l2, weight_decay_lambda=weight_decay)
    net = tr.article_network(model)
    x, labels = batch(10, seed=1)
    refcnn.learn(
        model,
        x,
        labels,
        batch_size=10,
        epoch=2,
        shuffle_flag=False,
        optimizer=refcnn.create_optimizer(getattr(refcnn, optimizer), **params),
        verbose=False,
    )
    weights = [p for n, p in net.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in net.named_parameters() if n.endswith("bias")]
    opt = getattr(torch.optim, torch_class)(
        [
            {"params": weights, "weight_decay": weight_decay},
            {"params": biases, "weight_decay": 0.0},
        ],
        **torch_params,
    )
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(net(to_nchw(x)), torch.from_numpy(labels)).backward()
        opt.step()
    expected = tr.network_parameters_to_refcnn(net, model, "data")
    layers = {layer.name: layer for layer in model.layers}
    for layer, name in PARAMS:
        np.testing.assert_allclose(
            layers[layer].params[name],
            expected[layer][name],
            rtol=1e-9,
            atol=1e-12,
            err_msg=f"{name} of {layer}",
        )


def test_batch_normalization_running_statistics_match_torch() -> None:
    """Three training steps, then inference, against nn.BatchNorm1d(momentum=alpha)."""
    model = refcnn.create_model(5, seed=0)
    refcnn.add_layer(model, "bn", refcnn.batch_normalization, alpha=0.2)
    refcnn.set_output(model, refcnn.identity)
    refcnn.set_error(model, refcnn.mean_squared_error)
    bn = torch.nn.BatchNorm1d(5, momentum=0.2, dtype=torch.float64)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((7, 5)) * 3 + 1
        refcnn.gradients(model, x, np.zeros((7, 5)))
        bn(torch.from_numpy(x))
    state = model.layers[0].state
    np.testing.assert_allclose(state["running_mean"], bn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(state["running_var"], bn.running_var.numpy(), rtol=1e-12)
    bn.eval()
    x = rng.standard_normal((4, 5))
    np.testing.assert_allclose(
        refcnn.predict(model, x), bn(torch.from_numpy(x)).detach().numpy(), rtol=1e-12
    )
