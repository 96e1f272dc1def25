"""The whole streaming driver (``kernels.streaming.sgd_hogwild``) against its NumPy reference
(``w2v_np.word2vec.sgd_hogwild_reference``), which draws the same SplitMix64 numbers.

With one thread, both see the same keep coins, windows and noise words, so the centers and
pairs they count are equal exactly, and the tables and loss sums agree to the rounding of
the steps: 1e-12 relative in float64, 1e-5 in float32 (the kernel's steps sum in another
order, and the difference carries over a few thousand steps; seen: 2e-15 and 8e-7).  The subsampling formula,
the window range, the rate per piece, the noise draws and their collision rule, and the
per-chunk seeding are therefore pinned by construction.
"""
from types import SimpleNamespace

import numpy as np
import pytest

import w2v_np.kernels
from w2v_np import streamed_corpus
from w2v_np.optim import SGD
from w2v_np.sampling import NoiseSampler, kernel_seed, keep_probabilities, noise_weights
from w2v_np.splitmix import ChunkStream
from w2v_np.streamed_corpus import StreamedCorpus, _pieces
from w2v_np.word2vec import HogwildTrainer, sgd_hogwild_reference
from test_minibatch_kernels import V, model_of
from zipf_corpus import zipf_corpus

pytestmark = pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed")
if w2v_np.kernels.numba_available():
    import numba

    from w2v_np.kernels import rng, sampling, streaming


def small_corpus(seed=30):
    """About 1,500 tokens of a Zipf-like vocabulary of 30 (``<unk>`` = 0 among them), in
    sentences of 0 to 24 tokens: short sentences, long ones, frequent words that subsampling
    drops and noise draws collide with.  Returns ids, offsets, counts."""
    return zipf_corpus(seed, V, num_sentences=120, max_length=24)


def small_pieces(seed=30):
    """:func:`small_corpus` cut into pieces of at most 7 tokens, 9 pieces a chunk."""
    ids, offsets, counts = small_corpus(seed)
    pieces = _pieces(offsets, 7)
    chunk_pieces = np.append(np.arange(0, pieces.shape[0] - 1, 9), pieces.shape[0] - 1).astype(np.int64)
    return ids, pieces, chunk_pieces, counts


def run_driver(driver, model, shared_noise, groups, seed=5):
    """One epoch of ``driver`` over :func:`small_pieces` in kernel calls of ``groups`` chunks,
    as ``HogwildTrainer`` calls it: returns the loss sums, center and pair counts per chunk.

    The epoch is the second half of a run (progress 1/2 .. 1) with a floor of 0.4, so the
    rate decays then stays at the floor: both parts of the schedule are exercised.
    """
    ids, pieces, chunk_pieces, counts = small_pieces()
    noise = NoiseSampler(noise_weights(counts))
    keep_probability = keep_probabilities(counts, 0.02, "word2vec")
    num_chunks = chunk_pieces.shape[0] - 1
    loss, centers, pairs = np.zeros(num_chunks), np.zeros(num_chunks, np.int64), np.zeros(num_chunks, np.int64)
    for first in range(0, num_chunks, groups):
        last = min(first + groups, num_chunks)
        driver(ids, pieces, chunk_pieces, keep_probability, noise.keep, noise.alias, model.center, model.context,
               3, 4, shared_noise, 0.2, 0.4, ids.shape[0], 2 * ids.shape[0], seed, first,
               loss[first:last], centers[first:last], pairs[first:last])
    return loss, centers, pairs


@pytest.mark.parametrize("shared_noise", [False, True])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_sgd_hogwild_equals_reference(shared_noise, dtype, rtol):
    numba.set_num_threads(1)
    try:
        kernel_model = model_of(dtype)
        kernel = run_driver(streaming.sgd_hogwild, kernel_model, shared_noise, groups=3)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    reference_model = model_of(dtype)
    reference = run_driver(sgd_hogwild_reference, reference_model, shared_noise, groups=2)
    ids = small_corpus()[0]
    known = np.count_nonzero(ids)
    assert kernel[1].min() > 0 and 0.5 * known < kernel[1].sum() < known, "subsampling should drop some"
    np.testing.assert_array_equal(kernel[1], reference[1])
    np.testing.assert_array_equal(kernel[2], reference[2])
    np.testing.assert_allclose(kernel[0], reference[0], rtol=rtol)
    np.testing.assert_allclose(kernel_model.center, reference_model.center, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(kernel_model.context, reference_model.context, rtol=rtol, atol=rtol)
    assert np.abs(kernel_model.context).max() > 0.05, "the context table (zero at start) should have moved"


class SilentBar:
    def wants(self, step):
        return False

    def close(self):
        pass


@pytest.mark.parametrize("noise_per", ["pair", "window"])
def test_trainer_epoch_equals_reference(monkeypatch, noise_per):
    """HogwildTrainer's second epoch of three, chunks of 200 tokens (several kernel calls): its
    tables, loss and counts are the reference's over the whole epoch, with the seed drawn from
    the run's data stream, the mode that --noise-per names and the optimizer's place in its
    schedule, which then counts the epoch as done."""
    monkeypatch.setattr(streamed_corpus, "CHUNK_TOKENS", 200)
    ids, offsets, counts = small_corpus()
    corpus = StreamedCorpus(ids, offsets, counts, max_window=3, num_noise_words=4, sample=0.02,
                            subsampling="word2vec")
    assert corpus.num_chunks > 4
    tokens = len(corpus)
    numba.set_num_threads(1)
    try:
        model = model_of(np.float64)
        optimizer = SGD(model.params, lr=0.2, total_work=3 * tokens, min_lr_fraction=0.4)
        optimizer.done = tokens
        trainer = HogwildTrainer(SimpleNamespace(noise_per=noise_per), model, optimizer, corpus)
        assert trainer.num_batches > 1
        result = trainer.run_epoch({"data": np.random.default_rng(4)}, SilentBar())
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert optimizer.done == 2 * tokens
    reference = model_of(np.float64)
    chunks = corpus.num_chunks
    loss, centers, pairs = np.zeros(chunks), np.zeros(chunks, np.int64), np.zeros(chunks, np.int64)
    sgd_hogwild_reference(corpus.ids, corpus.piece_offsets, corpus.chunk_pieces, corpus.keep_probability,
                          corpus.noise.keep, corpus.noise.alias, reference.center, reference.context, 3, 4,
                          noise_per == "window", 0.2, 0.4, tokens, 3 * tokens, kernel_seed(np.random.default_rng(4)),
                          0, loss, centers, pairs)
    assert result["centers"] == centers.sum() and result["pairs"] == pairs.sum()
    assert result["loss"] == pytest.approx(loss.sum() / centers.sum(), rel=1e-12)
    np.testing.assert_allclose(model.center, reference.center, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.context, reference.context, rtol=1e-12, atol=1e-12)


def test_reference_stream_draws_the_kernel_numbers():
    """The plain-Python SplitMix64 stream gives the kernel's numbers bit for bit, for seeds
    up to 2**63 and several chunks; the window and alias picks built on them too."""
    noise = NoiseSampler(noise_weights(np.array([5, 40, 1, 9, 300, 2, 77])))

    @numba.njit
    def draws(seed, chunk, size, keep, alias):
        state = rng.chunk_stream(seed, chunk)
        uniforms = np.empty(size)
        for i in range(size):
            uniforms[i] = rng.uniform(state)
        picks = np.empty(size, dtype=np.int64)
        for i in range(size):
            picks[i] = sampling.alias_pick(rng.uniform(state), keep, alias)
        return uniforms, picks

    for seed, chunk in ((0, 0), (5, 3), (2 ** 63 - 1, 1000)):
        uniforms, picks = draws(seed, chunk, 500, noise.keep, noise.alias)
        stream = ChunkStream(seed, chunk)
        np.testing.assert_array_equal(uniforms, [stream.uniform() for _ in range(500)])
        np.testing.assert_array_equal(picks, [stream.alias_pick(noise.keep, noise.alias) for _ in range(500)])
    windows = [ChunkStream(9, c).window(4) for c in range(400)]
    assert set(windows) == {1, 2, 3, 4}
