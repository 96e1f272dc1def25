"""The corpus as the word2vec method streams it: token ids cut into pieces and chunks.

The streaming SGD draws subsampling, windows and noise words on the fly, so what it needs
prepared is only the corpus's ids, where its sentences start, how the work is cut into
chunks (a chunk is a thread's unit of work, seeded on its own), the keep probabilities and
the noise distribution's alias table.
"""
import numpy as np

from .errors import W2VError
from .sampling import NoiseSampler, keep_probabilities, noise_weights

# Pieces of at most MAX_PIECE tokens, as gensim cuts long sentences (word2vec.c cuts at 1000).
MAX_PIECE = 10_000
# Tokens per chunk: the unit of work of a thread, seeded on its own.
CHUNK_TOKENS = 1 << 14


class StreamedCorpus:
    """The corpus as the streaming SGD reads it: token ids cut into pieces and chunks.

    Attributes:
        ids: int32 ``(T,)`` (``<unk>`` = 0 included: its keep probability is 0), or for the dask
            engine a :class:`~w2v_np.dask_corpus.ClusterIds` (the ids stay on the workers);
        piece_offsets: int64 ``(P+1,)``: sentences, those longer than :data:`MAX_PIECE` cut;
        chunk_pieces: int64 ``(C+1,)``: consecutive pieces of about :data:`CHUNK_TOKENS` tokens;
        keep_probability: float64 ``(V,)`` (subsampling; ``<unk>`` 0);
        noise: the :class:`~w2v_np.sampling.NoiseSampler` of ``count**0.75``.
    Memory beyond the ids: a few bytes per sentence.
    """

    def __init__(self, ids, offsets, counts, *, max_window, num_noise_words, sample, subsampling="seed"):
        # ids may be a w2v_np.dask_corpus.ClusterIds: the ids are on a cluster, which checked them.
        if not (ids.has_examples if hasattr(ids, "has_examples") else some_sentence_has_two_known(ids, offsets)):
            raise W2VError("no training examples: no sentence has two known tokens")
        self.ids = ids
        self.piece_offsets = _pieces(offsets, MAX_PIECE)
        starts = np.searchsorted(self.piece_offsets[:-1], np.arange(0, ids.shape[0], CHUNK_TOKENS))
        self.chunk_pieces = np.unique(np.append(starts, self.piece_offsets.shape[0] - 1)).astype(np.int64)
        self.keep_probability = keep_probabilities(counts, sample, subsampling)
        self.noise = NoiseSampler(noise_weights(counts))
        self.max_window, self.num_noise_words = max_window, num_noise_words

    def __len__(self):
        """Tokens per epoch (the work unit of the learning-rate schedule)."""
        return self.ids.shape[0]

    @property
    def num_chunks(self):
        return self.chunk_pieces.shape[0] - 1


def some_sentence_has_two_known(ids, offsets, sentences_per_slice=1 << 16):
    """Whether a sentence holds two ids other than ``<unk>`` (0).

    Looked at a slice of sentences at a time, so the temporaries are a slice's, not the
    corpus's (which may be 100M tokens); on real text the first slice answers.
    """
    num_sentences = offsets.shape[0] - 1
    for first in range(0, num_sentences, sentences_per_slice):
        bounds = offsets[first:min(first + sentences_per_slice, num_sentences) + 1]
        known_before = np.concatenate([[0], np.cumsum(ids[bounds[0]:bounds[-1]] != 0)])
        if np.any(np.diff(known_before[bounds - bounds[0]]) >= 2):
            return True
    return False


def _pieces(offsets, max_piece):
    """Offsets of the non-empty sentences, each cut every ``max_piece`` tokens: int64 ``(P+1,)``."""
    lengths = np.diff(offsets)
    cuts = -(-lengths // max_piece)                        # pieces per sentence, 0 if empty
    sentence = np.repeat(np.arange(lengths.shape[0]), cuts)
    first = np.cumsum(cuts) - cuts
    starts = offsets[:-1][sentence] + (np.arange(sentence.shape[0]) - first[sentence]) * max_piece
    return np.append(starts, offsets[-1]).astype(np.int64)
