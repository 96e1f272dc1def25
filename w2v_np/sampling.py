"""Turning token ids into skip-gram training examples: the NumPy reference.

Every step is vectorised over the whole corpus (no per-token Python loop) and
reproduces the seed's semantics in distribution:

* :func:`subsample` drops ``<unk>`` and keeps a token with probability
  ``sqrt(sample / f)`` where ``f`` is its share of the remaining tokens (or, with
  ``subsampling="word2vec"``, word2vec.c's and gensim's ``sqrt(sample / f) + sample / f``);
* :func:`context_windows` draws a window size uniform in ``1..max_window`` for every
  kept token of a sentence with at least two tokens and takes the words around it;
* :func:`draw_noise_words` draws ``num_noise_words`` words per context word from
  ``count ** 0.75`` over indices ``1..V-1``, rejecting the center's own context words;
* :class:`SkipGramExamples` holds the result as flat arrays plus offsets and packs
  shuffled padded batches ``center (B,1)``, ``context_negative (B,L)``, ``mask``,
  ``label``; :class:`ResampledExamples` draws windows and noise words afresh for every
  batch instead (the seed's second exercise).

Every random stage takes ``sampler``: ``"numpy"`` runs the vectorised reference below,
``"numba"`` the compiled kernels of ``w2v_np.kernels.sampling`` (same distributions, other
random numbers), ``"auto"`` the kernels when Numba is installed.
"""
from dataclasses import dataclass

import numpy as np

from .errors import W2VError
from .kernels import numba_available

NOISE_POWER = 0.75
SAMPLERS = ("auto", "numpy", "numba")
RESAMPLE = ("once", "epoch")
SUBSAMPLING = ("seed", "word2vec")
# Draws allowed for one noise word before giving up on its center (its contexts then
# carry nearly all of the noise distribution).
MAX_DRAWS_PER_WORD = 10_000


def resolve_sampler(sampler):
    """``"numpy"`` or ``"numba"`` for a ``sampler`` in :data:`SAMPLERS`; raises :class:`W2VError`."""
    if sampler not in SAMPLERS:
        raise W2VError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if sampler == "numpy":
        return sampler
    if numba_available():
        return "numba"
    if sampler == "numba":
        raise W2VError("sampler 'numba' needs Numba, which is not installed: "
                       "pip install 'w2v-np[fast]' (or use --sampler numpy)")
    return "numpy"


def _kernels(sampler):
    """The Numba kernels when ``sampler`` resolves to ``"numba"``, else ``None``."""
    if resolve_sampler(sampler) != "numba":
        return None
    from .kernels import sampling
    return sampling


def kernel_seed(rng):
    """A 63-bit seed for one kernel call, drawn from the run's generator."""
    return int(rng.integers(2 ** 63))


def keep_probabilities(counts, sample, subsampling="seed"):
    """Subsampling's keep probability per id, 0 for ``<unk>``.

    ``f = counts[id] / (total count of ids >= 1)`` and ``r = sample / f``; ``subsampling``
    ``"seed"`` gives the chapter's ``sqrt(r)``, ``"word2vec"`` word2vec.c's (and gensim's)
    ``sqrt(r) + r``, which keeps more of the mid-frequency words.  A value above 1 means
    kept for sure.  A ``sample`` of 0 keeps every known token (probability 1).
    Returns float64 ``(V,)``.
    """
    if subsampling not in SUBSAMPLING:
        raise W2VError(f"subsampling must be one of {', '.join(SUBSAMPLING)}, got {subsampling!r}")
    if sample == 0:
        probability = np.ones(len(counts))
    else:
        num_known = counts[1:].sum()
        ratio = sample * num_known / np.maximum(np.asarray(counts, dtype=np.float64), 1)
        probability = np.sqrt(ratio) + ratio if subsampling == "word2vec" else np.sqrt(ratio)
    probability[0] = 0.0
    return probability


def subsample(ids, offsets, counts, sample, rng, sampler="numpy", subsampling="seed"):
    """Drop ``<unk>`` (id 0), then keep each token with probability ``sqrt(sample / f)``.

    See :func:`keep_probabilities` (and its other ``subsampling`` formula).  A ``sample``
    of 0 disables subsampling.

    Args:
        ids: int32 ``(N,)`` token ids; offsets: int64 ``(S+1,)`` sentence offsets.
        counts: int64 ``(V,)`` corpus counts per id; rng: ``numpy.random.Generator``.
    Returns:
        ``(ids, offsets)`` of the kept tokens, same dtypes, same number of sentences.
    """
    kernels = _kernels(sampler)
    if sample == 0:
        keep = ids != 0
    elif kernels is not None:
        keep = kernels.keep_mask(ids, keep_probabilities(counts, sample, subsampling), kernel_seed(rng))
    else:
        keep = rng.random(ids.shape[0]) < keep_probabilities(counts, sample, subsampling)[ids]
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


@dataclass
class CenterPositions:
    """Where the centers are: token ``position[n]`` of the sentence ``ids[start[n]:stop[n]]``.

    All three are int64 ``(N,)``.
    """
    position: np.ndarray
    start: np.ndarray
    stop: np.ndarray

    def __len__(self):
        return self.position.shape[0]

    def take(self, chosen):
        """The centers with indices ``chosen`` (int ``(B,)``), in that order."""
        return CenterPositions(self.position[chosen], self.start[chosen], self.stop[chosen])


def center_positions(offsets):
    """Every token of a sentence with at least two tokens is a center (as in the seed)."""
    lengths = np.diff(offsets)
    sentence_of_token = np.repeat(np.arange(lengths.shape[0]), lengths)
    usable = lengths[sentence_of_token] >= 2
    sentence = sentence_of_token[usable]
    return CenterPositions(np.flatnonzero(usable), offsets[sentence], offsets[sentence + 1])


def context_windows(ids, offsets, max_window, rng, sampler="numpy"):
    """Draw a window size per token and gather its context words inside its sentence.

    Sentences with fewer than two tokens give no examples (as in the seed); every
    other token is a center with ``min(w, available)`` words on each side, ``w``
    uniform in ``1..max_window``.
    """
    return windows_at(ids, center_positions(offsets), max_window, rng, sampler)


def windows_at(ids, centers, max_window, rng, sampler="numpy"):
    """:func:`context_windows` for the centers ``centers`` (a :class:`CenterPositions`) only."""
    kernels = _kernels(sampler)
    position = centers.position
    if kernels is not None:
        context_offsets, contexts = kernels.context_windows(
            ids, position, centers.start, centers.stop, max_window, kernel_seed(rng))
        return ContextWindows(ids[position], context_offsets, contexts)
    window = rng.integers(1, max_window + 1, size=position.shape[0])
    start = np.maximum(centers.start, position - window)
    stop = np.minimum(centers.stop, position + window + 1)
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

    Attributes: weights float64 ``(V,)``; the table: keep float64 ``(V,)``, alias int32 ``(V,)``.
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
        self.weights = weights
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


def draw_noise_words(windows, distribution, num_noise_words, rng, sampler="numpy"):
    """Draw ``num_noise_words`` noise ids per context word, none equal to a context word of its center.

    ``distribution`` is a :class:`NoiseSampler` over ``count ** 0.75``.  The reference draws
    everything at once and redraws only the rejected positions, which gives the same
    distribution as the seed's sequential draw-and-reject loop.

    Returns int32 ``(M * num_noise_words,)``: example ``n``'s noise words are the
    slice ``K*context_offsets[n] : K*context_offsets[n+1]`` with ``K = num_noise_words``.
    """
    kernels = _kernels(sampler)
    if kernels is not None:
        noise, failed = kernels.draw_noise_words(
            windows.contexts, windows.context_offsets, distribution.keep, distribution.alias,
            num_noise_words, kernel_seed(rng), MAX_DRAWS_PER_WORD)
        if failed < 0:
            return noise
        _check_noise_possible(windows, distribution.weights, [failed])
        raise _noise_exhausted()
    per_example = num_noise_words * np.diff(windows.context_offsets)
    example = np.repeat(np.arange(per_example.shape[0], dtype=np.int64), per_example)
    noise = distribution.draw(example.shape[0], rng)
    pending = np.flatnonzero(_is_context_word(windows, example, noise))
    for round_number in range(MAX_DRAWS_PER_WORD):
        if pending.shape[0] == 0:
            return noise
        if round_number == 10:
            _check_noise_possible(windows, distribution.weights, np.unique(example[pending]))
        noise[pending] = distribution.draw(pending.shape[0], rng)
        pending = pending[_is_context_word(windows, example[pending], noise[pending])]
    raise _noise_exhausted()


def _noise_exhausted():
    return W2VError("could not draw noise words: the contexts cover nearly all of the noise distribution")


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
    largest context of the batch.  ``sampler`` chooses who packs the batches.
    """

    def __init__(self, windows, noise, num_noise_words, sampler="numpy"):
        self.centers = windows.centers
        self.context_offsets = windows.context_offsets
        self.contexts = windows.contexts
        self.noise = noise
        self.num_noise_words = num_noise_words
        self.sampler = resolve_sampler(sampler)

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
        kernels = _kernels(self.sampler)
        if kernels is not None:
            batch = Batch(np.empty((size, 1), dtype=np.int64), np.empty((size, width), dtype=np.int64),
                          np.empty((size, width), dtype=dtype), np.empty((size, width), dtype=dtype))
            kernels.pack_batch(np.asarray(examples, dtype=np.int64), self.centers, self.context_offsets,
                               self.contexts, self.noise, k, batch.center, batch.context_negative,
                               batch.mask, batch.label)
            return batch
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

    def index_batches(self, batch_size, rng):
        """Yield ``(self, indices)`` per batch of the epoch: a fresh random permutation, cut in order.

        The unpadded form of :meth:`batches` (the same examples in the same order), for
        kernels that read the CSR arrays directly; indices are int64 ``(B,)``.
        """
        order = rng.permutation(len(self))
        for start in range(0, order.shape[0], batch_size):
            yield self, order[start:start + batch_size]

    def batches(self, batch_size, rng, dtype=np.float32):
        """Yield the epoch's padded batches over a fresh random permutation of the examples."""
        return padded(self.index_batches(batch_size, rng), dtype)

    def num_batches(self, batch_size):
        return -(-len(self) // batch_size)

    def max_row_length(self):
        """The most positions (context and noise words) one example has."""
        return int(np.diff(self.context_offsets).max(initial=0)) * (1 + self.num_noise_words)


class ResampledExamples:
    """Centers fixed once, windows and noise words drawn afresh for every batch.

    The seed's second exercise: across epochs a center meets other context and noise
    words.  Only the subsampled corpus and one batch are held, so memory does not grow
    with the number of epochs (nor with ``num_noise_words``).  Windows and noise words
    come from ``rng`` (the data stream), the order of the centers from the ``rng`` given
    to :meth:`batches`.
    """

    def __init__(self, ids, centers, distribution, max_window, num_noise_words, rng, sampler="numpy"):
        self.ids = ids
        self.centers = centers
        self.distribution = distribution
        self.max_window = max_window
        self.num_noise_words = num_noise_words
        self.rng = rng
        self.sampler = resolve_sampler(sampler)

    def __len__(self):
        return len(self.centers)

    def index_batches(self, batch_size, rng):
        """Yield ``(examples, indices)`` per batch: shuffled centers, each batch with new windows and noise.

        ``examples`` is the batch's own :class:`SkipGramExamples` and ``indices`` all of it.
        """
        order = rng.permutation(len(self))
        for start in range(0, order.shape[0], batch_size):
            windows = windows_at(self.ids, self.centers.take(order[start:start + batch_size]),
                                 self.max_window, self.rng, self.sampler)
            noise = draw_noise_words(windows, self.distribution, self.num_noise_words, self.rng,
                                     self.sampler)
            examples = SkipGramExamples(windows, noise, self.num_noise_words, self.sampler)
            yield examples, np.arange(len(examples))

    def batches(self, batch_size, rng, dtype=np.float32):
        """Yield the epoch's padded batches: shuffled centers, each batch with new windows and noise."""
        return padded(self.index_batches(batch_size, rng), dtype)

    def num_batches(self, batch_size):
        return -(-len(self) // batch_size)

    def max_row_length(self):
        """The most positions (context and noise words) one example can have: a window holds at
        most ``2 * max_window`` words, and at most the other tokens of its sentence."""
        longest = int((self.centers.stop - self.centers.start).max(initial=1))
        return min(2 * self.max_window, longest - 1) * (1 + self.num_noise_words)


def padded(index_batches, dtype):
    """Pack each ``(examples, indices)`` of ``index_batches`` into a padded :class:`Batch`."""
    for examples, indices in index_batches:
        yield examples.batch(indices, dtype)


def _ragged_positions(lengths):
    """Row and column of every cell of a ragged array with the given row lengths."""
    row = np.repeat(np.arange(lengths.shape[0]), lengths)
    row_start = np.cumsum(lengths) - lengths
    column = np.arange(row.shape[0]) - row_start[row]
    return row, column


def build_examples(ids, offsets, counts, *, max_window, num_noise_words, sample, rng,
                   sampler="numpy", resample="once", subsampling="seed"):
    """The seed's whole preparation: subsample, windows, noise words.

    ``subsampling`` chooses the keep probability's formula (:func:`keep_probabilities`).

    ``resample="once"`` draws every window and noise word now (the seed) and returns
    :class:`SkipGramExamples`; ``"epoch"`` returns :class:`ResampledExamples`, which
    draws them batch by batch, anew every epoch.
    """
    if resample not in RESAMPLE:
        raise W2VError(f"resample must be one of {', '.join(RESAMPLE)}, got {resample!r}")
    sampler = resolve_sampler(sampler)
    kept_ids, kept_offsets = subsample(ids, offsets, counts, sample, rng, sampler, subsampling)
    centers = center_positions(kept_offsets)
    if len(centers) == 0:
        raise W2VError("no training examples: after subsampling no sentence has two known tokens "
                       "(a small corpus may need a lower --sample, e.g. 0)")
    distribution = NoiseSampler(noise_weights(counts))
    if np.count_nonzero(distribution.weights) < 2:
        # Every context word would be the one noise word there is: no draw could succeed.
        raise W2VError("cannot draw noise words: the vocabulary holds one word besides <unk>, and a noise "
                       "word must differ from the center's context words (lower --min-count or use more text)")
    if resample == "epoch":
        return ResampledExamples(kept_ids, centers, distribution, max_window, num_noise_words, rng, sampler)
    windows = windows_at(kept_ids, centers, max_window, rng, sampler)
    noise = draw_noise_words(windows, distribution, num_noise_words, rng, sampler)
    return SkipGramExamples(windows, noise, num_noise_words, sampler)
