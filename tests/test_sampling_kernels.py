"""The Numba sampling kernels (w2v_np.kernels.sampling) against the NumPy reference.

tests/test_sampling.py runs every statistical check of one sampler under both samplers;
this file checks what only exists with two of them:

* agreement in distribution: two-sample chi-square tests (scipy's ``chi2_contingency``)
  failing below p = ``P_MIN`` = 1e-4, and counts compared with their exact mean within
  ``SIGMAS`` = 5 standard deviations (~6e-7 per check for a correct implementation);
* reproducibility: the same seed gives the same arrays, whatever NUMBA_NUM_THREADS;
* the exact batch packing of the kernel, ResampledExamples' batches, choosing the
  sampler, and the core without Numba.

Fixed seeds throughout, so every outcome is deterministic. Tests that need Numba skip
when it is not installed (``need_numba``, ``pytest.importorskip``); the rest also run
without it.
"""
import hashlib
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from w2v_np import W2VError
from w2v_np.sampling import (SAMPLERS, CenterPositions,
                             ContextWindows, NoiseSampler, ResampledExamples, SkipGramExamples,
                             build_examples, center_positions, context_windows, draw_noise_words,
                             keep_probabilities, noise_weights, resolve_sampler, subsample,
                             windows_at)
from test_sampling import (P_MIN, SIGMAS, _hand_windows, assert_noise_avoids_contexts,
                           check_batch, need_numba, need_sampler, random_corpus,
                           unique_corpus)

stats = pytest.importorskip("scipy.stats")

CHUNK = 4096          # the kernels' chunk of items per generator seed (kernels/sampling.py)


@pytest.fixture(params=("numpy", "numba"))
def sampler(request):
    """Each sampler in turn; "numba" skips without Numba."""
    return need_sampler(request.param)


def two_sample_p(first, second):
    """p-value of the chi-square test that two histograms come from one distribution
    (cells empty in both are dropped)."""
    table = np.array([first, second], dtype=np.float64)
    table = table[:, table.sum(axis=0) > 0]
    return stats.chi2_contingency(table).pvalue


def array_digest(*arrays):
    """sha256 over the dtype, shape and bytes of each array."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def batch_arrays(batch):
    return batch.center, batch.context_negative, batch.mask, batch.label


# --------------------------------------------------------------------------- agreement

def test_noise_counts_agree():
    """Same windows (frequent rejection: 9 words, 1..4 contexts each), both samplers: the
    noise-word histograms pass a two-sample chi-square test (p > 1e-4), and so do those
    without rejection (every context word is <unk>, weight 0) over a 40-word vocabulary."""
    need_numba()
    rng = np.random.default_rng(40)
    for vocab_size, num_examples, no_rejection in ((9, 20_000, False), (40, 60_000, True)):
        counts = rng.integers(1, 400, size=vocab_size).astype(np.int64)
        distribution = NoiseSampler(noise_weights(counts))
        windows = _hand_windows(rng, num_examples, vocab_size)
        if no_rejection:
            windows.contexts[:] = 0
        noise = [draw_noise_words(windows, distribution, 3, np.random.default_rng(41), name)
                 for name in ("numpy", "numba")]
        for words in noise:
            assert_noise_avoids_contexts(windows.context_offsets, windows.contexts, words, 3)
        histograms = [np.bincount(words, minlength=vocab_size) for words in noise]
        assert histograms[0][0] == histograms[1][0] == 0
        assert histograms[0].sum() == histograms[1].sum() == 3 * windows.contexts.shape[0]
        assert not np.array_equal(*histograms), "the same numbers: no kernel ran"
        p_value = two_sample_p(*histograms)
        assert p_value > P_MIN, (histograms, p_value)


def test_window_size_histograms_agree():
    """One sentence of 30 000 distinct tokens, max_window 7: the histograms of w (half the
    context count of an interior center) of the two samplers pass a two-sample chi-square
    test, p > 1e-4; every w in 1..7 occurs in both."""
    need_numba()
    max_window, length = 7, 30_000
    ids, offsets = unique_corpus([length])
    histograms = []
    for name in ("numpy", "numba"):
        windows = context_windows(ids, offsets, max_window, np.random.default_rng(42), name)
        interior = np.diff(windows.context_offsets)[max_window:length - max_window]
        assert np.all(interior % 2 == 0)
        histograms.append(np.bincount(interior // 2, minlength=max_window + 1))
    for histogram in histograms:
        assert histogram[0] == 0 and histogram.shape == (max_window + 1,) and histogram[1:].min() > 0
    p_value = two_sample_p(histograms[0][1:], histograms[1][1:])
    assert p_value > P_MIN, (histograms, p_value)
    assert not np.array_equal(histograms[0], histograms[1]), "the same numbers: no kernel ran"


def test_kept_tokens_agree():
    """Subsampling a Zipf corpus (t = 1e-3) with both samplers: the histograms of kept ids
    pass a two-sample chi-square test (p > 1e-4), and each number of kept tokens is within
    5 standard deviations of sum c_i p_i, the variance being sum c_i p_i (1 - p_i), and so
    is their difference (variance twice that)."""
    need_numba()
    ids, offsets, counts = random_corpus(np.random.default_rng(43), 30_000, 300)
    t = 1e-3
    p = np.minimum(1.0, keep_probabilities(counts, t))
    mean = float(p[ids].sum())
    sd = float(np.sqrt((p[ids] * (1 - p[ids])).sum()))
    assert sd > 50
    kept = [subsample(ids, offsets, counts, t, np.random.default_rng(44), name)[0]
            for name in ("numpy", "numba")]
    for tokens in kept:
        assert abs(tokens.shape[0] - mean) <= SIGMAS * sd, (tokens.shape[0], mean, sd)
    assert abs(kept[0].shape[0] - kept[1].shape[0]) <= SIGMAS * np.sqrt(2) * sd
    assert not (kept[0].shape == kept[1].shape and np.array_equal(*kept)), \
        "the same numbers: no kernel ran"
    histograms = [np.bincount(tokens, minlength=counts.shape[0]) for tokens in kept]
    p_value = two_sample_p(*histograms)
    assert p_value > P_MIN, p_value


def _pairs_moments(offsets, max_window):
    """Exact mean and variance of the number of (center, context) pairs of a corpus: a center
    with a tokens on its left and b on its right has min(w, a) + min(w, b) contexts,
    w uniform in 1..max_window, independently per center."""
    centers = center_positions(offsets)
    left = centers.position - centers.start
    right = centers.stop - centers.position - 1
    w = np.arange(1, max_window + 1)
    count = np.minimum(w, left[:, None]) + np.minimum(w, right[:, None])
    return float(count.mean(axis=1).sum()), float(count.var(axis=1).sum())


def _examples_moments(ids, offsets, keep):
    """Exact mean and variance of the number of examples after subsampling: a sentence whose
    k kept tokens number at least 2 gives k examples. k is Poisson-binomial over the keep
    probabilities of its tokens, computed by dynamic programming for all sentences at once."""
    lengths = np.diff(offsets)
    row = np.repeat(np.arange(lengths.shape[0]), lengths)
    column = np.arange(ids.shape[0]) - offsets[row]
    probability = np.zeros((lengths.shape[0], int(lengths.max())))
    probability[row, column] = keep[ids]
    distribution = np.zeros((lengths.shape[0], probability.shape[1] + 1))
    distribution[:, 0] = 1.0
    for j in range(probability.shape[1]):
        p = probability[:, j:j + 1]
        shifted = np.zeros_like(distribution)
        shifted[:, 1:] = distribution[:, :-1] * p
        distribution = distribution * (1 - p) + shifted
    k = np.arange(distribution.shape[1])
    examples = np.where(k >= 2, k, 0)
    mean = distribution @ examples
    variance = distribution @ examples ** 2 - mean ** 2
    return float(mean.sum()), float(variance.sum())


def test_numbers_of_examples_and_pairs_agree():
    """build_examples with both samplers. Without subsampling, the examples are the same
    centers and each number of pairs is within 5 standard deviations of its exact mean (and
    the difference within 5 sd of 0). With subsampling (t = 1e-3), each number of examples
    is within 5 sd of its exact mean, and so is the difference."""
    need_numba()
    ids, offsets, counts = random_corpus(np.random.default_rng(45), 20_000, 300)
    max_window = 4
    built = {name: build_examples(ids, offsets, counts, max_window=max_window, num_noise_words=2,
                                  sample=0, rng=np.random.default_rng(46), sampler=name)
             for name in ("numpy", "numba")}
    assert np.array_equal(built["numpy"].centers, built["numba"].centers)
    mean, variance = _pairs_moments(subsample(ids, offsets, counts, 0, None)[1], max_window)
    assert variance > 1000
    for examples in built.values():
        assert abs(examples.num_pairs - mean) <= SIGMAS * np.sqrt(variance), (examples.num_pairs, mean)
    assert abs(built["numpy"].num_pairs - built["numba"].num_pairs) <= SIGMAS * np.sqrt(2 * variance)

    t = 1e-3
    mean, variance = _examples_moments(ids, offsets, np.minimum(1.0, keep_probabilities(counts, t)))
    assert variance > 1000
    sizes = [len(build_examples(ids, offsets, counts, max_window=max_window, num_noise_words=2,
                                sample=t, rng=np.random.default_rng(47), sampler=name))
             for name in ("numpy", "numba")]
    for size in sizes:
        assert abs(size - mean) <= SIGMAS * np.sqrt(variance), (size, mean, variance)
    assert abs(sizes[0] - sizes[1]) <= SIGMAS * np.sqrt(2 * variance)


# --------------------------------------------------------------------------- determinism

def _numba_stages(seed, size=3 * CHUNK + 100):
    """Every Numba stage on a corpus of several chunks, from default_rng(seed): subsample,
    windows, noise, build_examples, a shuffled batch, and two epochs of ResampledExamples."""
    ids, offsets, counts = random_corpus(np.random.default_rng(50), size // 6, 200)
    distribution = NoiseSampler(noise_weights(counts))
    rng = np.random.default_rng(seed)
    kept, kept_offsets = subsample(ids, offsets, counts, 1e-2, rng, "numba")
    windows = context_windows(ids, offsets, 5, rng, "numba")
    noise = draw_noise_words(windows, distribution, 3, rng, "numba")
    examples = build_examples(ids, offsets, counts, max_window=5, num_noise_words=3, sample=1e-2,
                              rng=np.random.default_rng(seed), sampler="numba")
    batch = next(examples.batches(300, np.random.default_rng(seed)))
    resampled = build_examples(ids, offsets, counts, max_window=5, num_noise_words=3, sample=1e-2,
                               rng=np.random.default_rng(seed), sampler="numba", resample="epoch")
    epochs = [[batch_arrays(b) for b in resampled.batches(5000, np.random.default_rng(seed))]
              for _ in range(2)]
    return {"subsample": (kept, kept_offsets),
            "windows": (windows.centers, windows.context_offsets, windows.contexts),
            "noise": (noise,),
            "build_examples": (examples.centers, examples.context_offsets, examples.contexts,
                               examples.noise),
            "batch": batch_arrays(batch),
            "resampled": tuple(array for epoch in epochs for b in epoch for array in b)}


def test_numba_same_seed_same_arrays_other_seed_differs():
    """The Numba path is a function of the seed: every stage gives identical arrays for the
    same seed, and different ones for another seed (each stage draws at least thousands of
    random numbers, so equal arrays by chance are impossible in practice)."""
    need_numba()
    first, again, other = _numba_stages(0), _numba_stages(0), _numba_stages(1)
    for stage in first:
        assert array_digest(*first[stage]) == array_digest(*again[stage]), stage
        assert array_digest(*first[stage]) != array_digest(*other[stage]), stage


def test_resampled_epochs_differ_but_repeat_per_seed():
    """ResampledExamples (Numba): with the same order seed twice, the two epochs visit the
    centers in the same order but with other windows and noise words."""
    need_numba()
    resampled = _numba_stages(3)["resampled"]
    half = len(resampled) // 2
    centers = resampled[0:half:4], resampled[half::4]
    assert all(np.array_equal(a, b) for a, b in zip(*centers))
    assert array_digest(*resampled[:half]) != array_digest(*resampled[half:])


THREAD_SCRIPT = """
import sys
import numba
sys.path.insert(0, {tests!r})
from test_sampling_kernels import _numba_stages, array_digest
assert numba.config.NUMBA_NUM_THREADS == {threads}, numba.config.NUMBA_NUM_THREADS
stages = _numba_stages(7, size={size})
print(numba.get_num_threads(), *(f"{{name}}={{array_digest(*arrays)}}" for name, arrays in stages.items()))
"""


def test_numba_arrays_independent_of_thread_count_subprocess(tmp_path):
    """The same seed gives the same arrays with NUMBA_NUM_THREADS=1 and =3 (separate
    processes, inputs of about 8 chunks of 4096 items): the kernels seed per chunk, not
    per thread."""
    need_numba()
    tests = os.path.dirname(os.path.abspath(__file__))
    lines = []
    for threads in (1, 3):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
        script = THREAD_SCRIPT.format(tests=tests, threads=threads, size=8 * CHUNK + 500)
        result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        used, *digests = result.stdout.split()
        assert used == str(threads)
        lines.append(digests)
    assert len(lines[0]) == 6
    assert lines[0] == lines[1]


def test_numba_arrays_independent_of_thread_count_in_process():
    """Same seed, numba.set_num_threads(1) and then all of NUMBA_NUM_THREADS: same arrays."""
    numba = need_numba()
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba has a single thread here (NUMBA_NUM_THREADS=1)")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = _numba_stages(8, size=6 * CHUNK)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        parallel = _numba_stages(8, size=6 * CHUNK)
    finally:
        numba.set_num_threads(before)
    for stage in single:
        assert array_digest(*single[stage]) == array_digest(*parallel[stage]), stage


def test_numba_chunks_draw_independent_streams():
    """Each chunk of 4096 items has its own stream: keep_mask with p = 1/2 over four chunks
    agrees between chunk 0 and each other chunk on 4096/2 positions within 5 binomial
    standard errors (a kernel giving every chunk the same stream agrees on all of them), and
    likewise windows of consecutive chunks agree on their w with probability 1/5."""
    need_numba()
    from w2v_np.kernels import sampling as kernels
    assert kernels.CHUNK == CHUNK
    mask = kernels.keep_mask(np.ones(4 * CHUNK, dtype=np.int32), np.array([0.0, 0.5]), 12345)
    halves = mask.reshape(4, CHUNK)
    for chunk in range(1, 4):
        agree = int((halves[0] == halves[chunk]).sum())
        assert abs(agree - CHUNK / 2) <= SIGMAS * np.sqrt(CHUNK / 4), (chunk, agree)
    max_window = 5
    ids, offsets = unique_corpus([4 * CHUNK + 2 * max_window])
    centers = CenterPositions(np.arange(max_window, 4 * CHUNK + max_window),
                              np.zeros(4 * CHUNK, dtype=np.int64),
                              np.full(4 * CHUNK, ids.shape[0], dtype=np.int64))
    windows = windows_at(ids, centers, max_window, np.random.default_rng(51), "numba")
    w = (np.diff(windows.context_offsets) // 2).reshape(4, CHUNK)
    p = 1 / max_window
    for chunk in range(1, 4):
        agree = int((w[0] == w[chunk]).sum())
        assert abs(agree - CHUNK * p) <= SIGMAS * np.sqrt(CHUNK * p * (1 - p)), (chunk, agree)


# --------------------------------------------------------------------------- packing

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_pack_batch_equals_numpy(dtype):
    """The same windows and noise words held by a Numba and a NumPy SkipGramExamples pack
    into identical batches (center, context_negative, mask, label: values, dtypes, shapes,
    padding), for chosen indices with repeats and rows of every length, and for a whole
    shuffled epoch."""
    need_numba()
    ids, offsets = unique_corpus(np.random.default_rng(52).integers(0, 14, size=300))
    windows = context_windows(ids, offsets, 5, np.random.default_rng(53))
    counts = np.ones(ids.shape[0] + 1, dtype=np.int64)
    noise = draw_noise_words(windows, NoiseSampler(noise_weights(counts)), 3, np.random.default_rng(54))
    packers = {name: SkipGramExamples(windows, noise, 3, name) for name in ("numpy", "numba")}
    assert packers["numba"].sampler == "numba" and packers["numpy"].sampler == "numpy"
    num_context = np.diff(windows.context_offsets)
    assert num_context.min() == 1 and num_context.max() == 10
    longest, shortest = int(np.argmax(num_context)), int(np.argmin(num_context))
    choices = [np.array([shortest, longest, shortest, 0, len(windows.centers) - 1]),
               np.array([shortest]), np.array([longest, longest]),
               np.random.default_rng(55).choice(len(windows.centers), size=200)]
    for indices in choices:
        batches = [packers[name].batch(indices, dtype) for name in ("numpy", "numba")]
        check_batch(packers["numba"], indices, batches[1], dtype)
        for a, b in zip(*map(batch_arrays, batches)):
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    epochs = [list(packers[name].batches(64, np.random.default_rng(56), dtype)) for name in ("numpy", "numba")]
    assert len(epochs[0]) == len(epochs[1])
    for first, second in zip(*epochs):
        for a, b in zip(batch_arrays(first), batch_arrays(second)):
            assert a.dtype == b.dtype and np.array_equal(a, b)


def test_numba_pack_batch_overwrites_every_cell():
    """The kernel writes every cell of the arrays it is given, padding included: arrays
    prefilled with garbage come out equal to the NumPy packing."""
    need_numba()
    from w2v_np.kernels import sampling as kernels
    ids, offsets = unique_corpus([2, 9, 3, 12, 1, 5])
    windows = context_windows(ids, offsets, 4, np.random.default_rng(57))
    noise = draw_noise_words(windows, NoiseSampler(noise_weights(np.ones(ids.shape[0] + 1))), 2,
                             np.random.default_rng(58))
    reference = SkipGramExamples(windows, noise, 2, "numpy")
    indices = np.array([3, 0, 7, 7, len(windows.centers) - 1], dtype=np.int64)
    for dtype in (np.float32, np.float64):
        expected = reference.batch(indices, dtype)
        center = np.full(expected.center.shape, -5, dtype=np.int64)
        context_negative = np.full(expected.context_negative.shape, -7, dtype=np.int64)
        mask = np.full(expected.mask.shape, 9, dtype=dtype)
        label = np.full(expected.label.shape, 9, dtype=dtype)
        kernels.pack_batch(indices, windows.centers, windows.context_offsets, windows.contexts,
                           noise, 2, center, context_negative, mask, label)
        assert (expected.mask == 0).any(), "the batch should hold padding"
        for a, b in zip(batch_arrays(expected), (center, context_negative, mask, label)):
            assert np.array_equal(a, b)


# --------------------------------------------------------------------------- ResampledExamples

def check_resampled_batch(ids, offsets, batch, max_window, num_noise_words, dtype):
    """One batch of ResampledExamples over a corpus of unique ids (position = id - 1): each
    row's context words are exactly the clipped window [p-w, p+w] of its center in its
    sentence, 1 <= w <= max_window, in order; then K noise words per context word, none a
    context word or <unk>; then zero padding; mask and label mark the two parts.
    Returns the row's centers and their window reach (the largest |offset|)."""
    k = num_noise_words
    size, width = batch.context_negative.shape
    assert batch.center.shape == (size, 1) and batch.center.dtype == np.int64
    assert batch.context_negative.dtype == np.int64
    assert batch.mask.dtype == batch.label.dtype == dtype
    assert batch.mask.shape == batch.label.shape == (size, width)
    num_context = batch.label.sum(axis=1).astype(np.int64)
    assert width == (1 + k) * num_context.max()
    sentence_of = np.repeat(np.arange(offsets.shape[0] - 1), np.diff(offsets))
    reach = np.empty(size, dtype=np.int64)
    for row in range(size):
        n, valid = num_context[row], num_context[row] * (1 + k)
        assert np.all(batch.label[row, :n] == 1) and np.all(batch.label[row, n:] == 0)
        assert np.all(batch.mask[row, :valid] == 1) and np.all(batch.mask[row, valid:] == 0)
        assert np.all(batch.context_negative[row, valid:] == 0)
        p = int(batch.center[row, 0]) - 1
        s = sentence_of[p]
        positions = batch.context_negative[row, :n] - 1
        w = int(np.abs(positions - p).max())
        assert 1 <= w <= max_window
        expected = [q for q in range(max(offsets[s], p - w), min(offsets[s + 1], p + w + 1)) if q != p]
        assert positions.tolist() == expected, "contexts are not the clipped window, in order"
        noise = batch.context_negative[row, n:valid]
        assert noise.min() >= 1 and not np.isin(noise, batch.context_negative[row, :n]).any()
        reach[row] = w
    return batch.center[:, 0], reach


def test_resampled_examples_batches(sampler):
    """ResampledExamples (resample="epoch") over unique ids, window 3, K 2: every batch is
    valid (see check_resampled_batch), an epoch visits every center of a >= 2-token sentence
    exactly once, and the same seeds give the same epoch. Across two epochs each interior
    center keeps its w with probability 1/3: the number that do is within 5 binomial
    standard errors of that, and fewer than 1% of the rows draw the same noise words twice
    (a row does so with probability below 1/1500**2: its >= 2 noise words are redrawn from
    ~1500 equally likely words)."""
    max_window, k = 3, 2
    ids, offsets = unique_corpus(np.random.default_rng(60).integers(0, 16, size=200))
    counts = np.ones(ids.shape[0] + 1, dtype=np.int64)

    def build(seed):
        examples = build_examples(ids, offsets, counts, max_window=max_window, num_noise_words=k,
                                  sample=0, rng=np.random.default_rng(seed), sampler=sampler,
                                  resample="epoch")
        assert isinstance(examples, ResampledExamples) and examples.sampler == sampler
        return examples

    def epoch(examples, order_seed, dtype=np.float32):
        rows = {}
        batches = list(examples.batches(100, np.random.default_rng(order_seed), dtype))
        assert len(batches) == examples.num_batches(100) == -(-len(examples) // 100)
        assert [b.center.shape[0] for b in batches[:-1]] == [100] * (len(batches) - 1)
        for batch in batches:
            centers, reach = check_resampled_batch(ids, offsets, batch, max_window, k, dtype)
            for row, (center, w) in enumerate(zip(centers, reach)):
                assert int(center) not in rows, "a center came twice in one epoch"
                n = int(batch.label[row].sum())
                rows[int(center)] = (w, batch.context_negative[row, n:n * (1 + k)].copy())
        return batches, rows

    examples = build(61)
    usable = center_positions(offsets)
    assert len(examples) == len(usable) > 1000
    first_batches, first = epoch(examples, 62)
    assert sorted(first) == sorted((ids[usable.position]).tolist())
    _, second = epoch(examples, 62, np.float64)
    assert sorted(second) == sorted(first)

    position = usable.position
    interior = ids[position[(position - usable.start >= max_window)
                            & (usable.stop - position > max_window)]]
    same_w = sum(first[int(c)][0] == second[int(c)][0] for c in interior)
    p = 1 / max_window
    assert abs(same_w - interior.shape[0] * p) <= SIGMAS * np.sqrt(interior.shape[0] * p * (1 - p)), \
        (same_w, interior.shape[0])
    assert sum(np.array_equal(first[c][1], second[c][1]) for c in first) < 0.01 * len(first)

    again, _ = epoch(build(61), 62)
    assert len(again) == len(first_batches)
    for a, b in zip(again, first_batches):
        assert array_digest(*batch_arrays(a)) == array_digest(*batch_arrays(b))
    other, _ = epoch(build(63), 62)
    assert array_digest(*(x for b in other for x in batch_arrays(b))) != \
        array_digest(*(x for b in first_batches for x in batch_arrays(b)))


def test_resampled_examples_noise_avoids_contexts_with_rejection(sampler):
    """ResampledExamples on a corpus of 6 real words (frequent rejection): in every batch
    no noise word is a context word of its row."""
    rng = np.random.default_rng(64)
    ids, offsets, counts = random_corpus(rng, 2000, 7, max_len=10, zipf=1.2)
    examples = build_examples(ids, offsets, counts, max_window=2, num_noise_words=4, sample=0,
                              rng=np.random.default_rng(65), sampler=sampler, resample="epoch")
    rows = 0
    for batch in examples.batches(256, np.random.default_rng(66)):
        num_context = batch.label.sum(axis=1).astype(np.int64)
        for row, n in enumerate(num_context):
            noise = batch.context_negative[row, n:5 * n]
            assert noise.min() >= 1 and not np.isin(noise, batch.context_negative[row, :n]).any()
        rows += batch.center.shape[0]
    assert rows == len(examples)


# --------------------------------------------------------------------------- choosing the sampler

def test_resolve_sampler_names():
    """numpy stays numpy; an unknown name is a one-line W2VError listing the choices; auto
    is numba exactly when Numba imports; unknown resample values are errors too."""
    from w2v_np.kernels import numba_available
    assert SAMPLERS == ("auto", "numpy", "numba")
    assert resolve_sampler("numpy") == "numpy"
    assert resolve_sampler("auto") == ("numba" if numba_available() else "numpy")
    for bad in ("cuda", "Numba", "", None):
        with pytest.raises(W2VError) as error:
            resolve_sampler(bad)
        assert "\n" not in str(error.value) and "numpy" in str(error.value)
    ids, offsets = unique_corpus([4, 4])
    with pytest.raises(W2VError):
        build_examples(ids, offsets, np.ones(9, dtype=np.int64), max_window=2, num_noise_words=2,
                       sample=0, rng=np.random.default_rng(0), resample="batch")


def test_resolve_sampler_without_numba(monkeypatch):
    """Numba missing (numba_available patched to False): "numba" is a one-line W2VError
    telling to pip install it, everywhere a sampler is taken; auto is numpy."""
    monkeypatch.setattr("w2v_np.sampling.numba_available", lambda: False)
    with pytest.raises(W2VError) as error:
        resolve_sampler("numba")
    message = str(error.value)
    assert "\n" not in message and "pip install" in message and "numba" in message.lower()
    assert resolve_sampler("auto") == "numpy"
    ids, offsets = unique_corpus([5, 5])
    counts = np.ones(11, dtype=np.int64)
    for resample in ("once", "epoch"):
        with pytest.raises(W2VError, match="pip install"):
            build_examples(ids, offsets, counts, max_window=2, num_noise_words=2, sample=0,
                           rng=np.random.default_rng(0), sampler="numba", resample=resample)
    examples = build_examples(ids, offsets, counts, max_window=2, num_noise_words=2, sample=0,
                              rng=np.random.default_rng(0), sampler="auto")
    assert examples.sampler == "numpy"
    windows = context_windows(ids, offsets, 2, np.random.default_rng(0))
    with pytest.raises(W2VError, match="pip install"):
        context_windows(ids, offsets, 2, np.random.default_rng(0), "numba")
    with pytest.raises(W2VError, match="pip install"):
        subsample(ids, offsets, counts, 1e-3, np.random.default_rng(0), "numba")
    with pytest.raises(W2VError, match="pip install"):
        draw_noise_words(windows, NoiseSampler(noise_weights(counts)), 2, np.random.default_rng(0), "numba")
    with pytest.raises(W2VError, match="pip install"):
        SkipGramExamples(windows, np.ones(2 * windows.contexts.shape[0], dtype=np.int32), 2, "numba")


NO_NUMBA_SCRIPT = """
import sys
sys.modules["numba"] = None          # "import numba" now raises ImportError
import numpy as np
from w2v_np import W2VError
from w2v_np.kernels import numba_available
from w2v_np.sampling import build_examples, resolve_sampler
assert not numba_available()
rng = np.random.default_rng(0)
lengths = rng.integers(0, 12, size=300)
offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
ids = rng.integers(0, 50, size=offsets[-1]).astype(np.int32)
counts = np.maximum(np.bincount(ids, minlength=50), 1).astype(np.int64)
settings = dict(max_window=3, num_noise_words=2, sample=1e-2)
auto = build_examples(ids, offsets, counts, rng=np.random.default_rng(1), sampler="auto", **settings)
reference = build_examples(ids, offsets, counts, rng=np.random.default_rng(1), sampler="numpy", **settings)
assert auto.sampler == "numpy"
for name in ("centers", "context_offsets", "contexts", "noise"):
    assert np.array_equal(getattr(auto, name), getattr(reference, name)), name
batch = next(auto.batches(64, np.random.default_rng(2)))
resampled = build_examples(ids, offsets, counts, rng=np.random.default_rng(1), sampler="auto",
                           resample="epoch", **settings)
assert resampled.sampler == "numpy" and sum(1 for _ in resampled.batches(64, np.random.default_rng(2)))
try:
    build_examples(ids, offsets, counts, rng=np.random.default_rng(1), sampler="numba", **settings)
except W2VError as error:
    print("W2VError:", error)
else:
    raise SystemExit("sampler='numba' without Numba did not raise")
assert "w2v_np.kernels.sampling" not in sys.modules
print("numpy path OK")
"""


def test_core_works_without_numba(tmp_path):
    """In a process where "import numba" fails, build_examples with sampler="auto" takes
    the NumPy path (the same arrays as sampler="numpy" from the same seed, batches and
    resampled epochs work, the kernels module is never imported) and sampler="numba" is a
    W2VError telling to pip install."""
    result = subprocess.run([sys.executable, "-c", NO_NUMBA_SCRIPT], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[-1] == "numpy path OK"
    assert lines[0].startswith("W2VError:") and "pip install" in lines[0]


# --------------------------------------------------------------------------- impossible noise

def test_impossible_noise_among_many_chunks_raises_quickly(sampler):
    """One center deep inside 20 000 examples (the fourth chunk of the kernels) whose
    context words are the whole noise vocabulary: W2VError about noise within 5 s."""
    rng = np.random.default_rng(67)
    vocab_size = 9
    windows = _hand_windows(rng, 20_000, vocab_size)
    contexts = np.split(windows.contexts, windows.context_offsets[1:-1])
    victim = 3 * CHUNK + 17
    contexts[victim] = np.arange(1, vocab_size, dtype=np.int32)
    offsets = np.zeros(len(contexts) + 1, dtype=np.int64)
    np.cumsum([c.shape[0] for c in contexts], out=offsets[1:])
    windows = ContextWindows(windows.centers, offsets, np.concatenate(contexts))
    counts = np.arange(vocab_size, dtype=np.int64) + 5
    start = time.perf_counter()
    with pytest.raises(W2VError, match="noise"):
        draw_noise_words(windows, NoiseSampler(noise_weights(counts)), 3, np.random.default_rng(68), sampler)
    assert time.perf_counter() - start < 5
