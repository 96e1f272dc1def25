"""Tests of w2v_np.sparse_grads: each row-sparse or fused gradient against the plain ops it replaces.

``embedding_backward_rows`` is checked against ``ops.embedding_backward``,
``batch_dot_backward_v`` against the ``dv`` of ``ops.batch_dot_backward`` and
``batch_dot_embedding_backward`` against ``ops.batch_dot_backward`` followed by
``ops.embedding_backward``, with repeated ids (below, at and beyond the
``_LAYERED_OCCURRENCES`` ranks summed one by one), padding and ids above 2**16.
"""
import numpy as np
import pytest

from w2v_np import ops, sparse_grads
from w2v_np.sparse_grads import RowSparse

# float64 comparisons of two exact-in-theory computations that only differ in summation order.
RTOL64, ATOL64 = 1e-10, 1e-12
# float32 results against a float64 reference: error at most this fraction of the largest
# sum of absolute terms (float32 epsilon is 6e-8; sums here have at most ~100 terms).
REL32 = 1e-5


# --------------------------------------------------------------------------- RowSparse and sorting


def test_row_sparse_to_dense():
    """RowSparse.to_dense puts each value row at its id and zeros elsewhere, keeping the dtype."""
    rows = np.array([0, 3, 4], dtype=np.int64)
    values = np.arange(6, dtype=np.float32).reshape(3, 2) + 1
    dense = RowSparse(rows, values, 6).to_dense()
    expected = np.zeros((6, 2), dtype=np.float32)
    expected[[0, 3, 4]] = values
    assert dense.dtype == np.float32 and dense.shape == (6, 2)
    np.testing.assert_array_equal(dense, expected)
    empty = RowSparse(np.zeros(0, np.int64), np.zeros((0, 2)), 3).to_dense()
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
        order = sparse_grads._stable_argsort_ids(ids)
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
    sparse = sparse_grads.embedding_backward_rows(dout, cache)
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
    got = sparse_grads.embedding_backward_rows(dout.astype(np.float32), (idx, (num_rows, D)))
    assert got.values.dtype == np.float32
    assert np.max(np.abs(got.to_dense() - ref)) <= REL32 * scale


@pytest.mark.parametrize("count", [1, sparse_grads._LAYERED_OCCURRENCES, sparse_grads._LAYERED_OCCURRENCES + 1, 30])
def test_embedding_backward_rows_occurrences_around_layer_limit(count):
    """An id used ``count`` times, just below, at and beyond the ranks summed one by one, sums all its rows.

    Its row is compared with a loop over the occurrences; a second id used 3 times, and
    zero rows of ``dout`` (padded examples) mixed in, must not disturb it.
    """
    rng = np.random.default_rng(count)
    num_rows, D = 10, 3
    idx = np.concatenate([np.full(count, 4), np.full(3, 7), [1, 2]])
    idx = idx[rng.permutation(idx.shape[0])]
    dout = rng.standard_normal(idx.shape + (D,))
    dout[idx == 2] = 0.0                                   # a padded occurrence
    sparse = sparse_grads.embedding_backward_rows(dout, (idx, (num_rows, D)))
    np.testing.assert_array_equal(np.sort(sparse.rows), [1, 2, 4, 7])
    loop = np.zeros((num_rows, D))
    for position, row in enumerate(idx):
        loop[row] += dout[position]
    np.testing.assert_allclose(sparse.to_dense(), loop, rtol=RTOL64, atol=ATOL64)
    np.testing.assert_allclose(sparse.to_dense(), ops.embedding_backward(dout, (idx, (num_rows, D))),
                               rtol=RTOL64, atol=ATOL64)
    assert np.all(sparse.to_dense()[2] == 0.0)


def test_embedding_backward_rows_empty_idx():
    """No ids at all gives an empty RowSparse whose dense form is all zero, like embedding_backward."""
    cache = (np.zeros((0, 4), dtype=np.int64), (6, 3))
    got = sparse_grads.embedding_backward_rows(np.zeros((0, 4, 3)), cache)
    assert got.rows.shape == (0,)
    np.testing.assert_array_equal(got.to_dense(), ops.embedding_backward(np.zeros((0, 4, 3)), cache))


# --------------------------------------------------------------------------- batch_dot_backward_v


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batch_dot_backward_v_equals_dv_of_batch_dot_backward(dtype):
    """batch_dot_backward_v(dout, u) is exactly the dv of ops.batch_dot_backward(dout, (v, u)), padding included."""
    rng = np.random.default_rng(12)
    B, L, D = 6, 9, 4
    v = rng.standard_normal((B, 1, D)).astype(dtype)
    u = rng.standard_normal((B, L, D)).astype(dtype)
    dout = rng.standard_normal((B, 1, L)).astype(dtype)
    dout[:, :, 6:] = 0.0                                   # padded positions
    dout[2] = 0.0                                          # a fully padded example
    dv = sparse_grads.batch_dot_backward_v(dout, u)
    assert dv.shape == (B, 1, D) and dv.dtype == dtype
    np.testing.assert_array_equal(dv, ops.batch_dot_backward(dout, (v, u))[0])
    loop = np.array([[sum(dout[b, 0, pos] * u[b, pos].astype(np.float64) for pos in range(L))]
                     for b in range(B)])
    tol = (REL32, REL32) if dtype == np.float32 else (RTOL64, ATOL64)
    np.testing.assert_allclose(dv, loop, rtol=tol[0], atol=tol[1])
    assert np.all(dv[2] == 0.0)


# --------------------------------------------------------------------------- fused du and scatter-add


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
    (8, 12, 4, 6, 50, 0.2, False),       # id 1 about 50 times: the segmented sum
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
    got = sparse_grads.batch_dot_embedding_backward(dout, v, idx, V)
    assert got.num_rows == V and got.rows.dtype == np.int64
    assert np.unique(got.rows).shape == got.rows.shape                # distinct (any order)
    np.testing.assert_allclose(got.to_dense(), _fused_reference(dout, v, idx, V),
                               rtol=RTOL64, atol=ATOL64)


def test_batch_dot_embedding_backward_frequent_ids_many_seeds():
    """Many random batches, where several ids occur more than _LAYERED_OCCURRENCES times, agree with the composition."""
    for seed in range(30):
        rng = np.random.default_rng(seed)
        B, L, D = rng.integers(1, 20), rng.integers(1, 15), rng.integers(1, 6)
        V = int(rng.integers(1, 12))
        dout, v, idx = _fused_case(rng, B, L, D, V, zero_fraction=float(rng.random() * 0.5))
        got = sparse_grads.batch_dot_embedding_backward(dout, v, idx, V)
        np.testing.assert_allclose(got.to_dense(), _fused_reference(dout, v, idx, V),
                                   rtol=RTOL64, atol=ATOL64, err_msg=f"seed {seed}")


def test_batch_dot_embedding_backward_skips_padding_rows():
    """Ids seen only at dout == 0 positions get an exactly zero gradient row."""
    rng = np.random.default_rng(6)
    dout, v, idx = _fused_case(rng, 6, 8, 3, 19, zero_fraction=0.0)   # ids 0..18
    idx[:, -2:] = 19                       # id 19 only at padded positions
    dout[:, 0, -2:] = 0.0
    dense = sparse_grads.batch_dot_embedding_backward(dout, v, idx, 20).to_dense()
    assert np.all(dense[19] == 0.0)


def test_batch_dot_embedding_backward_float32_against_float64():
    """float32 fused backward agrees with the float64 reference: error <= REL32 * max row sum of |terms|."""
    rng = np.random.default_rng(7)
    for B, L, D, V, hot in [(8, 12, 4, 6, 50), (32, 9, 3, 70_000, 60), (4, 7, 3, 10, 0)]:
        dout, v, idx = _fused_case(rng, B, L, D, V, hot_count=hot, zero_fraction=0.2)
        ref = _fused_reference(dout, v, idx, V)
        scale = _fused_reference(np.abs(dout), np.abs(v), idx, V).max()
        got = sparse_grads.batch_dot_embedding_backward(dout.astype(np.float32), v.astype(np.float32), idx, V)
        assert got.values.dtype == np.float32
        assert np.max(np.abs(got.to_dense() - ref)) <= REL32 * scale


def test_batch_dot_embedding_backward_all_zero_dout():
    """An all-zero dout (a fully padded batch) gives an all-zero gradient with no rows, not an IndexError.

    Regression: before commit 6886846, ``_group_equal_ids`` returned ``first=[0]`` for no
    ids and this raised ``IndexError``.
    """
    idx = np.array([[1, 2], [3, 4]])
    got = sparse_grads.batch_dot_embedding_backward(np.zeros((2, 1, 2)), np.ones((2, 1, 3)), idx, 5)
    assert got.rows.shape == (0,) and got.values.shape == (0, 3)
    np.testing.assert_array_equal(got.to_dense(), np.zeros((5, 3)))
