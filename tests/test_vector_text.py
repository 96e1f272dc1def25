"""The Numba kernel that writes word2vec text rows (kernels/vector_text.py) against Python's ``%.9g``."""
import numpy as np
import pytest

pytest.importorskip("numba")

from w2v_np import io  # noqa: E402
from w2v_np.io import read_word2vec, write_word2vec  # noqa: E402


def written(path, tokens, vectors, monkeypatch, kernel, block_bytes=io.TEXT_BLOCK_BYTES):
    """The bytes of ``write_word2vec``'s text file, with the kernel forced on or off."""
    threshold = 0 if kernel else 10**18
    monkeypatch.setattr(io, "TEXT_KERNEL_MIN_VALUES", threshold)
    monkeypatch.setattr(io, "TEXT_KERNEL_COLD_MIN_VALUES", threshold)
    monkeypatch.setattr(io, "TEXT_BLOCK_BYTES", block_bytes)
    write_word2vec(path, tokens, vectors)
    return path.read_bytes()


def edge_values():
    """Values at the kernel's seams: zeros, its range's ends, powers of ten and their
    neighbours, values that round up to the next power of ten, exact ties at nine digits."""
    f32 = np.float32
    values = [0.0, -0.0, 1e-4, 1e9, 123456789.0, 999999999.0, 0.1, 0.5, 1.0, 2.0, 10.0]
    for power in range(-5, 10):
        p = f32(10.0 ** power)
        values += [p, np.nextafter(p, f32(0)), np.nextafter(p, f32(np.inf))]
    values += [np.nextafter(f32(1e-4), f32(0)), np.nextafter(f32(1e9), f32(0))]
    values += [j * 2.0 ** -13 for j in range(1, 4000, 2)]        # 0.0001220703125 ...: ties at 9 digits
    values += [1e-5, 1e-30, 1.4e-45, 3.4e38, 5e9]                 # outside: rows left to Python
    values = np.array(values, dtype=np.float32)
    return np.concatenate([values, -values])


def test_the_kernel_writes_pythons_bytes_for_edge_values(tmp_path, monkeypatch):
    values = edge_values()
    values = np.pad(values, (0, -values.size % 7)).reshape(-1, 7)
    tokens = [f"w{i}" for i in range(values.shape[0])]
    fast = written(tmp_path / "fast.txt", tokens, values, monkeypatch, kernel=True)
    slow = written(tmp_path / "slow.txt", tokens, values, monkeypatch, kernel=False)
    assert fast == slow
    assert b" 0.000122070312 " in fast and b" -0 " in fast         # a tie to even; a negative zero


@pytest.mark.parametrize("seed", [0, 1])
def test_the_kernel_writes_pythons_bytes_for_any_float32(tmp_path, monkeypatch, seed):
    """Random bit patterns: every finite float32, in the kernel's range and out of it, in
    several blocks of rows."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2**32, size=60_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    values = values[np.isfinite(values)]
    scaled = rng.normal(size=40_000).astype(np.float32) * np.float32(0.3)
    values = np.concatenate([values, scaled])
    values = values[:values.size - values.size % 50].reshape(-1, 50)
    tokens = [f"t{i}\u00e9" for i in range(values.shape[0])]
    fast = written(tmp_path / "fast.txt", tokens, values, monkeypatch, kernel=True, block_bytes=20_000)
    slow = written(tmp_path / "slow.txt", tokens, values, monkeypatch, kernel=False)
    assert fast == slow
    read_tokens, read_values = read_word2vec(tmp_path / "fast.txt")
    assert read_tokens == tokens
    np.testing.assert_array_equal(read_values, values)


def test_the_kernel_is_used_only_when_it_pays(monkeypatch):
    monkeypatch.setattr(io, "TEXT_KERNEL_MIN_VALUES", 100)
    monkeypatch.setattr(io, "TEXT_KERNEL_COLD_MIN_VALUES", 1000)
    assert io._text_kernel_pays(1000) and not io._text_kernel_pays(99)
    import numba  # noqa: F401  (loaded: the lower threshold applies)
    assert io._text_kernel_pays(100)
