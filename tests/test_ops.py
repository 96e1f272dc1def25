"""Tests of the op contract (GUIDE §3): forward/backward pairs checked by finite differences.

sigmoid and sigmoid_bce, the elementwise formulas under the BCE pair, are checked against
the naive formulas where those are finite, and at logits of +-1000.

Gradient checks run in float64 with centred differences, h = 1e-6, and require the
guide's relative error ``max|a-n| / max(1e-12, max|a|+max|n|)`` below 1e-6.
"""
import math
import warnings

import numpy as np
import pytest

from w2v_np import ops
from w2v_np.gradcheck import numerical_gradient, numerical_gradient_of_output, relative_error

H = 1e-6
GRAD_TOL = 1e-6
# float64 comparisons of two exact-in-theory computations that only differ in summation order.
RTOL64, ATOL64 = 1e-10, 1e-12


def stable_bce(x, y):
    """Reference ``softplus(x) - y*x`` written with math, element by element (float64)."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x))) - y * x


# --------------------------------------------------------------------------- embedding


@pytest.mark.parametrize("idx_shape", [(7,), (3, 4), (2, 1)])
def test_embedding_gradcheck(idx_shape):
    """embedding_backward matches finite differences, for 1-D and 2-D idx with an id used 3+ times."""
    rng = np.random.default_rng(0)
    V, D = 6, 4
    W = rng.standard_normal((V, D))
    idx = rng.integers(0, V, size=idx_shape)
    idx.reshape(-1)[: min(3, idx.size)] = 2   # id 2 at least 3 times (when idx has room)
    dout = rng.standard_normal(idx_shape + (D,))
    out, cache = ops.embedding_forward(W, idx)
    assert out.shape == idx_shape + (D,)
    np.testing.assert_array_equal(out, W[idx])
    dW = ops.embedding_backward(dout, cache)
    num = numerical_gradient_of_output(lambda: ops.embedding_forward(W, idx)[0], W, dout, h=H)
    assert relative_error(dW, num) < GRAD_TOL


def test_embedding_backward_accumulates_repeated_ids():
    """Repeated ids accumulate (scatter-add); the naive ``dW[idx] += g`` would lose occurrences."""
    rng = np.random.default_rng(1)
    V, D = 5, 3
    idx = np.array([[1, 3, 1], [1, 0, 3]])           # id 1 three times, id 3 twice
    dout = rng.standard_normal((2, 3, D))
    _, cache = ops.embedding_forward(rng.standard_normal((V, D)), idx)
    dW = ops.embedding_backward(dout, cache)

    loop = np.zeros((V, D))
    for b in range(idx.shape[0]):
        for pos in range(idx.shape[1]):
            loop[idx[b, pos]] += dout[b, pos]
    np.testing.assert_allclose(dW, loop, rtol=RTOL64, atol=ATOL64)

    naive = np.zeros((V, D))
    naive[idx] += dout                               # buffered: keeps one occurrence per id
    assert np.max(np.abs(naive - loop)) > 1e-3       # so the check above really tests something
    np.testing.assert_allclose(naive[[0, 2, 4]], loop[[0, 2, 4]])  # ids used once agree


# --------------------------------------------------------------------------- batch_dot


def test_batch_dot_forward_values():
    """batch_dot_forward computes out[b,0,l] = v[b,0] . u[b,l] (torch.bmm(v, u^T))."""
    rng = np.random.default_rng(4)
    v, u = rng.standard_normal((3, 1, 4)), rng.standard_normal((3, 5, 4))
    out, _ = ops.batch_dot_forward(v, u)
    assert out.shape == (3, 1, 5)
    expected = np.array([[[v[b, 0] @ u[b, pos] for pos in range(5)]] for b in range(3)])
    np.testing.assert_allclose(out, expected, rtol=RTOL64, atol=ATOL64)


@pytest.mark.parametrize("B,L,D", [(3, 5, 4), (1, 1, 2), (2, 7, 1)])
def test_batch_dot_gradcheck(B, L, D):
    """batch_dot_backward's dv and du both match finite differences."""
    rng = np.random.default_rng(5)
    v, u = rng.standard_normal((B, 1, D)), rng.standard_normal((B, L, D))
    dout = rng.standard_normal((B, 1, L))
    _, cache = ops.batch_dot_forward(v, u)
    dv, du = ops.batch_dot_backward(dout, cache)
    assert dv.shape == v.shape and du.shape == u.shape
    forward = lambda: ops.batch_dot_forward(v, u)[0]  # noqa: E731
    assert relative_error(dv, numerical_gradient_of_output(forward, v, dout, h=H)) < GRAD_TOL
    assert relative_error(du, numerical_gradient_of_output(forward, u, dout, h=H)) < GRAD_TOL


# --------------------------------------------------------------------------- sigmoid and its BCE


def _no_overflow_errors():
    """Warnings are errors, and so are overflow, division by zero and invalid operations.

    Underflow of exp(-1000) to 0 is the intended behaviour (NumPy ignores it by default).
    """
    return np.errstate(over="raise", divide="raise", invalid="raise", under="ignore")


def test_sigmoid_equals_naive_formula_and_saturates_exactly():
    """sigmoid equals 1 / (1 + exp(-x)) where that is finite, and is exactly 0 and 1 at -+1000 without warnings."""
    x = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(ops.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-14, atol=0)
    np.testing.assert_allclose(ops.sigmoid(-x), 1 - ops.sigmoid(x), rtol=0, atol=1e-15)
    for dtype in (np.float64, np.float32):
        extreme = np.array([-1000, 1000], dtype=dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with _no_overflow_errors():
                got = ops.sigmoid(extreme)
                with pytest.raises(FloatingPointError):
                    1 / (1 + np.exp(-extreme))          # the naive formula overflows here
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, np.array([0, 1], dtype=dtype))


def test_sigmoid_bce_equals_naive_formula_where_finite():
    """sigmoid_bce(x, y) equals -[y log s + (1-y) log(1-s)], s = sigmoid(x), computed naively in float64.

    The naive ``1 - s`` has an absolute error of about float64's epsilon, so its log is off
    by about ``eps * (1 + e^|x|)``: the bound used, for |x| <= 15 where it stays small.
    Labels 0 and 1, and a fractional label (the formula holds for any y).
    """
    x = np.linspace(-15, 15, 3001)[:, None]
    label = np.array([0.0, 0.25, 1.0])[None, :]
    s = 1 / (1 + np.exp(-x))
    naive = -(label * np.log(s) + (1 - label) * np.log(1 - s))      # (3001, 3)
    got = ops.sigmoid_bce(x, label)
    assert got.shape == naive.shape and got.dtype == np.float64
    assert np.all(np.abs(got - naive) <= 1e-14 * (1 + np.exp(np.abs(x))))
    assert np.max(naive) > 14                                         # large losses were compared too
    for x_value, y_value in [(0.3, 1.0), (-2.5, 0.0), (7.0, 0.0), (-0.1, 1.0)]:
        assert ops.sigmoid_bce(np.float64(x_value), np.float64(y_value)) == pytest.approx(
            stable_bce(x_value, y_value), rel=1e-15, abs=1e-300)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_bce_exact_at_extreme_logits(dtype):
    """At x = +-1000 sigmoid_bce is exactly 1000 on the wrong side and 0 on the right one, without warnings."""
    x = np.array([1000, 1000, -1000, -1000], dtype=dtype)
    label = np.array([0, 1, 0, 1], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with _no_overflow_errors():
            got = ops.sigmoid_bce(x, label)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.array([1000, 0, 0, 1000], dtype=dtype))


# --------------------------------------------------------------------------- masked BCE


def test_masked_bce_seed_worked_example():
    """The seed's example gives losses [0.9352, 1.8462], computed here independently with math."""
    pred = np.array([[1.1, -2.2, 3.3, -4.4]] * 2)
    label = np.array([[1.0, 0, 0, 0], [0, 1, 0, 0]])
    mask = np.array([[1.0, 1, 1, 1], [1, 1, 0, 0]])
    loss, _ = ops.masked_sigmoid_bce_forward(pred, label, mask)

    def neg_log_sigmoid(x):
        return -math.log(1 / (1 + math.exp(-x)))

    expected = [(neg_log_sigmoid(1.1) + neg_log_sigmoid(2.2) + neg_log_sigmoid(-3.3)
                 + neg_log_sigmoid(4.4)) / 4,
                (neg_log_sigmoid(-1.1) + neg_log_sigmoid(-2.2)) / 2]
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    np.testing.assert_allclose(loss, [0.9352, 1.8462], atol=5e-5)


def _bce_case(rng, B=5, L=6):
    pred = rng.standard_normal((B, L)) * 3
    label = (rng.random((B, L)) < 0.4).astype(np.float64)
    mask = (rng.random((B, L)) < 0.7).astype(np.float64)
    mask[:, 0] = 1.0
    mask[2] = 0.0                                        # a fully masked row
    return pred, label, mask


def test_masked_bce_forward_values():
    """Each loss is the mean of bce over valid positions, matching a scalar math reference."""
    pred, label, mask = _bce_case(np.random.default_rng(8))
    loss, _ = ops.masked_sigmoid_bce_forward(pred, label, mask)
    for b in range(pred.shape[0]):
        valid = [stable_bce(pred[b, pos], label[b, pos]) for pos in range(pred.shape[1]) if mask[b, pos]]
        expected = sum(valid) / len(valid) if valid else 0.0
        assert loss[b] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_masked_bce_gradcheck_and_fully_masked_row():
    """dpred matches finite differences for an upstream dloss != 1; a fully masked row has loss 0 and dpred 0."""
    rng = np.random.default_rng(9)
    pred, label, mask = _bce_case(rng)
    dloss = rng.standard_normal(pred.shape[0]) * 2
    loss, cache = ops.masked_sigmoid_bce_forward(pred, label, mask)
    dpred = ops.masked_sigmoid_bce_backward(dloss, cache)
    num = numerical_gradient_of_output(
        lambda: ops.masked_sigmoid_bce_forward(pred, label, mask)[0], pred, dloss, h=H)
    assert relative_error(dpred, num) < GRAD_TOL
    assert loss[2] == 0.0
    assert np.all(dpred[2] == 0.0)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(dpred))


def test_masked_bce_padding_gets_zero_gradient_and_no_influence():
    """Padded positions get exactly zero gradient, and changing their logits/labels leaves the loss unchanged."""
    rng = np.random.default_rng(10)
    pred, label, mask = _bce_case(rng)
    loss, cache = ops.masked_sigmoid_bce_forward(pred, label, mask)
    dpred = ops.masked_sigmoid_bce_backward(rng.standard_normal(pred.shape[0]), cache)
    assert np.all(dpred[mask == 0] == 0.0)
    assert np.all(dpred[mask == 1] != 0.0)
    other_pred = np.where(mask == 0, rng.standard_normal(pred.shape) * 50, pred)
    other_label = np.where(mask == 0, 1 - label, label)
    loss2, _ = ops.masked_sigmoid_bce_forward(other_pred, other_label, mask)
    np.testing.assert_array_equal(loss2, loss)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_masked_bce_extreme_logits(dtype):
    """Logits of +-1000 give finite, exact-limit losses and sigmoid(x)-y gradients without FP warnings."""
    pred = np.array([[1000, 1000, -1000, -1000],
                     [1000, -1000, 0, 0]], dtype=dtype)
    label = np.array([[0, 1, 0, 1],
                      [0, 1, 0, 0]], dtype=dtype)
    mask = np.array([[1, 1, 1, 1],
                     [1, 1, 0, 0]], dtype=dtype)
    dloss = np.ones(2, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with _no_overflow_errors():
            loss, cache = ops.masked_sigmoid_bce_forward(pred, label, mask)
            dpred = ops.masked_sigmoid_bce_backward(dloss, cache)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(dpred))
    # row 0: bce = [1000 (x=1000,y=0), 0, 0, 1000 (x=-1000,y=1)] -> mean 500
    # row 1: bce = [1000, 1000] over the two valid positions -> mean 1000
    np.testing.assert_array_equal(loss, np.array([500.0, 1000.0], dtype=dtype))
    # d loss / d x = (sigmoid(x) - y) / count: limits +-1 and 0
    expected = np.array([[1 / 4, 0, 0, -1 / 4],
                         [1 / 2, -1 / 2, 0, 0]], dtype=dtype)
    np.testing.assert_array_equal(dpred, expected)

    # single-position rows: pred 1000 label 0 -> 1000; pred 1000 label 1 -> 0 (exactly)
    single, _ = ops.masked_sigmoid_bce_forward(np.array([[1000.0], [1000.0], [-1000.0], [-1000.0]], dtype),
                                               np.array([[0.0], [1.0], [1.0], [0.0]], dtype),
                                               np.ones((4, 1), dtype))
    np.testing.assert_array_equal(single, np.array([1000.0, 0.0, 1000.0, 0.0], dtype=dtype))


def test_masked_bce_float32_against_float64():
    """float32 loss and dpred agree with float64 within 1e-6 relative to their scale."""
    rng = np.random.default_rng(11)
    pred, label, mask = _bce_case(rng, B=16, L=10)
    dloss = rng.standard_normal(16)
    loss64, cache64 = ops.masked_sigmoid_bce_forward(pred, label, mask)
    d64 = ops.masked_sigmoid_bce_backward(dloss, cache64)
    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    loss32, cache32 = ops.masked_sigmoid_bce_forward(f32(pred), f32(label), f32(mask))
    d32 = ops.masked_sigmoid_bce_backward(f32(dloss), cache32)
    assert loss32.dtype == np.float32 and d32.dtype == np.float32
    assert np.max(np.abs(loss32 - loss64)) <= 1e-6 * np.max(np.abs(loss64))
    assert np.max(np.abs(d32 - d64)) <= 1e-6 * np.max(np.abs(d64))


def test_gradcheck_helpers_detect_a_wrong_gradient():
    """The gradcheck helpers themselves: exact on a quadratic, and a 1% error is flagged."""
    x = np.array([0.5, -1.5, 2.0])
    num = numerical_gradient(lambda: np.sum(x ** 2), x, h=H)
    assert relative_error(2 * x, num) < GRAD_TOL
    np.testing.assert_array_equal(x, [0.5, -1.5, 2.0])            # restored after perturbing
    assert relative_error(2 * x * 1.01, num) > 1e-3
