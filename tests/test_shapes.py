from __future__ import annotations

import pytest

import refcnn


@pytest.mark.parametrize(
    ("size", "window", "padding", "stride", "expected"),
    [
        (28, 7, 0, 1, 22),
        (22, 2, 0, 2, 11),
        (5, 3, 1, 1, 5),
        (5, 3, 0, 2, 2),
        (5, 2, 0, 2, 2),
        (6, 3, 0, 2, 2),
        (1, 1, 0, 3, 1),
        (3, 2, 3, 3, 3),
    ],
)
def test_output_size_is_floor(size, window, padding, stride, expected) -> None:
    assert refcnn.output_size(size, window, padding, stride) == expected


def test_article_mnist_shapes() -> None:
    assert refcnn.convolution2d_output_shape((28, 28, 1), 6, 7) == (22, 22, 6)
    assert refcnn.pooling2d_output_shape((22, 22, 6)) == (11, 11, 6)
    assert refcnn.flatten2d_output_shape((11, 11, 6)) == 726


def test_tuples_and_default_pool_strides() -> None:
    assert refcnn.convolution2d_output_shape((9, 8, 3), 4, (3, 2), (1, 0), (2, 3)) == (5, 3, 4)
    assert refcnn.pooling2d_output_shape((7, 7, 2), 3) == (2, 2, 2)
    assert refcnn.pooling2d_output_shape((7, 7, 2), 3, strides=1) == (5, 5, 2)


def test_helpers_validate() -> None:
    with pytest.raises(ValueError, match="filter_size"):
        refcnn.convolution2d_output_shape((4, 4, 1), 2, 5)
    with pytest.raises(ValueError, match="input_shape"):
        refcnn.pooling2d_output_shape((4, 4))
    with pytest.raises(TypeError, match="strides"):
        refcnn.pooling2d_output_shape((4, 4, 1), 2, 0, 1.5)
