"""Numba kernels of the sampling pipeline: the compiled twins of ``w2v_np.sampling``.

Arrays in, arrays out, plus an integer ``seed``; ``w2v_np.sampling`` calls them from the
same functions as its NumPy reference and wraps their results.

Randomness: the work is cut into fixed chunks of ``CHUNK`` items and every chunk draws from
its own SplitMix64 stream, seeded from ``(seed, chunk)`` (:func:`.rng.chunk_stream`).  A chunk
is one ``prange`` iteration, so the arrays depend on the seed only, never on the number of
threads.

The kernels draw from the same distributions as the NumPy reference, not the same numbers;
``w2v_np.sampling_draws`` draws their very numbers in plain Python, and the tests compare the
kernels with it element for element.
"""
import numpy as np
from numba import njit, prange

from .rng import chunk_stream, uniform

CHUNK = 4096


@njit(parallel=True, cache=True)
def keep_mask(ids, keep_probability, seed):
    """Subsampling: token ``i`` is kept with probability ``keep_probability[ids[i]]``.

    ids int32 ``(N,)``, keep_probability float64 ``(V,)`` -> bool ``(N,)``.
    """
    size = ids.shape[0]
    keep = np.empty(size, dtype=np.bool_)
    for chunk in prange((size + CHUNK - 1) // CHUNK):
        state = chunk_stream(seed, chunk)
        for i in range(chunk * CHUNK, min(size, (chunk + 1) * CHUNK)):
            keep[i] = uniform(state) < keep_probability[ids[i]]
    return keep


@njit(parallel=True, cache=True)
def context_windows(ids, position, start, stop, max_window, seed):
    """Draw a window ``w`` uniform in ``1..max_window`` per center and gather its context words.

    Center ``n`` is the token ``ids[position[n]]`` of the sentence ``ids[start[n]:stop[n]]``;
    its context words are the tokens within ``w`` places of it, itself excluded.

    Args: ids int32 ``(T,)``; position, start, stop int64 ``(N,)``.
    Returns: context_offsets int64 ``(N+1,)``, contexts int32 ``(M,)`` (CSR, center by center).
    """
    size = position.shape[0]
    low = np.empty(size, dtype=np.int64)
    high = np.empty(size, dtype=np.int64)
    for chunk in prange((size + CHUNK - 1) // CHUNK):
        state = chunk_stream(seed, chunk)
        for n in range(chunk * CHUNK, min(size, (chunk + 1) * CHUNK)):
            window = 1 + min(int(uniform(state) * max_window), max_window - 1)
            low[n] = max(start[n], position[n] - window)
            high[n] = min(stop[n], position[n] + window + 1)
    context_offsets = np.empty(size + 1, dtype=np.int64)
    context_offsets[0] = 0
    for n in range(size):
        context_offsets[n + 1] = context_offsets[n] + high[n] - low[n] - 1
    contexts = np.empty(context_offsets[size], dtype=np.int32)
    for n in prange(size):
        slot = context_offsets[n]
        for token in range(low[n], high[n]):
            if token != position[n]:
                contexts[slot] = ids[token]
                slot += 1
    return context_offsets, contexts


@njit(cache=True, inline="always")
def alias_pick(uniform, keep, alias):
    """The id a uniform on [0, 1) picks from a Walker alias table: it gives both the column and the coin."""
    scaled = uniform * keep.shape[0]
    column = min(int(scaled), keep.shape[0] - 1)
    return column if scaled - column < keep[column] else alias[column]


@njit(parallel=True, cache=True)
def draw_noise_words(contexts, context_offsets, keep, alias, num_noise_words, seed, max_attempts):
    """Draw ``num_noise_words`` ids per context word, redrawing any context word of the center.

    The alias table (keep float64 ``(V,)``, alias int32 ``(V,)``) gives ``count**0.75``.
    Example ``n``'s noise words are ``noise[K*context_offsets[n]:K*context_offsets[n+1]]``.

    Returns:
        noise int32 ``(K*M,)`` and the lowest example that hit ``max_attempts`` draws for
        one word (its noise words are then not valid), or -1.
    """
    num_examples = context_offsets.shape[0] - 1
    noise = np.empty(num_noise_words * contexts.shape[0], dtype=np.int32)
    num_chunks = (num_examples + CHUNK - 1) // CHUNK
    failed = np.full(num_chunks, -1, dtype=np.int64)
    for chunk in prange(num_chunks):
        state = chunk_stream(seed, chunk)
        for n in range(chunk * CHUNK, min(num_examples, (chunk + 1) * CHUNK)):
            first, last = context_offsets[n], context_offsets[n + 1]
            for slot in range(num_noise_words * first, num_noise_words * last):
                for _ in range(max_attempts):
                    word = alias_pick(uniform(state), keep, alias)
                    rejected = False
                    for j in range(first, last):
                        if contexts[j] == word:
                            rejected = True
                            break
                    if not rejected:
                        break
                else:
                    if failed[chunk] < 0:
                        failed[chunk] = n
                noise[slot] = word
    for chunk in range(num_chunks):
        if failed[chunk] >= 0:
            return noise, failed[chunk]
    return noise, -1


@njit(nogil=True, cache=True)
def pack_batch(examples, centers, context_offsets, contexts, noise, num_noise_words,
               center, context_negative, mask, label):
    """Write examples ``examples`` (int64 ``(B,)``) into the preallocated batch arrays.

    Row ``b``: context words, then their noise words, then zeros; ``mask`` is 1 on the
    first two parts and ``label`` on the first.  center int64 ``(B, 1)``,
    context_negative int64 ``(B, L)``, mask and label float ``(B, L)``.  Runs without
    the GIL, so packing overlaps with the training step.
    """
    width = context_negative.shape[1]
    for row in range(examples.shape[0]):
        n = examples[row]
        first, last = context_offsets[n], context_offsets[n + 1]
        center[row, 0] = centers[n]
        column = 0
        for j in range(first, last):
            context_negative[row, column] = contexts[j]
            mask[row, column] = 1
            label[row, column] = 1
            column += 1
        for j in range(num_noise_words * first, num_noise_words * last):
            context_negative[row, column] = noise[j]
            mask[row, column] = 1
            label[row, column] = 0
            column += 1
        for j in range(column, width):
            context_negative[row, j] = 0
            mask[row, j] = 0
            label[row, j] = 0
