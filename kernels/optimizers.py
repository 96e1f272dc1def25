"""Numba kernels of the optimizers' updates: the fused twins of ``w2v_np.optim``.

Each takes the touched rows of a batch (or, for dense Adam, every row with a map from row
to gradient) and the scalars of the step as the optimizer computed them in float64 and
rounded to the tables' dtype, so that, given the same gradients, a kernel gives the
reference's bits: the operations and their order are ``w2v_np.optim``'s, element by element.
"""
import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _adam_element(param, m, v, r, d, g, beta1, beta2, one_minus_beta1, one_minus_beta2, eps_hat, scale):
    """Adam on element ``(r, d)`` with gradient ``g`` (zero for a row outside the batch).

    ``eps_hat = eps * sqrt(1 - beta2**t)``, ``scale = lr / (1 - beta1**t) * sqrt(1 - beta2**t)``
    (``w2v_np.optim.Adam.scalars``).
    """
    mi = m[r, d] * beta1 + one_minus_beta1 * g
    vi = v[r, d] * beta2 + one_minus_beta2 * (g * g)
    m[r, d] = mi
    v[r, d] = vi
    param[r, d] -= mi / (np.sqrt(vi) + eps_hat) * scale


@njit(parallel=True, cache=True)
def adam_dense(param, m, v, slot, grads, beta1, beta2, one_minus_beta1, one_minus_beta2, eps_hat, scale):
    """Dense Adam over every row of ``param`` (float ``(V, D)``) in one pass.

    Row ``r``'s gradient is ``grads[slot[r]]`` when ``slot[r] >= 0``, else zero, so rows
    outside the batch still decay their moments and move, as in ``torch.optim.Adam``.
    slot int32 ``(V,)``; grads float ``(R, D)``; m, v like ``param``.
    """
    zero = param.dtype.type(0)
    for r in prange(param.shape[0]):
        s = slot[r]
        for d in range(param.shape[1]):
            g = grads[s, d] if s >= 0 else zero
            _adam_element(param, m, v, r, d, g, beta1, beta2, one_minus_beta1, one_minus_beta2, eps_hat, scale)


@njit(parallel=True, cache=True)
def adam_rows(param, m, v, rows, grads, beta1, beta2, one_minus_beta1, one_minus_beta2, eps_hat, scale):
    """"Lazy" Adam: the update of :func:`adam_dense` applied to the rows ``rows`` only.

    rows int64 ``(R,)`` (distinct), grads float ``(R, D)``; other rows, and their moments,
    do not change.
    """
    for i in prange(rows.shape[0]):
        for d in range(param.shape[1]):
            _adam_element(param, m, v, rows[i], d, grads[i, d], beta1, beta2, one_minus_beta1, one_minus_beta2,
                          eps_hat, scale)


@njit(parallel=True, cache=True)
def sgd_rows(param, rows, grads, lr):
    """``param[rows] -= lr * grads``: rows int64 ``(R,)`` distinct, grads float ``(R, D)``."""
    for i in prange(rows.shape[0]):
        r = rows[i]
        for d in range(param.shape[1]):
            param[r, d] -= lr * grads[i, d]
