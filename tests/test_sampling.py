"""Subsampling, context windows, noise words and batches (w2v_np.sampling).

Statistical checks use fixed seeds and stated thresholds:

* rates are compared with their expectation within 5 binomial standard errors
  (a correct implementation fails such a check with probability ~6e-7);
* distributions are checked with scipy's chi-square test, failing below p = 1e-4
  (a correct implementation fails with probability 1e-4 per fresh seed; with the fixed
  seeds here the outcome is deterministic).

Every random stage runs under both samplers (the ``sampler`` fixture): the NumPy reference
and the Numba kernels draw different numbers from the same distributions, so the same
checks and thresholds apply to both.  The Numba cases skip when Numba is not installed;
tests/test_sampling_kernels.py compares the two paths with each other.
"""
import time

import numpy as np
import pytest

from w2v_np import W2VError
from w2v_np.corpus import read_sentences
from w2v_np.kernels import numba_available
from w2v_np.sampling import (ContextWindows, NoiseSampler, build_examples, context_windows,
                             draw_noise_words, keep_probabilities, noise_weights, subsample)
from w2v_np.vocab import Vocab

stats = pytest.importorskip("scipy.stats")

P_MIN = 1e-4          # chi-square threshold, see the module docstring
SIGMAS = 5.0          # binomial bound, see the module docstring
SAMPLER_NAMES = ("numpy", "numba")


def need_numba():
    """The numba module; skips the current test when Numba does not import (missing or
    broken: the same test as ``w2v_np.kernels.numba_available``, which then makes
    sampler "auto" fall back to NumPy)."""
    if not numba_available():
        pytest.skip("Numba is not installed (pip install 'w2v-np[fast]')")
    return pytest.importorskip("numba")


def need_sampler(name):
    """Skip the current test when ``name`` is "numba" and Numba is not installed."""
    if name == "numba":
        need_numba()
    return name


@pytest.fixture(params=SAMPLER_NAMES)
def sampler(request):
    """Each sampler in turn: the NumPy reference, then the Numba kernels."""
    return need_sampler(request.param)


# --------------------------------------------------------------------------- helpers

def unique_corpus(lengths):
    """Token ids 1..N (each id once, so an id tells its flat position: id - 1) split into
    sentences of the given lengths. Returns ``(ids int32, offsets int64)``."""
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return np.arange(1, offsets[-1] + 1, dtype=np.int32), offsets


def random_corpus(rng, num_sentences, vocab_size, max_len=12, zipf=1.3):
    """A Zipf-ish corpus over ids 0..vocab_size-1 (0 is <unk>) with varied sentence lengths."""
    lengths = rng.integers(0, max_len + 1, size=num_sentences)
    offsets = np.zeros(num_sentences + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    ids = (rng.zipf(zipf, size=offsets[-1]) - 1) % vocab_size
    counts = np.bincount(ids, minlength=vocab_size).astype(np.int64)
    counts[1:] = np.maximum(counts[1:], 1)       # every vocabulary word counted at least once
    return ids.astype(np.int32), offsets, counts


def check_windows(ids, offsets, windows, max_window):
    """Every center is a token of a sentence with >= 2 tokens, in order, exactly once; its
    contexts are exactly the tokens of a window [p-w, p+w] (1 <= w <= max_window) clipped to
    the sentence, center excluded, in order. Needs ids that are unique (position = id - 1).
    Returns the window size behind each center (the larger of its left and right reach)."""
    lengths = np.diff(offsets)
    sentence_of = np.repeat(np.arange(lengths.shape[0]), lengths)
    usable_positions = np.flatnonzero(lengths[sentence_of] >= 2)
    assert windows.centers.dtype == np.int32 and windows.contexts.dtype == np.int32
    assert windows.context_offsets.dtype == np.int64
    assert windows.context_offsets.shape == (windows.centers.shape[0] + 1,)
    assert windows.context_offsets[0] == 0
    assert windows.context_offsets[-1] == windows.contexts.shape[0]
    assert np.array_equal(windows.centers, ids[usable_positions])
    position_of_id = {int(token): p for p, token in enumerate(ids)}
    reach = np.empty(windows.centers.shape[0], dtype=np.int64)
    for n, center in enumerate(windows.centers):
        p = position_of_id[int(center)]
        s = sentence_of[p]
        context = windows.contexts[windows.context_offsets[n]:windows.context_offsets[n + 1]]
        assert context.shape[0] >= 1
        positions = np.array([position_of_id[int(c)] for c in context])
        assert np.all(sentence_of[positions] == s), "context outside the center's sentence"
        assert np.all(positions != p), "the center is its own context"
        assert np.all(np.abs(positions - p) <= max_window), "context beyond max_window"
        w = int(np.abs(positions - p).max())
        expected = [q for q in range(max(offsets[s], p - w), min(offsets[s + 1], p + w + 1)) if q != p]
        assert positions.tolist() == expected, "contexts are not the clipped window, in order"
        reach[n] = w
    return reach


def assert_noise_avoids_contexts(context_offsets, contexts, noise, num_noise_words):
    """No noise word of an example equals any context word of that example (checks all).

    Compares each noise word with every context slot of its example, one slot at a time
    (windows hold few words), so it runs on all of PTB in well under a second."""
    num_context = np.diff(context_offsets)
    assert noise.shape[0] == num_noise_words * contexts.shape[0]
    example = np.repeat(np.arange(num_context.shape[0]), num_noise_words * num_context)
    first, count = context_offsets[example], num_context[example]
    clash = np.zeros(noise.shape[0], dtype=bool)
    for slot in range(int(num_context.max(initial=0))):
        candidate = contexts[np.minimum(first + slot, contexts.shape[0] - 1)]
        clash |= (slot < count) & (candidate == noise)
    assert not clash.any(), f"{int(clash.sum())} noise words equal a context word of their center"


def check_batch(examples, indices, batch, dtype=np.float32):
    """The padded batch layout for the examples ``indices``, row by row."""
    k = examples.num_noise_words
    offsets = examples.context_offsets
    num_context = offsets[indices + 1] - offsets[indices]
    size = indices.shape[0]
    width = int((1 + k) * num_context.max())
    assert batch.center.shape == (size, 1) and batch.center.dtype == np.int64
    assert batch.context_negative.shape == (size, width)
    assert batch.context_negative.dtype == np.int64
    assert batch.mask.shape == batch.label.shape == (size, width)
    assert batch.mask.dtype == batch.label.dtype == dtype
    assert set(np.unique(batch.mask)) <= {0, 1} and set(np.unique(batch.label)) <= {0, 1}
    assert np.all(batch.label <= batch.mask)
    assert np.all(batch.context_negative[batch.mask == 0] == 0), "padding is not id 0"
    for row, (example, n) in enumerate(zip(indices, num_context)):
        valid = n * (1 + k)
        assert batch.center[row, 0] == examples.centers[example]
        assert np.all(batch.label[row, :n] == 1) and np.all(batch.label[row, n:] == 0)
        assert np.all(batch.mask[row, :valid] == 1) and np.all(batch.mask[row, valid:] == 0)
        assert np.array_equal(batch.context_negative[row, :n],
                              examples.contexts[offsets[example]:offsets[example + 1]])
        assert np.array_equal(batch.context_negative[row, n:valid],
                              examples.noise[k * offsets[example]:k * offsets[example + 1]])


# --------------------------------------------------------------------------- subsample

def test_subsample_drops_unk_and_keeps_sentence_count(sampler):
    """Every id 0 goes, the number of sentences stays, and each kept token stays in its
    own sentence and order (a subsequence)."""
    rng = np.random.default_rng(1)
    ids, offsets, counts = random_corpus(rng, 300, 40)
    assert (ids == 0).sum() > 50, "the test corpus should hold plenty of <unk>"
    # tag every token with its position so sentence membership can be checked afterwards
    for sample in (0.0, 1e-3, 1e-1):
        kept, kept_offsets = subsample(ids, offsets, counts, sample, np.random.default_rng(2), sampler)
        assert kept.dtype == ids.dtype and kept_offsets.dtype == np.int64
        assert kept_offsets.shape == offsets.shape
        assert kept_offsets[0] == 0 and kept_offsets[-1] == kept.shape[0]
        assert np.all(np.diff(kept_offsets) >= 0)
        assert not (kept == 0).any()
        for s in range(offsets.shape[0] - 1):
            original = ids[offsets[s]:offsets[s + 1]]
            subset = kept[kept_offsets[s]:kept_offsets[s + 1]]
            it = iter(original.tolist())
            assert all(token in it for token in subset.tolist()), "not a subsequence"
        if sample == 0.0:
            assert np.array_equal(kept, ids[ids != 0]), "sample=0 must only drop <unk>"


def test_subsample_positions_within_sentences(sampler):
    """With ids tagged by position, each kept token's sentence is the one it came from."""
    ids, offsets = unique_corpus([3, 0, 5, 1, 7, 2])
    counts = np.ones(ids.shape[0] + 1, dtype=np.int64)
    counts[0] = 0
    # make the first few ids very frequent in the counts so that some of them are dropped
    counts[1:6] = 10_000
    kept, kept_offsets = subsample(ids, offsets, counts, 1e-3, np.random.default_rng(0), sampler)
    sentence_of = np.searchsorted(offsets, ids - 1, side="right") - 1
    for s in range(offsets.shape[0] - 1):
        for token in kept[kept_offsets[s]:kept_offsets[s + 1]]:
            assert sentence_of[token - 1] == s


def test_subsample_keep_rate_matches_formula(sampler):
    """Keep rate of a frequent token = sqrt(t / f) within 5 binomial standard errors; a token
    with sqrt(t/f) >= 1 is always kept; f counts only ids >= 1."""
    rng = np.random.default_rng(3)
    frequent, medium, rare = 200_000, 20_000, 30
    ids = np.concatenate([np.full(frequent, 1), np.full(medium, 2), np.full(rare, 3),
                          np.zeros(50_000)]).astype(np.int32)
    rng.shuffle(ids)
    offsets = np.arange(0, ids.shape[0] + 1, 10, dtype=np.int64)
    if offsets[-1] != ids.shape[0]:
        offsets = np.append(offsets, ids.shape[0])
    counts = np.bincount(ids, minlength=4).astype(np.int64)
    t = 1e-3
    kept, _ = subsample(ids, offsets, counts, t, np.random.default_rng(4), sampler)
    known = counts[1:].sum()          # <unk> is not part of the frequency
    for token, n in ((1, frequent), (2, medium)):
        p = min(1.0, np.sqrt(t / (counts[token] / known)))
        assert p < 1
        observed = int((kept == token).sum())
        bound = SIGMAS * np.sqrt(n * p * (1 - p))
        assert abs(observed - n * p) <= bound, (token, observed, n * p, bound)
    p_rare = np.sqrt(t / (rare / known))
    assert p_rare >= 1 and int((kept == 3).sum()) == rare


@pytest.mark.parametrize("subsampling", ["seed", "word2vec"])
def test_subsample_keep_rate_per_frequency_band(sampler, subsampling):
    """On a Zipf vocabulary of 2000 words, the kept count of the words in each band of
    keep probability p = min(1, sqrt(t/f)) (seed) or min(1, sqrt(t/f) + t/f) (word2vec)
    (f over the known tokens) is within 5 standard
    errors of sum c_i p_i, the variance being sum c_i p_i (1 - p_i) (each band fails with
    probability ~6e-7 if correct); words with p = 1 are all kept. The bands span p from
    ~0.02 to 1, so a wrong power, a missing cap or counting <unk> in f shows up in some band."""
    rng = np.random.default_rng(30)
    vocab_size, t = 2000, 1e-4
    weights = 1.0 / np.arange(1, vocab_size) ** 1.05
    ids = rng.choice(np.arange(1, vocab_size), size=600_000, p=weights / weights.sum())
    ids[rng.random(ids.shape[0]) < 0.1] = 0          # <unk>, not part of f
    ids = ids.astype(np.int32)
    offsets = np.append(np.arange(0, ids.shape[0], 20, dtype=np.int64), ids.shape[0])
    counts = np.bincount(ids, minlength=vocab_size).astype(np.int64)
    kept, kept_offsets = subsample(ids, offsets, counts, t, np.random.default_rng(31), sampler, subsampling)
    assert kept_offsets[-1] == kept.shape[0] and not (kept == 0).any()
    ratio = t * counts[1:].sum() / np.maximum(counts, 1)
    p = np.minimum(1.0, np.sqrt(ratio) + (ratio if subsampling == "word2vec" else 0.0))
    p[0] = 0.0
    assert np.allclose(np.minimum(1.0, keep_probabilities(counts, t, subsampling)), p)
    kept_counts = np.bincount(kept, minlength=vocab_size)
    certain = (p >= 1) & (counts > 0)
    assert certain.sum() > 100
    assert np.array_equal(kept_counts[certain], counts[certain]), "a word with p = 1 was dropped"
    edges = [0.0, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0]
    assert p[1:].min() < edges[1]
    for low, high in zip(edges[:-1], edges[1:]):
        band = (p > low) & (p <= high) & (p < 1) & (counts > 0)
        assert band.any(), (low, high)
        mean = float((counts[band] * p[band]).sum())
        sd = float(np.sqrt((counts[band] * p[band] * (1 - p[band])).sum()))
        observed = int(kept_counts[band].sum())
        assert abs(observed - mean) <= SIGMAS * sd, (low, high, observed, mean, sd)


# --------------------------------------------------------------------------- context windows

def test_context_windows_positions_exact(sampler):
    """On a multi-sentence corpus of unique ids: contexts are the clipped window around the
    center, in its own sentence, never the center itself; sentences of < 2 tokens give none."""
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 15, size=200)
    ids, offsets = unique_corpus(lengths)
    for max_window in (1, 2, 5):
        windows = context_windows(ids, offsets, max_window, np.random.default_rng(max_window), sampler)
        reach = check_windows(ids, offsets, windows, max_window)
        assert reach.min() >= 1 and reach.max() <= max_window


def test_short_sentences_give_no_centers(sampler):
    """Sentences of 0 or 1 token contribute no centers; a 2-token sentence gives 2."""
    ids, offsets = unique_corpus([0, 1, 3, 1, 2, 0, 1])
    windows = context_windows(ids, offsets, 4, np.random.default_rng(0), sampler)
    assert windows.centers.tolist() == [2, 3, 4, 6, 7]
    assert windows.contexts[windows.context_offsets[3]:windows.context_offsets[4]].tolist() == [7]
    assert windows.contexts[windows.context_offsets[4]:windows.context_offsets[5]].tolist() == [6]
    only_singletons = unique_corpus([1, 1, 0, 1])
    empty = context_windows(*only_singletons, 3, np.random.default_rng(0), sampler)
    assert empty.centers.shape == (0,) and empty.contexts.shape == (0,)
    assert empty.context_offsets.tolist() == [0]


def test_window_sizes_uniform(sampler):
    """In a long sentence of distinct tokens an interior center has 2w contexts, w uniform in
    1..max_window: chi-square over the w counts, p > 1e-4 (fixed seed)."""
    max_window, length = 5, 20_000
    ids, offsets = unique_corpus([length])
    windows = context_windows(ids, offsets, max_window, np.random.default_rng(6), sampler)
    num_context = np.diff(windows.context_offsets)
    assert num_context.shape == (length,)
    interior = num_context[max_window:length - max_window]
    assert np.all(interior % 2 == 0)
    w = interior // 2
    observed = np.bincount(w, minlength=max_window + 1)
    assert observed[0] == 0 and observed.shape[0] == max_window + 1
    p_value = stats.chisquare(observed[1:]).pvalue
    assert p_value > P_MIN, (observed, p_value)
    # the first center only has a right side: min(w, available) there
    assert 1 <= num_context[0] <= max_window


def test_window_edges_clipped(sampler):
    """At sentence edges the window is clipped, not shifted into the next sentence: in two
    3-token sentences with max_window 10, the first token sees the next min(w, 2) tokens,
    so it has 1 or 2 contexts, always starting with its right neighbour, and no context
    crosses into the other sentence. Both counts occur over 200 seeds (a correct sampler
    never draws w = 1, probability 1/10, in 200 tries with probability 0.9**200 < 1e-9)."""
    ids, offsets = unique_corpus([3, 3])
    first_counts = set()
    for seed in range(200):
        windows = context_windows(ids, offsets, 10, np.random.default_rng(seed), sampler)
        num_context = np.diff(windows.context_offsets)
        first = windows.contexts[:num_context[0]].tolist()
        assert first in ([2], [2, 3])
        first_counts.add(len(first))
        for n, center in enumerate(windows.centers):
            context = windows.contexts[windows.context_offsets[n]:windows.context_offsets[n + 1]]
            assert np.all((context - 1) // 3 == (center - 1) // 3)
    assert first_counts == {1, 2}


# --------------------------------------------------------------------------- noise words

def test_noise_weights_exclude_unk():
    """weights = counts ** 0.75 with id 0 set to 0; no counted token at all is an error."""
    counts = np.array([1000, 16, 81, 1], dtype=np.int64)
    assert np.allclose(noise_weights(counts), [0, 8, 27, 1])
    with pytest.raises(W2VError):
        noise_weights(np.array([5, 0, 0]))


def test_noise_sampler_follows_counts_pow_075():
    """NoiseSampler.draw frequencies match counts**0.75 over ids 1..V-1: chi-square on 10^6
    draws, p > 1e-4 (fixed seed; every expected cell is >= 200). Id 0, with by far the
    largest count, is never drawn."""
    rng = np.random.default_rng(7)
    counts = rng.integers(1, 5_000, size=50).astype(np.int64)
    counts[0] = 10 ** 9
    weights = noise_weights(counts)
    sampler = NoiseSampler(weights)
    draws = sampler.draw(1_000_000, np.random.default_rng(8))
    assert draws.dtype == np.int32
    assert draws.min() >= 1 and draws.max() <= counts.shape[0] - 1
    observed = np.bincount(draws, minlength=counts.shape[0])[1:]
    expected = weights[1:] / weights[1:].sum() * draws.shape[0]
    assert expected.min() >= 200
    p_value = stats.chisquare(observed, expected).pvalue
    assert p_value > P_MIN, p_value


def test_noise_sampler_zero_weight_ids_never_drawn():
    """Ids with zero weight (here 0 and 3) never come out, including the last id."""
    sampler = NoiseSampler(np.array([0.0, 1.0, 2.0, 0.0, 1.0, 0.0]))
    draws = sampler.draw(200_000, np.random.default_rng(9))
    assert set(np.unique(draws).tolist()) == {1, 2, 4}


def test_draw_noise_words_distribution_without_rejection(sampler):
    """When no context word can be drawn (every context word is <unk>, of weight 0), the
    noise words follow counts**0.75 over ids 1..V-1 exactly: chi-square on ~10^6 draws,
    p > 1e-4 (fixed seed; every expected cell is >= 200). This checks the alias draw itself
    (here the Numba kernel's single-uniform draw); id 0 is never drawn."""
    rng = np.random.default_rng(32)
    vocab_size, k = 50, 4
    counts = rng.integers(1, 5_000, size=vocab_size).astype(np.int64)
    counts[0] = 10 ** 9
    weights = noise_weights(counts)
    windows = _hand_windows(rng, 100_000, vocab_size)
    windows.contexts[:] = 0
    noise = draw_noise_words(windows, NoiseSampler(weights), k, np.random.default_rng(33), sampler)
    assert noise.dtype == np.int32 and noise.shape == (k * windows.contexts.shape[0],)
    observed = np.bincount(noise, minlength=vocab_size)
    assert observed.shape[0] == vocab_size and observed[0] == 0
    expected = weights[1:] / weights[1:].sum() * noise.shape[0]
    assert expected.min() >= 200
    p_value = stats.chisquare(observed[1:], expected).pvalue
    assert p_value > P_MIN, p_value


def _hand_windows(rng, num_examples, vocab_size):
    """Windows with 1..4 random context words (repeats allowed) over ids 1..V-1."""
    num_context = rng.integers(1, 5, size=num_examples)
    offsets = np.zeros(num_examples + 1, dtype=np.int64)
    np.cumsum(num_context, out=offsets[1:])
    contexts = rng.integers(1, vocab_size, size=offsets[-1]).astype(np.int32)
    centers = rng.integers(1, vocab_size, size=num_examples).astype(np.int32)
    return ContextWindows(centers, offsets, contexts)


def test_draw_noise_words_distribution_with_rejection(sampler):
    """draw_noise_words = draw from counts**0.75, reject the center's context words, redraw.
    So example n's noise words follow the weights restricted to the words outside its
    contexts. The exact expected count per word is summed over examples and compared by
    chi-square (p > 1e-4, fixed seed). The small vocabulary makes rejection frequent, and
    the check fails for a sampler that ignores the contexts or resamples unconditionally."""
    rng = np.random.default_rng(10)
    vocab_size, k = 9, 3
    counts = rng.integers(1, 400, size=vocab_size).astype(np.int64)
    counts[0] = 10 ** 6
    weights = noise_weights(counts)
    windows = _hand_windows(rng, 20_000, vocab_size)
    noise = draw_noise_words(windows, NoiseSampler(weights), k, np.random.default_rng(11), sampler)
    assert noise.dtype == np.int32 and noise.shape == (k * windows.contexts.shape[0],)
    assert noise.min() >= 1
    assert_noise_avoids_contexts(windows.context_offsets, windows.contexts, noise, k)

    expected = np.zeros(vocab_size)
    for n in range(windows.centers.shape[0]):
        context = windows.contexts[windows.context_offsets[n]:windows.context_offsets[n + 1]]
        allowed = weights.copy()
        allowed[np.unique(context)] = 0
        expected += k * context.shape[0] * allowed / allowed.sum()
    observed = np.bincount(noise, minlength=vocab_size)
    assert observed[0] == 0
    assert expected[1:].min() >= 50
    p_value = stats.chisquare(observed[1:], expected[1:]).pvalue
    assert p_value > P_MIN, (observed, expected.round(), p_value)


def test_draw_noise_words_impossible_raises_quickly(sampler):
    """A center whose context words are the whole noise vocabulary cannot get noise words:
    W2VError within a few seconds instead of looping for ever."""
    windows = ContextWindows(np.array([1, 2], dtype=np.int32), np.array([0, 1, 3], dtype=np.int64),
                             np.array([2, 1, 2], dtype=np.int32))
    weights = noise_weights(np.array([5, 10, 10]))
    start = time.perf_counter()
    with pytest.raises(W2VError, match="noise"):
        draw_noise_words(windows, NoiseSampler(weights), 2, np.random.default_rng(0), sampler)
    assert time.perf_counter() - start < 5


def test_build_examples_two_word_corpus_raises(tmp_path, sampler):
    """End to end: a corpus of two real words 'a a b b' repeated: the center at position 1
    ('a', any w >= 1) sees 'a' and 'b', the whole vocabulary, so preparation must fail
    with W2VError, quickly."""
    path = tmp_path / "two.txt"
    path.write_text("a a b b\n" * 50)
    sentences = read_sentences(path)
    vocab = Vocab.build(sentences, min_freq=1)
    assert len(vocab) == 3
    ids, offsets = vocab.encode(sentences)
    start = time.perf_counter()
    with pytest.raises(W2VError, match="noise"):
        build_examples(ids, offsets, vocab.counts, max_window=2, num_noise_words=2, sample=0,
                       rng=np.random.default_rng(0), sampler=sampler)
    assert time.perf_counter() - start < 5


def test_build_examples_no_examples_raises(sampler):
    """Only one-token sentences: no training example, an error rather than empty batches."""
    ids, offsets = unique_corpus([1, 1, 1])
    counts = np.array([0, 1, 1, 1])
    with pytest.raises(W2VError, match="no training examples"):
        build_examples(ids, offsets, counts, max_window=2, num_noise_words=2, sample=0,
                       rng=np.random.default_rng(0), sampler=sampler)


# --------------------------------------------------------------------------- examples and batches

@pytest.fixture(scope="module", params=SAMPLER_NAMES)
def unique_examples(request):
    """Examples over a corpus of unique ids (a center id identifies its example), built and
    packed by each sampler in turn."""
    sampler = need_sampler(request.param)
    rng = np.random.default_rng(12)
    lengths = rng.integers(0, 12, size=150)
    ids, offsets = unique_corpus(lengths)
    counts = np.ones(ids.shape[0] + 1, dtype=np.int64)
    counts[0] = 0
    examples = build_examples(ids, offsets, counts, max_window=3, num_noise_words=4, sample=0,
                              rng=np.random.default_rng(13), sampler=sampler)
    assert examples.sampler == sampler
    return ids, offsets, examples


def test_build_examples_layout(unique_examples):
    """Examples hold the checked windows and K noise words per context word, none a context."""
    ids, offsets, examples = unique_examples
    windows = ContextWindows(examples.centers, examples.context_offsets, examples.contexts)
    check_windows(ids, offsets, windows, 3)
    assert examples.num_noise_words == 4
    assert len(examples) == examples.centers.shape[0]
    assert examples.num_pairs == examples.contexts.shape[0]
    assert_noise_avoids_contexts(examples.context_offsets, examples.contexts, examples.noise, 4)


def test_batch_layout_chosen_examples(unique_examples):
    """batch(indices) packs exactly those examples, in order, including repeats, float32 or
    float64 masks."""
    _, _, examples = unique_examples
    indices = np.array([0, 5, 5, len(examples) - 1, 17])
    check_batch(examples, indices, examples.batch(indices))
    check_batch(examples, indices, examples.batch(indices, dtype=np.float64), dtype=np.float64)
    single = np.array([3])
    check_batch(examples, single, examples.batch(single))


def test_batches_cover_epoch_once(unique_examples):
    """Over one epoch every example appears exactly once; all batches but the last hold
    batch_size rows; every batch has the exact padded layout of its examples."""
    _, _, examples = unique_examples
    batch_size = 64
    assert len(examples) % batch_size != 0, "pick sizes so the last batch is partial"
    example_of_center = {int(c): n for n, c in enumerate(examples.centers)}
    assert len(example_of_center) == len(examples)
    batches = list(examples.batches(batch_size, np.random.default_rng(14)))
    assert len(batches) == examples.num_batches(batch_size) == -(-len(examples) // batch_size)
    seen = []
    for batch in batches:
        indices = np.array([example_of_center[int(c)] for c in batch.center[:, 0]])
        check_batch(examples, indices, batch)
        seen.extend(indices.tolist())
    assert sorted(seen) == list(range(len(examples)))
    assert seen != sorted(seen), "batches should follow a shuffled order"
    sizes = [b.center.shape[0] for b in batches]
    assert sizes[:-1] == [batch_size] * (len(batches) - 1)
    assert sizes[-1] == len(examples) % batch_size


def test_batches_deterministic_per_seed(unique_examples):
    """The same rng seed gives the same batch sequence; another seed a different order."""
    _, _, examples = unique_examples

    def centers(seed):
        return [b.center[:, 0].copy() for b in examples.batches(50, np.random.default_rng(seed))]

    def full(seed):
        return [(b.center, b.context_negative, b.mask, b.label)
                for b in examples.batches(50, np.random.default_rng(seed))]

    a, b = full(1), full(1)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            assert np.array_equal(u, v)
    assert not all(np.array_equal(x, y) for x, y in zip(centers(1), centers(2)))


def test_build_examples_deterministic_per_seed(sampler):
    """build_examples twice with default_rng(0) gives identical arrays; default_rng(1) differs
    (subsampling, windows and noise all depend on the generator)."""
    ids, offsets, counts = random_corpus(np.random.default_rng(15), 400, 60)

    def build(seed):
        return build_examples(ids, offsets, counts, max_window=4, num_noise_words=3, sample=1e-2,
                              rng=np.random.default_rng(seed), sampler=sampler)

    first, second, other = build(0), build(0), build(1)
    for name in ("centers", "context_offsets", "contexts", "noise"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert not (first.centers.shape == other.centers.shape
                and np.array_equal(first.centers, other.centers)
                and np.array_equal(first.contexts, other.contexts)
                and np.array_equal(first.noise, other.noise))


# --------------------------------------------------------------------------- PTB (needs W2V_NP_DATA)

@pytest.fixture(scope="module")
def ptb_encoded(ptb_train):
    """PTB encoded with the book's vocabulary (min count 10)."""
    sentences = read_sentences(ptb_train)
    vocab = Vocab.build(sentences, min_freq=10)
    ids, offsets = vocab.encode(sentences)
    return vocab, ids, offsets


@pytest.fixture(scope="module", params=SAMPLER_NAMES)
def ptb(request, ptb_encoded):
    """PTB's examples with the book's settings (window 5, K 5, t 1e-4), built once per sampler
    (``examples.sampler`` tells which)."""
    sampler = need_sampler(request.param)
    vocab, ids, offsets = ptb_encoded
    examples = build_examples(ids, offsets, vocab.counts, max_window=5, num_noise_words=5,
                              sample=1e-4, rng=np.random.default_rng(0), sampler=sampler)
    assert examples.sampler == sampler
    return vocab, ids, offsets, examples


def test_ptb_no_unk_anywhere(ptb):
    """<unk> (0) is never a center, a context word or a noise word."""
    _, _, _, examples = ptb
    assert examples.centers.min() >= 1
    assert examples.contexts.min() >= 1
    assert examples.noise.min() >= 1


def test_ptb_subsample_keep_rates(ptb):
    """PTB subsampling: the keep rate of 'the' is sqrt(1e-4 / f) within 5 binomial standard
    errors (f over the known tokens); the total kept is within 5 standard errors of
    sum_i c_i min(1, sqrt(t / f_i)), the variance being sum_i c_i p_i (1 - p_i)."""
    vocab, ids, offsets, examples = ptb
    t = 1e-4
    kept, kept_offsets = subsample(ids, offsets, vocab.counts, t, np.random.default_rng(21),
                                   examples.sampler)
    assert kept_offsets.shape == offsets.shape and not (kept == 0).any()
    freq = vocab.counts[1:] / vocab.counts[1:].sum()
    p = np.minimum(1.0, np.sqrt(t / freq))
    the = vocab.index("the")
    n, p_the = vocab.counts[the], p[the - 1]
    observed = int((kept == the).sum())
    assert abs(observed - n * p_the) <= SIGMAS * np.sqrt(n * p_the * (1 - p_the))
    mean = float((vocab.counts[1:] * p).sum())
    sd = float(np.sqrt((vocab.counts[1:] * p * (1 - p)).sum()))
    assert abs(kept.shape[0] - mean) <= SIGMAS * sd, (kept.shape[0], mean, sd)


def test_ptb_noise_never_a_context(ptb):
    """All of PTB's noise words (about 7.5 million) avoid their center's context words."""
    _, _, _, examples = ptb
    assert examples.noise.shape[0] == 5 * examples.num_pairs
    assert_noise_avoids_contexts(examples.context_offsets, examples.contexts, examples.noise, 5)


def test_ptb_window_sizes_bounded(ptb):
    """Every PTB center has 1..2*max_window contexts; counts of 10 need w = 5 both sides."""
    _, _, _, examples = ptb
    num_context = np.diff(examples.context_offsets)
    assert num_context.min() >= 1 and num_context.max() == 10


def test_ptb_batches(ptb):
    """The padded layout on a few PTB batches: chosen indices and the first shuffled batches."""
    _, _, _, examples = ptb
    rng = np.random.default_rng(22)
    for _ in range(3):
        indices = rng.choice(len(examples), size=512, replace=False)
        check_batch(examples, indices, examples.batch(indices))
    for number, batch in enumerate(examples.batches(512, np.random.default_rng(23))):
        if number == 3:
            break
        row_contexts = batch.label.sum(axis=1)
        assert batch.center.shape == (512, 1) and batch.center.min() >= 1
        assert batch.context_negative.shape[1] == 6 * int(row_contexts.max())
        assert np.array_equal(batch.mask.sum(axis=1), 6 * row_contexts)
        assert np.all(batch.label <= batch.mask)
        assert np.all(batch.context_negative[batch.mask == 0] == 0)
        assert np.all(batch.context_negative[batch.mask == 1] >= 1)
