"""Compiled kernels of w2v-np, installed as ``w2v_np.kernels``.

This subpackage holds the accelerated implementations (Numba on the CPU, GPU kernels)
that mirror the NumPy reference in ``w2v_np``.  Numba is optional
(``pip install "w2v-np[fast]"``): :func:`numba_available` tells whether it can be used,
and the modules that need it (``sampling``, ``training``) are imported only then.
``gpu`` holds numba.cuda kernels: :func:`cuda_available` tells whether they can run (on
a GPU, or under Numba's CUDA simulator).
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


@functools.cache
def cuda_available():
    """Whether numba.cuda can launch kernels: it sees a GPU, or runs its simulator."""
    if not numba_available():
        return False
    try:
        from numba import cuda
        return bool(cuda.is_available())
    except Exception:  # a missing CUDA driver or toolkit surfaces as many different errors
        return False
