"""Turning token ids into skip-gram training examples: the NumPy reference.

Every step is vectorised over the whole corpus (no per-token Python loop) and
reproduces the seed's semantics in distribution:

* :func:`subsample` drops ``<unk>`` and keeps a token with probability
  ``sqrt(sample / f)`` where ``f`` is its share of the remaining tokens;
* :func:`context_windows` draws a window size uniform in ``1..max_window`` for every
  kept token of a sentence with at least two tokens and takes the words around it;
* :func:`draw_noise_words` draws ``num_noise_words`` words per context word from
  ``count ** 0.75`` over indices ``1..V-1``, rejecting the center's own context words;
* :class:`SkipGramExamples` holds the result as flat arrays plus offsets and packs
  shuffled padded batches ``center (B,1)``, ``context_negative (B,L)``, ``mask``,
  ``label``.
"""
from dataclasses import dataclass

import numpy as np

from .errors import W2VError

NOISE_POWER = 0.75


def subsample(ids, offsets, counts, sample, rng):
    """Drop ``<unk>`` (id 0), then keep each token with probability ``sqrt(sample / f)``.

    ``f = counts[id] / (total count of ids >= 1)``; the probability is above 1 (kept
    for sure) for rare tokens.  A ``sample`` of 0 disables subsampling.

    Args:
        ids: int32 ``(N,)`` token ids; offsets: int64 ``(S+1,)`` sentence offsets.
        counts: int64 ``(V,)`` corpus counts per id; rng: ``numpy.random.Generator``.
    Returns:
        ``(ids, offsets)`` of the kept tokens, same dtypes, same number of sentences.
    """
    known = ids != 0
    if sample > 0:
        num_known = counts[1:].sum()
        keep_probability = np.sqrt(sample * num_known / np.maximum(counts, 1))
        keep = known & (rng.random(ids.shape[0]) < keep_probability[ids])
    else:
        keep = known
    kept_before = np.zeros(ids.shape[0] + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    return ids[keep], kept_before[offsets]


@dataclass
class ContextWindows:
    """Centers and their context words in CSR layout.

    Attributes:
        centers: int32 ``(N,)``, one entry per example.
        context_offsets: int64 ``(N+1,)``; example ``n``'s context words are
            ``contexts[context_offsets[n]:context_offsets[n+1]]`` (at least one).
        contexts: int32 ``(M,)``.
    """
    centers: np.ndarray
    context_offsets: np.ndarray
    contexts: np.ndarray


def context_windows(ids, offsets, max_window, rng):
    """Draw a window size per token and gather its context words inside its sentence.

    Sentences with fewer than two tokens give no examples (as in the seed); every
    other token is a center with ``min(w, available)`` words on each side, ``w``
    uniform in ``1..max_window``.
    """
    lengths = np.diff(offsets)
    sentence_of_token = np.repeat(np.arange(lengths.shape[0]), lengths)
    usable = lengths[sentence_of_token] >= 2
    position = np.flatnonzero(usable)
    sentence = sentence_of_token[usable]
    window = rng.integers(1, max_window + 1, size=position.shape[0])
    start = np.maximum(offsets[sentence], position - window)
    stop = np.minimum(offsets[sentence + 1], position + window + 1)
    span = stop - start
    example_of_slot = np.repeat(np.arange(position.shape[0]), span)
    first_slot = np.cumsum(span) - span
    slot = start[example_of_slot] + np.arange(example_of_slot.shape[0]) - first_slot[example_of_slot]
    is_context = slot != position[example_of_slot]
    context_offsets = np.zeros(position.shape[0] + 1, dtype=np.int64)
    np.cumsum(span - 1, out=context_offsets[1:])
    return ContextWindows(ids[position], context_offsets, ids[slot[is_context]])


def noise_weights(counts):
    """Unnormalised noise distribution over ids: ``counts ** 0.75`` with id 0 excluded.

    Returns float64 ``(V,)`` with ``weights[0] == 0``.
    """
    weights = np.asarray(counts, dtype=np.float64) ** NOISE_POWER
    weights[0] = 0.0
    if not weights.sum() > 0:
        raise W2VError("noise distribution is empty: the vocabulary has no counted token")
    return weights


class NoiseSampler:
    """Draw ids from ``weights`` in O(1) each with Walker's alias method (Vose's construction).

    Each draw picks a column uniformly, then keeps it with probability ``keep[column]``
    or takes ``alias[column]`` otherwise; ids of weight 0 are never drawn.
    """

    def __init__(self, weights):
        weights = np.asarray(weights, dtype=np.float64)
        size = weights.shape[0]
        scaled = (weights * (size / weights.sum())).tolist()
        keep = [1.0] * size
        alias = list(range(size))
        small = [i for i, w in enumerate(scaled) if w < 1.0]
        large = [i for i, w in enumerate(scaled) if w >= 1.0]
        while small and large:
            low, high = small.pop(), large.pop()
            keep[low], alias[low] = scaled[low], high
            scaled[high] += scaled[low] - 1.0
            (small if scaled[high] < 1.0 else large).append(high)
        # Whatever is left holds mass 1 up to rounding: it keeps its own column.
        self.keep = np.asarray(keep)
        self.alias = np.asarray(alias, dtype=np.int32)

    def draw(self, size, rng):
        """int32 ``(size,)`` ids, each with probability ``weights[id] / weights.sum()``."""
        column = rng.integers(0, self.keep.shape[0], size=size, dtype=np.int32)
        return np.where(rng.random(size) < self.keep[column], column, self.alias[column])


def _is_context_word(windows, example, words):
    """Whether ``words[j]`` is one of the context words of example ``example[j]`` (bool array).

    ``example`` must be non-decreasing (noise words are stored example by example).
    """
    num_context = np.diff(windows.context_offsets)
    run_length = np.bincount(example, minlength=num_context.shape[0])
    first = windows.context_offsets[:-1]
    last_slot = windows.contexts.shape[0] - 1
    hit = np.zeros(words.shape[0], dtype=bool)
    # Windows hold at most 2*max_window words, so a few vectorised passes cover every slot;
    # np.repeat streams each example's word to its run of noise words.
    for slot in range(int(num_context.max(initial=0))):
        candidate = np.where(slot < num_context, windows.contexts[np.minimum(first + slot, last_slot)], -1)
        hit |= np.repeat(candidate, run_length) == words
    return hit


def draw_noise_words(windows, weights, num_noise_words, rng, max_rounds=1000):
    """Draw ``num_noise_words`` noise ids per context word, none equal to a context word of its center.

    Draws everything at once and redraws only the rejected positions, which gives the
    same distribution as the seed's sequential draw-and-reject loop.

    Returns int32 ``(M * num_noise_words,)``: example ``n``'s noise words are the
    slice ``K*context_offsets[n] : K*context_offsets[n+1]`` with ``K = num_noise_words``.
    """
    sampler = NoiseSampler(weights)
    per_example = num_noise_words * np.diff(windows.context_offsets)
    example = np.repeat(np.arange(per_example.shape[0], dtype=np.int64), per_example)
    noise = sampler.draw(example.shape[0], rng)
    pending = np.flatnonzero(_is_context_word(windows, example, noise))
    for round_number in range(max_rounds):
        if pending.shape[0] == 0:
            return noise
        if round_number == 10:
            _check_noise_possible(windows, weights, np.unique(example[pending]))
        noise[pending] = sampler.draw(pending.shape[0], rng)
        pending = pending[_is_context_word(windows, example[pending], noise[pending])]
    raise W2VError("could not draw noise words: the contexts cover nearly all of the noise distribution")


def _check_noise_possible(windows, weights, examples):
    """Raise when one of ``examples`` has context words that carry the whole noise distribution."""
    for example in examples:
        words = np.unique(windows.contexts[windows.context_offsets[example]:
                                           windows.context_offsets[example + 1]])
        if weights[words].sum() >= weights.sum() * (1 - 1e-12):
            raise W2VError("cannot draw noise words: a center's context words are the whole "
                           "noise vocabulary (corpus too small or --min-count too high)")


@dataclass
class Batch:
    """One padded minibatch, as the seed's ``batchify`` builds it.

    Attributes:
        center: int64 ``(B, 1)``.
        context_negative: int64 ``(B, L)``: context words, then noise words, then 0s.
        mask: float ``(B, L)``, 1 on the valid (context or noise) positions.
        label: float ``(B, L)``, 1 on the context positions.
    """
    center: np.ndarray
    context_negative: np.ndarray
    mask: np.ndarray
    label: np.ndarray


class SkipGramExamples:
    """All training examples of an epoch: centers, context words and noise words (CSR).

    ``L`` of a batch is the longest row in it: ``(1 + num_noise_words)`` times the
    largest context of the batch.
    """

    def __init__(self, windows, noise, num_noise_words):
        self.centers = windows.centers
        self.context_offsets = windows.context_offsets
        self.contexts = windows.contexts
        self.noise = noise
        self.num_noise_words = num_noise_words

    def __len__(self):
        return self.centers.shape[0]

    @property
    def num_pairs(self):
        """Number of (center, context word) pairs."""
        return self.contexts.shape[0]

    def batch(self, examples, dtype=np.float32):
        """Pack the examples with indices ``examples`` (int ``(B,)``) into a :class:`Batch`."""
        k = self.num_noise_words
        size = examples.shape[0]
        first = self.context_offsets[examples]
        num_context = self.context_offsets[examples + 1] - first
        row_length = num_context * (1 + k)
        width = int(row_length.max())
        context_negative = np.zeros((size, width), dtype=np.int64)
        row, column = _ragged_positions(num_context)
        context_negative[row, column] = self.contexts[first[row] + column]
        row_noise, column_noise = _ragged_positions(k * num_context)
        context_negative[row_noise, num_context[row_noise] + column_noise] = \
            self.noise[k * first[row_noise] + column_noise]
        positions = np.arange(width)
        mask = (positions < row_length[:, None]).astype(dtype)
        label = (positions < num_context[:, None]).astype(dtype)
        return Batch(self.centers[examples].astype(np.int64)[:, None], context_negative, mask, label)

    def batches(self, batch_size, rng, dtype=np.float32):
        """Yield the epoch's batches over a fresh random permutation of the examples."""
        order = rng.permutation(len(self))
        for start in range(0, order.shape[0], batch_size):
            yield self.batch(order[start:start + batch_size], dtype)

    def num_batches(self, batch_size):
        return -(-len(self) // batch_size)


def _ragged_positions(lengths):
    """Row and column of every cell of a ragged array with the given row lengths."""
    row = np.repeat(np.arange(lengths.shape[0]), lengths)
    row_start = np.cumsum(lengths) - lengths
    column = np.arange(row.shape[0]) - row_start[row]
    return row, column


def build_examples(ids, offsets, counts, *, max_window, num_noise_words, sample, rng):
    """The seed's whole preparation: subsample, windows, noise words -> :class:`SkipGramExamples`."""
    kept_ids, kept_offsets = subsample(ids, offsets, counts, sample, rng)
    windows = context_windows(kept_ids, kept_offsets, max_window, rng)
    if windows.centers.shape[0] == 0:
        raise W2VError("no training examples: after subsampling no sentence has two known tokens "
                       "(a small corpus may need a lower --sample, e.g. 0)")
    noise = draw_noise_words(windows, noise_weights(counts), num_noise_words, rng)
    return SkipGramExamples(windows, noise, num_noise_words)
