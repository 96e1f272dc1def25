"""The optimizers' updates as the fused mini-batch step applies them, a row at a time.

An optimizer of ``w2v_np.optim`` hands the step an *update*: a rule (one of the constants
below), its constants for this step, computed in float64 and rounded to the tables' dtype
as NumPy rounds a Python float in the reference, and its state arrays per table.  Element
by element the operations and their order are the reference's, so given the same
gradients a row gets the reference's bits.  These functions are compiled without
fastmath, and the step calls them from a region compiled without it: contracting
``m * beta1 + (1 - beta1) * g`` into a fused multiply-add would change the last bit.
"""
import numpy as np
from numba import njit

NONE = 0
"""No update: the step only leaves the gradients in its buffers (tests, profiling)."""
ADAM = 1
"""``torch.optim.Adam``: every row moves each step, with a zero gradient where the batch did not touch it."""
LAZY_ADAM = 2
"""Adam on the touched rows only (PyTorch's ``SparseAdam``); constants as :data:`ADAM`'s."""
SGD = 3
"""``param[row] -= rate * grad``; constants ``(rate,)``."""


@njit(cache=True)
def updates_every_row(rule):
    """Whether ``rule`` moves rows the batch did not touch (dense Adam)."""
    return rule == ADAM


@njit(cache=True, inline="always")
def _adam_element(param, m, v, r, d, g, beta1, beta2, one_minus_beta1, one_minus_beta2, eps_hat, scale):
    """Adam on element ``(r, d)`` with gradient ``g``.

    ``eps_hat = eps * sqrt(1 - beta2**t)``, ``scale = lr / (1 - beta1**t) * sqrt(1 - beta2**t)``
    (``w2v_np.optim.Adam.scalars``).
    """
    mi = m[r, d] * beta1 + one_minus_beta1 * g
    vi = v[r, d] * beta2 + one_minus_beta2 * (g * g)
    m[r, d] = mi
    v[r, d] = vi
    param[r, d] -= mi / (np.sqrt(vi) + eps_hat) * scale


@njit(cache=True, inline="always")
def update_row(rule, constants, param, m, v, row, grads, slot):
    """Apply ``rule`` to row ``row`` of ``param`` (float ``(V, D)``) with gradient ``grads[slot]``.

    ``slot < 0`` means the batch did not touch the row: its gradient is zero.  ``constants``
    float ``(6,)`` for Adam, ``(beta1, beta2, 1 - beta1, 1 - beta2, eps_hat, scale)``, or
    ``(1,)`` for SGD, in ``param``'s dtype; ``m``, ``v`` Adam's moments, like ``param``
    (ignored by SGD).
    """
    dim = param.shape[1]
    if rule == SGD:
        rate = constants[0]
        for d in range(dim):
            param[row, d] -= rate * grads[slot, d]
    elif rule == ADAM or rule == LAZY_ADAM:
        beta1, beta2, one_minus_beta1, one_minus_beta2, eps_hat, scale = (
            constants[0], constants[1], constants[2], constants[3], constants[4], constants[5])
        if slot >= 0:
            for d in range(dim):
                _adam_element(param, m, v, row, d, grads[slot, d], beta1, beta2, one_minus_beta1,
                              one_minus_beta2, eps_hat, scale)
        else:
            zero = param.dtype.type(0)
            for d in range(dim):
                _adam_element(param, m, v, row, d, zero, beta1, beta2, one_minus_beta1, one_minus_beta2,
                              eps_hat, scale)
