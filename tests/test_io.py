"""Atomic writes and the word2vec text format."""
import os

import numpy as np
import pytest

from w2v_np import W2VError
from w2v_np.io import atomic_write, read_word2vec_text, write_word2vec_text


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    """An exception inside the block leaves the previous file intact and no temporary file."""
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as out:
            out.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_write_respects_umask(tmp_path):
    """Files get 0o666 less the umask, like a plain open(), not mkstemp's 0o600."""
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "f.txt") as out:
            out.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644


def test_text_round_trip(tmp_path):
    """Vectors written in text format read back within the 6 significant digits written."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((5, 3)).astype(np.float32)
    tokens = ["<unk>", "a", "b", "ç", "d"]
    write_word2vec_text(tmp_path / "v.txt", tokens, vectors)
    first = (tmp_path / "v.txt").read_text(encoding="utf-8").splitlines()[0]
    assert first == "5 3"
    read_tokens, read_vectors = read_word2vec_text(tmp_path / "v.txt")
    assert read_tokens == tokens
    np.testing.assert_allclose(read_vectors, vectors, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("content, problem", [
    ("x y\na 1\n", "bad header"),
    ("2 2\na 1 2\n", "promises 2 vectors"),
    ("1 2\na 1\n", "expected a token and 2 values"),
    ("1 2\na 1 zz\n", "non-numeric"),
])
def test_malformed_text_files(tmp_path, content, problem):
    """Malformed files raise W2VError naming the problem."""
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(W2VError, match=problem):
        read_word2vec_text(path)


def test_missing_vectors_file(tmp_path):
    with pytest.raises(W2VError, match="not found"):
        read_word2vec_text(tmp_path / "nope.txt")
