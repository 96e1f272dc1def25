"""The d2l method's mini-batch step on the CPU: the fused twin of ``SkipGram.loss_and_grads``.

:func:`batch_loss_and_grads` reads a batch straight from the CSR examples (no padded
arrays), computes the scores, the masked BCE and its gradient, and accumulates the row
gradients of both tables into compact buffers: row ``rows[i]`` of a table gets
``grads[i]``, as ``w2v_np.sparse_grads.RowSparse`` holds them.  Scores are computed in
parallel over examples; the scatter-add runs in parallel over the touched rows, each row
adding its users in the batch's order, so every element is a sum taken in a fixed order
and the result does not depend on the number of threads.

Dot products and sums may be reassociated (``fastmath`` without the finite-math
assumptions) so that they vectorise; that changes the last bits relative to NumPy but not
from run to run.  The optimizers' updates are in :mod:`.optimizers`.
"""
import numpy as np
from numba import njit, prange

from .scores import FAST, bce_position, dot


@njit(cache=True)
def _word_at(position, num_context, first, contexts, noise, num_noise_words):
    """Position ``position`` of an example's row: its context words, then their noise words."""
    if position < num_context:
        return contexts[first + position]
    return noise[num_noise_words * first + position - num_context]


class BatchWorkspace:
    """Buffers :func:`batch_loss_and_grads` reuses from batch to batch (no allocation per batch).

    For a table of ``V`` rows and ``D`` columns and batches of at most ``B`` examples of
    at most ``max_row`` positions each (``P = B * max_row`` entries at most):

    - ``dscore`` float ``(P,)``: the gradient of each score; ``row_start`` int64 ``(B + 1,)``:
      where each example's entries start; ``batch_center`` int32 ``(B,)``: each example's center;
      ``entry_word``, ``entry_example`` int32 ``(P,)``: each entry's word and example;
    - ``dv`` float ``(B, D)``: the gradient of each example's center vector;
    - ``slot`` int32 ``(2, V)``: -1, except for the rows of the current batch, which hold
      their place among the batch's rows of that table (0: center, 1: context);
    - ``rows`` int64 ``(B + P,)``: the batch's center rows, then its context rows, each in
      order of first use; ``grads`` float ``(B + P, D)``: their gradients;
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
        self.losses = np.empty(batch_size, dtype=np.float64)
        self.num_touched = np.zeros(2, dtype=np.int64)
        self.slot = np.full((2, num_rows), -1, dtype=np.int32)
        self.rows = np.empty(batch_size + capacity, dtype=np.int64)
        self.grads = np.empty((batch_size + capacity, dim), dtype=dtype)
        self.members = np.empty(batch_size + capacity, dtype=np.int32)
        self.member_start = np.empty(batch_size + capacity + 1, dtype=np.int64)
        self.cursor = np.empty(batch_size + capacity, dtype=np.int64)

    def loss_and_grads(self, center_table, context_table, examples, indices):
        """Run :func:`batch_loss_and_grads` on ``examples[indices]`` (a ``SkipGramExamples``) with these buffers.

        Returns the examples' losses, float64 ``(B,)`` (a view); :meth:`touched` gives the gradients.
        """
        batch_loss_and_grads(
            center_table, context_table, indices, examples.centers, examples.context_offsets, examples.contexts,
            examples.noise, examples.num_noise_words, self.dscore, self.row_start, self.batch_center,
            self.entry_word, self.entry_example,
            self.dv, self.losses, self.num_touched, self.slot, self.rows, self.grads, self.members,
            self.member_start, self.cursor)
        return self.losses[:indices.shape[0]]

    def touched(self):
        """``(center rows, center grads, context rows, context grads)`` of the last batch (views)."""
        nc, nx = self.num_touched
        return self.rows[:nc], self.grads[:nc], self.rows[nc:nc + nx], self.grads[nc:nc + nx]

    def release(self):
        """Forget the last batch's rows (after the optimizer used them)."""
        nc, nx = self.num_touched
        self.slot[0, self.rows[:nc]] = -1
        self.slot[1, self.rows[nc:nc + nx]] = -1


@njit(parallel=True, fastmath=FAST, cache=True)
def batch_loss_and_grads(center_table, context_table, examples, centers, context_offsets, contexts,
                         noise, num_noise_words, dscore, row_start, batch_center, entry_word,
                         entry_example, dv, losses,
                         num_touched, slot, rows, grads, members, member_start, cursor):
    """Loss and row gradients of one batch, read from the CSR examples.

    Example ``n = examples[b]`` has center ``centers[n]``, context words
    ``contexts[context_offsets[n]:context_offsets[n+1]]`` (label 1) and their noise words
    (label 0), ``count`` positions in all.  Its loss is the seed's mean BCE over them;
    the gradient is that of the sum of the examples' losses (the chapter's ``l.sum()``).

    Four passes: (1, parallel over examples) the batch's words are gathered into flat
    buffers; (2, serial) every touched row gets a slot in order of first use and the
    examples or entries using it are sorted by slot; (3, parallel over examples) scores,
    BCE and the gradients of the scores and of the center vectors; (4, parallel over the
    touched rows) each row's gradient, summed over its users in batch order.  Every sum
    is taken in an order fixed by the batch, so the result does not depend on the number
    of threads.

    Inputs: tables float ``(V, D)``; examples int64 ``(B,)``; the CSR arrays of
    :class:`w2v_np.sampling.SkipGramExamples`; the other arguments are the buffers of a
    :class:`BatchWorkspace` (``slot`` all -1 on entry).  Writes ``losses[:B]`` (float64,
    each example's loss), ``num_touched`` (rows touched in each table), and in ``rows``
    and ``grads`` the touched center rows, then the touched context rows, with their
    gradients; returns nothing.
    """
    size = examples.shape[0]
    dim = center_table.shape[1]
    dtype = center_table.dtype.type
    one = dtype(1)
    per_context = num_noise_words + 1          # positions per context word

    # Where each example's entries go; then its words, gathered in parallel: the examples
    # lie scattered over the CSR arrays, and one parallel pass takes those cache misses once.
    row_start[0] = 0
    for b in range(size):
        n = examples[b]
        row_start[b + 1] = row_start[b] + per_context * (context_offsets[n + 1] - context_offsets[n])
    for b in prange(size):
        n = examples[b]
        first = context_offsets[n]
        num_context = context_offsets[n + 1] - first
        batch_center[b] = centers[n]
        for position in range(per_context * num_context):
            entry_word[row_start[b] + position] = _word_at(position, num_context, first, contexts, noise,
                                                           num_noise_words)
            entry_example[row_start[b] + position] = b

    # Slots in order of first use, and the users of each touched row sorted by slot.
    num_entries = row_start[size]
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
    num_touched[0] = num_center
    num_touched[1] = num_context_rows
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

    # Scores, losses, the gradients of the scores and of the center vectors.
    for b in prange(size):
        count = row_start[b + 1] - row_start[b]
        num_context = count // per_context
        v = center_table[batch_center[b]]
        scale = 1 / max(count, 1)
        weight = dtype(scale)
        growth, neg_log = 1.0, 0.0
        for d in range(dim):
            dv[b, d] = 0
        for position in range(count):
            entry = row_start[b] + position
            u = context_table[entry_word[entry]]
            score = dot(v, u)
            label = dtype(1 if position < num_context else 0)
            sigmoid, growth, neg_log = bce_position(score, label, one, growth, neg_log)
            g = (sigmoid - label) * weight
            dscore[entry] = g
            for d in range(dim):
                dv[b, d] += g * u[d]
        losses[b] = (neg_log + np.log(growth)) * scale

    # Each touched row sums the contributions of its users, in batch order.
    for r in prange(total):
        for d in range(dim):
            grads[r, d] = 0
        if r < num_center:
            for k in range(member_start[r], member_start[r + 1]):
                b = members[k]
                for d in range(dim):
                    grads[r, d] += dv[b, d]
        else:
            for k in range(member_start[r], member_start[r + 1]):
                entry = members[k]
                g = dscore[entry]
                v = center_table[batch_center[entry_example[entry]]]
                for d in range(dim):
                    grads[r, d] += g * v[d]
