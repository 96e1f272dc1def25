"""The NumPy/CuPy switch: names, clear errors without CuPy or a GPU, and GPU parity."""
import subprocess
import sys
import types

import numpy as np
import pytest

from w2v_np import W2VError, get_array_module, get_backend
from w2v_np.backend import to_device, to_host


def test_numpy_by_name_and_from_arrays():
    assert get_backend("numpy") is np
    assert get_array_module(np.zeros(3), np.ones(2)) is np
    assert to_host(to_device(np.arange(3), np)).tolist() == [0, 1, 2]


def test_unknown_backend_name():
    with pytest.raises(W2VError, match="unknown backend 'jax'"):
        get_backend("jax")


def test_cupy_missing(monkeypatch):
    """Without CuPy, 'cupy' is a one-line error saying so and 'auto' falls back to NumPy."""
    monkeypatch.setitem(sys.modules, "cupy", None)   # makes `import cupy` raise ImportError
    with pytest.raises(W2VError, match="CuPy is not installed") as error:
        get_backend("cupy")
    assert "\n" not in str(error.value)
    assert get_backend("auto") is np


def test_cupy_without_gpu(monkeypatch):
    """CuPy installed but no usable GPU: 'cupy' names the driver's complaint on one line."""
    def no_device():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected\nmore detail")
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_device)))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(W2VError, match="no usable GPU") as error:
        get_backend("cupy")
    assert "\n" not in str(error.value)
    assert get_backend("auto") is np


def test_cli_backend_cupy_without_cupy(tmp_path):
    """`w2v-np train --backend cupy` without CuPy exits 2 with one error line, no traceback."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c d\n" * 50)
    script = ("import sys; sys.modules['cupy'] = None; from w2v_np.cli import main; "
              f"sys.exit(main(['train', '--corpus', {str(corpus)!r}, '--min-count', '1', '--backend', 'cupy']))")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["w2v-np: error: backend 'cupy' is not available: "
                                                "CuPy is not installed (pip install 'w2v-np[gpu]')"]


def _cupy_with_gpu():
    try:
        return get_backend("cupy")
    except W2VError as error:
        pytest.skip(str(error))


@pytest.mark.gpu
def test_training_step_on_gpu_matches_numpy():
    """One loss_and_grads + Adam step on CuPy equals NumPy's within float32 tolerance."""
    from w2v_np.model import SkipGram
    from w2v_np.optim import Adam
    cupy = _cupy_with_gpu()
    rng = np.random.default_rng(0)
    center = rng.integers(1, 50, (16, 1))
    context_negative = rng.integers(1, 50, (16, 12))
    mask = (np.arange(12) < rng.integers(1, 13, (16, 1))).astype(np.float32)
    label = mask * (np.arange(12) < 2)
    results = []
    for xp in (np, cupy):
        model = SkipGram(50, 8, rng=np.random.default_rng(1), xp=xp)
        optimizer = Adam(model.params)
        batch = [to_device(a, xp) for a in (center, context_negative, mask, label)]
        losses, grads = model.loss_and_grads(*batch)
        optimizer.step(grads)
        results.append((to_host(losses), to_host(model.center), to_host(model.context)))
    for cpu, gpu in zip(*results):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-6)


def test_kernels_installed_as_subpackage():
    """`kernels/` is installed as `w2v_np.kernels` (package_dir), never as a top-level module."""
    import importlib.util

    import w2v_np.kernels
    assert w2v_np.kernels.__name__ == "w2v_np.kernels"
    assert w2v_np.kernels.numba_available() == (importlib.util.find_spec("numba") is not None)
    assert importlib.util.find_spec("kernels") is None
