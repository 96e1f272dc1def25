"""Numba's start-up without SciPy's linear algebra, in the processes the ``w2v-np`` command owns.

At the first call of a kernel, Numba loads its typing and lowering registries.  One of them
(``numba.np.arraymath``) imports ``scipy.linalg``, when SciPy is installed, only to learn
whether ``np.dot`` and its kin can be compiled.  No w2v-np kernel calls BLAS, and importing
``scipy.linalg`` is the largest part of that start-up, paid by every fresh ``w2v-np train``.

:func:`skip_blas_check` hides ``scipy.linalg`` from imports for the rest of the process, so
the check fails at once, as it does where SciPy is not installed.  The command calls it; the
library never does: a user's own process may hold jitted code that needs BLAS.
"""
import sys


class _Hidden:
    """A ``sys.meta_path`` finder that refuses to import one package and its submodules."""

    def __init__(self, name):
        self.name = name

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name or fullname.startswith(self.name + "."):
            raise ModuleNotFoundError(f"{fullname} is hidden in the w2v-np command (no kernel calls BLAS)",
                                      name=fullname)
        return None


def skip_blas_check():
    """Hide ``scipy.linalg`` for the rest of this process, unless Numba's check already ran.

    Returns whether it is hidden now.
    """
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return False
    if not any(isinstance(finder, _Hidden) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Hidden("scipy.linalg"))
    return True
