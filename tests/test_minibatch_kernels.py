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
from w2v_np.optim import make_optimizer
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


def workspace_for(model, examples, batch_size):
    return minibatch.BatchWorkspace(V, D, batch_size, examples.max_row_length(), model.center.dtype)


def fused_grads(model, examples, indices):
    """The fused step without an update: losses and the touched rows' gradients (copies)."""
    work = workspace_for(model, examples, indices.shape[0])
    before = {name: table.copy() for name, table in model.params.items()}
    losses, pairs = work.step(model.center, model.context, examples, indices)
    center_rows, center_grads, context_rows, context_grads = (a.copy() for a in work.touched())
    assert (work.slot == -1).all()
    for name, table in model.params.items():
        np.testing.assert_array_equal(table, before[name])
    assert pairs == (examples.context_offsets[indices + 1] - examples.context_offsets[indices]).sum()
    return losses.copy(), center_rows, center_grads, context_rows, context_grads


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


def touched_as_row_sparse(work):
    """The last step's gradients as the reference optimizers take them."""
    center_rows, center_grads, context_rows, context_grads = (a.copy() for a in work.touched())
    return {"center": RowSparse(center_rows, center_grads, V), "context": RowSparse(context_rows, context_grads, V)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["adam", "lazy-adam", "sgd"])
def test_fused_update_gives_the_reference_bits(name, dtype):
    """The fused step's update (``numba_update``) == the optimizer's reference ``step`` on the
    same gradients, bit for bit, over several batches: tables, moments and counters alike.

    The reference's gradients are the kernel's own (its no-update form, on the reference's
    tables), so the comparison isolates the update; rows of both tables are used by several
    examples of a batch, and some rows by no batch (dense Adam must still move them).
    """
    examples = random_examples(seed=8)
    ours, theirs = model_of(dtype, seed=9), model_of(dtype, seed=9)
    kernel, reference = (make_optimizer(name, model.params, lr=0.05, total_work=3 * len(examples))
                         for model in (ours, theirs))
    work, reference_work = workspace_for(ours, examples, 16), workspace_for(theirs, examples, 16)
    order = np.random.default_rng(10).permutation(len(examples))
    used_before, idle_rows_checked = np.zeros(V, dtype=bool), 0
    for indices in np.array_split(order[:80], 5):
        before = ours.center.copy()
        reference_work.step(theirs.center, theirs.context, examples, indices)
        grads = touched_as_row_sparse(reference_work)
        reference.step(grads, work=indices.shape[0])
        work.step(ours.center, ours.context, examples, indices, kernel.numba_update(work=indices.shape[0]))
        assert (work.slot == -1).all()
        for table in ("center", "context"):
            np.testing.assert_array_equal(ours.params[table], theirs.params[table])
        for state in ("m", "v"):
            for table in ("center", "context"):
                np.testing.assert_array_equal(getattr(kernel, state, {table: 0})[table],
                                              getattr(reference, state, {table: 0})[table])
        assert kernel.state_dict().get("step") == reference.state_dict().get("step")
        assert kernel.state_dict().get("done") == reference.state_dict().get("done")
        # Rows with a gradient in an earlier batch but not in this one: only dense Adam moves them.
        idle = used_before.copy()
        idle[grads["center"].rows] = False
        moved = (ours.center != before).any(axis=1)
        assert moved[idle].all() if name == "adam" else not moved[idle].any()
        idle_rows_checked += idle.sum()
        used_before[grads["center"].rows] = True
    assert idle_rows_checked > 0


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
