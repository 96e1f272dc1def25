"""The progress bar of an epoch: one line redrawn in place with ``\\r``.

It is shown where a redrawn line reads as one line: a terminal, or the output of a Jupyter
cell (an IPython kernel's stream honours ``\\r``).  A pipe or a log file would keep every
redraw, so it gets no bar, only the log's epoch lines.
"""
import sys
import time

MAX_REDRAWS = 50
"""Redraws an epoch at most (and one at the end): the trainers read the loss back to show it."""
MIN_REDRAW_SECONDS = 0.2
"""Seconds between two redraws at least: a notebook re-renders its cell's output at every write."""
BAR_WIDTH = 30


def shows_bar(stream):
    """Whether a line redrawn with ``\\r`` on ``stream`` is seen in place: a terminal, or a Jupyter
    cell's output (the stream of an IPython kernel, ``ipykernel``'s ``OutStream``)."""
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return True
    return "ipykernel" in sys.modules and type(stream).__module__.partition(".")[0] == "ipykernel"


class Progress:
    """A one-line progress bar on ``stream`` (``sys.stderr`` by default); silent when disabled.

    The trainers ask :meth:`wants` at every step ``1..total`` and call :meth:`update` when it
    says yes: at most :data:`MAX_REDRAWS` times an epoch, never twice within
    :data:`MIN_REDRAW_SECONDS` by ``clock``, and always at the last step, so the final state
    is drawn.  :meth:`close` erases the line.  :meth:`wants` is also where a Ctrl-C that
    Numba swallowed is raised again (``latch``, a :class:`~w2v_np.train.SigintLatch`).
    """

    def __init__(self, total, label, stream=None, enabled=True, latch=None, clock=time.perf_counter):
        self.total, self.label, self.enabled, self.latch, self.clock = total, label, enabled, latch, clock
        self.stream = sys.stderr if stream is None else stream
        self.every = max(1, total // MAX_REDRAWS)
        self.started = self.drawn_at = clock()
        self.drawn_width = 0

    def wants(self, done):
        """Whether to redraw after ``done`` steps."""
        if self.latch is not None:
            self.latch.check()
        if not self.enabled:
            return False
        if done == self.total:
            return True
        return done % self.every == 0 and self.clock() - self.drawn_at >= MIN_REDRAW_SECONDS

    def update(self, done, loss):
        """Draw the bar after ``done`` of ``total`` steps with the mean ``loss`` so far."""
        if not self.enabled:
            return
        now = self.clock()
        filled = int(BAR_WIDTH * done / self.total)
        rate = done / max(now - self.started, 1e-9)
        line = (f"{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{self.total} "
                f"loss {loss:.3f} {rate:.0f} batches/s")
        # Padding covers what is left of a longer line drawn before (a terminal keeps it).
        self.stream.write("\r" + line.ljust(self.drawn_width))
        self.stream.flush()
        self.drawn_at, self.drawn_width = now, max(self.drawn_width, len(line))

    def close(self):
        """Erase the bar, so the next line (the epoch's log line) starts on a clean line."""
        if self.enabled and self.drawn_width:
            self.stream.write("\r" + " " * self.drawn_width + "\r")
            self.stream.flush()
