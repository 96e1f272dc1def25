"""The seed's PTB data pipeline, re-implemented in pure Python: the baseline of ``prep.py``.

This is what ``d2l.load_data_ptb(512, 5, 5)`` of the d2l book's PyTorch section
"The Dataset for Pretraining Word Embeddings" does, step by step and with the book's
code kept as it is, but without torch.  It is the reference the speed-ups of w2v-np's
preparation are measured against, so it deliberately keeps the book's algorithms,
including their slow parts:

* ``Vocab`` is the book's ``d2l.Vocab`` (v0.17 semantics): ``<unk>`` at index 0, then
  the tokens seen at least ``min_freq`` times by descending count, ties in first-seen
  order; ``vocab[tokens]`` recurses into lists and tuples.
* ``subsample`` drops ``<unk>`` and calls ``random.uniform`` once per token.
* ``get_centers_and_contexts`` calls ``random.randint`` once per center and builds
  each window as a Python list.
* ``RandomGenerator`` caches ``random.choices(..., k=10000)`` and hands the draws out
  one by one; ``get_negatives`` rejects a noise word with ``neg not in contexts``.
* ``batchify`` pads with Python lists exactly as the book's collate function.

Where it departs from the book, and why:

* ``batchify`` returns NumPy arrays instead of torch tensors (``center`` int64
  ``(B, 1)``, ``context_negative`` int64, ``mask`` and ``label`` float32, which the
  loss consumes anyway).
* The DataLoader's job (shuffle, take the first ``batch_size`` examples, collate)
  is done with ``random.shuffle`` of ``list(range(n))`` rather than torch's sampler,
  in the main process (the book uses ``num_workers`` worker processes, which only
  matters after the first batch).
* The whole pipeline is seeded with ``random.seed(seed)`` for repeatable runs.

Usage: ``python bench/seed_pipeline.py [path/to/ptb.train.txt]`` prints the stage times
and the shapes of the first batch.
"""
import collections
import math
import random
import sys
import time

import numpy as np

MIN_FREQ = 10
SUBSAMPLE_T = 1e-4
NOISE_POWER = 0.75
CACHE_SIZE = 10000

STAGES = ("read", "vocabulary", "subsample", "encode", "centers_contexts", "negatives", "first_batch")


def read_ptb(path):
    """Sentences of the file as lists of tokens (a blank line gives an empty list)."""
    with open(path) as f:
        raw_text = f.read()
    return [line.split() for line in raw_text.split('\n')]


def count_corpus(tokens):
    """Token frequencies of a list of tokens or of a list of token lists."""
    if len(tokens) == 0 or isinstance(tokens[0], list):
        tokens = [token for line in tokens for token in line]
    return collections.Counter(tokens)


class Vocab:
    """The book's vocabulary: ``<unk>`` first, then frequent tokens by descending count."""

    def __init__(self, tokens=None, min_freq=0, reserved_tokens=None):
        tokens = [] if tokens is None else tokens
        reserved_tokens = [] if reserved_tokens is None else reserved_tokens
        counter = count_corpus(tokens)
        # sorted() is stable, also with reverse=True: ties keep first-seen order.
        self._token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        self.idx_to_token = ['<unk>'] + reserved_tokens
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}
        for token, freq in self._token_freqs:
            if freq < min_freq:
                break
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]

    def to_tokens(self, indices):
        if not isinstance(indices, (list, tuple)):
            return self.idx_to_token[indices]
        return [self.idx_to_token[index] for index in indices]

    @property
    def unk(self):
        return 0

    @property
    def token_freqs(self):
        return self._token_freqs


def subsample(sentences, vocab):
    """Drop ``<unk>``, then keep each token with probability ``sqrt(1e-4 / f)``."""
    sentences = [[token for token in line if vocab[token] != vocab.unk] for line in sentences]
    counter = count_corpus(sentences)
    num_tokens = sum(counter.values())

    def keep(token):
        return random.uniform(0, 1) < math.sqrt(SUBSAMPLE_T / counter[token] * num_tokens)

    return ([[token for token in line if keep(token)] for line in sentences], counter)


def get_centers_and_contexts(corpus, max_window_size):
    """Every token of a sentence of >= 2 tokens is a center; its window size is 1..max."""
    centers, contexts = [], []
    for line in corpus:
        if len(line) < 2:
            continue
        centers += line
        for i in range(len(line)):
            window_size = random.randint(1, max_window_size)
            indices = list(range(max(0, i - window_size), min(len(line), i + 1 + window_size)))
            indices.remove(i)
            contexts.append([line[idx] for idx in indices])
    return centers, contexts


class RandomGenerator:
    """Draw among ``1..n`` by ``sampling_weights``, ``CACHE_SIZE`` draws at a time."""

    def __init__(self, sampling_weights):
        self.population = list(range(1, len(sampling_weights) + 1))
        self.sampling_weights = sampling_weights
        self.candidates = []
        self.i = 0

    def draw(self):
        if self.i == len(self.candidates):
            self.candidates = random.choices(self.population, self.sampling_weights, k=CACHE_SIZE)
            self.i = 0
        self.i += 1
        return self.candidates[self.i - 1]


def get_negatives(all_contexts, vocab, counter, K):
    """``K`` noise words per context word from ``count ** 0.75``, none among the contexts."""
    sampling_weights = [counter[vocab.to_tokens(i)]**NOISE_POWER for i in range(1, len(vocab))]
    all_negatives, generator = [], RandomGenerator(sampling_weights)
    for contexts in all_contexts:
        negatives = []
        while len(negatives) < len(contexts) * K:
            neg = generator.draw()
            if neg not in contexts:
                negatives.append(neg)
        all_negatives.append(negatives)
    return all_negatives


def batchify(data):
    """Pad a list of ``(center, context, negative)`` into the four arrays of a batch."""
    max_len = max(len(c) + len(n) for _, c, n in data)
    centers, contexts_negatives, masks, labels = [], [], [], []
    for center, context, negative in data:
        cur_len = len(context) + len(negative)
        centers += [center]
        contexts_negatives += [context + negative + [0] * (max_len - cur_len)]
        masks += [[1] * cur_len + [0] * (max_len - cur_len)]
        labels += [[1] * len(context) + [0] * (max_len - len(context))]
    return (np.array(centers, dtype=np.int64).reshape((-1, 1)),
            np.array(contexts_negatives, dtype=np.int64),
            np.array(masks, dtype=np.float32), np.array(labels, dtype=np.float32))


class PTBDataset:
    """The book's dataset: example ``i`` is ``(center, contexts, negatives)``."""

    def __init__(self, centers, contexts, negatives):
        assert len(centers) == len(contexts) == len(negatives)
        self.centers = centers
        self.contexts = contexts
        self.negatives = negatives

    def __getitem__(self, index):
        return (self.centers[index], self.contexts[index], self.negatives[index])

    def __len__(self):
        return len(self.centers)


def first_batch_of(dataset, batch_size):
    """What the shuffling DataLoader yields first: a random ``batch_size`` examples, collated."""
    order = list(range(len(dataset)))
    random.shuffle(order)
    return batchify([dataset[i] for i in order[:batch_size]])


def first_batch(path, batch_size=512, max_window=5, num_noise_words=5, seed=0, timings=None):
    """Run the whole pipeline on ``path`` and return its first batch.

    When ``timings`` is a dict, the seconds of each stage of :data:`STAGES` are
    stored in it (the stages are timed back to back, so they add up to the total).
    """
    random.seed(seed)
    clock = [time.perf_counter()]

    def lap(stage):
        now = time.perf_counter()
        if timings is not None:
            timings[stage] = now - clock[0]
        clock[0] = now

    sentences = read_ptb(path)
    lap("read")
    vocab = Vocab(sentences, min_freq=MIN_FREQ)
    lap("vocabulary")
    subsampled, counter = subsample(sentences, vocab)
    lap("subsample")
    corpus = [vocab[line] for line in subsampled]
    lap("encode")
    all_centers, all_contexts = get_centers_and_contexts(corpus, max_window)
    lap("centers_contexts")
    all_negatives = get_negatives(all_contexts, vocab, counter, num_noise_words)
    lap("negatives")
    batch = first_batch_of(PTBDataset(all_centers, all_contexts, all_negatives), batch_size)
    lap("first_batch")
    return batch


def main():
    if len(sys.argv) > 1:
        path = sys.argv[1]
    else:
        from w2v_np.corpus import find_ptb
        path = find_ptb(download=False)
    timings = {}
    center, context_negative, mask, label = first_batch(path, timings=timings)
    for stage in STAGES:
        print(f"{stage:>18}: {timings[stage]:7.3f} s")
    print(f"{'total':>18}: {sum(timings.values()):7.3f} s")
    print("first batch:", center.shape, context_negative.shape, mask.shape, label.shape)


if __name__ == "__main__":
    main()
