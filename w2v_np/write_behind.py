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
for the writes handed over, so no file is left half-written by a run that ends.

Ctrl-C raises ``KeyboardInterrupt`` in the training thread between any two of its steps,
submission included.  One worker thread, started when the block is entered and ended
through its queue when the block is left, keeps that safe: handing a write over is one
atomic ``put``, and the end of the block waits for the worker itself, not for a
per-write thread whose start an interrupt may have cut short.
"""
import queue
import threading


class WriteBehind:
    """Runs submitted writes in one background thread, in order; use as a context manager."""

    def __init__(self):
        self._writes = queue.SimpleQueue()
        self._idle = threading.Event()
        self._idle.set()
        self._error = None
        self._worker = None

    def __enter__(self):
        # A daemon: were the start itself interrupted, the block is never entered and the
        # idle worker must not keep the process alive.
        self._worker = threading.Thread(target=self._serve, name="w2v-np write-behind", daemon=True)
        self._worker.start()
        return self

    def __exit__(self, kind, error, traceback):
        """Wait for every write handed over; raise a write's error unless the block raised one."""
        self._writes.put(None)
        self._worker.join()
        if kind is None:
            self._raise_error()
        return False

    def submit(self, write):
        """Run ``write()`` (no arguments) in the background, after the previous write ends.

        Raises the error of an earlier write instead, and then runs nothing.
        """
        self.wait()
        self._idle.clear()
        self._writes.put(write)

    def wait(self):
        """Wait for the write in flight; raise the error of a write that failed."""
        self._idle.wait()
        self._raise_error()

    def _raise_error(self):
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _serve(self):
        for write in iter(self._writes.get, None):
            if self._error is None:
                try:
                    write()
                except BaseException as exc:  # handed to the training thread, which raises it
                    self._error = exc
            self._idle.set()
