"""The sampling kernels' exact draws in plain Python: the references of ``w2v_np.kernels.sampling``.

``w2v_np.sampling`` is the vectorised NumPy sampler: the kernels' distributions, other
random numbers.  The functions here draw the kernels' very numbers (one
:class:`~w2v_np.splitmix.ChunkStream` per chunk of ``chunk`` items, the kernels' ``CHUNK``),
so a test compares the kernels' arrays with them element for element.  A Python loop per
item: for tests on small inputs only.
"""
import numpy as np

from .splitmix import ChunkStream


def _chunks(size, chunk):
    """``(chunk index, range of items)`` for each chunk of ``size`` items."""
    return [(c, range(c * chunk, min(size, (c + 1) * chunk))) for c in range(-(-size // chunk))]


def keep_mask_reference(ids, keep_probability, seed, chunk):
    """``kernels.sampling.keep_mask``: token ``i`` kept when its chunk's next uniform is below
    ``keep_probability[ids[i]]``.  ids int ``(N,)``, keep_probability float64 ``(V,)`` -> bool ``(N,)``."""
    keep = np.empty(ids.shape[0], dtype=bool)
    for c, items in _chunks(ids.shape[0], chunk):
        stream = ChunkStream(seed, c)
        for i in items:
            keep[i] = stream.uniform() < keep_probability[ids[i]]
    return keep


def context_windows_reference(ids, position, start, stop, max_window, seed, chunk):
    """``kernels.sampling.context_windows``: per center ``n`` a window ``1..max_window`` from its
    chunk's stream, clipped to ``[start[n], stop[n])``, its tokens but the center in order.

    Returns context_offsets int64 ``(N+1,)`` and contexts int32 ``(M,)``.
    """
    contexts = []
    for c, items in _chunks(position.shape[0], chunk):
        stream = ChunkStream(seed, c)
        for n in items:
            window = stream.window(max_window)
            span = range(max(start[n], position[n] - window), min(stop[n], position[n] + window + 1))
            contexts.append([ids[t] for t in span if t != position[n]])
    offsets = np.zeros(len(contexts) + 1, dtype=np.int64)
    np.cumsum([len(words) for words in contexts], out=offsets[1:])
    return offsets, np.array([w for words in contexts for w in words], dtype=np.int32)


def draw_noise_words_reference(contexts, context_offsets, keep, alias, num_noise_words, seed, max_attempts, chunk):
    """``kernels.sampling.draw_noise_words``: per context word of example ``n``, ``num_noise_words``
    alias picks from example ``n``'s chunk stream, each redrawn while it is a context word of
    ``n`` (at most ``max_attempts`` draws; the last one stays).

    Returns noise int32 ``(K*M,)`` and the lowest example that ran out of attempts, or -1.
    """
    noise = np.empty(num_noise_words * contexts.shape[0], dtype=np.int32)
    failed = -1
    for c, items in _chunks(context_offsets.shape[0] - 1, chunk):
        stream = ChunkStream(seed, c)
        for n in items:
            own = set(contexts[context_offsets[n]:context_offsets[n + 1]].tolist())
            for slot in range(num_noise_words * context_offsets[n], num_noise_words * context_offsets[n + 1]):
                for _ in range(max_attempts):
                    word = stream.alias_pick(keep, alias)
                    if word not in own:
                        break
                else:
                    failed = n if failed < 0 else failed
                noise[slot] = word
    return noise, failed
