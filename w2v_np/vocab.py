"""The vocabulary, with the seed's semantics, encoding sentences to flat id arrays, and
vocabulary files in word2vec.c's format (``-save-vocab``, ``-read-vocab``)."""
import collections
import itertools
from pathlib import Path

import numpy as np

from .errors import UnknownWordError, W2VError
from .io import atomic_write

UNK = "<unk>"
SENTENCE_END = "</s>"
"""word2vec.c's first vocabulary entry, one per line of its corpus.  w2v-np has no such
token (a line ends a sentence and no window crosses it): reading a vocabulary file skips it."""


class Vocab:
    """Token <-> index maps and corpus counts.

    ``<unk>`` is index 0; the tokens seen at least ``min_freq`` times follow by
    descending count, ties in first-seen order (``d2l.Vocab`` of the seed's book).

    Attributes:
        idx_to_token: list of ``V`` strings.
        token_to_idx: dict from token to index.
        counts: int64 array ``(V,)``; ``counts[i]`` is how often token ``i`` occurs in
            the corpus, ``counts[0]`` the number of tokens mapped to ``<unk>``.
    """

    def __init__(self, idx_to_token: list, counts) -> None:
        self.idx_to_token = list(idx_to_token)
        self.token_to_idx = {token: index for index, token in enumerate(self.idx_to_token)}
        self.counts = np.asarray(counts, dtype=np.int64)
        if self.idx_to_token[:1] != [UNK] or len(self.token_to_idx) != len(self.idx_to_token):
            raise W2VError("a vocabulary starts with <unk> and holds each token once")
        if self.counts.shape != (len(self.idx_to_token),):
            raise W2VError("a vocabulary needs one count per token")

    @classmethod
    def build(cls, sentences, min_freq=10):
        """Count the tokens of ``sentences`` (lists of str) and keep those with count >= min_freq."""
        counter = collections.Counter(itertools.chain.from_iterable(sentences))
        return cls.from_counts(list(counter), np.fromiter(counter.values(), dtype=np.int64,
                                                           count=len(counter)), min_freq)

    @classmethod
    def from_counts(cls, types, counts, min_freq=10):
        """The vocabulary of distinct tokens ``types`` (first-seen order) seen ``counts`` times.

        Args: types, a list of ``T`` str; counts, int ``(T,)``.
        """
        if min_freq < 1:
            raise W2VError(f"min_freq must be >= 1, got {min_freq}")
        counts = np.asarray(counts, dtype=np.int64)
        # A stable sort on the count alone keeps ties in first-seen order.
        order = np.argsort(-counts, kind="stable")
        order = order[counts[order] >= min_freq].tolist()
        frequent = [index for index in order if types[index] != UNK]
        if not frequent:
            if all(token == UNK for token in types):
                raise W2VError(f"vocabulary is empty: the corpus holds only {UNK}, which stands for the tokens "
                               f"left out and is never trained")
            raise W2VError(f"vocabulary is empty: no token other than {UNK} occurs at least {min_freq} times "
                           f"(lower --min-count)")
        kept = counts[frequent]
        return cls([UNK] + [types[index] for index in frequent],
                   np.concatenate([[counts.sum() - kept.sum()], kept]))

    @classmethod
    def read(cls, path, corpus_types, corpus_counts, min_freq=10):
        """The vocabulary of a word2vec.c vocabulary file, for training on a corpus.

        ``path`` holds ``word count`` lines (word2vec.c's ``-save-vocab``, :meth:`save`); the
        words counted at least ``min_freq`` times there follow ``<unk>`` by descending count,
        ties in the file's order, with the file's counts.  ``</s>`` and ``<unk>`` lines are
        skipped: ``<unk>``'s count is that of the corpus's tokens outside the vocabulary
        (``corpus_types``, ``T`` str, seen ``corpus_counts`` int ``(T,)`` times).
        """
        types, counts = read_vocab_file(path)
        vocab = cls.from_counts(types, counts, min_freq)
        outside = vocab.ids_of(corpus_types) == 0
        vocab.counts[0] = np.asarray(corpus_counts, dtype=np.int64)[outside].sum()
        return vocab

    def save(self, path):
        """Write ``token count`` lines in the vocabulary's order (``<unk>`` first), atomically:
        word2vec.c's vocabulary format, the rows of the vectors file in the same order."""
        with atomic_write(path) as out:
            out.writelines(f"{token} {count}\n" for token, count in zip(self.idx_to_token, self.counts.tolist()))

    def __len__(self):
        return len(self.idx_to_token)

    def __contains__(self, token):
        return token in self.token_to_idx

    def __getitem__(self, token):
        """Index of ``token``; unknown tokens map to 0 (``<unk>``)."""
        return self.token_to_idx.get(token, 0)

    def index(self, token):
        """Index of ``token``, raising ``KeyError`` naming it when it is not in the vocabulary."""
        try:
            return self.token_to_idx[token]
        except KeyError:
            raise UnknownWordError(token) from None

    def to_tokens(self, indices):
        """Tokens of an iterable of indices."""
        return [self.idx_to_token[int(i)] for i in indices]

    def ids_of(self, types):
        """int32 ``(T,)``: the index of each token of ``types`` (0 for unknown tokens).

        With a :class:`~w2v_np.corpus.TokenizedCorpus` ``c``, ``ids_of(c.types)[c.type_ids]``
        encodes the whole corpus.
        """
        lookup = self.token_to_idx.get
        return np.fromiter((lookup(token, 0) for token in types), dtype=np.int32, count=len(types))

    def encode(self, sentences):
        """Encode sentences as one flat id array plus sentence offsets (CSR layout).

        Returns:
            ids: int32 ``(N,)``, the ids of all tokens in order (unknown tokens are 0).
            offsets: int64 ``(S+1,)``; sentence ``s`` is ``ids[offsets[s]:offsets[s+1]]``.
        """
        lookup = self.token_to_idx.get
        ids = np.fromiter((lookup(token, 0) for sentence in sentences for token in sentence),
                          dtype=np.int32)
        offsets = np.zeros(len(sentences) + 1, dtype=np.int64)
        np.cumsum([len(sentence) for sentence in sentences], out=offsets[1:])
        return ids, offsets


def read_vocab_file(path):
    """The ``(types, counts)`` of a vocabulary file of ``word count`` lines, ``</s>`` and
    ``<unk>`` left out: a list of ``T`` str and int64 ``(T,)``.  Blank lines are skipped; a
    line that is not a word and a non-negative integer, or a word listed twice, is refused."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise W2VError(f"vocabulary file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise W2VError(f"cannot read vocabulary file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    types, counts, line_of = [], [], {}
    for number, line in enumerate(text.split("\n"), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or not (fields[1].isascii() and fields[1].isdigit() and int(fields[1]) < 2**63):
            raise W2VError(f"{path}:{number}: expected 'word count' (a count >= 0), got {line[:60]!r}")
        word = fields[0]
        if word in line_of:
            raise W2VError(f"{path}:{number}: {word!r} is listed twice (first on line {line_of[word]})")
        line_of[word] = number
        if word not in (SENTENCE_END, UNK):
            types.append(word)
            counts.append(int(fields[1]))
    if not types:
        raise W2VError(f"vocabulary file {path} lists no word")
    return types, np.array(counts, dtype=np.int64)
