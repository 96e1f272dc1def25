"""Where Numba keeps the compiled kernels: a per-user folder, never the installed package.

Left to itself, Numba writes its cache beside the kernels' source, inside
``site-packages/w2v_np/kernels/__pycache__``.  pip does not remove those files on
uninstall, and the folder they leave behind turns ``w2v_np`` into a namespace package that
shadows the next install; a read-only install cannot write there at all and compiles again
in every process.  So before Numba is first imported, :func:`configure` points it at
``$XDG_CACHE_HOME/w2v-np/kernels/<version>-py<X.Y>-<digest>`` (``~/.cache`` without the
variable): one folder per w2v-np version, Python version and content of the kernels'
sources, so two installed versions never read each other's entries, and an edited kernel
module never meets entries compiled from its old text (Numba checks only the file of the
function it compiled, not the files of the functions that function calls).  A
``NUMBA_CACHE_DIR`` the user set is honoured.  ``w2v-np cache --info`` shows the folder and
its size, ``w2v-np cache --clear`` empties it.
"""
import hashlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

from .corpus import default_cache_dir
from .errors import W2VError



def kernels_folder():
    """Where the ``w2v_np.kernels`` sources are (beside ``w2v_np``, or ``kernels/`` of a checkout
    installed in editable mode)."""
    return Path(importlib.util.find_spec("w2v_np.kernels").origin).parent


def sources_digest():
    """A short digest of the kernels' sources (file names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(kernels_folder().glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


USER_CHOSEN = bool(os.environ.get("NUMBA_CACHE_DIR"))
"""Whether the user set ``NUMBA_CACHE_DIR`` (read when w2v_np is imported, before :func:`configure`)."""


def own_folder(version=None):
    """This project's cache of compiled kernels: one subfolder per w2v-np version, Python
    version and kernel sources (``version`` given), or all of them (``None``)."""
    folder = default_cache_dir() / "kernels"
    if version is None:
        return folder
    return folder / f"{version}-py{sys.version_info[0]}.{sys.version_info[1]}-{sources_digest()}"


def configure(version):
    """Point Numba's cache at :func:`own_folder` for ``version`` unless the user chose a folder.

    Called before Numba is imported, it sets ``NUMBA_CACHE_DIR``; a Numba imported earlier
    has read its configuration already, so its ``config.CACHE_DIR`` is set too.
    """
    if USER_CHOSEN:
        return
    folder = os.fspath(own_folder(version))
    os.environ["NUMBA_CACHE_DIR"] = folder
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.config.CACHE_DIR = folder


def folder_to_clear():
    """The folder holding every compiled kernel of this project that this process can see.

    Our own cache (all versions), or, under a ``NUMBA_CACHE_DIR`` the user chose (which may
    hold other projects' entries), the subfolder Numba derives from the kernels' source
    folder.
    """
    if not USER_CHOSEN:
        return own_folder()
    from numba.core.caching import UserProvidedCacheLocator
    subfolder = UserProvidedCacheLocator.get_suitable_cache_subpath(os.fspath(kernels_folder() / "__init__.py"))
    return Path(os.environ["NUMBA_CACHE_DIR"]) / subfolder


def size(folder):
    """``(files, bytes)`` under ``folder`` (0, 0 when it does not exist)."""
    files = [path for path in Path(folder).rglob("*") if path.is_file()]
    return len(files), sum(path.stat().st_size for path in files)


def clear(folder):
    """Remove ``folder`` and everything in it; returns ``(files, bytes)`` removed."""
    removed = size(folder)
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise W2VError(f"cannot clear the kernel cache {folder}: {exc.strerror or exc}") from None
    return removed
