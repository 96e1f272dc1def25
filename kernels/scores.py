"""The arithmetic the Numba training steps share: dot products and the stable BCE of a score."""
import numpy as np
from numba import njit

# Reassociation and contraction only: no assumption that values are finite.
FAST = {"reassoc", "contract", "nsz", "arcp"}


@njit(fastmath=FAST, cache=True, inline="always")
def row_dot(a, i, b, j):
    """``a[i] . b[j]`` indexed in place (no row views, which cost a reference count each)."""
    total = a.dtype.type(0)
    for d in range(a.shape[1]):
        total += a[i, d] * b[j, d]
    return total


@njit(cache=True, inline="always")
def bce_position(x, label, one, growth, neg_log):
    """One position of the BCE on logit ``x``: returns ``(sigmoid(x), growth, neg_log)``.

    The BCE is the one formula of ``w2v_np.ops.sigmoid_bce``,
    ``log(1 + exp(-|x|)) + max(x, 0) - label * x``, written for a label of 0 or 1: with
    ``e = exp(-|x|)`` it is ``log(1 + e)``, plus ``|x|`` when the sign of ``x`` disagrees
    with ``label``; exact for any ``x``, no overflow (tests pin it to that formula).  A
    row's loss (the sum of its positions' BCE) is ``neg_log + log(growth)``: ``growth``
    multiplies the factors ``1 + e`` (each in [1, 2]) in float64 and is folded into
    ``neg_log`` once it passes 2^500, so a row costs one exponential per position and one
    logarithm in all.  The choices between two values are selects, not branches on the
    data: a logit's sign is a coin toss for the branch predictor.  ``one`` is 1 in
    ``x``'s dtype.
    """
    e = np.exp(-abs(x))
    inverse = one / (one + e)
    positive = x >= 0
    sigmoid = inverse if positive else e * inverse
    growth *= 1.0 + np.float64(e)
    neg_log += abs(np.float64(x)) if positive != (label > 0) else 0.0
    if growth > 3e150:
        neg_log += np.log(growth)
        growth = 1.0
    return sigmoid, growth, neg_log
