"""Using trained vectors: cosine neighbours, similarity, analogies, the odd one out.

The semantics follow gensim's ``KeyedVectors`` (``most_similar``, ``most_similar_cosmul``,
``similarity``, ``doesnt_match``); every computation runs on the module of the vectors
(NumPy or CuPy) and results come back as Python ``str`` and ``float``.
"""
import numbers
import os
import reprlib
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from .backend import get_array_module, to_host
from .checkpoint import load_checkpoint
from .errors import UnknownWordError, W2VError
from .io import read_word2vec, write_word2vec

PathArg = Union[str, os.PathLike]
Words = Union[str, Sequence[str]]
Scored = list[tuple[str, float]]
"""``[(token, score), ...]``, best first."""

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
    """A single word, 1-D vector or other non-iterable as a one-item list; a sequence as a
    list; ``None`` as ``[]``."""
    if words is None:
        return []
    if isinstance(words, str) or getattr(words, "ndim", None) == 1:
        return [words]
    try:
        return list(words)
    except TypeError:                       # e.g. a number: refused later, naming the argument
        return [words]


def _describe(value):
    """``value`` in a few words for an error message: its type, and its shape or a short repr."""
    if getattr(value, "ndim", 0):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {reprlib.repr(value)}"


def _positive_int_or_none(value, name):
    """``value`` as an ``int`` when it is a positive integer (a NumPy integer too, never a bool),
    ``None`` when it is ``None``; else W2VError naming the argument ``name``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise W2VError(f"{name} must be a positive integer or None, got {_describe(value)}")
    return int(value)


def _as_vectors(vectors, num_tokens):
    """``vectors`` as a float ``(num_tokens, D)`` array: a NumPy or CuPy float array as it is
    (an integer array is refused rather than copied), another array-like of numbers (nested
    lists) converted to NumPy, integers to float64; else W2VError naming ``vectors``."""
    xp = get_array_module(vectors)
    if not isinstance(vectors, xp.ndarray):
        try:
            vectors = np.asarray(vectors)
        except (TypeError, ValueError) as error:   # ragged rows
            raise W2VError(f"vectors cannot be read as a 2-D array of floats: {error}".splitlines()[0]) from None
        if vectors.dtype.kind in "iu":             # not asarray(dtype=float): that turns None into nan
            vectors = vectors.astype(np.float64)
    if vectors.dtype.kind != "f":
        raise W2VError(f"vectors must be a float array, got dtype {vectors.dtype} (convert with .astype)")
    if vectors.ndim != 2 or vectors.shape[0] != num_tokens:
        raise W2VError(f"vectors of shape {tuple(vectors.shape)} do not match {num_tokens} tokens: "
                       f"expected ({num_tokens}, D)")
    return vectors


class Embeddings:
    """Tokens and their vectors, with cosine-similarity queries.

    Inputs:
        tokens: a sequence (list, tuple, array) of ``V`` distinct ``str``.
        vectors: float ``(V, D)``, row ``i`` the vector of ``tokens[i]``: a NumPy or CuPy float
            array, kept as it is (dtype and module), or another array-like of numbers such as
            nested lists, converted to a float64 NumPy array.
    Raises: W2VError naming ``tokens`` or ``vectors`` when a token is not a ``str`` or appears
        twice, or when the vectors are not a float array of one row per token.

    Attributes:
        tokens: list of ``V`` distinct strings; vectors: float ``(V, D)`` (NumPy or CuPy).
        index: dict token -> row.  unit: the vectors scaled to unit length ``(V, D)``, same
            dtype and module; all-zero rows (e.g. an untrained ``<unk>``) stay zero, so their
            cosine with anything is 0 rather than NaN.
        idx_to_token, token_to_idx: :class:`~w2v_np.vocab.Vocab`'s names (gensim's
            ``index_to_key`` and ``key_to_index``) for ``tokens`` and ``index``, read-only.

    As gensim's ``KeyedVectors``: ``embeddings["word"]`` is a vector, ``embeddings[["a", "b"]]``
    a ``(2, D)`` array, ``"word" in embeddings`` and ``len(embeddings)`` work.  An
    ``Embeddings`` is not iterable (words, vectors or pairs would all be guesses): iterate
    over ``idx_to_token`` for the words.
    """

    def __init__(self, tokens: Iterable[str], vectors: Any) -> None:
        if isinstance(tokens, str) or not hasattr(tokens, "__iter__"):
            raise W2VError(f"tokens must be a sequence of str, got {_describe(tokens)}")
        self.tokens = list(tokens)
        self.index = {}
        for row, token in enumerate(self.tokens):
            if not isinstance(token, str):
                raise W2VError(f"tokens: expected str, got {_describe(token)} in row {row}")
            first = self.index.setdefault(token, row)
            if first != row:
                raise W2VError(f"tokens: token {token!r} appears twice (rows {first} and {row})")
        self.vectors = _as_vectors(vectors, len(self.tokens))
        self.unit = normalize_rows(self.vectors)

    @classmethod
    def load(cls, path: PathArg, *, binary: Optional[bool] = None, encoding: str = "utf-8") -> "Embeddings":
        """Vectors from a word2vec text or binary file (``binary=None``: detected) or from the
        center table of a training checkpoint (``.npz``, recognised by its content)."""
        if _starts_with(path, ZIP_MAGIC):
            checkpoint = load_checkpoint(path)
            return cls(checkpoint.tokens, checkpoint.params["center"])
        return cls(*read_word2vec(path, binary=binary, encoding=encoding))

    def save(self, path: PathArg, *, binary: bool = False, encoding: str = "utf-8") -> None:
        """Write the vectors in word2vec text format, or binary with ``binary=True``, atomically."""
        write_word2vec(path, self.tokens, self.vectors, binary=binary, encoding=encoding)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word in self.index

    def __getitem__(self, words: Words) -> Any:
        """The vector of a word ``(D,)`` (a view, as :meth:`vector`), or of each word of a list or
        tuple ``(n, D)`` (a copy), on the vectors' module and dtype.

        Raises: KeyError (:class:`~w2v_np.errors.UnknownWordError`, also a W2VError) naming an
        unknown word; W2VError for a key that is neither a word nor a list or tuple of words.
        """
        if isinstance(words, (list, tuple)):
            xp = get_array_module(self.vectors)
            return self.vectors[xp.asarray([self._row(word, "words") for word in words], dtype=xp.int64)]
        if not isinstance(words, str):
            raise W2VError(f"Embeddings[...]: expected a word (str) or a list or tuple of words, "
                           f"got {_describe(words)}")
        return self.vector(words)

    # Not iterable: without this, Python would iterate by calling __getitem__(0), (1), ...
    __iter__ = None

    @property
    def idx_to_token(self) -> list[str]:
        """The tokens, row order: the ``tokens`` list itself (gensim's ``index_to_key``); do not modify it."""
        return self.tokens

    @property
    def token_to_idx(self) -> Mapping[str, int]:
        """Token -> row, a read-only live view of ``index`` (gensim's ``key_to_index``)."""
        return types.MappingProxyType(self.index)

    def _row(self, word, name="word"):
        """Row of ``word``: W2VError naming the argument ``name`` when ``word`` is not a ``str``,
        :class:`~w2v_np.errors.UnknownWordError` (a ``KeyError`` and a W2VError) naming the
        word when it is unknown."""
        if not isinstance(word, str):
            raise W2VError(f"{name}: expected a word (str), got {_describe(word)}")
        if word not in self.index:
            raise UnknownWordError(word)
        return self.index[word]

    def _query_term(self, term, name):
        """One term of a ``most_similar`` query ``(D,)``: the unit vector of the word ``term``, or
        the vector ``term`` as it is; W2VError naming the argument ``name`` otherwise."""
        if isinstance(term, str):
            return self.unit[self._row(term, name)]
        xp, dim = get_array_module(self.unit), self.vectors.shape[1]
        try:
            vector = xp.asarray(term)
        except (TypeError, ValueError):     # ragged sequences, arrays of another module
            vector = None
        if vector is None or vector.ndim != 1 or vector.dtype.kind not in "fiu":
            raise W2VError(f"{name}: expected words (str) or vectors of shape ({dim},), got {_describe(term)}")
        if vector.shape[0] != dim:
            raise W2VError(f"{name}: a query vector must have {dim} components (the vectors' dimension), "
                           f"got {vector.shape[0]}")
        if not bool(xp.isfinite(vector).all()):
            raise W2VError(f"{name}: a query vector holds nan or inf")
        return vector.astype(self.unit.dtype, copy=False)

    def vector(self, word: str) -> Any:
        """The vector of ``word`` ``(D,)``; ``KeyError`` naming the word when it is unknown."""
        return self.vectors[self._row(word)]

    def num_candidates(self, restrict_vocab: Optional[int] = None) -> int:
        """How many leading rows a query searches: all ``V``, or the first ``restrict_vocab``
        (a positive integer or None, else W2VError naming ``restrict_vocab``)."""
        restrict_vocab = _positive_int_or_none(restrict_vocab, "restrict_vocab")
        if restrict_vocab is None:
            return len(self.tokens)
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

    def most_similar(self, positive: Words, *, negative: Words = (), topn: Optional[int] = 10,
                     restrict_vocab: Optional[int] = None) -> Scored:
        """Tokens nearest the mean direction of ``positive`` minus ``negative``, by cosine.

        As gensim's ``most_similar``: the query is the mean of the unit vectors of the
        positive words minus those of the negative words, normalised; it is compared by
        cosine with every row (or the first ``restrict_vocab`` rows) and the input words
        never appear in the answer.

        Inputs:
            positive, negative: a word (``str``), a vector of ``D`` finite numbers (a 1-D
                NumPy or CuPy array, used as it is, not normalised, as gensim does), or a list
                of them; a vector inside a list may also be a list or tuple of numbers.
            topn: how many to return, a positive integer (a NumPy integer too); ``None``
                returns the raw cosines instead.
            restrict_vocab: a positive integer: search only the first rows (frequent words
                when sorted by count); ``None``: all rows.
        Returns:
            ``[(token, cosine), ...]`` best first, at most ``topn`` (fewer when the vocabulary
            is smaller); with ``topn=None`` the cosines as a float ``(R,)`` array of the
            vectors' module, input words included.
        Raises:
            KeyError (:class:`~w2v_np.errors.UnknownWordError`) naming an unknown word;
            W2VError naming the argument for anything else: no word at all, a term that is
            neither a word nor a 1-D vector, a vector of the wrong length or holding nan or
            inf, a ``topn`` or ``restrict_vocab`` that is not a positive integer, or a zero
            query vector (the words cancel out, or all have zero vectors, like an untrained
            ``<unk>``).
        """
        xp = get_array_module(self.unit)
        topn = _positive_int_or_none(topn, "topn")
        positive, negative = _as_list(positive), _as_list(negative)
        words = positive + negative
        if not words:
            raise W2VError("most_similar needs at least one positive or negative word")
        terms = xp.stack([self._query_term(term, "positive") for term in positive]
                         + [self._query_term(term, "negative") for term in negative])  # (k, D)
        signs = xp.asarray([1] * len(positive) + [-1] * len(negative), dtype=self.unit.dtype)
        query = normalize_rows((signs[:, None] * terms).sum(axis=0))        # (D,)
        if not bool(xp.any(query)):
            raise W2VError("the query vector is zero: the words cancel out or have zero vectors")
        cosine = self.unit[:self.num_candidates(restrict_vocab)] @ query    # (R,)
        if topn is None:
            return cosine
        return self._top(cosine, topn, [self.index[w] for w in words if isinstance(w, str)])

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of the words (``str``) ``a`` and ``b`` as a float (0 when either
        vector is zero).  Raises: KeyError naming an unknown word; W2VError naming ``a`` or
        ``b`` when it is not a ``str``."""
        return float(to_host(self.unit[self._row(a, "a")] @ self.unit[self._row(b, "b")]))

    def analogy(self, a: str, b: str, c: str, *, method: str = "add", topn: Optional[int] = 1,
                restrict_vocab: Optional[int] = None) -> Scored:
        """Answers to "``a`` is to ``b`` as ``c`` is to ?", e.g. ``analogy("man", "king", "woman")``.

        ``method="add"`` (3CosAdd) ranks as ``most_similar(positive=[b, c], negative=[a])``;
        ``method="mul"`` (3CosMul) as gensim's ``most_similar_cosmul(positive=[b, c],
        negative=[a])``, see :func:`analogy_scores`.  ``a``, ``b`` and ``c`` never appear in
        the answer.  Both methods search the first ``restrict_vocab`` rows only (gensim's
        ``most_similar_cosmul`` ignores its ``restrict_vocab``).

        Inputs: ``a``, ``b``, ``c`` words (``str``); ``topn`` and ``restrict_vocab`` positive
        integers or ``None``, as for :meth:`most_similar`.
        Returns: ``[(token, score), ...]`` best first (score: cosine for "add", the 3CosMul
        ratio for "mul"); with ``topn=None`` the float ``(R,)`` scores of every candidate.
        Raises: KeyError naming an unknown word; W2VError naming the argument for an unknown
        method, a word that is not a ``str``, or a ``topn`` or ``restrict_vocab`` that is not a
        positive integer.
        """
        topn = _positive_int_or_none(topn, "topn")
        rows = [self._row(word, name) for word, name in ((a, "a"), (b, "b"), (c, "c"))]
        unit_a, unit_b, unit_c = (self.unit[row][None, :] for row in rows)  # (1, D) each
        candidates = self.unit[:self.num_candidates(restrict_vocab)]
        scores = analogy_scores(candidates, unit_a, unit_b, unit_c, method)[0]  # (R,)
        if topn is None:
            return scores
        return self._top(scores, topn, rows)

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word of ``words`` least similar to the others, as gensim's ``doesnt_match``.

        The answer is the word whose unit vector has the lowest cosine with the normalised
        mean of all the unit vectors; on an exact tie the first such word wins.
        Inputs: ``words`` a sequence of words (``str``).
        Raises: W2VError for fewer than two words or one that is not a ``str``; KeyError
        naming an unknown word (gensim drops unknown words with a warning instead).
        """
        xp = get_array_module(self.unit)
        words = _as_list(words)
        if len(words) < 2:
            raise W2VError(f"doesnt_match needs at least two words, got {len(words)}")
        vectors = self.unit[xp.asarray([self._row(word, "words") for word in words])]  # (n, D)
        cosine = vectors @ normalize_rows(vectors.sum(axis=0))                # (n,)
        return words[int(to_host(xp.argmin(cosine)))]
