"""Tests of SkipGram: Xavier and word2vec initialisation, the seed's loss, and gradients of both tables.

``reference_loss_and_grads`` (the plain ops, dense gradients) is checked by finite
differences against both tables; ``loss_and_grads`` (row-sparse, what the NumPy engine
trains with) is checked against it, in float64 and float32, with repeated ids, padding,
fully masked rows and extreme logits.
"""
import math

import numpy as np
import pytest

from w2v_np import SkipGram
from w2v_np.errors import W2VError
from w2v_np.gradcheck import numerical_gradient, relative_error
from w2v_np.sparse_grads import RowSparse

H = 1e-6
GRAD_TOL = 1e-6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_xavier_uniform_bound_and_variance(dtype):
    """Both tables lie in +-sqrt(6/(V+D)); mean and variance match U(-a, a) within 5 standard errors."""
    V, D = 2000, 50
    model = SkipGram(V, D, rng=np.random.default_rng(0), dtype=dtype)
    bound = math.sqrt(6.0 / (V + D))
    # rounding to float32 is monotonic, so values stay within the float32-rounded bound
    limit = float(np.asarray(bound, dtype=dtype))
    n = V * D
    for name in ("center", "context"):
        table = model.params[name]
        assert table.shape == (V, D) and table.dtype == dtype
        assert np.max(np.abs(table)) <= limit
        values = table.astype(np.float64).ravel()
        # U(-a, a): mean 0, variance a^2/3; var of x^2 is E[x^4] - E[x^2]^2 = a^4/5 - a^4/9
        mean_se = bound / math.sqrt(3 * n)
        var_se = math.sqrt((bound ** 4 / 5 - bound ** 4 / 9) / n)
        assert abs(values.mean()) < 5 * mean_se
        assert abs(values.var() - bound ** 2 / 3) < 5 * var_se
        # and it really is spread over the interval, not concentrated near 0
        assert np.max(np.abs(values)) > 0.99 * bound
    assert not np.array_equal(model.center, model.context)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_word2vec_init_bound_and_zero_context(dtype):
    """init="word2vec": center U(-0.5/D, 0.5/D) (mean and variance within 5 standard
    errors, spread over the interval), context exactly zero."""
    V, D = 2000, 50
    model = SkipGram(V, D, rng=np.random.default_rng(0), dtype=dtype, init="word2vec")
    bound = 0.5 / D
    center = model.center.astype(np.float64).ravel()
    assert model.center.dtype == dtype and model.context.dtype == dtype
    assert np.max(np.abs(center)) <= bound and np.max(np.abs(center)) > 0.99 * bound
    n = V * D
    assert abs(center.mean()) < 5 * bound / math.sqrt(3 * n)
    assert abs(center.var() - bound ** 2 / 3) < 5 * math.sqrt((bound ** 4 / 5 - bound ** 4 / 9) / n)
    assert model.context.shape == (V, D) and not np.any(model.context)


@pytest.mark.parametrize("init", ["xavier", "word2vec"])
def test_same_seed_same_tables(init):
    """Each init is a function of the seed: the same seed gives identical tables, a
    different seed a different center table (and a different context table under Xavier)."""
    a, b, c = (SkipGram(30, 7, rng=np.random.default_rng(seed), init=init) for seed in (42, 42, 43))
    for name in ("center", "context"):
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert not np.array_equal(a.center, c.center)
    assert init == "word2vec" or not np.array_equal(a.context, c.context)
    assert a.center is a.params["center"] and a.context is a.params["context"]


def test_unknown_init_is_refused():
    with pytest.raises(W2VError, match="init must be one of xavier, word2vec, got 'normal'"):
        SkipGram(30, 7, rng=np.random.default_rng(0), init="normal")


def _batch(rng, V=12, B=4, L=6, fully_masked_row=False):
    """A small batch with repeated ids, padding at row ends, labels 1 first, a repeated center.

    With ``fully_masked_row`` example 2 has no valid position at all.
    """
    center = rng.integers(0, V, size=(B, 1))
    center[1, 0] = center[0, 0]                              # center id repeated across examples
    context_negative = rng.integers(0, V, size=(B, L))
    context_negative[0, :3] = 5                              # id 5 three times in one row
    context_negative[2, 1] = context_negative[1, 4] = 5      # and in other rows
    valid = np.array([6, 4, 0 if fully_masked_row else 5, 2])[:B]  # padding at the ends of rows 1..3
    positives = np.array([2, 1, 3, 1])[:B]
    mask = (np.arange(L)[None, :] < valid[:, None]).astype(np.float64)
    label = (np.arange(L)[None, :] < positives[:, None]).astype(np.float64)
    context_negative[context_negative == 11] = 0
    context_negative[3, valid[3]:] = 11                      # id 11 only at padded positions
    return center, context_negative, mask, label


# Table scales: logits of order 1, so the gradients are not tiny; and logits in the
# thousands, where the sigmoid saturates (the stable BCE must stay exact there).
ORDINARY, EXTREME = 3.0, 100.0


def _model64(seed=0, V=12, D=5, scale=ORDINARY):
    model = SkipGram(V, D, rng=np.random.default_rng(seed), dtype=np.float64)
    for table in model.params.values():
        table *= scale
    return model


def _max_abs_logit(model, center, context_negative, mask):
    scores = np.einsum("bd,bld->bl", model.center[center[:, 0]], model.context[context_negative])
    return np.max(np.abs(scores[mask > 0]))


def seed_losses(center_table, context_table, center, context_negative, mask, label):
    """The seed's loss written out directly: mean BCE over valid positions, per example."""
    v = center_table[center[:, 0]]                               # (B,D)
    u = context_table[context_negative]                          # (B,L,D)
    pred = np.einsum("bd,bld->bl", v, u)
    sigma = 1 / (1 + np.exp(-pred))
    bce = -(label * np.log(sigma) + (1 - label) * np.log(1 - sigma))
    # binary_cross_entropy_with_logits(weight=mask).mean(1) * L / mask.sum(1)
    return (bce * mask).mean(axis=1) * mask.shape[1] / mask.sum(axis=1)


def test_losses_equal_seed_formula():
    """loss_and_grads returns, per example, the seed's masked mean sigmoid BCE."""
    model = _model64()
    batch = _batch(np.random.default_rng(1))
    losses, _ = model.loss_and_grads(*batch)
    assert losses.shape == (4,) and losses.dtype == np.float64
    expected = seed_losses(model.center, model.context, *batch)
    np.testing.assert_allclose(losses, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", ["reference_loss_and_grads", "loss_and_grads"])
@pytest.mark.parametrize("scale,fully_masked_row", [(ORDINARY, False), (ORDINARY, True), (EXTREME, False)])
def test_gradients_of_both_tables_match_finite_differences(method, scale, fully_masked_row):
    """Gradients of the summed loss w.r.t. the center and the context tables match finite differences.

    Both the reference (plain ops, dense) and the fast method (row-sparse), with repeated
    ids, padding, a fully masked row, and logits in the thousands.
    """
    model = _model64(seed=2, scale=scale)
    batch = _batch(np.random.default_rng(3), fully_masked_row=fully_masked_row)
    if scale == EXTREME:
        assert _max_abs_logit(model, *batch[:3]) > 200
    loss_and_grads = getattr(model, method)
    _, grads = loss_and_grads(*batch)
    assert set(grads) == {"center", "context"}
    for name in ("center", "context"):
        analytic = grads[name]
        if method == "loss_and_grads":
            assert isinstance(analytic, RowSparse)
            analytic = analytic.to_dense()
        assert analytic.shape == model.params[name].shape
        num = numerical_gradient(lambda: np.sum(loss_and_grads(*batch)[0]), model.params[name], h=H)
        assert relative_error(analytic, num) < GRAD_TOL, name
        assert np.max(np.abs(analytic)) > 1e-3          # a nontrivial gradient was checked


@pytest.mark.parametrize("scale,fully_masked_row", [(ORDINARY, False), (ORDINARY, True), (EXTREME, True)])
def test_fast_equals_reference_float64(scale, fully_masked_row):
    """loss_and_grads equals the plain-op reference in float64: the same losses bit for bit, and
    the same gradients up to the order of summation (1e-13 of the gradient's largest entry)."""
    model = _model64(seed=8, scale=scale)
    batch = _batch(np.random.default_rng(9), fully_masked_row=fully_masked_row)
    ref_losses, ref_grads = model.reference_loss_and_grads(*batch)
    losses, grads = model.loss_and_grads(*batch)
    np.testing.assert_array_equal(losses, ref_losses)
    if fully_masked_row:
        assert losses[2] == 0.0
    for name in ("center", "context"):
        dense = grads[name].to_dense()
        assert dense.dtype == ref_grads[name].dtype == np.float64
        assert np.max(np.abs(ref_grads[name])) > 1e-3
        assert np.max(np.abs(dense - ref_grads[name])) <= 1e-13 * np.max(np.abs(ref_grads[name])), name


@pytest.mark.parametrize("scale", [ORDINARY, EXTREME])
def test_fast_float32_equals_reference(scale):
    """In float32, loss_and_grads agrees with the float32 reference within 1e-6 of each result's largest
    entry (the two sum in different orders), and with the float64 reference within 1e-5."""
    model64 = _model64(seed=10, scale=scale)
    model32 = SkipGram(12, 5, rng=np.random.default_rng(0), dtype=np.float32)
    for name in ("center", "context"):
        model32.params[name][...] = model64.params[name]
        model64.params[name][...] = model32.params[name]        # both hold the float32 numbers
    center, context_negative, mask, label = _batch(np.random.default_rng(11), fully_masked_row=True)
    mask32, label32 = mask.astype(np.float32), label.astype(np.float32)
    losses, grads = model32.loss_and_grads(center, context_negative, mask32, label32)
    ref_losses, ref_grads = model32.reference_loss_and_grads(center, context_negative, mask32, label32)
    ref64_losses, ref64_grads = model64.reference_loss_and_grads(center, context_negative, mask, label)
    assert losses.dtype == np.float32
    np.testing.assert_array_equal(losses, ref_losses)
    assert np.max(np.abs(losses - ref64_losses)) <= 1e-5 * np.max(np.abs(ref64_losses))
    for name in ("center", "context"):
        dense = grads[name].to_dense()
        assert dense.dtype == ref_grads[name].dtype == np.float32
        assert np.max(np.abs(dense - ref_grads[name])) <= 1e-6 * np.max(np.abs(ref_grads[name])), name
        assert np.max(np.abs(dense - ref64_grads[name])) <= 1e-5 * np.max(np.abs(ref64_grads[name])), name


def test_timer_sees_each_stage_once_and_changes_nothing():
    """loss_and_grads calls ``timer`` with each stage's name, in order, and returns the same numbers with it."""
    model = _model64(seed=12)
    batch = _batch(np.random.default_rng(13))
    stages = []
    losses, grads = model.loss_and_grads(*batch, timer=stages.append)
    assert stages == ["embedding gather", "batch dot", "masked BCE forward", "masked BCE backward",
                      "batch dot backward (dv)", "center scatter-add", "context backward (fused)"]
    plain_losses, plain_grads = model.loss_and_grads(*batch)
    np.testing.assert_array_equal(losses, plain_losses)
    for name in ("center", "context"):
        np.testing.assert_array_equal(grads[name].rows, plain_grads[name].rows)
        np.testing.assert_array_equal(grads[name].values, plain_grads[name].values)


def test_gradient_rows_of_unused_and_padding_ids_are_zero():
    """Rows of ids not used, or used only at padded positions, get exactly zero gradient."""
    model = _model64(seed=4)
    center, context_negative, mask, label = _batch(np.random.default_rng(5))
    assert np.all(mask[context_negative == 11] == 0)            # id 11 only in padding
    _, grads = model.loss_and_grads(center, context_negative, mask, label)
    context_grad = grads["context"].to_dense()
    assert np.all(context_grad[11] == 0.0)
    unused_centers = np.setdiff1d(np.arange(12), center)
    assert np.all(grads["center"].to_dense()[unused_centers] == 0.0)
    np.testing.assert_array_equal(np.sort(grads["center"].rows), np.unique(center))


def test_float32_model_against_float64():
    """A float32 model gives the float64 losses and gradients within 1e-5 relative to their scale."""
    model64 = _model64(seed=6)
    model32 = SkipGram(12, 5, rng=np.random.default_rng(0), dtype=np.float32)
    for name in ("center", "context"):
        model32.params[name][...] = model64.params[name]        # same numbers, rounded
    model64.params["center"][...] = model32.params["center"]
    model64.params["context"][...] = model32.params["context"]
    center, context_negative, mask, label = _batch(np.random.default_rng(7))
    l64, g64 = model64.loss_and_grads(center, context_negative, mask, label)
    l32, g32 = model32.loss_and_grads(center, context_negative, mask.astype(np.float32),
                                      label.astype(np.float32))
    assert l32.dtype == np.float32
    assert np.max(np.abs(l32 - l64)) <= 1e-5 * np.max(np.abs(l64))
    for name in ("center", "context"):
        d32, d64 = g32[name].to_dense(), g64[name].to_dense()
        assert d32.dtype == np.float32
        assert np.max(np.abs(d32 - d64)) <= 1e-5 * np.max(np.abs(d64))


@pytest.mark.parametrize("case", ["fully_masked_batch", "saturated_float32"])
def test_batch_with_all_zero_score_gradients(case):
    """A batch whose score gradients are all exactly zero gives zero gradients, not an IndexError.

    Happens for a fully masked batch, and in float32 when every score saturates
    (sigmoid(100) rounds to 1, so sigmoid - label == 0 for label 1).  Regression for the
    empty-run bug fixed in commit 6886846.
    """
    model = SkipGram(3, 1, rng=np.random.default_rng(0), dtype=np.float32)
    model.params["center"][:] = 10.0
    model.params["context"][:] = 10.0                         # every score is 100
    center, context_negative = np.array([[0]]), np.array([[1, 2]])
    label = np.ones((1, 2), np.float32)
    mask = np.zeros((1, 2), np.float32) if case == "fully_masked_batch" else np.ones((1, 2), np.float32)
    losses, grads = model.loss_and_grads(center, context_negative, mask, label)
    assert np.all(np.isfinite(losses))
    for name in ("center", "context"):
        np.testing.assert_array_equal(grads[name].to_dense(), np.zeros((3, 1), np.float32))
