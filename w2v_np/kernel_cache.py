"""Where Numba keeps the compiled kernels: a per-user folder, never the installed package.

Left to itself, Numba writes its cache beside the kernels' source, inside
``site-packages/w2v_np/kernels/__pycache__``.  pip does not remove those files on
uninstall, and the folder they leave behind turns ``w2v_np`` into a namespace package that
shadows the next install; a read-only install cannot write there at all and compiles again
in every process.  So before Numba is first imported, :func:`configure` points it at
``$XDG_CACHE_HOME/w2v-np/kernels/<version>-py<X.Y>`` (``~/.cache`` without the variable):
one folder per w2v-np version and Python version, so two installed versions never read
each other's entries.  A ``NUMBA_CACHE_DIR`` the user set is honoured.  ``w2v-np cache
--info`` shows the folder and its size, ``w2v-np cache --clear`` empties it.
"""
import os
import shutil
import sys
from pathlib import Path

from .corpus import default_cache_dir
from .errors import W2VError

KERNELS = Path(__file__).resolve().parent / "kernels"


USER_CHOSEN = bool(os.environ.get("NUMBA_CACHE_DIR"))
"""Whether the user set ``NUMBA_CACHE_DIR`` (read when w2v_np is imported, before :func:`configure`)."""


def own_folder(version=None):
    """This project's cache of compiled kernels: one subfolder per w2v-np version and Python
    version (``version`` given), or all of them (``None``)."""
    folder = default_cache_dir() / "kernels"
    return folder if version is None else folder / f"{version}-py{sys.version_info[0]}.{sys.version_info[1]}"


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
    subfolder = UserProvidedCacheLocator.get_suitable_cache_subpath(os.fspath(KERNELS / "__init__.py"))
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
