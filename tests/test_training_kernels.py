"""The Numba training kernels against the NumPy reference they mirror, and their determinism.

Tolerances: float64 kernels agree with the reference to 1e-12 relative; float32 ones to
2e-5 relative on losses and gradients (sums taken in another order, vectorised), and the
optimizer kernels give the reference's bits exactly for the same gradients.
"""
import numpy as np
import pytest

import w2v_np.kernels
from w2v_np import TrainConfig, W2VError, train
from w2v_np.model import SkipGram
from w2v_np.ops import RowSparse
from w2v_np.optim import SGD, Adam, LazyAdam
from w2v_np.sampling import build_examples

pytestmark = pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed")
if w2v_np.kernels.numba_available():
    import numba

    from w2v_np.engine import StreamedCorpus, _pieces, _some_sentence_has_two_known
    from w2v_np.kernels import training

V, D = 30, 12


def random_examples(seed=0, num_sentences=60, length=9, num_noise_words=3, max_window=3):
    """Examples over a 30-word vocabulary with many repeated ids in every batch."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, V, size=num_sentences * length).astype(np.int32)
    offsets = np.arange(0, ids.shape[0] + 1, length, dtype=np.int64)
    counts = np.bincount(ids, minlength=V).astype(np.int64)
    return build_examples(ids, offsets, counts, max_window=max_window, num_noise_words=num_noise_words,
                          sample=0, rng=rng, sampler="numba")


def model_of(dtype, seed=1):
    return SkipGram(V, D, rng=np.random.default_rng(seed), dtype=dtype)


def dense(rows, grads):
    out = np.zeros((V, grads.shape[1]), dtype=np.float64)
    np.add.at(out, rows, grads)
    return out


def fused_grads(model, examples, indices, per_pair):
    work = training.BatchWorkspace(V, D, indices.shape[0], examples.max_row_length(), model.center.dtype)
    losses = work.loss_and_grads(model.center, model.context, examples, indices, per_pair).copy()
    center_rows, center_grads, context_rows, context_grads = (a.copy() for a in work.touched())
    work.release()
    assert (work.slot == -1).all()
    return losses, center_rows, center_grads, context_rows, context_grads


@pytest.mark.parametrize("label", [0, 1])
def test_bce_position_is_stable_and_exact_for_any_logit(label):
    """The per-row BCE from a float64 product of ``1 + e^-|x|`` equals the sum of softplus
    terms in float64 (to float32's exp), through extreme logits and folds of the product."""
    xs = [-1000.0, -50.0, -31.0, -29.0, -3.0, 0.0, 1e-3, 2.0, 29.0, 31.0, 50.0, 1000.0] + [0.0] * 600
    growth, neg_log, expected = 1.0, 0.0, 0.0
    for x in np.array(xs, dtype=np.float32):
        sigmoid, growth, neg_log = training._bce_position(x, np.float32(label), np.float32(1), growth, neg_log)
        wide = float(x)
        stable = 1 / (1 + np.exp(-wide)) if wide >= 0 else np.exp(wide) / (1 + np.exp(wide))
        assert sigmoid == pytest.approx(stable, rel=1e-6, abs=1e-38)
        expected += max(wide, 0) + np.log1p(np.exp(-abs(wide))) - label * wide
        assert np.isfinite(neg_log) and 1 <= growth <= 2 ** 501     # 600 factors of 2: it folds
    # exp in float32 is off by up to 6e-8 relative: log(1 + e) by up to 6e-8 absolute per position
    assert neg_log + np.log(growth) == pytest.approx(expected, rel=0, abs=1e-7 * len(xs))


@pytest.mark.parametrize("per_pair", [False, True])
@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_fused_batch_equals_reference(dtype, rtol, per_pair):
    """Losses and both tables' gradients equal SkipGram.loss_and_grads on the padded batch."""
    examples = random_examples()
    model = model_of(dtype)
    indices = np.random.default_rng(2).permutation(len(examples))[:40]
    batch = examples.batch(indices, dtype)
    losses, ref = model.loss_and_grads(batch.center, batch.context_negative, batch.mask, batch.label,
                                       per_pair=per_pair)
    got_losses, center_rows, center_grads, context_rows, context_grads = fused_grads(
        model, examples, indices, per_pair)
    np.testing.assert_allclose(got_losses, losses, rtol=rtol)
    for rows, grads, name in ((center_rows, center_grads, "center"), (context_rows, context_grads, "context")):
        want = dense(ref[name].rows, ref[name].values)
        assert len(set(rows.tolist())) == rows.shape[0]                      # each row once
        assert set(rows.tolist()) == set(np.flatnonzero(np.abs(want).sum(1)).tolist())
        np.testing.assert_allclose(dense(rows, grads), want, rtol=rtol, atol=rtol * np.abs(want).max())


def test_fused_batch_does_not_depend_on_threads():
    """1 thread or all of them: the same rows in the same order, the same bits."""
    examples = random_examples(seed=3)
    model = model_of(np.float32)
    indices = np.arange(len(examples))[::3]
    runs = []
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        try:
            runs.append(fused_grads(model, examples, indices, False))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def row_sparse_steps(seed, dtype, steps=4):
    """A few RowSparse gradients over a (V, D) table, some rows repeated between steps."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        rows = rng.choice(V, size=rng.integers(1, V // 2), replace=False).astype(np.int64)
        out.append(RowSparse(rows, rng.normal(size=(rows.shape[0], D)).astype(dtype), V))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reference", [Adam, LazyAdam])
def test_adam_kernels_give_the_reference_bits(reference, dtype):
    """adam_dense == Adam and adam_rows == LazyAdam, bit for bit, over several steps."""
    start = np.random.default_rng(4).normal(size=(V, D)).astype(dtype)
    ours, theirs = {"w": start.copy()}, {"w": start.copy()}
    ref_opt, ker_opt = reference(theirs, lr=0.01), reference(ours, lr=0.01)
    for g in row_sparse_steps(5, dtype):
        ref_opt.step({"w": g})
        beta1, beta2, eps_hat, scale = ker_opt.scalars()
        constants = [dtype(c) for c in (beta1, beta2, 1 - beta1, 1 - beta2, eps_hat, scale)]
        ker_opt.step_count += 1
        if reference is Adam:
            slot = np.full(V, -1, dtype=np.int64)
            slot[g.rows] = np.arange(g.rows.shape[0])
            training.adam_dense(ours["w"], ker_opt.m["w"], ker_opt.v["w"], slot, g.values, *constants)
        else:
            training.adam_rows(ours["w"], ker_opt.m["w"], ker_opt.v["w"], g.rows, g.values, *constants)
        np.testing.assert_array_equal(ours["w"], theirs["w"])
        np.testing.assert_array_equal(ker_opt.m["w"], ref_opt.m["w"])
        np.testing.assert_array_equal(ker_opt.v["w"], ref_opt.v["w"])
    untouched = np.setdiff1d(np.arange(V), np.concatenate([g.rows for g in row_sparse_steps(5, dtype)]))
    if reference is LazyAdam and untouched.size:
        np.testing.assert_array_equal(ours["w"][untouched], start[untouched])


def test_sgd_kernel_gives_the_reference_bits():
    start = np.random.default_rng(6).normal(size=(V, D)).astype(np.float32)
    ours, theirs = start.copy(), start.copy()
    reference = SGD({"w": theirs}, lr=0.05, total_work=10)
    for g in row_sparse_steps(7, np.float32):
        training.sgd_rows(ours, g.rows, g.values, np.float32(reference.rate()))
        reference.step({"w": g}, work=2)
        np.testing.assert_array_equal(ours, theirs)


def corpus_file(tmp_path, seed=0, sentences=400):
    """Sentences of 8 words from one of 10 topics of 6 words: a small corpus with structure."""
    rng = np.random.default_rng(seed)
    topics = [[f"t{t}w{i}" for i in range(6)] for t in range(10)]
    path = tmp_path / "topics.txt"
    path.write_text("\n".join(" ".join(rng.choice(topics[rng.integers(10)], size=8))
                              for _ in range(sentences)) + "\n", encoding="utf-8")
    return path


def run(path, **changes):
    settings = dict(corpus=str(path), epochs=3, min_count=1, dim=16, batch_size=64, sample=0.0, seed=0)
    return train(TrainConfig(**dict(settings, **changes)), probes=(), quiet=True)


@pytest.mark.parametrize("optimizer,extra", [("adam", {}), ("lazy-adam", {}),
                                             ("sgd", {"deterministic": True, "lr": 0.002})])
def test_numba_engine_trains_like_the_numpy_engine(tmp_path, optimizer, extra):
    """Same batches, same mathematics: per-epoch losses within 1e-5 and vectors within 1e-4 (float32)."""
    path = corpus_file(tmp_path)
    reference = run(path, engine="numpy", optimizer=optimizer, **extra)
    fused = run(path, engine="numba", optimizer=optimizer, **extra)
    assert fused.metrics["engine"] == "numba" and reference.metrics["engine"] == "numpy"
    for ours, theirs in zip(fused.metrics["epochs"], reference.metrics["epochs"]):
        assert ours["pairs"] == theirs["pairs"] and ours["centers"] == theirs["centers"]
        assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-5)
    assert reference.metrics["epochs"][-1]["loss"] < reference.metrics["epochs"][0]["loss"]
    for name in ("center", "context"):
        np.testing.assert_allclose(fused.model.params[name], reference.model.params[name], atol=1e-4)


@pytest.mark.parametrize("optimizer,extra", [("adam", {}), ("sgd", {"deterministic": True})])
def test_mini_batch_numba_engine_does_not_depend_on_threads(tmp_path, optimizer, extra):
    path = corpus_file(tmp_path, seed=1)
    runs = [run(path, engine="numba", optimizer=optimizer, threads=threads, **extra)
            for threads in (1, numba.config.NUMBA_NUM_THREADS)]
    for name in ("center", "context"):
        np.testing.assert_array_equal(runs[0].model.params[name], runs[1].model.params[name])
    assert [e["loss"] for e in runs[0].metrics["epochs"]] == [e["loss"] for e in runs[1].metrics["epochs"]]


def test_pieces_cut_long_sentences_and_skip_empty_ones():
    offsets = np.array([0, 3, 3, 28, 30], dtype=np.int64)       # lengths 3, 0, 25, 2
    np.testing.assert_array_equal(_pieces(offsets, 10), [0, 3, 13, 23, 28, 30])


@pytest.mark.parametrize("per_slice", [1, 2, 3, 1 << 16])
def test_two_known_tokens_are_found_in_any_slice_of_sentences(per_slice):
    """Only the last sentence (or none) holds two known ids; slices of any size find it."""
    ids = np.array([0, 5, 0, 7, 0, 0, 3, 9, 0], dtype=np.int32)
    lonely = np.array([0, 2, 4, 6, 6, 7], dtype=np.int64)           # at most one known id each
    assert not _some_sentence_has_two_known(ids[:7], lonely, per_slice)
    paired = np.array([0, 2, 4, 6, 6, 9], dtype=np.int64)           # the last holds 3 and 9
    assert _some_sentence_has_two_known(ids, paired, per_slice)
    with pytest.raises(W2VError, match="no sentence has two known tokens"):
        stream_of(ids[:7], lonely)


def stream_of(ids, offsets, window=1, negative=2, sample=0.0):
    counts = np.bincount(ids, minlength=V).astype(np.int64)
    counts[0] = max(counts[0], 1)
    return StreamedCorpus(ids, offsets, counts, max_window=window, num_noise_words=negative, sample=sample)


def hogwild_epoch(corpus, model, seed, lr=0.025, shared_noise=False):
    chunks = corpus.num_chunks
    loss, centers, pairs = np.zeros(chunks), np.zeros(chunks, np.int64), np.zeros(chunks, np.int64)
    training.sgd_hogwild(corpus.ids, corpus.piece_offsets, corpus.chunk_pieces, corpus.keep_probability,
                         corpus.noise.keep, corpus.noise.alias, model.center, model.context, corpus.max_window,
                         corpus.num_noise_words, shared_noise, lr, 1e-4, 0, 10 * len(corpus), seed, 0, loss,
                         centers, pairs)
    return loss.sum() / centers.sum(), int(centers.sum()), int(pairs.sum())


def sgd_pair_reference(v, context_table, targets, alpha):
    """One pair's SGD step in NumPy, in the order of ``training.sgd_pair`` (every score first,
    then the rows target by target; the first target labelled 1); returns the sum of the
    positions' BCE."""
    labels = (np.arange(len(targets)) == 0).astype(float)
    scores = np.array([context_table[t] @ v for t in targets])
    sigmoid = 1 / (1 + np.exp(-scores))
    neu = np.zeros_like(v)
    for g, t in zip((labels - sigmoid) * alpha, targets):
        neu += g * context_table[t]
        context_table[t] += g * v
    v += neu
    return -(labels * np.log(sigmoid) + (1 - labels) * np.log(1 - sigmoid)).sum()


def sgd_window_reference(center_table, inputs, context_table, targets, alpha):
    """SGD on a window's context words (rows of ``center_table``) against shared targets
    (the first labelled 1), every gradient taken from the rows before the step, a
    repeated row moved once per appearance; returns the sum of the positions' BCE."""
    labels = (np.arange(len(targets)) == 0).astype(float)
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    w, u = center_table[inputs].copy(), context_table[targets].copy()
    sigmoid = 1 / (1 + np.exp(-(w @ u.T)))                 # (inputs, targets)
    g = (labels - sigmoid) * alpha
    np.add.at(context_table, targets, g.T @ w)
    np.add.at(center_table, inputs, g @ u)
    return -(labels * np.log(sigmoid) + (1 - labels) * np.log(1 - sigmoid)).sum()


# A noise row drawn twice (5); the spare last entry is the kernels' padding.
TARGETS = np.array([3, 5, 5, 7, 1, -9], dtype=np.int64)
NUM_TARGETS = 5


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_sgd_pair_equals_reference(dtype, rtol):
    """The streaming SGD's pair step, every score taken before any row moves."""
    model = model_of(dtype)
    center, context = model.center.copy(), model.context.copy()
    expected = sgd_pair_reference(center[2], context, TARGETS[:NUM_TARGETS], 0.5)
    growth, neg_log = training.sgd_pair(model.center, 2, model.context, TARGETS, NUM_TARGETS, dtype(0.5),
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
    growth, neg_log = training.sgd_window(
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
    """--optimizer sgd --engine numba: streamed, loss falls, centers counted per epoch; threads 1 repeats."""
    path = corpus_file(tmp_path, seed=2, sentences=600)
    results = [run(path, engine="numba", optimizer="sgd", threads=1, epochs=4, noise_per=noise_per)
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
    from w2v_np.kernels import sampling as kernels
    from w2v_np.sampling import NoiseSampler

    @numba.njit
    def draw(seed, chunk, size, keep, alias):
        state = np.full(1, kernels._mix(seed, chunk), dtype=np.uint64)
        uniforms, ids = np.empty(size), np.empty(size, dtype=np.int64)
        for i in range(size):
            uniforms[i] = kernels._uniform(state)
        for i in range(size):
            ids[i] = kernels._alias_pick(kernels._uniform(state), keep, alias)
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
