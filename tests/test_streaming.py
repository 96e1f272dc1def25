"""The word2vec method: its streamed corpus, its steps against their NumPy references
(``w2v_np.word2vec``), the Hogwild loop, and its generator.

Tolerances: float64 steps agree with the references to 1e-12 relative, float32 ones to 2e-5.
"""
import numpy as np
import pytest

import w2v_np.kernels
from w2v_np import W2VError
from w2v_np.optim import SGD
from w2v_np.streamed_corpus import StreamedCorpus, _pieces, some_sentence_has_two_known
from w2v_np.word2vec import sgd_pair_reference, sgd_window_reference
from test_minibatch_kernels import V, D, corpus_file, model_of, run

pytestmark = pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed")
if w2v_np.kernels.numba_available():
    import numba

    from w2v_np.kernels import streaming


def test_pieces_cut_long_sentences_and_skip_empty_ones():
    offsets = np.array([0, 3, 3, 28, 30], dtype=np.int64)       # lengths 3, 0, 25, 2
    np.testing.assert_array_equal(_pieces(offsets, 10), [0, 3, 13, 23, 28, 30])


@pytest.mark.parametrize("per_slice", [1, 2, 3, 1 << 16])
def test_two_known_tokens_are_found_in_any_slice_of_sentences(per_slice):
    """Only the last sentence (or none) holds two known ids; slices of any size find it."""
    ids = np.array([0, 5, 0, 7, 0, 0, 3, 9, 0], dtype=np.int32)
    lonely = np.array([0, 2, 4, 6, 6, 7], dtype=np.int64)           # at most one known id each
    assert not some_sentence_has_two_known(ids[:7], lonely, per_slice)
    paired = np.array([0, 2, 4, 6, 6, 9], dtype=np.int64)           # the last holds 3 and 9
    assert some_sentence_has_two_known(ids, paired, per_slice)
    with pytest.raises(W2VError, match="no sentence has two known tokens"):
        stream_of(ids[:7], lonely)


def stream_of(ids, offsets, window=1, negative=2, sample=0.0):
    counts = np.bincount(ids, minlength=V).astype(np.int64)
    counts[0] = max(counts[0], 1)
    return StreamedCorpus(ids, offsets, counts, max_window=window, num_noise_words=negative, sample=sample)


def hogwild_epoch(corpus, model, seed, lr=0.025, shared_noise=False):
    chunks = corpus.num_chunks
    loss, centers, pairs = np.zeros(chunks), np.zeros(chunks, np.int64), np.zeros(chunks, np.int64)
    streaming.sgd_hogwild(corpus.ids, corpus.piece_offsets, corpus.chunk_pieces, corpus.keep_probability,
                         corpus.noise.keep, corpus.noise.alias, model.center, model.context, corpus.max_window,
                          corpus.num_noise_words, shared_noise, lr, 1e-4, 0, 10 * len(corpus), seed, 0, loss,
                          centers, pairs)
    return loss.sum() / centers.sum(), int(centers.sum()), int(pairs.sum())


# A noise row drawn twice (5); the spare last entry is the kernels' padding.
TARGETS = np.array([3, 5, 5, 7, 1, -9], dtype=np.int64)
NUM_TARGETS = 5


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_sgd_pair_equals_reference(dtype, rtol):
    """The streaming SGD's pair step, every score taken before any row moves."""
    model = model_of(dtype)
    center, context = model.center.copy(), model.context.copy()
    expected = sgd_pair_reference(center[2], context, TARGETS[:NUM_TARGETS], 0.5)
    growth, neg_log = streaming.sgd_pair(model.center, 2, model.context, TARGETS, NUM_TARGETS, dtype(0.5),
                                        np.empty(6, dtype), np.empty(D, dtype), 1.0, 0.0)
    np.testing.assert_allclose(neg_log + np.log(growth), expected, rtol=rtol)
    np.testing.assert_allclose(model.context, context, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(model.center, center, rtol=rtol, atol=rtol)
    moved = np.flatnonzero(np.any(model.context != model_of(dtype).context, axis=1))
    np.testing.assert_array_equal(moved, [1, 3, 5, 7])


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("num_inputs, num_targets", [(4, 5), (3, 5), (4, 4), (3, 4), (1, 1)])
def test_sgd_window_equals_reference(dtype, rtol, num_inputs, num_targets):
    """The shared-noise window step: context words (row 4 twice) against the center (3) and
    noise words (row 5 twice), odd and even counts (the kernel pads odd ones)."""
    model = model_of(dtype)
    center, context = model.center.copy(), model.context.copy()
    inputs = np.array([4, 9, 4, 2, -7], dtype=np.int64)
    targets = TARGETS.copy()
    expected = sgd_window_reference(center, inputs[:num_inputs], context, TARGETS[:num_targets], 0.5)
    growth, neg_log = streaming.sgd_window(
        model.center, inputs, num_inputs, model.context, targets, num_targets, dtype(0.5),
        np.empty((5, 6), dtype), np.empty((5, D), dtype), 1.0, 0.0)
    np.testing.assert_allclose(neg_log + np.log(growth), expected, rtol=rtol)
    np.testing.assert_allclose(model.context, context, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(model.center, center, rtol=rtol, atol=rtol)
    moved = np.flatnonzero(np.any(model.center != model_of(dtype).center, axis=1))
    np.testing.assert_array_equal(moved, np.unique(inputs[:num_inputs]))
    moved = np.flatnonzero(np.any(model.context != model_of(dtype).context, axis=1))
    np.testing.assert_array_equal(moved, np.unique(TARGETS[:num_targets]))


@pytest.mark.parametrize("shared_noise", [False, True])
def test_hogwild_counts_every_center_and_pair_of_window_one(shared_noise):
    """Window 1, no subsampling: every token of a sentence of n >= 2 known tokens is a center,
    with 2(n-1) pairs per sentence; <unk> (id 0) is dropped before the windows."""
    rng = np.random.default_rng(8)
    lengths = rng.integers(0, 40, size=300)
    ids = rng.integers(0, V, size=lengths.sum()).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    known = np.array([np.count_nonzero(ids[a:b]) for a, b in zip(offsets[:-1], offsets[1:])])
    _, centers, pairs = hogwild_epoch(stream_of(ids, offsets), model_of(np.float32), seed=3,
                                      shared_noise=shared_noise)
    assert centers == known[known >= 2].sum()
    assert pairs == (2 * (known[known >= 2] - 1)).sum()


@pytest.mark.parametrize("shared_noise", [False, True])
def test_hogwild_one_thread_depends_on_the_seed_only_and_learns(shared_noise):
    rng = np.random.default_rng(9)
    topic = np.repeat(rng.integers(0, 5, size=1000), 20)     # 1000 sentences of 20 words of one topic
    ids = (1 + 5 * topic + rng.integers(0, 5, size=topic.shape[0])).astype(np.int32)
    offsets = np.arange(0, ids.shape[0] + 1, 20, dtype=np.int64)
    corpus = stream_of(ids, offsets, window=2)
    numba.set_num_threads(1)
    try:
        models = [model_of(np.float32), model_of(np.float32), model_of(np.float32)]
        first = [hogwild_epoch(corpus, models[0], seed=11, shared_noise=shared_noise) for _ in range(3)]
        second = [hogwild_epoch(corpus, models[1], seed=11, shared_noise=shared_noise) for _ in range(3)]
        other = hogwild_epoch(corpus, models[2], seed=12, shared_noise=shared_noise)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert first == second
    np.testing.assert_array_equal(models[0].center, models[1].center)
    assert other[0] != first[0][0]                            # another seed, other draws
    assert first[2][0] < first[0][0] < 0.5                   # from log 2 = 0.69 at the start
    scores = models[0].center[1:26] @ models[0].context[1:26].T
    same_topic = np.kron(np.eye(5), np.ones((5, 5))).astype(bool)
    assert scores[same_topic].min() > scores[~same_topic].max()


@pytest.mark.parametrize("noise_per", ["pair", "window"])
def test_streamed_run_through_train(tmp_path, noise_per):
    """--method word2vec: streamed, loss falls, centers counted per epoch; threads 1 repeats bit for bit."""
    path = corpus_file(tmp_path, seed=2, sentences=600)
    results = [run(path, method="word2vec", batch_size=None, threads=1, epochs=4, noise_per=noise_per)
               for _ in range(2)]
    epochs = results[0].metrics["epochs"]
    assert results[0].metrics["num_centers"] == epochs[0]["centers"] == 600 * 8
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    np.testing.assert_array_equal(results[0].model.center, results[1].model.center)
    assert type(results[0].optimizer) is SGD and results[0].optimizer.done == 4 * 600 * 8


def test_streaming_generator_is_uniform_and_picks_ids_by_weight():
    """The streaming SGD's per-chunk SplitMix64 generator: 200,000 uniforms fill 20 equal bins
    as a uniform does, the ids they pick from an alias table follow its weights (chi-square
    tests, failing below p = 1e-4), all lie in [0, 1), and two chunks' streams differ."""
    stats = pytest.importorskip("scipy.stats")
    from w2v_np.kernels.rng import chunk_seed, uniform
    from w2v_np.kernels.sampling import alias_pick
    from w2v_np.sampling import NoiseSampler

    @numba.njit
    def draw(seed, chunk, size, keep, alias):
        state = np.full(1, chunk_seed(seed, chunk), dtype=np.uint64)
        uniforms, ids = np.empty(size), np.empty(size, dtype=np.int64)
        for i in range(size):
            uniforms[i] = uniform(state)
        for i in range(size):
            ids[i] = alias_pick(uniform(state), keep, alias)
        return uniforms, ids

    weights = np.array([0.0, 1.0, 2.0, 3.0, 10.0, 0.5, 7.0])
    noise = NoiseSampler(weights)
    size = 200_000
    uniforms, ids = draw(7, 3, size, noise.keep, noise.alias)
    assert 0 <= uniforms.min() and uniforms.max() < 1
    assert stats.chisquare(np.histogram(uniforms, bins=20, range=(0, 1))[0]).pvalue > 1e-4
    observed = np.bincount(ids, minlength=weights.shape[0])
    assert observed[0] == 0
    assert stats.chisquare(observed[1:], size * weights[1:] / weights.sum()).pvalue > 1e-4
    other, _ = draw(7, 4, 1000, noise.keep, noise.alias)
    assert not np.array_equal(other, uniforms[:1000])


@pytest.mark.parametrize("how", ["sum", "average"])
def test_combining_replicas_adds_each_change_once_or_averages_them(how):
    """The dask engine's combination against its definition: the table before the round plus
    every worker's change (divided by the replicas for ``average``); one replica is taken as it is;
    a change is some rows or the whole table.  Pinned to :func:`combine_reference` as well."""
    from w2v_np.word2vec_dask import combine, combine_reference
    rng = np.random.default_rng(4)
    table = rng.normal(size=(9, 3)).astype(np.float32)
    changes = [(np.array(rows), table[rows] + rng.normal(size=(len(rows), 3)).astype(np.float32))
               for rows in ([0, 2, 5], [2, 3, 5, 8], [5])]
    expected = table.astype(np.float64)
    for rows, new in changes:
        expected[rows] += (new - table[rows]) / (3 if how == "average" else 1)
    combined, reference = table.copy(), table.copy()
    combine(combined, changes, how, replicas=3)
    combine_reference(reference, changes, how, replicas=3)
    for result in (combined, reference):
        np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(result[[1, 4, 6, 7]], table[[1, 4, 6, 7]])
    if how == "sum":
        # Rows only one worker moved are that worker's bits.
        np.testing.assert_array_equal(combined[[0, 3, 8]], [changes[0][1][0], changes[1][1][1], changes[1][1][3]])
    alone = table.copy()
    combine(alone, changes[:1], how, replicas=1)
    np.testing.assert_array_equal(alone[[0, 2, 5]], changes[0][1])
    # Whole tables (rows None), as the context table travels.
    wholes = [table + rng.normal(size=table.shape).astype(np.float32) for _ in range(2)]
    expected = table + sum(new - table for new in wholes) / (2 if how == "average" else 1)
    combined, reference = table.copy(), table.copy()
    combine(combined, [(None, new) for new in wholes], how, replicas=2)
    combine_reference(reference, [(None, new) for new in wholes], how, replicas=2)
    np.testing.assert_allclose(combined, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(reference, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adding_scaled_rows_is_its_numpy_reference_bit_for_bit(dtype):
    """The fused kernel of :func:`combine` against ``table[rows] += scale * values``, on read-only values
    (as a result arrives from another worker) and writable ones."""
    from w2v_np.kernels.replicas import add_scaled_rows
    from w2v_np.word2vec_dask import add_scaled_rows_reference
    rng = np.random.default_rng(5)
    table = rng.normal(size=(50, 7)).astype(dtype)
    rows = rng.permutation(50)[:20].astype(np.int64)
    values = rng.normal(size=(20, 7)).astype(dtype)
    for writable in (True, False):
        values.flags.writeable = writable
        fused, reference = table.copy(), table.copy()
        add_scaled_rows(fused, rows, values, dtype(1 / 3))
        add_scaled_rows_reference(reference, rows, values, dtype(1 / 3))
        np.testing.assert_array_equal(fused, reference)
        assert not np.array_equal(fused, table)
