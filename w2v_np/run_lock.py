"""One run at a time in a run folder: an exclusive lock that the operating system releases.

Two runs writing into one folder would replace each other's checkpoint, metrics and
vectors, and each would delete the other's temporary files as stale.  A run therefore holds
``flock`` on the folder's lock file for as long as it writes there.  The kernel drops the
lock when the process ends in any way (SIGKILL included), so a killed run never blocks its
own ``--resume``; the file itself stays, holding the last holder's pid for the message.
Where ``fcntl`` does not exist (Windows) folders are not locked.
"""
import contextlib
import os

from .errors import W2VError

try:
    import fcntl
except ImportError:         # not POSIX
    fcntl = None

LOCK_FILE = ".w2v-np.lock"


@contextlib.contextmanager
def run_folder_lock(folder):
    """Hold the lock of ``folder`` (a :class:`pathlib.Path` that exists) while the block runs.

    Raises :class:`W2VError` naming the folder and the holder's pid when another live
    process holds it.
    """
    if fcntl is None:
        yield
        return
    path = folder / LOCK_FILE
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise W2VError(f"cannot lock the run folder {folder}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise W2VError(f"{folder} is in use by another w2v-np run (pid {holder}); wait for it to end "
                           f"or choose another folder") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(descriptor)        # closing drops the lock
