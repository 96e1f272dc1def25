"""Forward/backward pairs of the skip-gram model (the op contract of GUIDE §3).

Shape letters: ``B`` batch, ``L`` padded context+noise length, ``D`` embedding size,
``V`` vocabulary size.  Each ``*_forward`` returns ``(out, cache)``; each
``*_backward`` takes the upstream gradient and that cache.  Ops are pure and take
their array module from their inputs, so the same code runs on NumPy and CuPy.
"""
from .backend import get_array_module


def embedding_forward(W, idx):
    """Gather rows of an embedding table.

    Inputs:
        W: float ``(V, D)``; idx: int array of any shape ``S``.
    Returns:
        out: float ``S + (D,)``, ``out[i] = W[idx[i]]``; cache for the backward.
    """
    xp = get_array_module(W)
    return xp.take(W, idx, axis=0), (idx, W.shape)


def embedding_backward(dout, cache):
    """Gradient of :func:`embedding_forward` with respect to ``W``.

    Inputs:
        dout: float ``S + (D,)``; cache from the forward.
    Returns:
        dW: float ``(V, D)``; rows of repeated ids accumulate (scatter-add).
    """
    xp = get_array_module(dout)
    idx, table_shape = cache
    dW = xp.zeros(table_shape, dtype=dout.dtype)
    # dW[idx] += dout would keep only one of several equal ids; add.at accumulates all.
    xp.add.at(dW, idx.reshape(-1), dout.reshape(-1, table_shape[1]))
    return dW


def batch_dot_forward(v, u):
    """Dot products of one vector per example with each of its ``L`` vectors.

    Inputs:
        v: float ``(B, 1, D)``; u: float ``(B, L, D)``.
    Returns:
        out: float ``(B, 1, L)``, ``out[b, 0, l] = v[b, 0] . u[b, l]`` (``torch.bmm(v, u^T)``).
    """
    xp = get_array_module(v, u)
    return xp.einsum("bod,bld->bol", v, u), (v, u)  # torch.bmm(v, u^T): (B,1,L)


def batch_dot_backward(dout, cache):
    """Gradients of :func:`batch_dot_forward`.

    Inputs:
        dout: float ``(B, 1, L)``.
    Returns:
        dv: float ``(B, 1, D)``; du: float ``(B, L, D)``.
    """
    xp = get_array_module(dout)
    v, u = cache
    dv = xp.einsum("bol,bld->bod", dout, u)  # (B,1,D)
    du = xp.einsum("bol,bod->bld", dout, v)  # (B,L,D)
    return dv, du


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

    NumPy sorts 16-bit keys stably with a radix sort, about ten times faster than a
    comparison sort of the same number of int64 keys; ids below 2**16 need one pass.
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
    runs = _stable_argsort_ids(size.max(initial=0) - size)   # longest first
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


def embedding_backward_rows(dout, cache):
    """:func:`embedding_backward` returning a :class:`RowSparse` gradient (same numbers)."""
    xp = get_array_module(dout)
    idx, (num_rows, width) = cache
    flat_ids = idx.reshape(-1)
    flat_dout = dout.reshape(-1, width)
    order, first, size = _group_equal_ids(flat_ids)
    values, runs = _sum_runs(lambda at: flat_dout[order[at]], first, size, width, dout.dtype, xp)
    return RowSparse(flat_ids[order[first[runs]]].astype(xp.int64), values, num_rows)


def batch_dot_embedding_backward(dout, v, idx, num_rows):
    """Fused ``batch_dot_backward`` (``du`` part) and ``embedding_backward`` of the ``u`` table.

    Equal to ``embedding_backward(batch_dot_backward(dout, (v, u))[1], (idx, (V, D)))``
    but never materialises ``du (B, L, D)``: row ``w`` of the result is
    ``sum over (b, l) with idx[b, l] == w of dout[b, 0, l] * v[b, 0]``, each term built
    only when its run is summed.  Positions with ``dout == 0`` (padding) are skipped.

    Inputs:
        dout: float ``(B, 1, L)``; v: float ``(B, 1, D)``; idx: int ``(B, L)``; num_rows: ``V``.
    Returns:
        :class:`RowSparse` gradient of the ``(V, D)`` table.
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


def _softplus(x, xp):
    """``log(1 + exp(x))`` without overflow for any ``x``."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def _sigmoid(x, xp):
    """``1 / (1 + exp(-x))`` without overflow for any ``x``."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def masked_sigmoid_bce_forward(pred, label, mask):
    """Binary cross-entropy on logits, averaged over the valid positions of each row.

    ``loss[b] = sum_l mask[b,l] * bce(pred[b,l], label[b,l]) / sum_l mask[b,l]`` — the
    seed's ``SigmoidBCELoss(pred, label, mask) * L / mask.sum(1)``.  A fully masked row
    has loss 0 and gets zero gradient (the seed would divide 0 by 0).

    Inputs:
        pred: float ``(B, L)`` logits; label: float ``(B, L)`` in {0, 1}; mask: float ``(B, L)``.
    Returns:
        loss: float ``(B,)``; cache for the backward.
    """
    xp = get_array_module(pred, label, mask)
    # bce(x, y) = softplus(x) - y * x = -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]
    elementwise = _softplus(pred, xp) - label * pred
    count = mask.sum(axis=1)
    scale = xp.where(count > 0, 1 / xp.maximum(count, 1), 0).astype(pred.dtype)  # (B,)
    loss = (mask * elementwise).sum(axis=1) * scale
    return loss, (pred, label, mask, scale)


def masked_sigmoid_bce_backward(dloss, cache):
    """Gradient of :func:`masked_sigmoid_bce_forward` with respect to ``pred``.

    Inputs:
        dloss: float ``(B,)``.
    Returns:
        dpred: float ``(B, L)``, zero on masked positions.
    """
    xp = get_array_module(dloss)
    pred, label, mask, scale = cache
    return (dloss * scale)[:, None] * mask * (_sigmoid(pred, xp) - label)
