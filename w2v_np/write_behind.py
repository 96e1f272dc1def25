"""Writes that run in a background thread while training goes on, one at a time, in order.

A run saves its progress after every epoch: the checkpoint (a few tables and moments,
fsynced), then ``metrics.json`` and ``loss.png``.  Waiting for the disk there costs a
short epoch a noticeable share of its time; :class:`WriteBehind` lets the next epoch
start while the last one's files are written.  The caller hands it a function that
writes from a snapshot taken at submission (arrays copied, JSON-ready values), so what
lands on disk is the state of that moment whatever the training does meanwhile.

At most one write is in flight: :meth:`WriteBehind.submit` first waits for the previous
one, so the files keep the order of the epochs and memory holds one snapshot.  A write
that fails stops the ones after it; its error is raised in the training thread at the
next :meth:`~WriteBehind.submit` or at the end of the ``with`` block, which always waits
for the write in flight, so no file is left half-written by a run that ends.
"""
import threading


class WriteBehind:
    """Runs submitted writes in one background thread, in order; use as a context manager."""

    def __init__(self):
        self._thread = None
        self._error = None

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        """Wait for the write in flight; raise its error unless the block raised one already."""
        if kind is None:
            self.wait()
        else:
            self._join()
        return False

    def submit(self, write):
        """Run ``write()`` (no arguments) in the background, after the previous write ends.

        Raises the error of an earlier write instead, and then runs nothing.
        """
        self.wait()
        self._thread = threading.Thread(target=self._run, args=(write,), name="w2v-np write-behind")
        self._thread.start()

    def wait(self):
        """Wait for the write in flight; raise the error of a write that failed."""
        self._join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _join(self):
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self, write):
        try:
            write()
        except BaseException as exc:  # handed to the training thread, which raises it
            self._error = exc
