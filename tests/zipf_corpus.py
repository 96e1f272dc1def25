"""Small random corpora for the kernel-against-reference tests: Zipf-like ids cut into sentences."""
import numpy as np


def zipf_corpus(seed, vocab_size, num_sentences, max_length):
    """Sentences of 0 to ``max_length`` tokens (uniform) whose ids, ``<unk>`` = 0 among them, are
    drawn with probability proportional to ``1 / (rank + 1)``: frequent words that subsampling
    drops and noise draws collide with, and many rare ones.

    Returns ids int32 ``(N,)``, offsets int64 ``(S+1,)`` and counts int64 ``(vocab_size,)``
    (each at least 1, as a vocabulary's).
    """
    generator = np.random.default_rng(seed)
    lengths = generator.integers(0, max_length + 1, size=num_sentences)
    weights = 1 / np.arange(1, vocab_size + 1)
    ids = generator.choice(vocab_size, size=lengths.sum(), p=weights / weights.sum()).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    counts = np.maximum(np.bincount(ids, minlength=vocab_size), 1).astype(np.int64)
    return ids, offsets, counts
