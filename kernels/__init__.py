"""Compiled kernels of w2v-np, installed as ``w2v_np.kernels``.

This subpackage holds the accelerated implementations (Numba on the CPU, GPU kernels)
that mirror the NumPy reference in ``w2v_np``.  Numba is optional
(``pip install "w2v-np[fast]"``): :func:`numba_available` tells whether it can be used.
"""
import importlib.util


def numba_available():
    """Whether Numba is installed (the NumPy reference is used otherwise)."""
    return importlib.util.find_spec("numba") is not None
