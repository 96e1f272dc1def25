"""The single NumPy/CuPy switch.

Ops never ask which backend is active: they call :func:`get_array_module` on their
inputs and use whatever module those arrays belong to.  Only code that *creates*
arrays from nothing (model initialisation, batch transfer) asks :func:`get_backend`
for a module by name.  CuPy is imported lazily, so NumPy-only installs never touch it.
"""
from types import ModuleType

import numpy as np

from .errors import W2VError

BACKENDS = ("numpy", "cupy", "auto")


def _import_cupy():
    """Return the cupy module if it is installed and sees a GPU, else None and why."""
    try:
        import cupy
    except ImportError:
        return None, "CuPy is not installed (pip install 'w2v-np[gpu]')"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver errors have no common base class
        return None, f"CuPy found no usable GPU ({type(exc).__name__}: {exc})".splitlines()[0]
    if count == 0:
        return None, "CuPy found no GPU"
    return cupy, None


def get_backend(name: str = "numpy") -> ModuleType:
    """Return the array module (``numpy`` or ``cupy``) for a backend name.

    ``auto`` picks CuPy when it is installed and a GPU is visible, NumPy otherwise.
    Asking for ``cupy`` without CuPy or without a GPU raises :class:`W2VError`.
    """
    if name == "numpy":
        return np
    if name not in BACKENDS:
        raise W2VError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    cupy, why = _import_cupy()
    if cupy is not None:
        return cupy
    if name == "auto":
        return np
    raise W2VError(f"backend 'cupy' is not available: {why}")


def get_array_module(*arrays) -> ModuleType:
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy``.

    Works without CuPy installed: then every array is a NumPy array.
    """
    for array in arrays:
        module = type(array).__module__
        if module.startswith("cupy"):
            import cupy
            return cupy
    return np


def to_host(array):
    """Return ``array`` as a NumPy array (a copy from the GPU for CuPy arrays)."""
    if get_array_module(array) is np:
        return np.asarray(array)
    return array.get()


def to_device(array, xp):
    """Return the NumPy array ``array`` on the backend ``xp`` (no copy for NumPy)."""
    return xp.asarray(array)
