"""The corpus of a dask run, read by the workers: each tokenises and keeps its own byte range.

The first pass runs on the workers: the corpus file is cut at line breaks into one byte
range per worker (:func:`~w2v_np.corpus.line_ranges`), and each worker reads and tokenises
its range (:func:`~w2v_np.corpus.read_corpus`) and keeps it.  The client receives only
each range's distinct tokens, their counts and its line lengths, and merges them in file
order, so the vocabulary is the one a single process builds from the whole file.  Each
worker then encodes its range with the vocabulary's ids (:meth:`ClusterText.encode`): the
token ids never travel to the client, and a share of the training is cut from the ranges
that hold it, on the workers (:meth:`ClusterIds.share`).

The workers read the file at the path the client was given: on a cluster of several
machines it must be on a filesystem they all see.  Dask keeps the tasks that made each
range, so a range lost with its worker is read again by another.
"""
import os
import socket

import numpy as np

from .corpus import MergedTypes, line_ranges, read_corpus
from .errors import W2VError
from .kernels import numba_available
from .streamed_corpus import some_sentence_has_two_known


def _read_range(path, start, stop, encoding):
    """A worker's first pass: bytes ``start..stop - 1`` of the corpus file, tokenised
    (a :class:`~w2v_np.corpus.TokenizedCorpus`)."""
    if not os.path.isfile(path):
        raise W2VError(f"a dask worker on {socket.gethostname()} finds no corpus file {path}: every worker reads "
                       f"the corpus itself, at the path the run was given (a filesystem all machines share)")
    return read_corpus(path, encoding, use_kernels=numba_available(), byte_range=(start, stop))


def _summary(part):
    """What the client merges of a range: its distinct tokens (first-seen order), their counts, its line lengths."""
    return part.types, part.counts, np.diff(part.offsets)


def _encode(part, to_vocab):
    """A range's token ids in the vocabulary: int32 ``(N,)``; ``to_vocab`` int32 maps the range's types to ids."""
    return to_vocab[part.type_ids]


def _has_two_known(part, ids):
    return some_sentence_has_two_known(ids, part.offsets)


def _take(ids, start, stop):
    return ids[start:stop]


def _join(*pieces):
    return np.concatenate(pieces)


class ClusterText:
    """A corpus file tokenised on a cluster: the merged counts here, the token ids on the workers.

    Attributes as :class:`~w2v_np.corpus.TokenizedCorpus`'s, but ``type_ids``: ``types``
    (first-seen order in the file), ``counts`` int64 ``(T,)``, ``offsets`` int64 ``(S+1,)``
    of the file's lines; and ``cluster``, the :class:`~w2v_np.cluster.Cluster` that holds
    the ranges.
    """

    def __init__(self, cluster, path, encoding="utf-8"):
        client, self.cluster = cluster.client, cluster
        workers = sorted(client.scheduler_info()["workers"])
        ranges = line_ranges(path, cluster.num_workers, encoding)
        self._parts = [client.submit(_read_range, str(path), start, stop, encoding, workers=[workers[i % len(workers)]],
                                     allow_other_workers=True, pure=False) for i, (start, stop) in enumerate(ranges)]
        summaries = client.gather([client.submit(_summary, part, pure=False) for part in self._parts])
        merged = MergedTypes()
        self._to_types = [merged.add(part_types, part_counts) for part_types, part_counts, _ in summaries]
        lengths = [np.zeros(1, dtype=np.int64)] + [part_lengths for _, _, part_lengths in summaries]
        self.types, self.counts, self.offsets = merged.types, merged.counts, np.cumsum(np.concatenate(lengths))
        if self.offsets[-1] == 0:
            raise W2VError(f"corpus {path} is empty: it holds no tokens")
        self._sizes = [int(part_lengths.sum()) for _, _, part_lengths in summaries]

    def encode(self, vocab):
        """The corpus's ids in ``vocab`` (a :class:`~w2v_np.vocab.Vocab`), encoded by the workers (a
        :class:`ClusterIds`)."""
        client = self.cluster.client
        to_vocab = vocab.ids_of(self.types)
        parts = [client.submit(_encode, part, to_vocab[to_types], pure=False)
                 for part, to_types in zip(self._parts, self._to_types)]
        known = client.gather([client.submit(_has_two_known, part, ids, pure=False)
                               for part, ids in zip(self._parts, parts)])
        # The tokenised ranges are dropped: Dask keeps the tasks, and reads a range again if its ids are lost.
        self._parts = None
        return ClusterIds(self.cluster, parts, self._sizes, any(known))


class ClusterIds:
    """A corpus's token ids on a cluster, in consecutive parts (futures of int32 arrays).

    ``shape`` is the whole array's; ``has_examples`` whether some sentence holds two ids
    other than ``<unk>`` (0); ``cluster`` the :class:`~w2v_np.cluster.Cluster`.  ``parts``
    and their ``sizes`` (token counts), or for a corpus the client read (:meth:`scatter`)
    ``ids``, the whole array here.
    """

    def __init__(self, cluster, parts, sizes, has_examples, ids=None):
        self.cluster, self._parts, self.has_examples, self._ids = cluster, parts, has_examples, ids
        self._starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.shape = (int(self._starts[-1]),)

    @classmethod
    def scatter(cls, cluster, ids, offsets):
        """The ids (int32 ``(N,)``) of a corpus read by the client, sent to the workers a share at a time."""
        return cls(cluster, None, [ids.shape[0]], some_sentence_has_two_known(ids, offsets), ids)

    def share(self, start, stop, worker):
        """A future of ``ids[start:stop]`` on ``worker`` (an address), cut from the parts that hold it."""
        client = self.cluster.client
        if self._ids is not None:
            return client.scatter(self._ids[start:stop], workers=[worker], hash=False)
        first, last = np.searchsorted(self._starts, [start, stop], side="right") - 1
        pieces = [client.submit(_take, self._parts[p], max(start - self._starts[p], 0),
                                min(stop, self._starts[p + 1]) - self._starts[p], pure=False)
                  for p in range(first, min(last, len(self._parts) - 1) + 1) if self._starts[p] < stop]
        return client.submit(_join, *pieces, workers=[worker], allow_other_workers=True, pure=False)
