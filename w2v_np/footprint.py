"""What a run will hold in memory, estimated before anything large is allocated.

A setting that asks for more memory than the machine has (``--dim 100000000``, a batch of
a billion centers) would otherwise end in a ``MemoryError`` traceback, or in swapping, after
the corpus was read; the estimate lets the run refuse it in one line instead.  The figures
are what the run's arrays take, not a bound on the process: they leave out Python, the
libraries and the corpus's text.
"""
import os

import numpy as np

from .errors import W2VError
from .optim import OPTIMIZERS

GIB = 1 << 30


def physical_memory():
    """Bytes of physical memory, or ``None`` where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def estimate(plan, vocab_size, num_tokens, longest_sentence):
    """Bytes of the run's main arrays, by part: ``{part: bytes}`` (Python ints).

    ``tables``: both ``(V, D)`` tables and the optimizer's arrays (Adam's moments and its
    scratch table, per table); ``token ids``: the corpus as int32; ``examples``: the d2l
    method's examples drawn once (a center has about ``window + 1`` context words, and no
    more than its sentence's other tokens, each with ``negative`` noise words, all int32;
    none are held with ``resample="epoch"`` or by the word2vec method); ``batch``: the
    buffers of one d2l batch, ``batch_size`` examples (no more than the corpus has) of at
    most ``min(2 window, longest sentence - 1) (1 + negative)`` positions, each with a
    ``D``-vector.
    """
    itemsize = np.dtype(plan.dtype).itemsize
    optimizer_arrays = len(OPTIMIZERS[plan.optimizer].ARRAYS)
    # Each table, its optimizer's arrays, and with those a scratch table of the same shape.
    per_table = 1 + optimizer_arrays + (optimizer_arrays > 0)
    parts = {"tables": 2 * per_table * vocab_size * plan.dim * itemsize, "token ids": 4 * num_tokens}
    if plan.method == "d2l":
        if plan.resample == "once":
            context_words = min(plan.window + 1, max(longest_sentence - 1, 0))
            parts["examples"] = 4 * num_tokens * context_words * (1 + plan.negative)
        positions = min(2 * plan.window, max(longest_sentence - 1, 0)) * (1 + plan.negative)
        parts["batch"] = min(plan.batch_size, num_tokens) * positions * (plan.dim * itemsize + 16)
    return parts


def check_fits(plan, vocab_size, num_tokens, longest_sentence):
    """Refuse, in one line, a run whose arrays (:func:`estimate`) exceed the machine's memory."""
    available = physical_memory()
    if available is None:
        return
    parts = estimate(plan, vocab_size, num_tokens, longest_sentence)
    total = sum(parts.values())
    if total > available:
        largest = max(parts, key=parts.get)
        raise W2VError(f"this run needs about {total / GIB:,.1f} GiB of memory ({largest}: "
                       f"{parts[largest] / GIB:,.1f} GiB), more than the {available / GIB:,.1f} GiB here; "
                       f"lower --dim, --batch-size, --window or --negative")
