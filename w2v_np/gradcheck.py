"""Centred finite differences, for checking analytic gradients (CS231n's gradient_check).

Public on purpose: a user studying an op can compare its backward with
:func:`numerical_gradient` in a few lines.  Use float64 inputs.
"""
import numpy as np

from .backend import get_array_module


def numerical_gradient(f, x, h=1e-6):
    """Centred-difference gradient of the scalar function ``f()`` with respect to ``x``.

    ``x`` is perturbed in place (and restored), one element at a time, so ``f`` must
    read it.  Returns an array shaped like ``x``.
    """
    xp = get_array_module(x)
    grad = xp.zeros_like(x)
    flat_x = x.reshape(-1)
    flat_grad = grad.reshape(-1)
    for i in range(flat_x.shape[0]):
        original = flat_x[i].item()
        flat_x[i] = original + h
        plus = float(f())
        flat_x[i] = original - h
        minus = float(f())
        flat_x[i] = original
        flat_grad[i] = (plus - minus) / (2 * h)
    return grad


def numerical_gradient_of_output(f, x, dout, h=1e-6):
    """Centred-difference gradient of ``sum(f() * dout)`` with respect to ``x``.

    For ops with array outputs: ``dout`` is the upstream gradient.
    """
    xp = get_array_module(x, dout)
    return numerical_gradient(lambda: xp.sum(f() * dout), x, h)


def relative_error(analytic, numeric):
    """``max|a - n| / max(1e-12, max|a| + max|n|)``: the guide's gradient-check error."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    return float(np.max(np.abs(a - n)) / max(1e-12, np.max(np.abs(a)) + np.max(np.abs(n))))
