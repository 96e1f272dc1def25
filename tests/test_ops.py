"""Tests of the op contract (GUIDE §3): forward/backward pairs checked by finite differences.

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
# float32 results against a float64 reference: error at most this fraction of the largest
# sum of absolute terms (float32 epsilon is 6e-8; sums here have at most ~100 terms).
REL32 = 1e-5


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


def test_row_sparse_to_dense():
    """RowSparse.to_dense puts each value row at its id and zeros elsewhere, keeping the dtype."""
    rows = np.array([0, 3, 4], dtype=np.int64)
    values = np.arange(6, dtype=np.float32).reshape(3, 2) + 1
    dense = ops.RowSparse(rows, values, 6).to_dense()
    expected = np.zeros((6, 2), dtype=np.float32)
    expected[[0, 3, 4]] = values
    assert dense.dtype == np.float32 and dense.shape == (6, 2)
    np.testing.assert_array_equal(dense, expected)
    empty = ops.RowSparse(np.zeros(0, np.int64), np.zeros((0, 2)), 3).to_dense()
    np.testing.assert_array_equal(empty, np.zeros((3, 2)))


def test_stable_argsort_ids_both_radix_passes():
    """The 16-bit radix argsort equals NumPy's stable argsort, for ids below and above 2**16.

    Ids that agree in their low 16 bits (5, 5 + 2**16, 5 + 2**17) are only ordered by the
    second pass; ids up to 2**32 - 1 use all 32 bits.
    """
    rng = np.random.default_rng(2)
    for ids in (rng.integers(0, 50, 300),
                rng.integers(0, 2 ** 32, 300),
                np.array([5 + 2 ** 17, 5, 5 + 2 ** 16, 5, 2 ** 32 - 1, 0, 5 + 2 ** 16]),
                np.concatenate([rng.integers(0, 2 ** 20, 200), np.full(20, 65541)]),
                np.zeros(0, dtype=np.int64)):
        order = ops._stable_argsort_ids(ids)
        np.testing.assert_array_equal(order, np.argsort(ids, kind="stable"))


def _random_ids(rng, shape, num_rows):
    """Ids spread below and above 2**16 (when the table is that large), with heavy repeats."""
    ids = rng.integers(0, num_rows, size=shape)
    flat = ids.reshape(-1)
    common = rng.integers(0, num_rows, size=3)
    pick = rng.random(flat.shape[0]) < 0.4
    flat[pick] = rng.choice(common, size=int(pick.sum()))
    if num_rows > (1 << 16) + 10:
        # same low 16 bits, different high bits: only the second radix pass separates them
        flat[:4] = [7, 7 + (1 << 16), 7, num_rows - 1]
    return ids


@pytest.mark.parametrize("case", range(8))
def test_embedding_backward_rows_equals_dense(case):
    """embedding_backward_rows gives the same (V, D) gradient as embedding_backward, as a valid RowSparse."""
    rng = np.random.default_rng(100 + case)
    num_rows = [7, 40, 70_000, 140_000][case % 4]
    D = [1, 2, 3, 2][case % 4]
    shape = [(1,), (5, 1), (9, 13), (4, 3, 6)][case // 2 % 4]
    idx = _random_ids(rng, shape, num_rows)
    dout = rng.standard_normal(shape + (D,))
    cache = (idx, (num_rows, D))
    sparse = ops.embedding_backward_rows(dout, cache)
    assert sparse.num_rows == num_rows
    assert sparse.rows.dtype == np.int64
    assert np.unique(sparse.rows).shape == sparse.rows.shape       # distinct (any order)
    np.testing.assert_array_equal(np.sort(sparse.rows), np.unique(idx))
    assert sparse.values.shape == (sparse.rows.shape[0], D)
    np.testing.assert_allclose(sparse.to_dense(), ops.embedding_backward(dout, cache),
                               rtol=RTOL64, atol=ATOL64)


def test_embedding_backward_rows_float32_against_float64():
    """float32 embedding_backward_rows agrees with the float64 dense reference within REL32."""
    rng = np.random.default_rng(3)
    num_rows, D = 70_000, 2
    idx = _random_ids(rng, (32, 20), num_rows)
    dout = rng.standard_normal((32, 20, D))
    ref = ops.embedding_backward(dout, (idx, (num_rows, D)))
    scale = ops.embedding_backward(np.abs(dout), (idx, (num_rows, D))).max()
    got = ops.embedding_backward_rows(dout.astype(np.float32), (idx, (num_rows, D)))
    assert got.values.dtype == np.float32
    assert np.max(np.abs(got.to_dense() - ref)) <= REL32 * scale


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


# --------------------------------------------------------------------------- fused backward


def _fused_case(rng, B, L, D, num_rows, *, hot_count=0, zero_fraction=0.0, zero_row=False):
    """Random (dout, v, idx) for batch_dot_embedding_backward; ``hot_count`` occurrences of one id."""
    idx = _random_ids(rng, (B, L), num_rows)
    if hot_count:
        flat = idx.reshape(-1)
        flat[rng.choice(flat.shape[0], size=min(hot_count, flat.shape[0]), replace=False)] = 1
    v = rng.standard_normal((B, 1, D))
    dout = rng.standard_normal((B, 1, L))
    dout[rng.random((B, 1, L)) < zero_fraction] = 0.0    # padding
    if zero_row:
        dout[rng.integers(0, B)] = 0.0
    return dout, v, idx


def _fused_reference(dout, v, idx, num_rows):
    """embedding_backward(batch_dot_backward(dout, (v, u))[1], (idx, (V, D))) in float64."""
    D = v.shape[2]
    u = np.zeros(idx.shape + (D,))                     # du does not depend on u
    du = ops.batch_dot_backward(dout, (v, u))[1]
    return ops.embedding_backward(du, (idx, (num_rows, D)))


FUSED_CASES = [
    # B, L, D, V, hot id count, zero fraction, zero row
    (1, 1, 3, 5, 0, 0.0, False),
    (1, 6, 2, 4, 0, 0.0, False),
    (5, 1, 3, 3, 5, 0.0, False),
    (4, 7, 3, 10, 0, 0.3, True),
    (8, 12, 4, 6, 50, 0.2, False),       # id 1 about 50 times: the matrix-product path
    (16, 10, 5, 30, 50, 0.0, True),
    (32, 9, 2, 70_000, 60, 0.25, True),  # ids above 2**16
    (20, 5, 3, 140_000, 0, 0.5, False),
    (12, 11, 3, 4, 0, 0.1, False),       # V=4: every id many times, several frequent ids
    (3, 40, 2, 2, 0, 0.0, True),         # two ids, > 40 occurrences each
]


@pytest.mark.parametrize("B,L,D,V,hot,zero_fraction,zero_row", FUSED_CASES)
def test_batch_dot_embedding_backward_equals_composition(B, L, D, V, hot, zero_fraction, zero_row):
    """The fused du-and-scatter backward equals batch_dot_backward followed by embedding_backward."""
    rng = np.random.default_rng(B * 1000 + L * 10 + D)
    dout, v, idx = _fused_case(rng, B, L, D, V, hot_count=hot, zero_fraction=zero_fraction,
                               zero_row=zero_row)
    if hot:
        assert np.count_nonzero(idx == 1) >= min(hot, B * L)
    got = ops.batch_dot_embedding_backward(dout, v, idx, V)
    assert got.num_rows == V and got.rows.dtype == np.int64
    assert np.unique(got.rows).shape == got.rows.shape                # distinct (any order)
    np.testing.assert_allclose(got.to_dense(), _fused_reference(dout, v, idx, V),
                               rtol=RTOL64, atol=ATOL64)


def test_batch_dot_embedding_backward_frequent_ids_many_seeds():
    """Many random batches where several ids exceed the 4-occurrence threshold agree with the composition."""
    for seed in range(30):
        rng = np.random.default_rng(seed)
        B, L, D = rng.integers(1, 20), rng.integers(1, 15), rng.integers(1, 6)
        V = int(rng.integers(1, 12))
        dout, v, idx = _fused_case(rng, B, L, D, V, zero_fraction=float(rng.random() * 0.5))
        got = ops.batch_dot_embedding_backward(dout, v, idx, V)
        np.testing.assert_allclose(got.to_dense(), _fused_reference(dout, v, idx, V),
                                   rtol=RTOL64, atol=ATOL64, err_msg=f"seed {seed}")


def test_batch_dot_embedding_backward_skips_padding_rows():
    """Ids seen only at dout == 0 positions get an exactly zero gradient row."""
    rng = np.random.default_rng(6)
    dout, v, idx = _fused_case(rng, 6, 8, 3, 19, zero_fraction=0.0)   # ids 0..18
    idx[:, -2:] = 19                       # id 19 only at padded positions
    dout[:, 0, -2:] = 0.0
    dense = ops.batch_dot_embedding_backward(dout, v, idx, 20).to_dense()
    assert np.all(dense[19] == 0.0)


def test_batch_dot_embedding_backward_float32_against_float64():
    """float32 fused backward agrees with the float64 reference: error <= REL32 * max row sum of |terms|."""
    rng = np.random.default_rng(7)
    for B, L, D, V, hot in [(8, 12, 4, 6, 50), (32, 9, 3, 70_000, 60), (4, 7, 3, 10, 0)]:
        dout, v, idx = _fused_case(rng, B, L, D, V, hot_count=hot, zero_fraction=0.2)
        ref = _fused_reference(dout, v, idx, V)
        scale = _fused_reference(np.abs(dout), np.abs(v), idx, V).max()
        got = ops.batch_dot_embedding_backward(dout.astype(np.float32), v.astype(np.float32), idx, V)
        assert got.values.dtype == np.float32
        assert np.max(np.abs(got.to_dense() - ref)) <= REL32 * scale


def test_batch_dot_embedding_backward_all_zero_dout():
    """An all-zero dout (a fully padded batch) gives an all-zero gradient with no rows, not an IndexError.

    Regression: before commit 6886846, ``_group_equal_ids`` returned ``first=[0]`` for no
    ids and this raised ``IndexError``.
    """
    idx = np.array([[1, 2], [3, 4]])
    got = ops.batch_dot_embedding_backward(np.zeros((2, 1, 2)), np.ones((2, 1, 3)), idx, 5)
    assert got.rows.shape == (0,) and got.values.shape == (0, 3)
    np.testing.assert_array_equal(got.to_dense(), np.zeros((5, 3)))


def test_embedding_backward_rows_empty_idx():
    """No ids at all gives an empty RowSparse whose dense form is all zero, like embedding_backward."""
    cache = (np.zeros((0, 4), dtype=np.int64), (6, 3))
    got = ops.embedding_backward_rows(np.zeros((0, 4, 3)), cache)
    assert got.rows.shape == (0,)
    np.testing.assert_array_equal(got.to_dense(), ops.embedding_backward(np.zeros((0, 4, 3)), cache))


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
    # Underflow of exp(-1000) to 0 is the intended behaviour (NumPy ignores it by default);
    # overflow, division by zero and invalid operations must not happen.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
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
