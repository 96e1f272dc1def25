"""Watching a run's log lines in tests: a handler on the ``w2v_np`` logger that hands each line to a function."""
import contextlib
import logging


class _Forward(logging.Handler):
    def __init__(self, function):
        super().__init__()
        self.function = function

    def emit(self, record):
        # No try/except as a stream handler has: what the function raises (an assertion, a
        # KeyboardInterrupt standing for Ctrl-C) comes out of the run's logging call.
        self.function(record.getMessage())


@contextlib.contextmanager
def on_log(function):
    """Inside the block, ``function(line)`` is called for every INFO line w2v_np logs, at the
    moment it is logged; the ``w2v_np`` logger is left as found afterwards."""
    logger = logging.getLogger("w2v_np")
    handler, level = _Forward(function), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
