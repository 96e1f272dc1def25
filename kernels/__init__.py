"""Compiled kernels of w2v-np, installed as ``w2v_np.kernels``.

This subpackage holds the accelerated implementations (Numba on the CPU, GPU kernels)
that mirror the NumPy reference in ``w2v_np``.  Numba is optional
(``pip install "w2v-np[fast]"``): :func:`numba_available` tells whether it can be used,
and the modules that need it (``sampling``) are imported only then.
"""
import functools


@functools.cache
def numba_available():
    """Whether Numba imports (the NumPy reference is used otherwise)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True
