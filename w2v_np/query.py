"""Using trained vectors: cosine neighbours, similarity, analogies, the odd one out.

The semantics follow gensim's ``KeyedVectors`` (``most_similar``, ``most_similar_cosmul``,
``similarity``, ``doesnt_match``); every computation runs on the module of the vectors
(NumPy or CuPy) and results come back as Python ``str`` and ``float``.
"""
from .backend import get_array_module, to_host
from .checkpoint import load_checkpoint
from .errors import UnknownWordError, W2VError
from .io import read_word2vec, write_word2vec

ANALOGY_METHODS = ("add", "mul")
# Levy & Goldberg's epsilon in 3CosMul's denominator; the value gensim's most_similar_cosmul uses.
COSMUL_EPSILON = 1e-6


def normalize_rows(x):
    """``x`` scaled to unit L2 length along its last axis; all-zero rows stay zero (no NaN).

    Inputs: x float ``(..., D)``.  Returns: float ``(..., D)``, same dtype and module.
    """
    xp = get_array_module(x)
    norms = xp.sqrt((x * x).sum(axis=-1, keepdims=True))
    return x / xp.where(norms > 0, norms, 1)


def check_analogy_method(method):
    """Raise W2VError unless ``method`` is one of :data:`ANALOGY_METHODS`."""
    if method not in ANALOGY_METHODS:
        raise W2VError(f"unknown analogy method {method!r}; choose one of {', '.join(ANALOGY_METHODS)}")


def analogy_scores(candidates, a, b, c, method="add"):
    """Scores of every candidate as the answer to "``a`` is to ``b`` as ``c`` is to ?".

    Inputs:
        candidates: unit rows ``(R, D)``; a, b, c: unit vectors ``(n, D)``, one row per question.
        method: ``"add"`` (3CosAdd, Mikolov et al. 2013): the cosine between each candidate and
            the normalised ``b + c - a``.  ``"mul"`` (3CosMul, Levy & Goldberg 2014, eq. 4):
            ``s(b) s(c) / (s(a) + 1e-6)`` with each cosine shifted to [0, 1] by ``s = (1 + cos) / 2``.
    Returns: float ``(n, R)`` scores, higher is better; the input words are not masked here.
    """
    check_analogy_method(method)
    if method == "add":
        return normalize_rows(b + c - a) @ candidates.T                     # (n, R)

    def shifted(x):
        return (1 + x @ candidates.T) / 2                                   # (n, R)
    return shifted(b) * shifted(c) / (shifted(a) + COSMUL_EPSILON)


# A .npz checkpoint is a zip archive; a word2vec file starts with digits, never with "PK".
ZIP_MAGIC = b"PK"


def _starts_with(path, magic):
    """Whether the file ``path`` begins with the bytes ``magic`` (False when it cannot be read)."""
    try:
        with open(path, "rb") as file:
            return file.read(len(magic)) == magic
    except OSError:
        return False


def _as_list(words):
    """A single word or 1-D vector as a one-item list; a sequence as a list; ``None`` as ``[]``."""
    if words is None:
        return []
    if isinstance(words, str) or getattr(words, "ndim", None) == 1:
        return [words]
    return list(words)


class Embeddings:
    """Tokens and their vectors, with cosine-similarity queries.

    Attributes:
        tokens: list of ``V`` distinct strings; vectors: float ``(V, D)`` (NumPy or CuPy).
        index: dict token -> row.  unit: the vectors scaled to unit length ``(V, D)``, same
            dtype and module; all-zero rows (e.g. an untrained ``<unk>``) stay zero, so their
            cosine with anything is 0 rather than NaN.
    """

    def __init__(self, tokens, vectors):
        self.tokens = list(tokens)
        self.index = {}
        for row, token in enumerate(self.tokens):
            first = self.index.setdefault(token, row)
            if first != row:
                raise W2VError(f"token {token!r} appears twice (rows {first} and {row})")
        if vectors.ndim != 2 or vectors.shape[0] != len(self.tokens):
            raise W2VError(f"vectors of shape {tuple(vectors.shape)} do not match {len(self.tokens)} tokens")
        self.vectors = vectors
        self.unit = normalize_rows(vectors)

    @classmethod
    def load(cls, path, *, binary=None, encoding="utf-8"):
        """Vectors from a word2vec text or binary file (``binary=None``: detected) or from the
        center table of a training checkpoint (``.npz``, recognised by its content)."""
        if _starts_with(path, ZIP_MAGIC):
            checkpoint = load_checkpoint(path)
            return cls(checkpoint.tokens, checkpoint.params["center"])
        return cls(*read_word2vec(path, binary=binary, encoding=encoding))

    def save(self, path, *, binary=False, encoding="utf-8"):
        """Write the vectors in word2vec text format, or binary with ``binary=True``, atomically."""
        write_word2vec(path, self.tokens, self.vectors, binary=binary, encoding=encoding)

    def __len__(self):
        return len(self.tokens)

    def __contains__(self, word):
        return word in self.index

    def _row(self, word):
        """Row of ``word``; ``KeyError`` naming the word when it is unknown."""
        if word not in self.index:
            raise UnknownWordError(word)
        return self.index[word]

    def vector(self, word):
        """The vector of ``word`` ``(D,)``; ``KeyError`` naming the word when it is unknown."""
        return self.vectors[self._row(word)]

    def num_candidates(self, restrict_vocab=None):
        """How many leading rows a query searches: all ``V``, or the first ``restrict_vocab``."""
        if restrict_vocab is None:
            return len(self.tokens)
        if restrict_vocab < 1:
            raise W2VError(f"restrict_vocab must be at least 1, got {restrict_vocab}")
        return min(restrict_vocab, len(self.tokens))

    def _top(self, scores, topn, exclude):
        """The ``topn`` best rows of ``scores`` ``(R,)`` outside ``exclude``, as ``[(token, score)]``.

        Equal scores in the answer come in row order (which of several rows tied at the
        cut-off make it in is unspecified).  ``scores`` is modified in place.
        """
        xp = get_array_module(scores)
        exclude = sorted({row for row in exclude if row < len(scores)})
        if exclude:
            scores[xp.asarray(exclude)] = -xp.inf
        topn = min(topn, len(scores) - len(exclude))
        if topn < 1:
            return []
        best = xp.sort(xp.argpartition(-scores, topn - 1)[:topn])
        best = best[xp.argsort(-scores[best], kind="stable")]
        return [(self.tokens[int(row)], float(score)) for row, score in zip(to_host(best), to_host(scores[best]))]

    def most_similar(self, positive, *, negative=(), topn=10, restrict_vocab=None):
        """Tokens nearest the mean direction of ``positive`` minus ``negative``, by cosine.

        As gensim's ``most_similar``: the query is the mean of the unit vectors of the
        positive words minus those of the negative words, normalised; it is compared by
        cosine with every row (or the first ``restrict_vocab`` rows) and the input words
        never appear in the answer.

        Inputs:
            positive, negative: a word, a 1-D vector ``(D,)`` (used as it is, not
                normalised, as gensim does), or a list of them.
            topn: how many to return; ``None`` returns the raw cosines instead.
            restrict_vocab: search only the first rows (frequent words when sorted by count).
        Returns:
            ``[(token, cosine), ...]`` best first, at most ``topn`` (fewer when the vocabulary
            is smaller); with ``topn=None`` the cosines as a float ``(R,)`` array of the
            vectors' module, input words included.
        Raises:
            KeyError (:class:`~w2v_np.errors.UnknownWordError`) naming an unknown word;
            W2VError when there is no word at all or the query vector is zero (the words
            cancel out, or all have zero vectors, like an untrained ``<unk>``).
        """
        xp = get_array_module(self.unit)
        positive, negative = _as_list(positive), _as_list(negative)
        words = positive + negative
        if not words:
            raise W2VError("most_similar needs at least one positive or negative word")
        terms = xp.stack([self.unit[self._row(w)] if isinstance(w, str) else xp.asarray(w, dtype=self.unit.dtype)
                          for w in words])                                  # (k, D)
        signs = xp.asarray([1] * len(positive) + [-1] * len(negative), dtype=self.unit.dtype)
        query = normalize_rows((signs[:, None] * terms).sum(axis=0))        # (D,)
        if not bool(xp.any(query)):
            raise W2VError("the query vector is zero: the words cancel out or have zero vectors")
        cosine = self.unit[:self.num_candidates(restrict_vocab)] @ query    # (R,)
        if topn is None:
            return cosine
        return self._top(cosine, topn, [self.index[w] for w in words if isinstance(w, str)])

    def similarity(self, a, b):
        """Cosine similarity of words ``a`` and ``b`` as a float (0 when either vector is zero)."""
        return float(to_host(self.unit[self._row(a)] @ self.unit[self._row(b)]))

    def analogy(self, a, b, c, *, method="add", topn=1, restrict_vocab=None):
        """Answers to "``a`` is to ``b`` as ``c`` is to ?", e.g. ``analogy("man", "king", "woman")``.

        ``method="add"`` (3CosAdd) ranks as ``most_similar(positive=[b, c], negative=[a])``;
        ``method="mul"`` (3CosMul) as gensim's ``most_similar_cosmul(positive=[b, c],
        negative=[a])``, see :func:`analogy_scores`.  ``a``, ``b`` and ``c`` never appear in
        the answer.  Both methods search the first ``restrict_vocab`` rows only (gensim's
        ``most_similar_cosmul`` ignores its ``restrict_vocab``).

        Returns: ``[(token, score), ...]`` best first (score: cosine for "add", the 3CosMul
        ratio for "mul"); with ``topn=None`` the float ``(R,)`` scores of every candidate.
        Raises: KeyError naming an unknown word; W2VError for an unknown method.
        """
        rows = [self._row(word) for word in (a, b, c)]
        unit_a, unit_b, unit_c = (self.unit[row][None, :] for row in rows)  # (1, D) each
        candidates = self.unit[:self.num_candidates(restrict_vocab)]
        scores = analogy_scores(candidates, unit_a, unit_b, unit_c, method)[0]  # (R,)
        if topn is None:
            return scores
        return self._top(scores, topn, rows)

    def doesnt_match(self, words):
        """The word of ``words`` least similar to the others, as gensim's ``doesnt_match``.

        The answer is the word whose unit vector has the lowest cosine with the normalised
        mean of all the unit vectors; on an exact tie the first such word wins.
        Raises: W2VError for fewer than two words; KeyError naming an unknown word
        (gensim drops unknown words with a warning instead).
        """
        xp = get_array_module(self.unit)
        words = _as_list(words)
        if len(words) < 2:
            raise W2VError(f"doesnt_match needs at least two words, got {len(words)}")
        vectors = self.unit[xp.asarray([self._row(word) for word in words])]  # (n, D)
        cosine = vectors @ normalize_rows(vectors.sum(axis=0))                # (n,)
        return words[int(to_host(xp.argmin(cosine)))]
