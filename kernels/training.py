"""Numba training kernels: the fused twins of ``SkipGram.loss_and_grads`` and the optimizers.

The NumPy code in ``w2v_np`` (``ops``, ``model``, ``optim``) is the naive reference each
kernel here is tested against first (``tests/test_training_kernels.py``).

Mini-batch kernels (exact and deterministic):

- :func:`batch_loss_and_grads` reads a batch straight from the CSR examples (no padded
  arrays), computes the scores, the masked BCE and its gradient, and accumulates the
  row gradients of both tables into compact buffers: row ``rows[i]`` of a table gets
  ``grads[i]``, as :class:`w2v_np.ops.RowSparse` holds them.  Scores are computed in
  parallel over examples; the scatter-add runs in parallel over slices of the dimension,
  each slice adding the entries in the batch's order, so every element is a sum taken in
  a fixed order and the result does not depend on the number of threads.
- :func:`adam_dense`, :func:`adam_rows`, :func:`sgd_rows`: one fused pass each over the
  parameters and their moments (dense Adam over every row, "lazy" Adam and SGD over the
  rows a batch touched).  Their arithmetic is the NumPy reference's, operation by
  operation in the parameters' dtype, so given the same gradients they give the same bits.

:func:`sgd_hogwild` is word2vec.c's training loop: streaming over token ids, subsampling,
windows and noise words drawn on the fly, one SGD update per (center, word) pair, threads
updating the shared tables without locks (Hogwild).

Dot products and sums of the mini-batch kernels may be reassociated (``fastmath`` without
the finite-math assumptions) so that they vectorise; that changes the last bits relative
to NumPy but not from run to run.
"""
import numpy as np
from numba import njit, prange

from .sampling import _alias_pick, _mix, _uniform

# Reassociation and contraction only: no assumption that values are finite.
FAST = {"reassoc", "contract", "nsz", "arcp"}


@njit(fastmath=FAST, cache=True, inline="always")
def _dot(a, b):
    total = a[0] * 0
    for d in range(a.shape[0]):
        total += a[d] * b[d]
    return total


@njit(fastmath=FAST, cache=True, inline="always")
def _row_dot(a, i, b, j):
    """``a[i] . b[j]`` indexed in place (no row views, which cost a reference count each)."""
    total = a.dtype.type(0)
    for d in range(a.shape[1]):
        total += a[i, d] * b[j, d]
    return total


@njit(cache=True, inline="always")
def _bce_position(x, label, one, growth, neg_log):
    """One position of the BCE on logit ``x``: returns ``(sigmoid(x), growth, neg_log)``.

    With ``e = exp(-|x|)`` the position's BCE is ``log(1 + e)``, plus ``|x|`` when the
    sign of ``x`` disagrees with ``label`` (0 or 1): exact for any ``x``, no overflow.  A
    row's loss (the sum of its positions' BCE) is ``neg_log + log(growth)``: ``growth``
    multiplies the factors ``1 + e`` (each in [1, 2]) in float64 and is folded into
    ``neg_log`` once it passes 2^500, so a row costs one exponential per position and one
    logarithm in all.  The choices between two values are selects, not branches on the
    data: a logit's sign is a coin toss for the branch predictor.  ``one`` is 1 in
    ``x``'s dtype.
    """
    e = np.exp(-abs(x))
    inverse = one / (one + e)
    positive = x >= 0
    sigmoid = inverse if positive else e * inverse
    growth *= 1.0 + np.float64(e)
    neg_log += abs(np.float64(x)) if positive != (label > 0) else 0.0
    if growth > 3e150:
        neg_log += np.log(growth)
        growth = 1.0
    return sigmoid, growth, neg_log


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

    def loss_and_grads(self, center_table, context_table, examples, indices, per_pair):
        """Run :func:`batch_loss_and_grads` on ``examples[indices]`` (a ``SkipGramExamples``) with these buffers.

        Returns the examples' losses, float64 ``(B,)`` (a view); :meth:`touched` gives the gradients.
        """
        batch_loss_and_grads(
            center_table, context_table, indices, examples.centers, examples.context_offsets, examples.contexts,
            examples.noise, examples.num_noise_words, per_pair, self.dscore, self.row_start, self.batch_center,
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
                         noise, num_noise_words, per_pair, dscore, row_start, batch_center, entry_word,
                         entry_example, dv, losses,
                         num_touched, slot, rows, grads, members, member_start, cursor):
    """Loss and row gradients of one batch, read from the CSR examples.

    Example ``n = examples[b]`` has center ``centers[n]``, context words
    ``contexts[context_offsets[n]:context_offsets[n+1]]`` (label 1) and their noise words
    (label 0), ``count`` positions in all.  Its loss is the seed's mean BCE over them.
    The gradient is that of the sum of the examples' losses, or with ``per_pair`` of the
    sum of every position's BCE (word2vec.c's objective, used by SGD).

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
        weight = dtype(1.0 if per_pair else scale)
        growth, neg_log = 1.0, 0.0
        for d in range(dim):
            dv[b, d] = 0
        for position in range(count):
            entry = row_start[b] + position
            u = context_table[entry_word[entry]]
            score = _dot(v, u)
            label = dtype(1 if position < num_context else 0)
            sigmoid, growth, neg_log = _bce_position(score, label, one, growth, neg_log)
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


@njit(parallel=True, cache=True)
def adam_dense(param, m, v, slot, grads, beta1, beta2, one_minus_beta1, one_minus_beta2, eps_hat, scale):
    """Dense Adam over every row of ``param`` (float ``(V, D)``) in one pass.

    Row ``r``'s gradient is ``grads[slot[r]]`` when ``slot[r] >= 0``, else zero, so rows
    outside the batch still decay their moments and move, as in ``torch.optim.Adam``.
    ``eps_hat = eps * sqrt(1 - beta2**t)``, ``scale = lr / (1 - beta1**t) * sqrt(1 - beta2**t)``;
    every scalar is computed in float64 and then rounded to ``param``'s dtype, as NumPy
    rounds a Python float, and the operations and their order are ``w2v_np.optim.Adam``'s.
    """
    for r in prange(param.shape[0]):
        s = slot[r]
        for d in range(param.shape[1]):
            mi = m[r, d] * beta1
            vi = v[r, d] * beta2
            if s >= 0:
                g = grads[s, d]
                mi += one_minus_beta1 * g
                vi += one_minus_beta2 * (g * g)
            m[r, d] = mi
            v[r, d] = vi
            param[r, d] -= mi / (np.sqrt(vi) + eps_hat) * scale


@njit(parallel=True, cache=True)
def adam_rows(param, m, v, rows, grads, beta1, beta2, one_minus_beta1, one_minus_beta2, eps_hat, scale):
    """"Lazy" Adam: the update of :func:`adam_dense` applied to the rows ``rows`` only.

    rows int64 ``(R,)`` (distinct), grads float ``(R, D)``; other rows, and their moments,
    do not change.  Scalars as in :func:`adam_dense`.
    """
    for i in prange(rows.shape[0]):
        r = rows[i]
        for d in range(param.shape[1]):
            g = grads[i, d]
            mi = m[r, d] * beta1 + one_minus_beta1 * g
            vi = v[r, d] * beta2 + one_minus_beta2 * (g * g)
            m[r, d] = mi
            v[r, d] = vi
            param[r, d] -= mi / (np.sqrt(vi) + eps_hat) * scale


@njit(parallel=True, cache=True)
def sgd_rows(param, rows, grads, lr):
    """``param[rows] -= lr * grads``: rows int64 ``(R,)`` distinct, grads float ``(R, D)``."""
    for i in prange(rows.shape[0]):
        r = rows[i]
        for d in range(param.shape[1]):
            param[r, d] -= lr * grads[i, d]


@njit(cache=True, inline="always")
def _draw_targets(targets, positive, num_noise_words, state, keep, alias):
    """``targets[0] = positive``, then ``num_noise_words`` draws from the alias table, a draw
    equal to ``positive`` dropped (word2vec.c skips it); returns how many targets there
    are.  All are drawn before any row is read: with a large vocabulary each row is a
    cache miss, and independent misses overlap."""
    targets[0] = positive
    count = 1
    for _ in range(num_noise_words):
        pick = _alias_pick(_uniform(state), keep, alias)
        if pick != positive:
            targets[count] = pick
            count += 1
    return count


@njit(fastmath=FAST, cache=True, inline="always")
def sgd_pair(center_table, center, context_table, targets, num_targets, alpha, scores, neu, growth, neg_log):
    """One (center, context word) pair's SGD step, word2vec.c's, on center row ``center``.

    ``targets[:num_targets]`` int64: the context word (label 1), then the noise words
    (label 0).  With ``v`` the center's vector and ``u_k`` target ``k``'s context row:
    every score ``v . u_k`` is taken first, from the rows as they are before the step, and
    turned into ``g_k = (label_k - sigmoid(v . u_k)) * alpha``; then, target by target,
    ``neu += g_k u_k`` and ``u_k += g_k v``; last ``v += neu``.  word2vec.c instead
    computes each score after the previous target's row moved; the two differ only when
    a pair draws the same row twice.  Taking the scores first lets the ``K+1`` row loads
    overlap instead of waiting on each other's updates (with rows indexed in place, an
    epoch of PTB on one thread: 0.96 -> 0.52 s).

    Tables float ``(V, D)``, updated in place; ``scores`` float ``(K+1,)`` and ``neu``
    float ``(D,)`` are scratch.  Rows are indexed in place rather than taken as views,
    which would cost a reference count each.  Returns the BCE accumulators of
    :func:`_bce_position` after the pair's ``num_targets`` positions.
    """
    dtype = center_table.dtype.type
    one = dtype(1)
    dim = center_table.shape[1]
    for k in range(num_targets):
        scores[k] = _row_dot(center_table, center, context_table, targets[k])
    for k in range(num_targets):
        label = dtype(k == 0)
        sigmoid, growth, neg_log = _bce_position(scores[k], label, one, growth, neg_log)
        scores[k] = (label - sigmoid) * alpha
    neu[:] = 0
    for k in range(num_targets):
        target = targets[k]
        g = scores[k]
        for d in range(dim):
            neu[d] += g * context_table[target, d]
            context_table[target, d] += g * center_table[center, d]
    for d in range(dim):
        center_table[center, d] += neu[d]
    return growth, neg_log


@njit(fastmath=FAST, cache=True, inline="always")
def sgd_window(center_table, inputs, num_inputs, context_table, targets, num_targets, alpha, scores, deltas,
               growth, neg_log):
    """One window's SGD step with noise words shared by its context words (HogBatch).

    word2vec.c's skip-gram lets each context word ``o`` of a window predict the center
    ``c``: ``o``'s center vector ``w_o`` against the context rows of ``c`` (label 1) and of
    noise words (label 0).  Here the window draws its ``K`` noise words once and every
    context word shares them (Ji et al., 2016, "Parallelizing Word2Vec in Shared and
    Distributed Memory"): the step reads ``n + K + 1`` rows instead of ``n (K + 2)``.
    With ``u_k`` target ``k``'s context row, every score ``w_o . u_k`` is taken from the
    rows before the step, ``g_ok = (label_k - sigmoid(w_o . u_k)) * alpha``, then
    ``u_k += sum_o g_ok w_o`` and ``w_o += sum_k g_ok u_k`` (each from the rows before the
    step; a word twice among the inputs or the targets moves once per appearance).

    The scores and the ``w_o`` steps are computed on 2 x 2 blocks (two inputs by two
    targets): each pass over the dimension loads four rows for four products instead of
    eight, and the loops are bound by loads, not arithmetic (an epoch of PTB on one
    thread: 0.50 -> 0.36 s).  An odd count is padded with a copy of the first row whose
    gradients are zero, so ``inputs`` and ``targets`` need one spare entry past their
    counts.  The ``u_k`` steps go target by target, as a target drawn twice must move
    twice.

    ``inputs[:num_inputs]`` int64: the window's context words (rows of ``center_table``);
    ``targets[:num_targets]`` int64: the center (label 1), then the noise words; tables
    float ``(V, D)``, updated in place; ``scores`` float ``(n + 1, K + 2)`` and ``deltas``
    float ``(n + 1, D)`` scratch with ``n >= num_inputs``, ``K + 1 >= num_targets``.
    Returns the BCE accumulators of :func:`_bce_position` after the window's
    ``num_inputs * num_targets`` positions.
    """
    dtype = center_table.dtype.type
    one, zero = dtype(1), dtype(0)
    dim = center_table.shape[1]
    inputs[num_inputs] = inputs[0]
    targets[num_targets] = targets[0]
    paired_inputs = num_inputs + (num_inputs & 1)
    paired_targets = num_targets + (num_targets & 1)
    for a in range(0, paired_inputs, 2):
        w0, w1 = inputs[a], inputs[a + 1]
        for k in range(0, paired_targets, 2):
            t0, t1 = targets[k], targets[k + 1]
            s00 = s01 = s10 = s11 = zero
            for d in range(dim):
                x0, x1 = center_table[w0, d], center_table[w1, d]
                y0, y1 = context_table[t0, d], context_table[t1, d]
                s00 += x0 * y0
                s01 += x0 * y1
                s10 += x1 * y0
                s11 += x1 * y1
            scores[a, k], scores[a, k + 1], scores[a + 1, k], scores[a + 1, k + 1] = s00, s01, s10, s11
    for a in range(paired_inputs):
        for k in range(paired_targets):
            if a < num_inputs and k < num_targets:
                label = dtype(k == 0)
                sigmoid, growth, neg_log = _bce_position(scores[a, k], label, one, growth, neg_log)
                scores[a, k] = (label - sigmoid) * alpha
            else:
                scores[a, k] = zero
    for a in range(0, paired_inputs, 2):
        for d in range(dim):
            deltas[a, d] = zero
            deltas[a + 1, d] = zero
        for k in range(0, paired_targets, 2):
            t0, t1 = targets[k], targets[k + 1]
            g00, g01, g10, g11 = scores[a, k], scores[a, k + 1], scores[a + 1, k], scores[a + 1, k + 1]
            for d in range(dim):
                y0, y1 = context_table[t0, d], context_table[t1, d]
                deltas[a, d] += g00 * y0 + g01 * y1
                deltas[a + 1, d] += g10 * y0 + g11 * y1
    for k in range(num_targets):
        target = targets[k]
        for a in range(0, paired_inputs, 2):
            w0, w1 = inputs[a], inputs[a + 1]
            g0, g1 = scores[a, k], scores[a + 1, k]
            for d in range(dim):
                context_table[target, d] += g0 * center_table[w0, d] + g1 * center_table[w1, d]
    for a in range(num_inputs):
        word = inputs[a]
        for d in range(dim):
            center_table[word, d] += deltas[a, d]
    return growth, neg_log


@njit(parallel=True, fastmath=FAST, cache=True)
def sgd_hogwild(ids, piece_offsets, chunk_pieces, keep_probability, keep, alias, center_table,
                context_table, max_window, num_noise_words, shared_noise, lr, min_lr_fraction, done_before,
                total_work, seed, first_chunk, loss_sums, center_counts, pair_counts):
    """word2vec.c's skip-gram SGD over chunks ``first_chunk ..`` of the corpus, threads without locks.

    The corpus is ``ids`` (int32 ``(T,)``) cut into pieces (``piece_offsets`` int64
    ``(P+1,)``: sentences, long ones split) and the pieces into chunks (``chunk_pieces``
    int64 ``(C+1,)``).  Each chunk seeds its own SplitMix64 generator (``_uniform``) from
    ``(seed, chunk)`` and, piece by piece: keeps token ``w`` with probability
    ``keep_probability[w]``; for each kept center, draws a window ``1..max_window``
    within the kept piece; then either (``shared_noise`` False, word2vec.c's loop) for
    each context word ``o``, draws ``num_noise_words`` noise words from the alias table
    and takes :func:`sgd_pair`'s step on the center and ``o`` (a draw equal to ``o`` is
    skipped, as word2vec.c does), or (``shared_noise`` True) draws the noise words once
    and takes :func:`sgd_window`'s step, every context word predicting the center (a draw
    equal to the center is skipped).  The step is
    ``lr * max(1 - progress, min_lr_fraction)`` with ``progress = (done_before +
    piece start) / total_work``, measured in tokens, as word2vec.c's linear decay.

    Writes for each chunk ``c`` handled (``loss_sums.shape[0]`` chunks from ``first_chunk``):
    ``loss_sums[c - first_chunk]`` the sum over its centers of their mean BCE (the seed's
    per-example loss, computed before each update), ``center_counts`` and ``pair_counts``.
    With one thread the result depends on the seed only; with several, updates of shared
    rows race and the result varies from run to run (Hogwild).
    """
    dim = center_table.shape[1]
    dtype = center_table.dtype.type
    for local in prange(loss_sums.shape[0]):
        chunk = first_chunk + local
        state = np.full(1, _mix(seed, chunk), dtype=np.uint64)
        # One buffer per chunk (thousands of tokens), not per center.
        longest = 0
        for piece in range(chunk_pieces[chunk], chunk_pieces[chunk + 1]):
            longest = max(longest, piece_offsets[piece + 1] - piece_offsets[piece])
        kept = np.empty(longest, dtype=np.int32)
        neu = np.empty(dim, dtype=center_table.dtype)
        scores = np.empty(num_noise_words + 1, dtype=center_table.dtype)
        targets = np.empty(num_noise_words + 2, dtype=np.int64)
        inputs = np.empty(2 * max_window + 1, dtype=np.int64)
        window_scores = np.empty((2 * max_window + 1, num_noise_words + 2), dtype=center_table.dtype)
        deltas = np.empty((2 * max_window + 1, dim), dtype=center_table.dtype)
        loss_sum = 0.0
        num_centers = 0
        num_pairs = 0
        for piece in range(chunk_pieces[chunk], chunk_pieces[chunk + 1]):
            start, stop = piece_offsets[piece], piece_offsets[piece + 1]
            progress = (done_before + start) / total_work
            alpha = dtype(lr * max(1 - progress, min_lr_fraction))
            length = 0
            for t in range(start, stop):
                if _uniform(state) < keep_probability[ids[t]]:
                    kept[length] = ids[t]
                    length += 1
            for i in range(length):
                window = 1 + min(int(_uniform(state) * max_window), max_window - 1)
                low = max(0, i - window)
                high = min(length, i + window + 1)
                if high - low < 2:
                    continue
                growth, neg_log = 1.0, 0.0
                if shared_noise:
                    num_targets = _draw_targets(targets, kept[i], num_noise_words, state, keep, alias)
                    n = 0
                    for j in range(low, high):
                        if j != i:
                            inputs[n] = kept[j]
                            n += 1
                    growth, neg_log = sgd_window(center_table, inputs, n, context_table, targets, num_targets,
                                                 alpha, window_scores, deltas, growth, neg_log)
                    terms = n * num_targets
                    num_pairs += n
                else:
                    terms = 0
                    for j in range(low, high):
                        if j == i:
                            continue
                        num_targets = _draw_targets(targets, kept[j], num_noise_words, state, keep, alias)
                        growth, neg_log = sgd_pair(center_table, kept[i], context_table, targets, num_targets,
                                                   alpha, scores, neu, growth, neg_log)
                        terms += num_targets
                        num_pairs += 1
                loss_sum += (neg_log + np.log(growth)) / terms
                num_centers += 1
        loss_sums[local] = loss_sum
        center_counts[local] = num_centers
        pair_counts[local] = num_pairs
