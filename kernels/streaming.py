"""The word2vec method's streaming SGD: word2vec.c's training loop, threads without locks.

:func:`sgd_hogwild` streams over the token ids: subsampling, windows and noise words are
drawn on the fly, and every (center, context word) pair (:func:`sgd_pair`) or every
window (:func:`sgd_window`, HogBatch) takes an SGD step at once; threads update the
shared tables without locks (Hogwild).  The NumPy references of both steps and of the
whole driver (``sgd_hogwild_reference``, drawing the same numbers) are in ``w2v_np.word2vec``
and the tests pin the kernels to them.
"""
import numpy as np
from numba import njit, prange

from .rng import chunk_stream, uniform
from .sampling import alias_pick
from .schedule import linear_decay
from .scores import FAST, bce_position, row_dot

_linear_decay = njit(cache=True, inline="always")(linear_decay)


@njit(cache=True, inline="always")
def _draw_targets(targets, positive, num_noise_words, state, keep, alias):
    """``targets[0] = positive``, then ``num_noise_words`` draws from the alias table, a draw
    equal to ``positive`` dropped (word2vec.c skips it); returns how many targets there
    are.  All are drawn before any row is read: with a large vocabulary each row is a
    cache miss, and independent misses overlap."""
    targets[0] = positive
    count = 1
    for _ in range(num_noise_words):
        pick = alias_pick(uniform(state), keep, alias)
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
    overlap instead of waiting on each other's updates.

    Tables float ``(V, D)``, updated in place; ``scores`` float ``(K+1,)`` and ``neu``
    float ``(D,)`` are scratch.  Rows are indexed in place rather than taken as views,
    which would cost a reference count each.  Returns the BCE accumulators of
    :func:`bce_position` after the pair's ``num_targets`` positions.
    """
    dtype = center_table.dtype.type
    one = dtype(1)
    dim = center_table.shape[1]
    for k in range(num_targets):
        scores[k] = row_dot(center_table, center, context_table, targets[k])
    for k in range(num_targets):
        label = dtype(k == 0)
        sigmoid, growth, neg_log = bce_position(scores[k], label, one, growth, neg_log)
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
    eight, and the loops are bound by loads, not arithmetic.  An odd count is padded with a copy of the first row whose
    gradients are zero, so ``inputs`` and ``targets`` need one spare entry past their
    counts.  The ``u_k`` steps go target by target, as a target drawn twice must move
    twice.

    ``inputs[:num_inputs]`` int64: the window's context words (rows of ``center_table``);
    ``targets[:num_targets]`` int64: the center (label 1), then the noise words; tables
    float ``(V, D)``, updated in place; ``scores`` float ``(n + 1, K + 2)`` and ``deltas``
    float ``(n + 1, D)`` scratch with ``n >= num_inputs``, ``K + 1 >= num_targets``.
    Returns the BCE accumulators of :func:`bce_position` after the window's
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
                sigmoid, growth, neg_log = bce_position(scores[a, k], label, one, growth, neg_log)
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
    int64 ``(C+1,)``).  Each chunk seeds its own SplitMix64 generator (``uniform``) from
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
        state = chunk_stream(seed, chunk)
        # One buffer per chunk (thousands of tokens), not per center.
        longest = 0
        for piece in range(chunk_pieces[chunk], chunk_pieces[chunk + 1]):
            longest = max(longest, piece_offsets[piece + 1] - piece_offsets[piece])
        kept = np.empty(longest, dtype=np.int32)
        neu = np.empty(dim, dtype=center_table.dtype)
        scores = np.empty(num_noise_words + 1, dtype=center_table.dtype)
        targets = np.empty(num_noise_words + 2, dtype=np.int64)
        # A window holds at most the piece's other tokens, whatever max_window says.
        span = min(2 * max_window, longest) + 1
        inputs = np.empty(span, dtype=np.int64)
        window_scores = np.empty((span, num_noise_words + 2), dtype=center_table.dtype)
        deltas = np.empty((span, dim), dtype=center_table.dtype)
        loss_sum = 0.0
        num_centers = 0
        num_pairs = 0
        for piece in range(chunk_pieces[chunk], chunk_pieces[chunk + 1]):
            start, stop = piece_offsets[piece], piece_offsets[piece + 1]
            alpha = dtype(_linear_decay(lr, min_lr_fraction, done_before + start, total_work))
            length = 0
            for t in range(start, stop):
                if uniform(state) < keep_probability[ids[t]]:
                    kept[length] = ids[t]
                    length += 1
            for i in range(length):
                window = 1 + min(int(uniform(state) * max_window), max_window - 1)
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
