"""In-memory corpora: an iterable of sentences, each a sequence of ``str`` tokens (gensim's ``sentences``).

:func:`tokenize_sentences` turns one into the :class:`~w2v_np.corpus.TokenizedCorpus` that
:func:`~w2v_np.corpus.read_corpus` makes of a file holding the same text (one sentence per line,
tokens separated by spaces): the same types in the same first-seen order, the same counts, ids
and offsets, so training on either gives the same vocabulary, losses and vectors.  It reads the
iterable once, so a one-shot generator works as well as a list or an object whose ``__iter__``
starts afresh, and it never keeps the sentences: each token goes straight into a flat int32 array.

A corpus given as ``str`` (or ``bytes``, or a path object) is never iterated: it names a file
or ``"ptb"``.  Tokens must be ``str``: ``bytes`` are refused rather than guessed at (decode
them first), and so are empty tokens and tokens holding whitespace, which a text file could not
hold as one token.
"""
import os
from array import array
from collections.abc import Iterable, Sized

import numpy as np

from .corpus import TokenizedCorpus
from .errors import W2VError

COUNT_SLICE = 1 << 22
"""Tokens counted at once: ``np.bincount`` copies its input to int64, so a slice at a time."""


def is_sentences(corpus):
    """Whether a ``TrainConfig.corpus`` value is an in-memory corpus (an iterable that is not a
    str, bytes or path: those name a file)."""
    return not isinstance(corpus, (str, bytes, bytearray, os.PathLike)) and isinstance(corpus, Iterable)


def describe_corpus(corpus):
    """How a run records ``corpus``: a path as a string, an in-memory corpus as a short description
    (its type, and its number of sentences when it has a length), never its data."""
    if not is_sentences(corpus):
        return os.fspath(corpus)
    kind = type(corpus).__name__
    if isinstance(corpus, Sized):
        return f"<in-memory {kind} of {len(corpus):,} sentences>"
    return f"<in-memory {kind}>"


class _Types(dict):
    """Token -> provisional id, in first-seen order; a token is checked the first time it is seen.

    ``sentence`` is the number of the sentence being read, for the error messages.
    """
    sentence = 0

    def __missing__(self, token):
        problem = _token_problem(token, self.sentence)
        if problem:
            raise W2VError(problem)
        index = len(self)
        # A str subclass (NumPy's str_) is stored as a plain str: it hashes and compares equal.
        self[str(token)] = index
        return index


def _token_problem(token, sentence):
    """Why ``token`` (of sentence number ``sentence``) cannot be a token, or ``None``."""
    where = f"in sentence {sentence} (counting from 0)"
    if isinstance(token, (bytes, bytearray)):
        return f"token {token!r} {where} is bytes, not str: decode it first (token.decode('utf-8'))"
    if not isinstance(token, str):
        return f"token {token!r} {where} is a {type(token).__name__}, not a str"
    if not token:
        return f"sentence {sentence} (counting from 0) holds an empty token ''"
    if token.split() != [token]:
        return (f"token {token!r} {where} holds whitespace, which separates tokens in a text file "
                f"(word2vec's format): split it or replace the whitespace")
    return None


def _sentence_problem(sentence, number):
    """Why ``sentence`` is not an iterable of hashable tokens (it raised TypeError when read)."""
    try:
        tokens = iter(sentence)
    except TypeError:
        return f"sentence {number} (counting from 0) is a {type(sentence).__name__}, not a sequence of tokens"
    problems = (_token_problem(token, number) for token in tokens)
    return next((problem for problem in problems if problem),
                f"sentence {number} (counting from 0) is not a sequence of str tokens")


class LineSentences:
    """A text file as an in-memory corpus that is never held: each pass reads the file again and
    yields each line split on whitespace (gensim's ``LineSentence``).  ``path``: str or path."""

    def __init__(self, path, encoding="utf-8"):
        self.path, self.encoding = path, encoding

    def __iter__(self):
        with open(self.path, encoding=self.encoding) as lines:
            for line in lines:
                yield line.split()


def tokenize_sentences(sentences):
    """An in-memory corpus as flat arrays -> :class:`~w2v_np.corpus.TokenizedCorpus`.

    Args:
        sentences: an iterable of sentences, each an iterable of ``str`` tokens (a list of
            lists, a generator, an object whose ``__iter__`` reads a file...); read once.

    Returns the corpus with ``types`` (``T`` str, first-seen order), ``counts`` int64 ``(T,)``,
    ``type_ids`` int32 ``(N,)`` and ``offsets`` int64 ``(S+1,)``, one row per sentence (an
    empty sentence is an empty row, as a blank line of a file).

    Raises :class:`W2VError`, naming the sentence (counting from 0), for a sentence that is a
    bare string or not iterable, a token that is not a ``str`` (``bytes`` included), empty or
    holding whitespace, and for a corpus without tokens.
    """
    types = _Types()
    lookup = types.__getitem__
    type_ids = array("i")            # grows in place: 4 bytes a token, never a Python list of them
    lengths = array("q")
    iterator = iter(sentences)
    for number, sentence in enumerate(iterator):
        if isinstance(sentence, (str, bytes, bytearray)):
            raise W2VError(f"sentence {number} (counting from 0) is a {type(sentence).__name__}, not a sequence "
                           f"of tokens: split it into words (line.split())")
        types.sentence = number
        before = len(type_ids)
        try:
            type_ids.extend(map(lookup, sentence))
        except TypeError:            # not iterable, or an unhashable token
            raise W2VError(_sentence_problem(sentence, number)) from None
        lengths.append(len(type_ids) - before)
    if not type_ids:
        once = " (a generator or iterator can be read only once)" if iterator is sentences else ""
        raise W2VError(f"corpus {describe_corpus(sentences)} is empty: it holds no tokens{once}")
    type_ids = np.frombuffer(type_ids, dtype=np.intc).astype(np.int32, copy=False)
    counts = np.zeros(len(types), dtype=np.int64)
    for start in range(0, type_ids.shape[0], COUNT_SLICE):
        counts += np.bincount(type_ids[start:start + COUNT_SLICE], minlength=len(types))
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(lengths, dtype=np.int64), out=offsets[1:])
    return TokenizedCorpus(list(types), counts, type_ids, offsets)
