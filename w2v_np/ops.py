"""Forward/backward pairs of the skip-gram model (the op contract of GUIDE §3).

Shape letters: ``B`` batch, ``L`` padded context+noise length, ``D`` embedding size,
``V`` vocabulary size.  Each ``*_forward`` returns ``(out, cache)``; each
``*_backward`` takes the upstream gradient and that cache.  Ops are pure and take
their array module from their inputs, so the same code runs on NumPy and CuPy.
:func:`sigmoid` and :func:`sigmoid_bce` are the elementwise formulas the BCE pair is
built on.

These are the plain versions, the maths in one readable place: the row-sparse and fused
gradients of :mod:`w2v_np.sparse_grads` and the kernels of ``w2v_np.kernels`` are tested
against them.
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


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))``, elementwise, without overflow for any ``x``.

    Inputs:
        x: float array of any shape.
    Returns:
        float array shaped and typed like ``x``, in [0, 1].
    """
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))                   # in (0, 1]: never overflows
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_bce(x, label):
    """Binary cross-entropy of logits against labels, elementwise: the project's one BCE formula.

    ``sigmoid_bce(x, y) = log(1 + exp(-|x|)) + max(x, 0) - y * x``, which equals
    ``softplus(x) - y * x = -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]``.  Written
    this way it never overflows: ``exp`` only sees ``-|x|``, and at ``x = +-1000`` the
    result is exactly ``1000`` or ``0``.  For a label of 0 or 1 it is ``log1p(e^-|x|)``
    plus ``|x|`` when the sign of ``x`` disagrees with the label, which is how the Numba
    kernels (``_bce_position`` in ``kernels/training.py``) and the CUDA kernel
    (``kernels/gpu.py``) write it; they cite this function and are tested against the
    ops built on it.

    Inputs:
        x: float logits, any shape; label: float, broadcastable to ``x`` (0 or 1 in training).
    Returns:
        float array of the broadcast shape.
    """
    xp = get_array_module(x, label)
    return xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(x, 0) - label * x


def masked_sigmoid_bce_forward(pred, label, mask):
    """Binary cross-entropy on logits, averaged over the valid positions of each row.

    ``loss[b] = sum_l mask[b,l] * sigmoid_bce(pred[b,l], label[b,l]) / sum_l mask[b,l]`` — the
    seed's ``SigmoidBCELoss(pred, label, mask) * L / mask.sum(1)``.  A fully masked row
    has loss 0 and gets zero gradient (the seed would divide 0 by 0).

    Inputs:
        pred: float ``(B, L)`` logits; label: float ``(B, L)`` in {0, 1}; mask: float ``(B, L)``.
    Returns:
        loss: float ``(B,)``; cache for the backward.
    """
    xp = get_array_module(pred, label, mask)
    elementwise = sigmoid_bce(pred, label)                                      # (B,L)
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
    pred, label, mask, scale = cache
    return (dloss * scale)[:, None] * mask * (sigmoid(pred) - label)  # (B,L)
