"""Row-sparse and fused gradients: faster forms of the plain backward ops of :mod:`w2v_np.ops`.

A batch touches a few hundred rows of a ``(V, D)`` table, so the model's fast path
(:meth:`~w2v_np.model.SkipGram.loss_and_grads`) keeps gradients as the rows that may be
nonzero and never builds the ``(B, L, D)`` gradient of the context vectors.  What each piece
replaces:

- :class:`RowSparse` stands for the dense ``(V, D)`` gradient (:meth:`RowSparse.to_dense`);
  the optimizers of :mod:`w2v_np.optim` take either form.
- :func:`embedding_backward_rows` is :func:`~w2v_np.ops.embedding_backward` (scatter-add of
  repeated ids) returning a :class:`RowSparse`.
- :func:`batch_dot_backward_v` is the ``dv`` half of :func:`~w2v_np.ops.batch_dot_backward`.
- :func:`batch_dot_embedding_backward` is the ``du`` half of
  :func:`~w2v_np.ops.batch_dot_backward` followed by :func:`~w2v_np.ops.embedding_backward`
  of the context table, fused.
- ``_stable_argsort_ids``, ``_group_equal_ids`` and ``_sum_runs`` are how the scatter-adds
  are done without ``ufunc.at``: sort the ids into runs of equal ids, then sum each run.

Each is pinned by tests (``tests/test_sparse_grads.py``) to the composition of plain ops it
replaces, with repeated ids and padding; the model's fast loss is pinned to
:meth:`~w2v_np.model.SkipGram.reference_loss_and_grads` (``tests/test_model.py``).
"""
from .backend import get_array_module


class RowSparse:
    """A ``(V, D)`` gradient stored as the rows that may be nonzero.

    Attributes:
        rows: int64 ``(R,)``, distinct row ids (in no particular order).
        values: float ``(R, D)``, the gradient of those rows; every other row is zero.
        num_rows: ``V``.
    """

    def __init__(self, rows, values, num_rows):
        self.rows, self.values, self.num_rows = rows, values, num_rows

    def to_dense(self):
        """The full float ``(V, D)`` gradient."""
        xp = get_array_module(self.values)
        dense = xp.zeros((self.num_rows, self.values.shape[1]), dtype=self.values.dtype)
        dense[self.rows] = self.values
        return dense


def _stable_argsort_ids(ids):
    """Stable argsort of non-negative int ids below 2**32, by 16-bit radix passes.

    NumPy sorts 16-bit keys stably with a radix sort, which is much faster than its
    comparison sort of int64 keys; ids below 2**16 need one pass.
    """
    xp = get_array_module(ids)
    order = xp.argsort((ids & 0xFFFF).astype(xp.uint16), kind="stable")
    if ids.shape[0] and int(ids.max()) >= 1 << 16:
        order = order[xp.argsort((ids[order] >> 16).astype(xp.uint16), kind="stable")]
    return order


def _group_equal_ids(ids):
    """Sort ``ids`` (non-negative int ``(N,)``) into runs of equal values.

    Returns ``order`` (stable sorting permutation), ``first`` (int ``(R,)``: where each
    run starts in sorted order) and ``size`` (int ``(R,)``: run lengths, all >= 1).
    """
    xp = get_array_module(ids)
    order = _stable_argsort_ids(ids)
    sorted_ids = ids[order]
    starts_run = xp.ones(ids.shape[0], dtype=bool)
    starts_run[1:] = sorted_ids[1:] != sorted_ids[:-1]
    first = xp.flatnonzero(starts_run)
    size = xp.diff(first, append=ids.shape[0])
    return order, first, size


# The first occurrences of every id are summed rank by rank, one vectorised add per
# rank; the further occurrences, which belong to a few frequent ids, by one reduceat.
_LAYERED_OCCURRENCES = 8


def _sum_runs(rows_at, first, size, width, dtype, xp):
    """Sum rows run by run: ``out[r] = sum of rows_at(first[r] + k) for k < size[r]``.

    ``rows_at(positions)`` returns float ``(len(positions), width)``.  Runs are taken
    longest first, so the runs with a ``k``-th entry form a prefix and the ``k``-th
    entries of all of them are added with one slice ``+=`` (distinct rows, so plain
    vectorised addition is correct); runs longer than ``_LAYERED_OCCURRENCES`` finish
    with a segmented sum.  Neither ``ufunc.at`` (slow) nor BLAS (whose spinning
    threads compete with the batch prefetcher) is used.

    Returns ``(out, runs)``: float ``(R, width)`` sums and the run index of each row.
    """
    longest = size.max() if size.shape[0] else 0              # CuPy's max takes no initial=
    runs = _stable_argsort_ids(longest - size)                # longest first
    first, size = first[runs], size[runs]
    out = xp.zeros((first.shape[0], width), dtype=dtype)
    # longer[k]: how many runs are longer than k (a prefix, since runs are sorted)
    longer = xp.searchsorted(-size, -xp.arange(1, _LAYERED_OCCURRENCES + 2), side="right").tolist()
    for rank in range(_LAYERED_OCCURRENCES):
        if longer[rank] == 0:
            break
        out[:longer[rank]] += rows_at(first[:longer[rank]] + rank)
    num_long = longer[_LAYERED_OCCURRENCES]
    if num_long:
        extra = size[:num_long] - _LAYERED_OCCURRENCES
        segment_start = xp.cumsum(extra) - extra
        position = (xp.repeat(first[:num_long] + _LAYERED_OCCURRENCES - segment_start, extra)
                    + xp.arange(int(extra.sum())))  # sorted positions of the extra entries
        out[:num_long] += xp.add.reduceat(rows_at(position), segment_start, axis=0)
    return out, runs


def batch_dot_backward_v(dout, u):
    """The ``dv`` half of :func:`~w2v_np.ops.batch_dot_backward`, alone.

    Equal to ``batch_dot_backward(dout, (v, u))[0]``, which needs no ``v`` and whose
    ``du`` half :func:`batch_dot_embedding_backward` computes fused with its scatter-add.

    Inputs:
        dout: float ``(B, 1, L)``; u: float ``(B, L, D)``.
    Returns:
        dv: float ``(B, 1, D)``.
    """
    xp = get_array_module(dout, u)
    return xp.einsum("bol,bld->bod", dout, u)  # (B,1,D)


def embedding_backward_rows(dout, cache):
    """:func:`~w2v_np.ops.embedding_backward` returning a :class:`RowSparse` gradient.

    The same sums (scatter-add of repeated ids), added in another order.

    Inputs:
        dout: float ``S + (D,)``; cache: ``(idx, (V, D))`` from
        :func:`~w2v_np.ops.embedding_forward`, ``idx`` non-negative int ``S`` below 2**32.
    Returns:
        :class:`RowSparse` of dout's dtype, one row per distinct id of ``idx``.
    """
    xp = get_array_module(dout)
    idx, (num_rows, width) = cache
    flat_ids = idx.reshape(-1)
    flat_dout = dout.reshape(-1, width)
    order, first, size = _group_equal_ids(flat_ids)
    values, runs = _sum_runs(lambda at: flat_dout[order[at]], first, size, width, dout.dtype, xp)
    return RowSparse(flat_ids[order[first[runs]]].astype(xp.int64), values, num_rows)


def batch_dot_embedding_backward(dout, v, idx, num_rows):
    """Fused ``batch_dot_backward`` (``du`` part) and ``embedding_backward`` of the ``u`` table.

    Equal, up to the order of summation, to
    ``ops.embedding_backward(ops.batch_dot_backward(dout, (v, u))[1], (idx, (V, D)))``
    (``du`` does not depend on ``u``) but never materialises ``du (B, L, D)``: row ``w`` of the result is
    ``sum over (b, l) with idx[b, l] == w of dout[b, 0, l] * v[b, 0]``, each term built
    only when its run is summed.  Positions with ``dout == 0`` (padding) are skipped.

    Inputs:
        dout: float ``(B, 1, L)``; v: float ``(B, 1, D)``; idx: int ``(B, L)``; num_rows: ``V``.
    Returns:
        :class:`RowSparse` gradient of the ``(V, D)`` table, of v's dtype: one row per
        distinct id at a position where ``dout != 0``.
    """
    xp = get_array_module(dout, v)
    length = idx.shape[1]
    flat_dout = dout.reshape(-1)
    entry = xp.flatnonzero(flat_dout)
    order, first, size = _group_equal_ids(idx.reshape(-1)[entry])
    entry = entry[order]                                   # sorted by id
    weight, example = flat_dout[entry], entry // length
    center = v[:, 0, :]                                    # (B,D)
    values, runs = _sum_runs(lambda at: weight[at, None] * center[example[at]],
                             first, size, v.shape[2], v.dtype, xp)
    return RowSparse(idx.reshape(-1)[entry[first[runs]]].astype(xp.int64), values, num_rows)
