"""The d2l method's mini-batch step on the CPU: loss, gradients and the optimizer's update, fused.

:func:`batch_step` reads a batch straight from the CSR examples (no padded arrays),
computes the scores, the masked BCE and its gradient, sums the row gradients of both
tables into compact buffers (row ``rows[i]`` of a table gets ``grads[i]``, as
``w2v_np.sparse_grads.RowSparse`` holds them) and applies the optimizer's update
(:mod:`.optimizers`).  It runs three parallel regions per batch, each ending in a barrier:
one over the examples (scores), one over the touched rows (their gradients), one over the
rows the update moves; between the first two a short serial pass sorts the batch's
entries by row.  It releases the GIL: the run's files are written meanwhile
(``w2v_np.write_behind``).  Each row adds its users in the batch's order, so every element
is a sum taken in a fixed order and the result does not depend on the number of threads;
the split of each region among threads is static.

Dot products in the scores may be reassociated (``fastmath`` without the finite-math
assumptions) so that they vectorise; that changes the last bits relative to NumPy but not
from run to run.  The row pass is compiled without fastmath: the update must give the
reference's bits for the same gradients.
"""
import numpy as np
from numba import njit, prange

from .optimizers import NONE, update_row, updates_every_row
from .scores import FAST, bce_position, row_dot


@njit(cache=True)
def _word_at(position, num_context, first, contexts, noise, num_noise_words):
    """Position ``position`` of an example's row: its context words, then their noise words."""
    if position < num_context:
        return contexts[first + position]
    return noise[num_noise_words * first + position - num_context]


class BatchWorkspace:
    """Buffers :func:`batch_step` reuses from batch to batch (no allocation per batch).

    For a table of ``V`` rows and ``D`` columns and batches of at most ``B`` examples of
    at most ``max_row`` positions each (``P = B * max_row`` entries at most):

    - ``dscore`` float ``(P,)``: the gradient of each score; ``row_start`` int64 ``(B + 1,)``:
      where each example's entries start; ``batch_center`` int32 ``(B,)``: each example's center;
      ``entry_word``, ``entry_example`` int32 ``(P,)``: each entry's word and example;
    - ``dv`` float ``(B, D)``: the gradient of each example's center vector; ``center_copy``
      float ``(B, D)``: each example's center vector before the update (the context rows'
      gradients need it while the center rows move);
    - ``losses`` float64 ``(B,)``: each example's loss;
    - ``slot`` int32 ``(2, V)``: -1, except during a step for the rows of the batch, which
      hold their place among the batch's rows of that table (0: center, 1: context);
    - ``rows`` int64 ``(B + P,)``: the batch's center rows, then its context rows, each in
      order of first use; ``grads`` float ``(B + P, D)``: their gradients;
      ``num_touched`` int64 ``(2,)``: how many rows of each table;
    - ``members`` int32 ``(B + P,)`` and ``member_start`` int64 ``(B + P + 1,)``: for each
      of those rows, the examples (center rows) or entries (context rows) that use it, in
      batch order (a counting sort); ``cursor`` int64 ``(B + P,)``: that sort's scratch.
    """

    def __init__(self, num_rows, dim, batch_size, max_row, dtype):
        capacity = batch_size * max_row
        self.dscore = np.empty(capacity, dtype=dtype)
        self.row_start = np.empty(batch_size + 1, dtype=np.int64)
        self.batch_center = np.empty(batch_size, dtype=np.int32)
        self.entry_word = np.empty(capacity, dtype=np.int32)
        self.entry_example = np.empty(capacity, dtype=np.int32)
        self.dv = np.empty((batch_size, dim), dtype=dtype)
        self.center_copy = np.empty((batch_size, dim), dtype=dtype)
        self.losses = np.empty(batch_size, dtype=np.float64)
        self.num_touched = np.zeros(2, dtype=np.int64)
        self.slot = np.full((2, num_rows), -1, dtype=np.int32)
        self.rows = np.empty(batch_size + capacity, dtype=np.int64)
        self.grads = np.empty((batch_size + capacity, dim), dtype=dtype)
        self.members = np.empty(batch_size + capacity, dtype=np.int32)
        self.member_start = np.empty(batch_size + capacity + 1, dtype=np.int64)
        self.cursor = np.empty(batch_size + capacity, dtype=np.int64)
        self.no_state = np.empty((0, dim), dtype=dtype)
        self.no_constants = np.empty(0, dtype=dtype)

    def step(self, center_table, context_table, examples, indices, update=None):
        """Run :func:`batch_step` on ``examples[indices]`` (a ``SkipGramExamples``) with these buffers.

        ``update`` is ``(rule, constants, state)`` as ``w2v_np.optim``'s ``numba_update``
        gives it (``state``: ``{"center": (m, v), "context": (m, v)}``, or ``None`` for a
        rule without state); ``None`` leaves the tables as they are.  Returns ``(losses,
        pairs)``: the examples' losses, float64 ``(B,)`` (a view), and the batch's number of
        (center, context word) pairs; :meth:`touched` gives the gradients.
        """
        rule, constants, state = (NONE, self.no_constants, None) if update is None else update
        if state is None:
            center_state = context_state = (self.no_state, self.no_state)
        else:
            center_state, context_state = state["center"], state["context"]
        pairs = batch_step(
            center_table, context_table, indices, examples.centers, examples.context_offsets, examples.contexts,
            examples.noise, examples.num_noise_words, rule, constants, *center_state, *context_state,
            self.dscore, self.row_start, self.batch_center, self.entry_word, self.entry_example, self.dv,
            self.center_copy, self.losses, self.num_touched, self.slot, self.rows, self.grads, self.members,
            self.member_start, self.cursor)
        return self.losses[:indices.shape[0]], pairs

    def touched(self):
        """``(center rows, center grads, context rows, context grads)`` of the last batch (views)."""
        nc, nx = self.num_touched
        return self.rows[:nc], self.grads[:nc], self.rows[nc:nc + nx], self.grads[nc:nc + nx]


@njit(cache=True, nogil=True)
def batch_step(center_table, context_table, examples, centers, context_offsets, contexts, noise,
               num_noise_words, rule, constants, center_m, center_v, context_m, context_v, dscore, row_start,
               batch_center, entry_word, entry_example, dv, center_copy, losses, num_touched, slot, rows, grads,
               members, member_start, cursor):
    """Loss, row gradients and the optimizer's update for one batch, read from the CSR examples.

    Example ``n = examples[b]`` has center ``centers[n]``, context words
    ``contexts[context_offsets[n]:context_offsets[n+1]]`` (label 1) and their noise words
    (label 0), ``count`` positions in all.  Its loss is the seed's mean BCE over them;
    the gradient is that of the sum of the examples' losses (the chapter's ``l.sum()``).

    Three passes: (1, parallel over examples, :func:`_scores`) the batch's words, scores,
    BCE and the gradients of the scores and of the center vectors; (2, serial,
    :func:`_sort_entries`) every touched row gets a slot in order of first use and the
    examples or entries using it are sorted by slot; (3, parallel over rows,
    :func:`_sum_and_update`) each touched row's gradient, summed over its users in batch
    order, then ``rule`` (:mod:`.optimizers`) applied to the touched rows, or to every row
    for dense Adam.

    Inputs: tables float ``(V, D)``; examples int64 ``(B,)``; the CSR arrays of
    :class:`w2v_np.sampling.SkipGramExamples`; ``rule``, ``constants`` and each table's
    moments ``m``, ``v`` (float ``(V, D)``, or ``(0, D)`` when the rule has none); the
    other arguments are the buffers of a :class:`BatchWorkspace` (``slot`` all -1 on entry
    and on return).  Writes ``losses[:B]`` (float64, each example's loss),
    ``num_touched`` (rows touched in each table), and in ``rows`` and ``grads`` the touched
    center rows, then the touched context rows, with their gradients; updates the tables
    and moments.  Returns the number of (center, context word) pairs.
    """
    size = examples.shape[0]
    per_context = num_noise_words + 1          # positions per context word
    row_start[0] = 0
    for b in range(size):
        n = examples[b]
        row_start[b + 1] = row_start[b] + per_context * (context_offsets[n + 1] - context_offsets[n])
    _scores(center_table, context_table, examples, centers, context_offsets, contexts, noise, num_noise_words,
            size, dscore, row_start, batch_center, entry_word, entry_example, dv, center_copy, losses)
    num_center, num_context_rows = _sort_entries(size, row_start[size], batch_center, entry_word, slot, rows,
                                                 members, member_start, cursor)
    num_touched[0] = num_center
    num_touched[1] = num_context_rows
    _sum_and_update(rule, constants, center_table, context_table, center_m, center_v, context_m, context_v,
                    num_center, num_context_rows, dscore, entry_example, dv, center_copy, slot, rows, grads,
                    members, member_start)
    return row_start[size] // per_context


@njit(parallel=True, fastmath=FAST, cache=True)
def _scores(center_table, context_table, examples, centers, context_offsets, contexts, noise, num_noise_words,
            size, dscore, row_start, batch_center, entry_word, entry_example, dv, center_copy, losses):
    """Pass 1 of :func:`batch_step`, in parallel over examples: each example's words, its
    center vector, its scores, BCE and the gradients of its scores and center vector.

    The examples lie scattered over the CSR arrays: this one parallel pass takes those
    cache misses once.  An example goes through its positions three times: all the dot
    products (independent, so their rows load together), then the BCE (one exponential
    each), then the center vector's gradient; a single loop chained each position's row
    load, dot product, exponential and gradient one after another.  Rows are indexed in
    place: a row view would cost a shared reference count each.
    """
    dim = center_table.shape[1]
    dtype = center_table.dtype.type
    one = dtype(1)
    per_context = num_noise_words + 1
    for b in prange(size):
        n = examples[b]
        first = context_offsets[n]
        num_context = context_offsets[n + 1] - first
        count = per_context * num_context
        center = centers[n]
        batch_center[b] = center
        start = row_start[b]
        scale = 1 / max(count, 1)
        weight = dtype(scale)
        for d in range(dim):
            dv[b, d] = 0
            center_copy[b, d] = center_table[center, d]
        for position in range(count):
            entry = start + position
            word = _word_at(position, num_context, first, contexts, noise, num_noise_words)
            entry_word[entry] = word
            entry_example[entry] = b
            dscore[entry] = row_dot(center_copy, b, context_table, word)
        growth, neg_log = 1.0, 0.0
        for position in range(count):
            entry = start + position
            label = dtype(1 if position < num_context else 0)
            sigmoid, growth, neg_log = bce_position(dscore[entry], label, one, growth, neg_log)
            dscore[entry] = (sigmoid - label) * weight
        for position in range(count):
            entry = start + position
            g = dscore[entry]
            word = entry_word[entry]
            for d in range(dim):
                dv[b, d] += g * context_table[word, d]
        losses[b] = (neg_log + np.log(growth)) * scale


@njit(cache=True)
def _sort_entries(size, num_entries, batch_center, entry_word, slot, rows, members, member_start, cursor):
    """Pass 2 of :func:`batch_step`, serial: slots in order of first use, and the users of
    each touched row sorted by slot (a counting sort).  Returns the numbers of touched
    center and context rows."""
    num_center = 0
    for b in range(size):
        word = batch_center[b]
        if slot[0, word] < 0:
            slot[0, word] = num_center
            rows[num_center] = word
            member_start[num_center + 1] = 0
            num_center += 1
        member_start[slot[0, word] + 1] += 1
    num_context_rows = 0
    for entry in range(num_entries):
        word = entry_word[entry]
        if slot[1, word] < 0:
            slot[1, word] = num_context_rows
            rows[num_center + num_context_rows] = word
            member_start[num_center + num_context_rows + 1] = 0
            num_context_rows += 1
        member_start[num_center + slot[1, word] + 1] += 1
    total = num_center + num_context_rows
    member_start[0] = 0
    for r in range(total):
        member_start[r + 1] += member_start[r]
    cursor[:total] = member_start[:total]
    for b in range(size):
        r = slot[0, batch_center[b]]
        members[cursor[r]] = b
        cursor[r] += 1
    for entry in range(num_entries):
        r = num_center + slot[1, entry_word[entry]]
        members[cursor[r]] = entry
        cursor[r] += 1
    return num_center, num_context_rows


@njit(parallel=True, cache=True)
def _sum_and_update(rule, constants, center_table, context_table, center_m, center_v, context_m, context_v,
                    num_center, num_context_rows, dscore, entry_example, dv, center_copy, slot, rows, grads,
                    members, member_start):
    """Pass 3 of :func:`batch_step`: each touched row's gradient, summed over its users in
    batch order (in parallel over the touched rows), then the update (in parallel over the
    rows it moves); every slot goes back to -1.

    Dense Adam moves every row of both tables (rows the batch did not touch with a zero
    gradient); the other rules move the touched rows only.  Two loops rather than one
    fused loop: each body stays small enough to vectorise.
    """
    num_rows = center_table.shape[0]
    touched = num_center + num_context_rows
    for k in prange(touched):
        _sum_row(np.int64(k), num_center, dscore, entry_example, dv, center_copy, grads, members, member_start)
    dense = updates_every_row(rule)
    moved = 2 * num_rows if dense else touched
    for k in prange(moved):
        i = np.int64(k)           # the parfor's index may be unsigned: int64 arithmetic below
        if dense:
            table = 0 if i < num_rows else 1
            row = i - table * num_rows
            place = slot[table, row]
            s = -1 if place < 0 else place + table * num_center
        else:
            table = 0 if i < num_center else 1
            row = rows[i]
            s = i
        slot[table, row] = -1
        if table == 0:
            update_row(rule, constants, center_table, center_m, center_v, row, grads, s)
        else:
            update_row(rule, constants, context_table, context_m, context_v, row, grads, s)


@njit(cache=True, inline="always")
def _sum_row(s, num_center, dscore, entry_example, dv, center_copy, grads, members, member_start):
    """``grads[s]``: the sum of touched row ``s``'s contributions, in batch order."""
    dim = grads.shape[1]
    for d in range(dim):
        grads[s, d] = 0
    if s < num_center:
        for k in range(member_start[s], member_start[s + 1]):
            b = members[k]
            for d in range(dim):
                grads[s, d] += dv[b, d]
    else:
        for k in range(member_start[s], member_start[s + 1]):
            entry = members[k]
            g = dscore[entry]
            b = entry_example[entry]
            for d in range(dim):
                grads[s, d] += g * center_copy[b, d]
