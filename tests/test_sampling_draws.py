"""The sampling kernels (``kernels.sampling``) element for element against their plain-Python
references (``w2v_np.sampling_draws``), which draw the same SplitMix64 numbers.

Inputs span three of the kernels' chunks, so the per-chunk seeding is pinned too; the
comparisons are exact (the same float64 operations on the same numbers).
"""
import numpy as np
import pytest

import w2v_np.kernels
from w2v_np.sampling import NoiseSampler, center_positions, keep_probabilities, noise_weights
from w2v_np.sampling_draws import context_windows_reference, draw_noise_words_reference, keep_mask_reference
from zipf_corpus import zipf_corpus

pytestmark = pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed")
if w2v_np.kernels.numba_available():
    from w2v_np.kernels import sampling

V = 40


def corpus(seed=70):
    """About 10,000 tokens (three chunks of 4096) in sentences of 0 to 12 tokens."""
    return zipf_corpus(seed, V, num_sentences=1600, max_length=12)


@pytest.mark.parametrize("subsampling", ["seed", "word2vec"])
def test_keep_mask_equals_reference(subsampling):
    ids, _, counts = corpus()
    assert ids.shape[0] > 2 * sampling.CHUNK
    probability = keep_probabilities(counts, 0.01, subsampling)
    keep = sampling.keep_mask(ids, probability, 123)
    np.testing.assert_array_equal(keep, keep_mask_reference(ids, probability, 123, sampling.CHUNK))
    assert 0.3 < keep.mean() < 0.9 and not keep[ids == 0].any()


def test_context_windows_equal_reference():
    ids, offsets, _ = corpus()
    centers = center_positions(offsets)
    assert len(centers) > 2 * sampling.CHUNK
    for max_window in (1, 4):
        expected = context_windows_reference(ids, centers.position, centers.start, centers.stop, max_window, 77,
                                             sampling.CHUNK)
        got = sampling.context_windows(ids, centers.position, centers.start, centers.stop, max_window, 77)
        for a, b in zip(got, expected):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert np.diff(got[0]).max() == 8


def test_noise_words_equal_reference():
    """With a small vocabulary, so that rejection (a draw among the center's context words) is frequent."""
    ids, offsets, counts = corpus()
    centers = center_positions(offsets)
    offsets_, contexts = sampling.context_windows(ids, centers.position, centers.start, centers.stop, 3, 5)
    noise = NoiseSampler(noise_weights(counts))
    got = sampling.draw_noise_words(contexts, offsets_, noise.keep, noise.alias, 3, 99, 10_000)
    expected = draw_noise_words_reference(contexts, offsets_, noise.keep, noise.alias, 3, 99, 10_000, sampling.CHUNK)
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[1] == expected[1] == -1


def test_noise_words_report_the_first_exhausted_example():
    """Examples 5000 and 9000 (chunks 1 and 2) have every word of weight > 0 as context: both
    report example 5000, after the same draws."""
    num_examples = 10_000
    context_offsets = np.arange(num_examples + 1, dtype=np.int64) * 2
    contexts = np.tile(np.array([1, 2], dtype=np.int32), num_examples)
    contexts[2 * 5000:2 * 5000 + 2] = [3, 4]
    contexts[2 * 9000:2 * 9000 + 2] = [3, 4]
    noise = NoiseSampler(np.where(np.arange(5) >= 3, 1.0, 0.0))
    got = sampling.draw_noise_words(contexts, context_offsets, noise.keep, noise.alias, 2, 4, 20)
    expected = draw_noise_words_reference(contexts, context_offsets, noise.keep, noise.alias, 2, 4, 20,
                                          sampling.CHUNK)
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[1] == expected[1] == 5000
