"""Intrinsic evaluation: word-pair similarity (WordSim-353) and word analogies (Google's set).

Both mirror gensim's ``KeyedVectors.evaluate_word_pairs`` and ``evaluate_word_analogies``
(same vocabulary restriction, case folding, OOV accounting), but score analogies in
vectorised chunks instead of one ``most_similar`` call per question.  Known differences:

- Analogies: the answer is the best candidate that is neither an input word nor, with
  case folding, a case variant of one.  gensim looks only at its 5 best candidates after
  excluding the inputs' rows, and counts the question wrong if all 5 are case variants
  of the inputs; the two agree except in that corner.
- Analogies: a line that is not 4 words, or a question before any ``: section`` line,
  raises :class:`W2VError` (gensim skips the first, raises ValueError for the second);
  blank lines are skipped; a section line is any line starting with ``:``.
- Pairs: the words are stripped of surrounding whitespace; blank lines are skipped without
  counting them as invalid.
- An all-zero vector has cosine 0 with everything (gensim divides by its zero norm: NaN).
"""
import math
import os
from dataclasses import asdict, dataclass
from typing import Optional, Union

import numpy as np

from .backend import get_array_module, to_host
from .errors import W2VError
from .query import Embeddings, analogy_scores, check_analogy_method

# Entries of one chunk's (questions, candidates) score matrix when batch_size is not given:
# 64 MiB of float32, so 300k candidates still fit a GPU comfortably.
SCORE_CHUNK_ENTRIES = 2 ** 24


def rankdata_average(x):
    """Ranks 1..n of ``x`` where ties share the mean of their ranks (scipy's ``rankdata``).

    Inputs: x array-like ``(n,)`` of finite numbers.  Returns: float64 ``(n,)``.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    starts_group = np.r_[True, ordered[1:] != ordered[:-1]]              # (n,)
    starts = np.flatnonzero(starts_group)
    ends = np.r_[starts[1:], len(x)]
    # Sorted positions start..end-1 hold ranks start+1..end; their mean is (start + 1 + end) / 2.
    mean_rank = (starts + 1 + ends) / 2.0
    ranks = np.empty(len(x))
    ranks[order] = mean_rank[np.cumsum(starts_group) - 1]
    return ranks


def pearson(x, y):
    """Pearson correlation of two equally long 1-D samples, float64; NaN when either is constant."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if len(x) != len(y):
        raise W2VError(f"correlation needs samples of equal length, got {len(x)} and {len(y)}")
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else float("nan")


def spearman(x, y):
    """Spearman rank correlation, float: the Pearson correlation of average ranks."""
    return pearson(rankdata_average(x), rankdata_average(y))


@dataclass(frozen=True)
class PairsResult:
    """Agreement of model cosines with human similarity scores.

    spearman, pearson: correlations over the ``pairs`` pairs used; oov: pairs skipped for a
    word outside the searched vocabulary; oov_ratio: ``100 * oov / (pairs + oov)`` (gensim's
    percentage); skipped_lines: non-blank, non-comment lines that are not ``a b score`` with
    a finite score.
    """
    spearman: float
    pearson: float
    pairs: int
    oov: int
    oov_ratio: float
    skipped_lines: int

    def to_dict(self):
        """The fields as a dict for JSON; a NaN correlation (constant scores) becomes None."""
        return {name: None if isinstance(value, float) and math.isnan(value) else value
                for name, value in asdict(self).items()}


@dataclass(frozen=True)
class SectionResult:
    """One section of an analogy file: ``correct`` of ``total`` scored questions, ``oov`` skipped."""
    name: str
    correct: int
    total: int
    oov: int

    @property
    def accuracy(self):
        """``correct / total``; 0.0 for a section with nothing scored, as gensim does."""
        return self.correct / self.total if self.total else 0.0

    def to_dict(self):
        return {**asdict(self), "accuracy": self.accuracy}


@dataclass(frozen=True)
class AnalogyResult:
    """Per-section (a tuple of :class:`SectionResult`, in file order) and overall analogy
    accuracy; ``oov_ratio`` is ``100 * oov / questions`` (gensim's percentage)."""
    sections: tuple
    correct: int
    total: int
    oov: int
    oov_ratio: float

    @property
    def accuracy(self):
        """Overall ``correct / total``; 0.0 when nothing was scored, as gensim does."""
        return self.correct / self.total if self.total else 0.0

    def to_dict(self):
        return {"sections": [section.to_dict() for section in self.sections], "correct": self.correct,
                "total": self.total, "accuracy": self.accuracy, "oov": self.oov, "oov_ratio": self.oov_ratio}


def _read_lines(path, encoding):
    """The lines of a text file; W2VError for a missing, unreadable or empty file."""
    try:
        with open(path, encoding=encoding) as file:
            lines = [line.rstrip("\n") for line in file]
    except OSError as exc:
        raise W2VError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, LookupError) as exc:
        raise W2VError(f"cannot decode {path} as {encoding}: {exc}".splitlines()[0]) from None
    if not any(line.strip() for line in lines):
        raise W2VError(f"{path} is empty")
    return lines


def _searched_vocab(embeddings, restrict_vocab, case_insensitive):
    """The words a query may use, as gensim builds them.

    Returns: the folding function (``str.upper`` or identity), a dict ``folded word -> row``
    over the first ``R`` rows where the earliest row wins (the most frequent word when the
    vocabulary is sorted by count), and int64 ``(R,)``: for each of those rows, the row its
    folded word maps to, so case variants share one row.
    """
    if len(embeddings) == 0:
        raise W2VError("there are no vectors to evaluate (0 tokens)")
    fold = str.upper if case_insensitive else str
    tokens = embeddings.tokens[:embeddings.num_candidates(restrict_vocab)]
    rows = {}
    for row, token in enumerate(tokens):
        rows.setdefault(fold(token), row)
    canonical = np.fromiter((rows[fold(token)] for token in tokens), dtype=np.int64, count=len(tokens))
    return fold, rows, canonical


def evaluate_pairs(embeddings: Embeddings, path: Union[str, os.PathLike], *, delimiter: str = "\t",
                   case_insensitive: bool = True, restrict_vocab: Optional[int] = 300000,
                   encoding: str = "utf-8") -> PairsResult:
    """Correlate model cosines with human similarity scores, as gensim's ``evaluate_word_pairs``.

    Inputs:
        embeddings: an :class:`~w2v_np.query.Embeddings`.
        path: a text file of ``word1 <delimiter> word2 <delimiter> score`` lines; lines
            starting with ``#`` are comments, other lines that do not parse are counted in
            ``skipped_lines``.
        case_insensitive: compare upper-cased words; a word with several case variants in
            the vocabulary takes the vector of the earliest row.
        restrict_vocab: only the first rows count as known words (``None``: all).
    Returns: :class:`PairsResult`; the model similarity is the cosine of the unit vectors,
        computed in the vectors' dtype as gensim does, so the ranks agree with gensim's.
    Raises: W2VError for a missing, empty or undecodable file, or when no pair is usable.
    """
    fold, rows, _ = _searched_vocab(embeddings, restrict_vocab, case_insensitive)
    gold, pairs, oov, skipped_lines = [], [], 0, 0
    for line in _read_lines(path, encoding):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            first, second, score = line.split(delimiter)
            score = float(score)
            if not math.isfinite(score):
                raise ValueError("a human score must be a finite number")
        except ValueError:
            skipped_lines += 1
            continue
        first, second = fold(first.strip()), fold(second.strip())
        if first not in rows or second not in rows:
            oov += 1
            continue
        gold.append(score)
        pairs.append((rows[first], rows[second]))
    if not pairs:
        raise W2VError(f"no usable word pair in {path}: {oov} pairs with unknown words, "
                       f"{skipped_lines} invalid lines")
    xp = get_array_module(embeddings.unit)
    first, second = xp.asarray(np.array(pairs, dtype=np.int64).T)         # (n,) each
    cosine = (embeddings.unit[first] * embeddings.unit[second]).sum(axis=1)  # (n,)
    model = to_host(cosine).astype(np.float64)
    return PairsResult(spearman=spearman(gold, model), pearson=pearson(gold, model), pairs=len(gold),
                       oov=oov, oov_ratio=100.0 * oov / (len(gold) + oov), skipped_lines=skipped_lines)


def _read_questions(path, encoding, fold, rows):
    """Parse an analogy file into section names, per-section OOV counts and known questions.

    Returns: names (list of S str), oov (int64 ``(S,)``), section (int64 ``(N,)``: the section
    of each known question) and questions (int64 ``(N, 4)``: the rows of a, b, c, expected).
    """
    names, oov, section, questions = [], [], [], []
    for number, line in enumerate(_read_lines(path, encoding), start=1):
        words = line.split()
        if not words:
            continue
        if line.startswith(":"):
            names.append(line[1:].strip())
            oov.append(0)
            continue
        if not names:
            raise W2VError(f"{path} line {number}: question before any ': section' line")
        if len(words) != 4:
            raise W2VError(f"{path} line {number}: expected 4 words 'a b c d', got {len(words)}")
        question = [rows.get(fold(word), -1) for word in words]
        if min(question) < 0:
            oov[-1] += 1
            continue
        section.append(len(names) - 1)
        questions.append(question)
    return (names, np.array(oov, dtype=np.int64), np.array(section, dtype=np.int64),
            np.array(questions, dtype=np.int64).reshape(-1, 4))


def _predict(unit, canonical, questions, method, batch_size):
    """Best answer to each question among the first ``R`` rows, never an input or its variant.

    Inputs: unit ``(V, D)`` unit rows; canonical int64 ``(R,)`` (see :func:`_searched_vocab`);
    questions int64 ``(N, 3)``: canonical rows of a, b, c.  Returns: int64 ``(N,)`` the
    canonical row of each answer.
    """
    xp = get_array_module(unit)
    candidates = unit[:len(canonical)]                                       # (R, D)
    canonical = xp.asarray(canonical)
    predicted = np.empty(len(questions), dtype=np.int64)
    for start in range(0, len(questions), batch_size):
        a, b, c = xp.asarray(questions[start:start + batch_size].T)           # (n,) each
        scores = analogy_scores(candidates, unit[a], unit[b], unit[c], method)  # (n, R)
        is_input = (canonical == a[:, None]) | (canonical == b[:, None]) | (canonical == c[:, None])
        best = xp.argmax(xp.where(is_input, -xp.inf, scores), axis=1)     # (n,)
        predicted[start:start + len(best)] = to_host(canonical[best])
    return predicted


def evaluate_analogies(embeddings: Embeddings, path: Union[str, os.PathLike], *,
                       restrict_vocab: Optional[int] = 300000, case_insensitive: bool = True, method: str = "add",
                       batch_size: Optional[int] = None, encoding: str = "utf-8") -> AnalogyResult:
    """Accuracy on "a b c d" analogy questions, as gensim's ``evaluate_word_analogies``.

    Each question asks "a is to b as c is to ?" and is correct when the best candidate
    among the first ``restrict_vocab`` rows (excluding a, b, c and, with case folding,
    their case variants) is d.  Questions with a word outside those rows are counted as
    OOV and not scored.

    Inputs:
        embeddings: an :class:`~w2v_np.query.Embeddings`.
        path: ``: section`` lines, each followed by lines of four words.
        case_insensitive: compare upper-cased words (earliest row wins, as gensim does).
        method: ``"add"`` (3CosAdd, gensim's only method) or ``"mul"`` (3CosMul).
        batch_size: questions scored per matrix product; a chunk holds a float
            ``(batch_size, R)`` score matrix.  ``None`` keeps it near 2**24 entries.
    Returns: :class:`AnalogyResult` with one :class:`SectionResult` per section, in file order.
    Raises: W2VError for a missing, empty, undecodable or malformed file (naming the line),
        an unknown method or a batch size below 1.
    """
    check_analogy_method(method)
    fold, rows, canonical = _searched_vocab(embeddings, restrict_vocab, case_insensitive)
    if batch_size is None:
        batch_size = max(1, SCORE_CHUNK_ENTRIES // len(canonical))
    if batch_size < 1:
        raise W2VError(f"batch_size must be at least 1, got {batch_size}")
    names, oov, section, questions = _read_questions(path, encoding, fold, rows)
    if not len(questions) and not oov.sum():
        raise W2VError(f"no analogy questions in {path}")
    correct = _predict(embeddings.unit, canonical, questions[:, :3], method, batch_size) == questions[:, 3]
    section_correct = np.bincount(section, weights=correct, minlength=len(names)).astype(np.int64)
    section_total = np.bincount(section, minlength=len(names))
    sections = tuple(SectionResult(name, int(right), int(total), int(skipped))
                     for name, right, total, skipped in zip(names, section_correct, section_total, oov))
    total_oov = int(oov.sum())
    return AnalogyResult(sections=sections, correct=int(correct.sum()), total=len(questions), oov=total_oov,
                         oov_ratio=100.0 * total_oov / (len(questions) + total_oov))
