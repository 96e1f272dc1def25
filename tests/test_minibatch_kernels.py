"""The d2l method's Numba kernels (``kernels.minibatch``, ``kernels.optimizers``, ``kernels.scores``)
against the NumPy reference they mirror, and their determinism.

Tolerances: float64 kernels agree with the reference to 1e-12 relative; float32 ones to
2e-5 relative on losses and gradients (sums taken in another order, vectorised), and the
optimizers' Numba updates give their reference's bits exactly for the same gradients.
"""
import numpy as np
import pytest

import w2v_np.kernels
from w2v_np import TrainConfig, train
from w2v_np.model import SkipGram
from w2v_np.ops import sigmoid_bce
from w2v_np.sparse_grads import RowSparse
from w2v_np.optim import SGD, Adam, LazyAdam
from w2v_np.sampling import build_examples

pytestmark = pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed")
if w2v_np.kernels.numba_available():
    import numba

    from w2v_np.kernels import minibatch, scores

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


def fused_grads(model, examples, indices):
    work = minibatch.BatchWorkspace(V, D, indices.shape[0], examples.max_row_length(), model.center.dtype)
    losses = work.loss_and_grads(model.center, model.context, examples, indices).copy()
    center_rows, center_grads, context_rows, context_grads = (a.copy() for a in work.touched())
    work.release()
    assert (work.slot == -1).all()
    return losses, center_rows, center_grads, context_rows, context_grads


@pytest.mark.parametrize("label", [0, 1])
def test_bce_position_is_stable_and_exact_for_any_logit(label):
    """The per-row BCE from a float64 product of ``1 + e^-|x|`` equals the sum of
    ``ops.sigmoid_bce`` (the one formula) in float64, to float32's exp, through extreme
    logits and folds of the product."""
    xs = [-1000.0, -50.0, -31.0, -29.0, -3.0, 0.0, 1e-3, 2.0, 29.0, 31.0, 50.0, 1000.0] + [0.0] * 600
    growth, neg_log, expected = 1.0, 0.0, 0.0
    for x in np.array(xs, dtype=np.float32):
        sigmoid, growth, neg_log = scores.bce_position(x, np.float32(label), np.float32(1), growth, neg_log)
        wide = float(x)
        stable = 1 / (1 + np.exp(-wide)) if wide >= 0 else np.exp(wide) / (1 + np.exp(wide))
        assert sigmoid == pytest.approx(stable, rel=1e-6, abs=1e-38)
        expected += float(sigmoid_bce(np.float64(wide), np.float64(label)))
        assert np.isfinite(neg_log) and 1 <= growth <= 2 ** 501     # 600 factors of 2: it folds
    # exp in float32 is off by up to 6e-8 relative: log(1 + e) by up to 6e-8 absolute per position
    assert neg_log + np.log(growth) == pytest.approx(expected, rel=0, abs=1e-7 * len(xs))


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_fused_batch_equals_reference(dtype, rtol):
    """Losses and both tables' gradients equal SkipGram.loss_and_grads on the padded batch."""
    examples = random_examples()
    model = model_of(dtype)
    indices = np.random.default_rng(2).permutation(len(examples))[:40]
    batch = examples.batch(indices, dtype)
    losses, ref = model.loss_and_grads(batch.center, batch.context_negative, batch.mask, batch.label)
    got_losses, center_rows, center_grads, context_rows, context_grads = fused_grads(model, examples, indices)
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
            runs.append(fused_grads(model, examples, indices))
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
def test_adam_numba_step_gives_the_reference_bits(reference, dtype):
    """Adam.numba_step == Adam.step and LazyAdam.numba_step == LazyAdam.step, bit for bit, over
    several steps, with the same step count."""
    start = np.random.default_rng(4).normal(size=(V, D)).astype(dtype)
    ours, theirs = {"w": start.copy()}, {"w": start.copy()}
    ref_opt, ker_opt = reference(theirs, lr=0.01), reference(ours, lr=0.01)
    for g in row_sparse_steps(5, dtype):
        ref_opt.step({"w": g})
        slot = np.full(V, -1, dtype=np.int32)
        slot[g.rows] = np.arange(g.rows.shape[0])
        ker_opt.numba_step({"w": (slot, g.rows, g.values)})
        np.testing.assert_array_equal(ours["w"], theirs["w"])
        np.testing.assert_array_equal(ker_opt.m["w"], ref_opt.m["w"])
        np.testing.assert_array_equal(ker_opt.v["w"], ref_opt.v["w"])
        assert ker_opt.step_count == ref_opt.step_count
    untouched = np.setdiff1d(np.arange(V), np.concatenate([g.rows for g in row_sparse_steps(5, dtype)]))
    if reference is LazyAdam and untouched.size:
        np.testing.assert_array_equal(ours["w"][untouched], start[untouched])


def test_sgd_numba_step_gives_the_reference_bits():
    """SGD.numba_step == SGD.step, bit for bit, along the decaying schedule; both count the work."""
    start = np.random.default_rng(6).normal(size=(V, D)).astype(np.float32)
    ours, theirs = start.copy(), start.copy()
    reference, kernel = SGD({"w": theirs}, lr=0.05, total_work=10), SGD({"w": ours}, lr=0.05, total_work=10)
    for g in row_sparse_steps(7, np.float32):
        kernel.numba_step({"w": (None, g.rows, g.values)}, work=2)
        reference.step({"w": g}, work=2)
        np.testing.assert_array_equal(ours, theirs)
        assert kernel.done == reference.done
    assert reference.rate() < 0.05 * 0.5


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


@pytest.mark.parametrize("optimizer", ["adam", "lazy-adam", "sgd"])
def test_numba_engine_trains_like_the_numpy_engine(tmp_path, optimizer):
    """Same batches, same mathematics, each optimizer at its default rate: per-epoch losses
    within 1e-5 and vectors within 1e-4 (float32)."""
    path = corpus_file(tmp_path)
    reference = run(path, engine="numpy", optimizer=optimizer)
    fused = run(path, engine="numba", optimizer=optimizer)
    assert fused.metrics["plan"]["engine"] == "numba" and reference.metrics["plan"]["engine"] == "numpy"
    for ours, theirs in zip(fused.metrics["epochs"], reference.metrics["epochs"]):
        assert ours["pairs"] == theirs["pairs"] and ours["centers"] == theirs["centers"]
        assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-5)
    assert reference.metrics["epochs"][-1]["loss"] < reference.metrics["epochs"][0]["loss"]
    for name in ("center", "context"):
        np.testing.assert_allclose(fused.model.params[name], reference.model.params[name], atol=1e-4)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_mini_batch_numba_engine_does_not_depend_on_threads(tmp_path, optimizer):
    path = corpus_file(tmp_path, seed=1)
    runs = [run(path, engine="numba", optimizer=optimizer, threads=threads)
            for threads in (1, numba.config.NUMBA_NUM_THREADS)]
    for name in ("center", "context"):
        np.testing.assert_array_equal(runs[0].model.params[name], runs[1].model.params[name])
    assert [e["loss"] for e in runs[0].metrics["epochs"]] == [e["loss"] for e in runs[1].metrics["epochs"]]
