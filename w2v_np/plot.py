"""Pictures: the loss curve, always, and a 2-D PCA map of words, with matplotlib when it is installed.

The loss curve is drawn by :mod:`w2v_np.chart` and written by :mod:`w2v_np.png`, so every run
can leave one without matplotlib, and without paying its import.  The word map, whose labels
are any token, is drawn with matplotlib's object API on an Agg canvas, never through
``pyplot``, so plotting changes no global backend or state of the caller's session.
"""
import numpy as np

from .backend import to_host
from .chart import line_chart
from .errors import W2VError
from .io import atomic_write
from .png import encode_png

MISSING = "plotting needs matplotlib (pip install 'w2v-np[plot]')"


def _figure(size):
    """A matplotlib Figure on an Agg canvas, or None without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=size)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path, dpi):
    with atomic_write(path, "wb") as out:
        figure.savefig(out, format="png", dpi=dpi)


def plot_loss(epochs, path):
    """Draw the mean loss per epoch to the PNG ``path`` (500 x 350 pixels).

    Args: epochs, a non-empty list of dicts with ``"epoch"`` and a finite ``"loss"``
    (``metrics["epochs"]``).
    """
    pixels = line_chart([e["epoch"] for e in epochs], [e["loss"] for e in epochs], xlabel="epoch",
                        ylabel="mean loss")
    with atomic_write(path, "wb") as out:
        out.write(encode_png(pixels))


def pca_2d(points):
    """Project ``points`` (float ``(n, D)``, n >= 2) on their first two principal axes.

    Returns float64 ``(n, 2)``.  The sign of each axis is fixed (its largest loading is
    positive) so the same vectors always give the same picture.
    """
    points = np.asarray(points, dtype=np.float64)
    centred = points - points.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)    # rows: principal axes
    axes = axes[:2]
    signs = np.sign(axes[np.arange(axes.shape[0]), np.abs(axes).argmax(axis=1)])
    projected = centred @ (axes * signs[:, None]).T                # (n, <=2)
    if projected.shape[1] < 2:                                     # a single point after centring
        projected = np.pad(projected, ((0, 0), (0, 2 - projected.shape[1])))
    return projected


def neighbourhoods(embeddings, words, topn):
    """Each word of ``words`` followed by its ``topn`` nearest tokens, no token twice.

    Returns ``(tokens, groups)``: the tokens to draw and, for each, the index of the word
    of ``words`` it belongs to.  Unknown words raise ``KeyError`` naming them.
    """
    tokens, groups = [], []
    for group, word in enumerate(words):
        for token in [word] + [token for token, _ in embeddings.most_similar(word, topn=topn)]:
            if token not in tokens:
                tokens.append(token)
                groups.append(group)
    return tokens, groups


def plot_words(embeddings, words, path, topn=5):
    """Draw a 2-D PCA map of ``words`` and their ``topn`` neighbours to the PNG ``path``.

    The map is the PCA of the chosen tokens' unit vectors, so distances on it reflect
    cosine similarity.  Each word and its neighbours share a colour; the words themselves
    are drawn larger.  Raises :class:`W2VError` without matplotlib and ``KeyError`` for an
    unknown word, before anything is written.
    """
    if not words:
        raise W2VError("name at least one word to plot")
    tokens, groups = neighbourhoods(embeddings, words, topn)
    figure = _figure((7, 6))
    if figure is None:
        raise W2VError(MISSING)
    unit = to_host(embeddings.unit[[embeddings.index[token] for token in tokens]])
    xy = pca_2d(unit) if len(tokens) > 1 else np.zeros((1, 2))
    axes = figure.add_subplot()
    colours = [f"C{group % 10}" for group in groups]
    is_query = np.array([token in words for token in tokens])
    axes.scatter(xy[~is_query, 0], xy[~is_query, 1], c=[c for c, q in zip(colours, is_query) if not q], s=18)
    axes.scatter(xy[is_query, 0], xy[is_query, 1], c=[c for c, q in zip(colours, is_query) if q], s=60,
                 marker="D")
    for (x, y), token, query in zip(xy, tokens, is_query):
        axes.annotate(token, (x, y), xytext=(3, 3), textcoords="offset points",
                      fontsize=10 if query else 8, fontweight="bold" if query else "normal")
    axes.set_xlabel("principal axis 1")
    axes.set_ylabel("principal axis 2")
    axes.set_title(f"{', '.join(words)} and {topn} nearest tokens each (PCA of unit vectors)", fontsize=9)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    _save(figure, path, dpi=120)
    return tokens
