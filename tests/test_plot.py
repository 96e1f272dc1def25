"""Plots: the PCA projection, the word map and the loss curve, with and without matplotlib."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from w2v_np import Embeddings, W2VError
from w2v_np.plot import neighbourhoods, pca_2d, plot_loss, plot_words

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_pca_matches_the_covariance_eigenvectors():
    """The two coordinates are the projections on the covariance's top two eigenvectors (up to
    sign, fixed by the rule), uncorrelated, with variances equal to the top two eigenvalues."""
    rng = np.random.default_rng(0)
    points = rng.standard_normal((200, 6)) * np.array([5.0, 3.0, 1.0, 0.5, 0.2, 0.1])
    points = points @ np.linalg.qr(rng.standard_normal((6, 6)))[0] + 7.0
    xy = pca_2d(points)
    centred = points - points.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / (len(points) - 1))
    for axis in range(2):
        expected = centred @ eigenvectors[:, -1 - axis]
        assert np.allclose(np.abs(xy[:, axis]), np.abs(expected), atol=1e-9)
        assert np.isclose(xy[:, axis].var(ddof=1), eigenvalues[-1 - axis], rtol=1e-9)
    assert abs(np.corrcoef(xy.T)[0, 1]) < 1e-9


def test_pca_sign_is_fixed_and_degenerate_inputs_work():
    """Reordering the points reorders the picture without mirroring it (the signs are fixed by
    the largest loading, not by the SVD's arbitrary choice), and two points or collinear
    points give finite coordinates."""
    rng = np.random.default_rng(1)
    points = rng.standard_normal((30, 4))
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(30)
        assert np.allclose(pca_2d(points[order]), pca_2d(points)[order], atol=1e-12)
    two = pca_2d(np.array([[0.0, 0, 1], [1.0, 0, 1]]))
    assert two.shape == (2, 2) and np.allclose(two[:, 1], 0) and np.isclose(abs(two[0, 0] - two[1, 0]), 1)
    line = pca_2d(np.outer(np.arange(5.0), [1.0, 2.0, 2.0]))
    assert np.all(np.isfinite(line)) and np.allclose(line[:, 1], 0, atol=1e-12)


@pytest.fixture
def embeddings():
    """Three tight clusters of 4 tokens around orthogonal directions in 5 dimensions."""
    rng = np.random.default_rng(2)
    tokens, rows = [], []
    for cluster, name in enumerate("abc"):
        for i in range(4):
            direction = np.eye(5)[cluster]
            tokens.append(f"{name}{i}")
            rows.append(direction + 0.05 * rng.standard_normal(5))
    return Embeddings(tokens, np.array(rows, dtype=np.float32))


def test_neighbourhoods_are_the_clusters(embeddings):
    """With 3 neighbours each, a0's and b0's groups are exactly their own clusters."""
    tokens, groups = neighbourhoods(embeddings, ["a0", "b0"], topn=3)
    assert tokens[0] == "a0" and tokens[4] == "b0"
    assert sorted(tokens[:4]) == ["a0", "a1", "a2", "a3"] and sorted(tokens[4:]) == ["b0", "b1", "b2", "b3"]
    assert groups == [0] * 4 + [1] * 4


def test_plot_words_writes_a_png(embeddings, tmp_path):
    pytest.importorskip("matplotlib")
    drawn = plot_words(embeddings, ["a0", "c1"], tmp_path / "map.png", topn=2)
    assert len(drawn) == 6 and {"a0", "c1"} <= set(drawn)
    data = (tmp_path / "map.png").read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000


def test_plot_words_unknown_word_writes_nothing(embeddings, tmp_path):
    with pytest.raises(KeyError, match="'zebra'"):
        plot_words(embeddings, ["a0", "zebra"], tmp_path / "map.png")
    with pytest.raises(W2VError, match="at least one word"):
        plot_words(embeddings, [], tmp_path / "map.png")
    assert not any(tmp_path.iterdir())


def test_plot_loss_writes_a_png(tmp_path):
    plot_loss([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.4}], tmp_path / "loss.png")
    assert (tmp_path / "loss.png").read_bytes().startswith(PNG_MAGIC)
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]


def test_without_matplotlib(tmp_path):
    """With matplotlib blocked: plot_loss still draws loss.png, plot_words raises the one-line
    error naming the extra to install."""
    script = textwrap.dedent(f"""
        import sys
        sys.modules["matplotlib"] = None
        import numpy as np
        from w2v_np import Embeddings, W2VError
        from w2v_np.plot import plot_loss, plot_words
        plot_loss([{{"epoch": 1, "loss": 0.5}}], {str(tmp_path / "loss.png")!r})
        assert "matplotlib" not in sys.modules or sys.modules["matplotlib"] is None
        try:
            plot_words(Embeddings(["a", "b"], np.eye(2, dtype=np.float32)), ["a"], {str(tmp_path / "m.png")!r})
        except W2VError as exc:
            print(exc)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "plotting needs matplotlib (pip install 'w2v-np[plot]')"
    assert (tmp_path / "loss.png").read_bytes().startswith(PNG_MAGIC) and not (tmp_path / "m.png").exists()
