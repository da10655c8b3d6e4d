"""The model API: the article's script and summary, determinism, resuming,
validation, and whole-model gradients against finite differences."""

from __future__ import annotations

import io

import numpy as np
import pytest

import refcnn
from refcnn import (
    add_layer,
    create_model,
    cross_entropy_error,
    learn,
    set_error,
    set_output,
    softmax,
)
from refcnn.conformance.expected import article as fx


def small_data(n: int = 60, seed: int = 0, shape=(8, 8, 1), classes: int = 3):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, classes, n)
    x = rng.random((n, *shape)) * 0.2
    x[np.arange(n), t % shape[0]] += 1.0  # a learnable signal: a bright row per class
    return x, t


def small_cnn(seed: int = 0, dtype=np.float64) -> refcnn.Model:
    model = create_model((8, 8, 1), seed=seed, dtype=dtype)
    add_layer(model, "conv", refcnn.convolution2d, 4, filter_size=3, padding=1)
    add_layer(model, "relu", refcnn.relu)
    add_layer(model, "pool", refcnn.max_pooling2d)
    add_layer(model, "flatten", refcnn.flatten2d)
    add_layer(model, "dense", refcnn.affine, 3)
    set_output(model, softmax)
    return set_error(model, cross_entropy_error)


def test_article_script_builds_and_prints_the_articles_table() -> None:
    table = fx.layer_table()
    model = create_model(tuple(table["input_shape"]))
    for spec in table["layers"]:
        func = getattr(refcnn, spec["function"])
        model = add_layer(model, spec["name"], func, spec.get("d"), **spec["kwargs"])
    model = set_output(model, softmax)
    model = set_error(model, cross_entropy_error)
    assert refcnn.model_summary(model).splitlines() == table["printed"]
    assert refcnn.model_summary(refcnn.article_model()) == refcnn.model_summary(model)


def test_learn_prints_the_articles_log_format() -> None:
    x, t = small_data()
    out = io.StringIO()
    _, _, info = learn(small_cnn(), x, t, x[:20], t[:20], batch_size=10, epoch=2, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "input - 0 (8, 8, 1)"
    log = [line.split() for line in lines if line[:1].isdigit()]
    assert [int(row[0]) for row in log] == [0, 1, 2]
    assert all(len(row) == 5 for row in log)
    assert float(log[2][1]) == pytest.approx(info["train_acc"][2], abs=1e-11)
    assert lines[-1].startswith("elapsed time = ")
    assert sorted(info) == sorted(
        ["epoch", "train_acc", "train_loss", "test_acc", "test_loss", "seconds"]
    )


def test_training_learns() -> None:
    x, t = small_data(120)
    model, _, info = learn(small_cnn(), x, t, batch_size=20, epoch=15, verbose=False)
    assert info["train_loss"][-1] < 0.5 * info["train_loss"][0]
    accuracy, _ = refcnn.evaluate(model, x, t)
    assert accuracy > 0.9


def test_same_seed_same_weights_and_log() -> None:
    def run():
        x, t = small_data()
        model, _, info = learn(
            small_cnn(seed=5), x, t, x, t, batch_size=7, epoch=3, verbose=False, seed=11
        )
        return model, {k: v for k, v in info.items() if k != "seconds"}

    (m1, i1), (m2, i2) = run(), run()
    assert i1 == i2
    for a, b in zip(m1.layers, m2.layers, strict=True):
        for name in a.params:
            assert np.array_equal(a.params[name], b.params[name])
    m3 = learn(small_cnn(seed=6), *small_data(), batch_size=7, epoch=1, verbose=False)[0]
    assert not np.array_equal(m3.layers[0].params["W"], m1.layers[0].params["W"])


def test_resuming_ends_identical_to_an_uninterrupted_run() -> None:
    x, t = small_data()
    kwargs = {"batch_size": 8, "verbose": False}
    full, _, info_full = learn(small_cnn(), x, t, x, t, epoch=4, **kwargs)
    part, optimizer, info = learn(
        small_cnn(),
        x,
        t,
        x,
        t,
        epoch=2,
        optimizer=refcnn.create_optimizer(refcnn.momentum),
        **kwargs,
    )
    resumed, _, info = learn(
        part, x, t, x, t, epoch=4, optimizer=optimizer, learn_info=info, **kwargs
    )
    baseline, _, _ = learn(
        small_cnn(),
        x,
        t,
        x,
        t,
        epoch=4,
        optimizer=refcnn.create_optimizer(refcnn.momentum),
        **kwargs,
    )
    for a, b in zip(resumed.layers, baseline.layers, strict=True):
        for name in a.params:
            assert np.array_equal(a.params[name], b.params[name])
    assert info["epoch"] == [0, 1, 2, 3, 4]
    assert full.layers[0].params["W"].shape == resumed.layers[0].params["W"].shape
    assert len(info_full["epoch"]) == 5


def test_integer_and_one_hot_labels_agree() -> None:
    x, t = small_data()
    a = learn(small_cnn(), x, t, batch_size=10, epoch=1, verbose=False)[2]
    b = learn(small_cnn(), x, np.eye(3)[t], batch_size=10, epoch=1, verbose=False)[2]
    assert a["train_loss"] == b["train_loss"]


def test_float32_model_stays_float32() -> None:
    x, t = small_data()
    model, _, _ = learn(small_cnn(dtype=np.float32), x, t, batch_size=10, epoch=1, verbose=False)
    assert all(p.dtype == np.float32 for layer in model.layers for p in layer.params.values())
    assert refcnn.predict(model, x).dtype == np.float32


def test_squared_error_output() -> None:
    model = create_model(4, seed=0)
    add_layer(model, "dense", refcnn.affine, 2, weight_init_func=refcnn.glorot_uniform)
    set_output(model, refcnn.identity)
    set_error(model, refcnn.mean_squared_error)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4))
    y = x @ rng.standard_normal((4, 2))
    _, _, info = learn(model, x, y, batch_size=10, epoch=30, verbose=False)
    assert info["train_loss"][-1] < 0.01 * info["train_loss"][0]


def test_weight_decay_is_in_the_loss_and_shrinks_the_weights() -> None:
    x, t = small_data()
    plain = small_cnn()
    decayed = refcnn.set_weight_decay(small_cnn(), refcnn.l2, weight_decay_lambda=0.1)
    loss_plain, _ = refcnn.evaluate(plain, x, t)
    loss_decayed = refcnn.evaluate(decayed, x, t)[1]
    penalty = sum(0.05 * np.sum(decayed.layers[i].params["W"] ** 2) for i in (0, 4))
    assert loss_decayed == pytest.approx(refcnn.evaluate(plain, x, t)[1] + penalty)
    assert loss_plain <= 1
    learn(plain, x, t, batch_size=10, epoch=3, verbose=False)
    learn(decayed, x, t, batch_size=10, epoch=3, verbose=False)
    assert np.abs(decayed.layers[4].params["W"]).sum() < np.abs(plain.layers[4].params["W"]).sum()


# --- every layer kind, through the whole model ----------------------------------


def every_layer_models() -> list[refcnn.Model]:
    rng_kwargs = {
        "weight_init_func": refcnn.glorot_normal,
        "bias_init_func": refcnn.normal_b,
        "bias_init_params": {"var": 0.01},
    }
    image = create_model((6, 5, 2), seed=1)
    add_layer(
        image,
        "conv",
        refcnn.convolution2d,
        3,
        filter_size=(3, 2),
        padding=(1, 0),
        strides=(1, 2),
        **rng_kwargs,
    )
    add_layer(image, "prelu", refcnn.prelu, alpha=0.2)
    add_layer(image, "avg", refcnn.average_pooling2d, pool_size=2, strides=1, padding=1)
    add_layer(image, "bn", refcnn.batch_normalization, batch_norm_node=False)
    add_layer(image, "max", refcnn.max_pooling2d, pool_size=(2, 2), strides=1)
    add_layer(image, "flat", refcnn.flatten2d)
    add_layer(image, "out", refcnn.affine, 3, **rng_kwargs)
    dense = create_model(7, seed=2)
    chain = [
        ("a1", refcnn.affine, 9),
        ("sig", refcnn.sigmoid, None),
        ("tanh", refcnn.tanh, None),
        ("leaky", refcnn.leaky_relu, None),
        ("elu", refcnn.elu, None),
        ("a2", refcnn.affine, 8),
        ("softplus", refcnn.softplus, None),
        ("softsign", refcnn.softsign, None),
        ("maxout", refcnn.maxout, 6),
        ("relun", refcnn.relun, None),
        ("srelu", refcnn.srelu, None),
        ("id", refcnn.identity, None),
        ("drop", refcnn.dropout, None),
        ("rrelu", refcnn.rrelu, None),
        ("bn", refcnn.batch_normalization, None),
        ("out", refcnn.affine, 3),
    ]
    # batch normalization feeds a smooth layer: a feature that relun clips to a
    # constant leaves it exactly at beta, where a kink would defeat the differences;
    # step is left out: its gradient is 0 by definition
    for name, func, d in chain:
        kwargs = dict(rng_kwargs) if func in (refcnn.affine, refcnn.maxout) else {}
        if func is refcnn.maxout:
            kwargs["unit"] = 2
        if func is refcnn.relun:
            kwargs["n"] = 0.8
        if func is refcnn.srelu:
            kwargs["alpha"] = 0.3
        if func is refcnn.dropout:
            kwargs["dropout_ratio"] = 0.7
        add_layer(dense, name, func, d, **kwargs)
    for model in (image, dense):
        set_output(model, softmax)
        set_error(model, cross_entropy_error)
        refcnn.set_weight_decay(model, refcnn.l2, weight_decay_lambda=0.05)
    return [image, dense]


@pytest.mark.parametrize("model", every_layer_models(), ids=["image", "dense"])
def test_whole_model_gradients_match_finite_differences(model: refcnn.Model) -> None:
    """Every parameter of every layer kind, through the trainer's wiring
    (training mode, with the same dropout masks and rrelu slopes each time)."""
    shape = (model.input_shape,) if isinstance(model.input_shape, int) else model.input_shape
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, *shape))
    t = rng.integers(0, 3, 5)

    def loss_and_grads():
        model.rng = np.random.default_rng(99)
        return refcnn.gradients(model, x, t)

    _, grads = loss_and_grads()
    step = 1e-6
    for layer in model.layers:
        for name, value in layer.params.items():
            numeric = np.zeros_like(value)
            for index in np.ndindex(value.shape):
                original = value[index]
                value[index] = original + step
                up = loss_and_grads()[0]
                value[index] = original - step
                down = loss_and_grads()[0]
                value[index] = original
                numeric[index] = (up - down) / (2 * step)
            np.testing.assert_allclose(
                grads[layer.name][name],
                numeric,
                rtol=1e-5,
                atol=1e-7,
                err_msg=f"{layer.name}.{name}",
            )


def test_dropout_and_batchnorm_differ_between_training_and_inference() -> None:
    model = create_model(6, seed=0)
    add_layer(model, "drop", refcnn.dropout, dropout_ratio=0.5)
    add_layer(model, "bn", refcnn.batch_normalization, use_gamma_beta=False)
    set_output(model, refcnn.identity)
    set_error(model, refcnn.mean_squared_error)
    x = np.random.default_rng(0).standard_normal((20, 6)) + 3
    inference = refcnn.predict(model, x)
    np.testing.assert_allclose(inference, (x - 0) / np.sqrt(1 + 1e-5))  # running stats 0, 1
    loss_a, _ = refcnn.gradients(model, x, np.zeros((20, 6)))
    loss_b, _ = refcnn.gradients(model, x, np.zeros((20, 6)))
    assert loss_a != loss_b  # new dropout masks in training
    assert not np.allclose(refcnn.predict(model, x), inference)  # running stats moved


# --- validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda m, x, t: learn(m, x, t[:, None], verbose=False), ValueError, "t_train"),
        (lambda m, x, t: learn(m, x, t + 3, verbose=False), ValueError, r"\[0, 2\]"),
        (lambda m, x, t: learn(m, x, -t, verbose=False), ValueError, "t_train"),
        (lambda m, x, t: learn(m, x[:, :7], t, verbose=False), ValueError, "x_train"),
        (lambda m, x, t: learn(m, x, t[:-1], verbose=False), ValueError, "t_train"),
        (lambda m, x, t: learn(m, x, t, batch_size=0, verbose=False), ValueError, "batch_size"),
        (lambda m, x, t: learn(m, x, t, batch_size=2.5, verbose=False), ValueError, "batch_size"),
        (lambda m, x, t: learn(m, x, t, epoch=-1, verbose=False), ValueError, "epoch"),
        (lambda m, x, t: learn(m, x, t, x, verbose=False), ValueError, "t_test"),
        (lambda m, x, t: learn(m, x, t, x[:, :, :4], t, verbose=False), ValueError, "x_test"),
        (lambda m, x, t: learn(m, x, t, optimizer="fast", verbose=False), ValueError, "optimizer"),
        (lambda m, x, t: learn(m, x.astype(str), t, verbose=False), TypeError, "x_train"),
    ],
)
def test_bad_learn_arguments_fail_before_training(call, error, match) -> None:
    model = small_cnn()
    before = model.layers[0].params["W"].copy()
    x, t = small_data(20)
    with pytest.raises(error, match=match):
        call(model, x, t)
    assert np.array_equal(model.layers[0].params["W"], before)


def test_bad_model_building() -> None:
    model = create_model((8, 8, 1))
    with pytest.raises(ValueError, match="layer functions"):
        add_layer(model, "x", np.tanh)
    with pytest.raises(ValueError, match="needs d"):
        add_layer(model, "x", refcnn.convolution2d, filter_size=3)
    with pytest.raises(ValueError, match="takes no d"):
        add_layer(model, "x", refcnn.relu, 3)
    with pytest.raises(ValueError, match="flatten2d"):
        add_layer(model, "x", refcnn.affine, 3)
    with pytest.raises(ValueError, match="filter_size"):
        add_layer(model, "x", refcnn.convolution2d, 2, filter_size=9)
    with pytest.raises(TypeError, match="relu"):
        add_layer(model, "x", refcnn.relu, alpha=1)
    add_layer(model, "f", refcnn.flatten2d)
    with pytest.raises(ValueError, match="already used"):
        add_layer(model, "f", refcnn.relu)
    with pytest.raises(ValueError, match="input_shape"):
        create_model((8, 8))
    with pytest.raises(ValueError, match="softmax or identity"):
        set_output(model, refcnn.relu)
    set_output(model, softmax)
    set_error(model, refcnn.mean_squared_error)
    with pytest.raises(ValueError, match="goes with cross_entropy_error"):
        refcnn.predict(model, np.zeros((1, 8, 8, 1)))


@pytest.mark.parametrize("padding", [0, 1])
def test_relu_max_pool_fusion_is_bit_identical(padding, monkeypatch) -> None:
    """The fused relu -> max_pooling2d step against the two layers run apart,
    on tied and negative values (where the order of relu and max matters most)."""
    from refcnn import plan

    model = create_model((6, 6, 2), seed=0)
    add_layer(model, "conv", refcnn.convolution2d, 3, filter_size=2)
    add_layer(model, "relu", refcnn.relu)
    add_layer(model, "pool", refcnn.max_pooling2d, pool_size=2, padding=padding, strides=1)
    add_layer(model, "flat", refcnn.flatten2d)
    add_layer(model, "out", refcnn.affine, 3)
    set_output(model, softmax)
    set_error(model, cross_entropy_error)
    x = np.random.default_rng(0).integers(-2, 3, (7, 6, 6, 2)).astype(float)
    t = np.arange(7) % 3
    assert [len(step.layers) for step in plan.steps(model.layers)] == [1, 2, 1, 1]
    fused = refcnn.gradients(model, x, t)
    monkeypatch.setattr("refcnn.model.plan", lambda ls: [plan._single(ly) for ly in ls])
    apart = refcnn.gradients(model, x, t)
    assert fused[0] == apart[0]
    for name, grads in fused[1].items():
        for key, value in grads.items():
            assert np.array_equal(value, apart[1][name][key]), f"{name}.{key}"
