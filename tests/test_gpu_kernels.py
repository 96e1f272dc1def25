"""The numba.cuda kernels (w2v_np.kernels.gpu) against their naive references.

Without a GPU they run under Numba's CUDA simulator on NumPy arrays (tests/conftest.py
turns it on), with a GPU on the device.  Tolerances: float32 losses and gradients agree
with the NumPy reference to 2e-5 relative (float32 sums in another order); the optimizer
kernels agree with w2v_np.optim to 1 float32 ulp (2e-7 relative, the kernel's square
root); the sorted reduction gives the same bits on every run.
"""
from types import SimpleNamespace

import numpy as np
import pytest

import w2v_np.kernels
import w2v_np.plan
from w2v_np import TrainConfig, W2VError, make_plan, train
from w2v_np.d2l import ReferenceTrainer
from w2v_np.model import SkipGram
from w2v_np.optim import Adam, LazyAdam, make_optimizer
from w2v_np.sampling import build_examples
from w2v_np.sparse_grads import RowSparse
from w2v_np.progress import Progress

pytestmark = pytest.mark.skipif(not w2v_np.kernels.cuda_available(),
                                reason="numba.cuda cannot run here (no Numba, or no GPU and no simulator)")
if w2v_np.kernels.cuda_available():
    from w2v_np.kernels import gpu
    from w2v_np.gpu_step import CudaTrainer, DeviceExamples

V, D = 20, 8


def random_examples(seed=0, num_sentences=12, length=7, num_noise_words=2, max_window=2, resample="once"):
    """A few examples over a 20-word vocabulary: every batch repeats centers and words."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, V, size=num_sentences * length).astype(np.int32)
    offsets = np.arange(0, ids.shape[0] + 1, length, dtype=np.int64)
    counts = np.bincount(ids, minlength=V).astype(np.int64)
    return build_examples(ids, offsets, counts, max_window=max_window, num_noise_words=num_noise_words,
                          sample=0, rng=rng, sampler="numpy", resample=resample)


def model_of(seed=1):
    return SkipGram(V, D, rng=np.random.default_rng(seed), dtype=np.float32)


@pytest.mark.parametrize("kernel", ["atomic", "sorted"])
def test_scatter_add_equals_add_at(kernel):
    """Repeated ids accumulate; ids < 0 are ignored by the sorted form."""
    rng = np.random.default_rng(0)
    ids = rng.integers(0, V, size=50)
    ids[:6] = 3                                           # one row used many times
    values = rng.standard_normal((50, D)).astype(np.float32)
    out = rng.standard_normal((V, D)).astype(np.float32)
    expected = out.astype(np.float64)
    np.add.at(expected, ids, values)
    if kernel == "atomic":
        blocks, threads = gpu.launch_1d(values.size, 64)
        gpu.scatter_add_atomic[blocks, threads](out, ids, values)
    else:
        padded_ids = np.concatenate([ids, [-1, -1]])
        padded_values = np.concatenate([values, np.full((2, D), 1e6, np.float32)])
        gpu.scatter_add_sorted(out, padded_ids, padded_values, np)
    np.testing.assert_allclose(out, expected, rtol=2e-5, atol=2e-5)


def test_sorted_scatter_add_sums_in_input_order():
    """Each row's sum is taken in the order of the entries: the bits of a left-to-right float32 sum."""
    values = np.array([[1e8], [1.0], [-1e8], [1.0]], dtype=np.float32)
    out = np.zeros((2, 1), dtype=np.float32)
    gpu.scatter_add_sorted(out, np.array([1, 1, 1, 1]), values, np)
    left_to_right = np.float32(0)
    for x in values[:, 0]:
        left_to_right = np.float32(left_to_right + x)
    assert out[1, 0] == left_to_right == 1.0 and out[0, 0] == 0


def reference_step(model, examples, indices):
    batch = examples.batch(indices)
    losses, grads = model.loss_and_grads(batch.center, batch.context_negative, batch.mask, batch.label)
    return losses, {name: g.to_dense() if isinstance(g, RowSparse) else g for name, g in grads.items()}


def fused_grads(model, examples, indices, atomic):
    size = indices.shape[0]
    device = DeviceExamples(examples, np)
    grads = {name: np.zeros((V, D), np.float32) for name in ("center", "context")}
    touched = np.zeros((2, V), np.int32)
    losses = np.zeros(size)
    center_rows = np.empty((size, D), np.float32)
    slots = examples.max_row_length()
    entry_rows = np.empty((size * slots, D), np.float32)
    entry_ids = np.full(size * slots, -1, np.int64)
    gpu.skipgram_grads[size, 32](model.center, model.context, indices, device.centers, device.context_offsets,
                                 device.contexts, device.noise, device.num_noise_words, losses, touched,
                                 7, atomic, grads["center"], grads["context"], center_rows, entry_rows, entry_ids)
    if not atomic:
        gpu.scatter_add_sorted(grads["center"], examples.centers[indices], center_rows, np)
        gpu.scatter_add_sorted(grads["context"], entry_ids, entry_rows, np)
    return losses, grads, touched == 7


@pytest.mark.parametrize("atomic", [True, False])
def test_fused_step_equals_reference(atomic):
    """Losses, both tables' gradients and the touched rows equal SkipGram.loss_and_grads on the padded batch."""
    examples = random_examples()
    model = model_of()
    indices = np.ascontiguousarray(np.arange(len(examples))[::2][:10])
    losses, grads, touched = fused_grads(model, examples, indices, atomic)
    ref_losses, ref_grads = reference_step(model, examples, indices)
    np.testing.assert_allclose(losses, ref_losses, rtol=2e-5)
    for name in ("center", "context"):
        np.testing.assert_allclose(grads[name], ref_grads[name], rtol=2e-5, atol=1e-6)
        assert ((ref_grads[name] != 0).any(axis=1) <= touched[0 if name == "center" else 1].astype(bool)).all()
    batch = examples.batch(indices)
    assert set(np.flatnonzero(touched[0])) == set(batch.center.ravel())
    assert set(np.flatnonzero(touched[1])) == set(batch.context_negative[batch.mask > 0])


def test_fused_step_handles_rows_longer_than_a_tile():
    """An example with more positions than threads is scored tile by tile (here 3 tiles of 32)."""
    examples = random_examples(length=40, num_sentences=2, max_window=8, num_noise_words=5)
    model = model_of()
    indices = np.array([int(np.argmax(np.diff(examples.context_offsets)))])
    assert examples.max_row_length() > 64
    losses, grads, _ = fused_grads(model, examples, indices, True)
    ref_losses, ref_grads = reference_step(model, examples, indices)
    np.testing.assert_allclose(losses, ref_losses, rtol=2e-5)
    np.testing.assert_allclose(grads["context"], ref_grads["context"], rtol=2e-5, atol=1e-6)


def test_fused_step_is_stable_for_extreme_scores():
    """Scores of +-1000: finite losses equal to the reference's softplus, no NaN in the gradients."""
    examples = random_examples()
    model = model_of()
    model.center[...] = 30.0
    model.context[::2] = 30.0
    model.context[1::2] = -30.0
    indices = np.arange(6)
    losses, grads, _ = fused_grads(model, examples, indices, True)
    ref_losses, ref_grads = reference_step(model, examples, indices)
    assert np.isfinite(losses).all() and all(np.isfinite(g).all() for g in grads.values())
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
    np.testing.assert_allclose(grads["center"], ref_grads["center"], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("lazy", [False, True])
def test_adam_cuda_step_equals_reference(lazy):
    """Three cuda_steps (the kernel) equal three reference steps of Adam / LazyAdam, with the same
    step count, and the gradient is cleared."""
    rng = np.random.default_rng(0)
    param = rng.standard_normal((V, D)).astype(np.float32)
    optimizer = LazyAdam if lazy else Adam
    reference = optimizer({"w": param.copy()}, lr=0.01)
    kernel_opt = optimizer({"w": param.copy()}, lr=0.01)
    for step in range(3):
        grad = np.zeros((V, D), np.float32)
        rows = rng.choice(V, size=7, replace=False)
        grad[rows] = rng.standard_normal((7, D)).astype(np.float32)
        touched = np.zeros(V, np.int32)
        touched[rows] = step + 1
        if lazy:
            reference.step({"w": RowSparse(rows, grad[rows], V)})
        else:
            reference.step({"w": grad.copy()})
        kernel_opt.cuda_step({"params": kernel_opt.params, "grads": {"w": grad}, "touched": {"w": touched},
                              **kernel_opt.device_arrays(gpu.device_view)}, step + 1)
        assert not grad.any() and kernel_opt.step_count == reference.step_count == step + 1
    np.testing.assert_allclose(kernel_opt.params["w"], reference.params["w"], rtol=2e-7, atol=1e-7)
    np.testing.assert_allclose(kernel_opt.m["w"], reference.m["w"], rtol=2e-7, atol=1e-9)
    if lazy:
        untouched = np.ones(V, bool)
        untouched[np.flatnonzero(kernel_opt.m["w"].any(axis=1))] = False
        np.testing.assert_array_equal(kernel_opt.params["w"][untouched], param[untouched])


def test_sgd_kernel_moves_touched_rows_only():
    rng = np.random.default_rng(0)
    param = rng.standard_normal((V, D)).astype(np.float32)
    grad = rng.standard_normal((V, D)).astype(np.float32)
    touched = np.where(np.arange(V) % 3 == 0, 4, 3).astype(np.int32)   # this step is 4
    expected = param.copy()
    expected[touched == 4] -= np.float32(0.05) * grad[touched == 4]
    blocks, threads = gpu.launch_1d(param.size, 64)
    gpu.sgd_update[blocks, threads](param, grad, touched, 4, np.float32(0.05))
    np.testing.assert_array_equal(param, expected)
    assert not grad[touched == 4].any() and grad[touched == 3].all()


def trained(optimizer, engine, deterministic=False, epochs=1, batch_size=12, resample="once"):
    """Tables and losses after ``epochs`` epochs of the d2l trainer with ``engine``
    (a few batches: the simulator runs each GPU thread as a Python thread)."""
    examples = random_examples(num_sentences=6, resample=resample)
    model = model_of()
    opt = make_optimizer(optimizer, model.params, 0.02 if optimizer != "sgd" else 0.5, epochs * len(examples))
    plan = SimpleNamespace(batch_size=batch_size, reduction="sorted" if deterministic else "atomic")
    trainer = (CudaTrainer if engine == "cuda" else ReferenceTrainer)(plan, model, opt, examples)
    rng = np.random.default_rng(5)
    losses = [trainer.run_epoch({"shuffle": rng}, Progress(trainer.num_batches, "", enabled=False))["loss"]
              for _ in range(epochs)]
    return model, losses


@pytest.mark.parametrize("deterministic", [False, True])
@pytest.mark.parametrize("optimizer", ["adam", "lazy-adam", "sgd"])
def test_gpu_trainer_matches_numpy_engine(optimizer, deterministic):
    """Two epochs of the cuda engine give the NumPy engine's losses and tables (float32, 1e-4 relative)."""
    gpu_model, gpu_losses = trained(optimizer, "cuda", deterministic, epochs=2)
    ref_model, ref_losses = trained(optimizer, "numpy", epochs=2)
    assert gpu_losses[1] < gpu_losses[0]
    np.testing.assert_allclose(gpu_losses, ref_losses, rtol=1e-5)
    for name in ("center", "context"):
        np.testing.assert_allclose(gpu_model.params[name], ref_model.params[name], rtol=1e-4, atol=1e-6)


def test_gpu_trainer_with_batches_drawn_anew_matches_numpy_engine():
    """--resample epoch: each batch's own examples go to the device; the NumPy engine's result."""
    gpu_model, gpu_losses = trained("adam", "cuda", resample="epoch")
    ref_model, ref_losses = trained("adam", "numpy", resample="epoch")
    np.testing.assert_allclose(gpu_losses, ref_losses, rtol=1e-5)
    np.testing.assert_allclose(gpu_model.center, ref_model.center, rtol=1e-4, atol=1e-6)


def test_deterministic_gpu_trainer_repeats_bit_for_bit():
    first, _ = trained("adam", "cuda", deterministic=True)
    second, _ = trained("adam", "cuda", deterministic=True)
    for name in ("center", "context"):
        np.testing.assert_array_equal(first.params[name], second.params[name])


def fake_gpu(monkeypatch):
    """Make the plan see a GPU backend: any module other than numpy is one."""
    monkeypatch.setattr(w2v_np.plan, "get_backend", lambda name: np if name == "numpy" else SimpleNamespace())


def test_engine_numba_on_the_gpu_resolves_to_cuda(monkeypatch):
    fake_gpu(monkeypatch)
    for asked, engine in (("numba", "cuda"), ("auto", "cuda"), ("cuda", "cuda"), ("numpy", "numpy")):
        plan = make_plan(TrainConfig(backend="cupy", engine=asked))
        reduction = "atomic" if engine == "cuda" else "fixed"
        assert (plan.engine, plan.backend, plan.reduction) == (engine, "cupy", reduction)
    assert make_plan(TrainConfig(backend="cupy", deterministic=True)).reduction == "sorted"
    assert make_plan(TrainConfig(engine="numba")).engine == "numba"


def test_device_examples_hold_the_csr_arrays():
    examples = random_examples()
    device = DeviceExamples(examples, np)
    for name in ("centers", "context_offsets", "contexts", "noise"):
        np.testing.assert_array_equal(getattr(device, name), getattr(examples, name))


def test_fused_step_buffers_sized_for_the_batch():
    examples = random_examples()
    model = model_of()
    trainer = CudaTrainer(SimpleNamespace(batch_size=16, reduction="sorted"), model, Adam(model.params), examples)
    assert trainer.entry_ids.shape == (16 * examples.max_row_length(),)
    assert trainer.threads % 32 == 0 and trainer.threads <= gpu.TILE


@pytest.mark.parametrize("settings, message", [
    ({"engine": "numba", "dtype": "float64"}, "float32 tables, not float64"),
    ({"method": "word2vec"}, "--method word2vec has no engine for --backend cupy"),
])
def test_impossible_gpu_runs_are_refused(monkeypatch, settings, message):
    fake_gpu(monkeypatch)
    with pytest.raises(W2VError, match=message):
        train(TrainConfig(corpus="unused.txt", backend="cupy", **settings))


@pytest.mark.gpu
def test_cupy_backend_trains_with_the_gpu_kernels_like_the_numpy_engine(tmp_path):
    """train() on CuPy tables with the cuda engine: the NumPy engine's losses and vectors, tables on the GPU."""
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() == 0:
            pytest.skip("no GPU")
    except cupy.cuda.runtime.CUDARuntimeError:
        pytest.skip("no GPU")
    rng = np.random.default_rng(0)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(f"w{i}" for i in rng.zipf(1.5, size=12) % 40) for _ in range(300)))
    settings = dict(corpus=str(corpus), epochs=2, min_count=2, batch_size=64, dim=16, sample=1e-3, seed=3)
    on_gpu = train(TrainConfig(backend="cupy", engine="numba", **settings), quiet=True, probes=[])
    reference = train(TrainConfig(backend="numpy", engine="numpy", sampler="numba", **settings), quiet=True,
                      probes=[])
    assert isinstance(on_gpu.model.center, cupy.ndarray) and on_gpu.metrics["plan"]["engine"] == "cuda"
    np.testing.assert_allclose([e["loss"] for e in on_gpu.metrics["epochs"]],
                               [e["loss"] for e in reference.metrics["epochs"]], rtol=1e-5)
    for name in ("center", "context"):
        np.testing.assert_allclose(cupy.asnumpy(on_gpu.model.params[name]), reference.model.params[name],
                                   rtol=1e-4, atol=1e-6)
