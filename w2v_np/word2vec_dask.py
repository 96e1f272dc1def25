"""The word2vec method on a Dask cluster: each worker trains a replica on its share, the replicas combined every round.

The corpus's chunks (:class:`~w2v_np.streamed_corpus.StreamedCorpus`, each seeded on its
own) are cut into one contiguous share per worker.  A *round*: each worker runs the
streaming kernel on the next ``sync_tokens`` of its share (rounded up to whole chunks), on
one thread, from the current tables; it returns the rows that moved; the client combines
them, in worker order, into the tables of the next round and sends every worker the rows
that changed.  Workers keep their replica between rounds (:class:`Replica`): the whole
tables go out at an epoch's start, and again only when the updates sent since outweigh them.
Combining:

- ``sum``: every replica's change is added (as Hogwild threads add theirs, but seen by the
  others one round late);
- ``average``: the replicas are averaged, so each change counts ``1/N`` (Spark MLlib's
  Word2Vec, once per round instead of once per iteration).

The learning rate follows the tokens trained by all workers together: worker ``w``'s token
``p`` tokens into its round trains at the rate word2vec.c gives global progress
``(done before the round + N * p) / total``.  A worker's round is a pure function of the
tables and the chunks (its replica is brought to the same bits whatever it did before), so
Dask may run it again elsewhere when its worker dies, and the result neither changes nor
counts twice: for a seed, a number of shares and ``sync_tokens``, the
tables are the same bits whatever the workers' speeds or failures.  With one worker and
any ``sync_tokens`` it is the single-threaded ``numba`` engine, bit for bit.
"""
import numpy as np

from .cluster import Cluster
from .errors import W2VError
from .sampling import kernel_seed
from .streamed_corpus import CHUNK_TOKENS
from .word2vec import HogwildTrainer

COMBINES = ("sum", "average")
DEFAULT_SYNC_TOKENS = 1 << 20
"""Chosen on measurement (docs/distributed.md): on a large corpus, smaller rounds cost more than they train."""
MAX_ATTEMPTS = 3
"""Times a round is sent again after the cluster lost data it needed, before the run gives up."""


class Replica:
    """A worker's copy of the tables: ``snapshot``'s tables with its first ``version`` updates applied.

    ``undo`` holds the rows the worker's last round moved and their values before it (its
    own training is not part of any version): they are put back before the replica is
    brought forward, so a round run again, here or elsewhere, starts from the same bits.
    """

    def __init__(self, snapshot_key, tables):
        self.snapshot_key, self.version, self.undo = snapshot_key, 0, None
        self.tables = [table.copy() for table in tables]


_replica = None
"""The replica of the run this worker process serves (one at a time)."""


def train_round(static, snapshot_key, snapshot, updates, first, last, shared_noise, max_window, num_noise_words,
                lr, min_lr_fraction, done_before, total_work, seed):
    """One worker's round (runs on the worker): chunks ``first..last-1`` on one thread.

    ``static``: the corpus arrays of :class:`~w2v_np.streamed_corpus.StreamedCorpus` and its
    noise table (dict); ``snapshot``: the tables ``(center, context)`` float ``(V, D)`` sent
    at ``snapshot_key`` (not modified); ``updates``: the combined rows of every round since,
    each ``(center rows, values, context rows, values)``.  The round trains this worker's
    :class:`Replica`, brought to the snapshot plus all the updates.  Returns ``(center rows
    int64 (R,), their new values (R, D), context rows (S,), their new values (S, D),
    loss_sums float64 (n,), center_counts int64 (n,), pair_counts int64 (n,))`` for the
    ``n = last - first`` chunks.
    """
    import numba

    from .kernels import streaming
    global _replica
    if _replica is None or _replica.snapshot_key != snapshot_key or _replica.version > len(updates):
        _replica = Replica(snapshot_key, snapshot)
    tables = _replica.tables
    if _replica.undo is not None:
        for table, (rows, values) in zip(tables, _replica.undo):
            table[rows] = values
        _replica.undo = None
    for center_rows, center_values, context_rows, context_values in updates[_replica.version:]:
        tables[0][center_rows] = center_values
        tables[1][context_rows] = context_values
    _replica.version = len(updates)
    before = [table.copy() for table in tables]
    numba.set_num_threads(1)
    count = last - first
    loss_sums = np.zeros(count)
    center_counts = np.zeros(count, dtype=np.int64)
    pair_counts = np.zeros(count, dtype=np.int64)
    streaming.sgd_hogwild(static["ids"], static["piece_offsets"], static["chunk_pieces"], static["keep_probability"],
                          static["keep"], static["alias"], tables[0], tables[1], max_window, num_noise_words,
                          shared_noise, lr, min_lr_fraction, done_before, total_work, seed, first, loss_sums,
                          center_counts, pair_counts)
    moved = [np.flatnonzero((table != old).any(axis=1)) for table, old in zip(tables, before)]
    _replica.undo = [(rows, old[rows]) for rows, old in zip(moved, before)]
    return (moved[0], tables[0][moved[0]], moved[1], tables[1][moved[1]], loss_sums, center_counts, pair_counts)


def combine(table, changes, how, replicas):
    """Fold the workers' ``changes`` (a list, in worker order, of ``(rows, new rows)``) into ``table`` in place.

    ``sum``: the first worker's rows are taken as they are and every other worker's change
    (its rows minus the table's before the round) is added; ``average``: each change is
    added divided by ``replicas``, the number of replicas (a share whose chunks are all
    trained counts as a replica that did not move).  Rows no worker moved stay as they are.
    """
    before = [table[rows] for rows, _ in changes]
    scale = table.dtype.type(1 / replicas)
    for w, ((rows, new), old) in enumerate(zip(changes, before)):
        if replicas == 1 or how == "sum" and w == 0:
            table[rows] = new
        elif how == "sum":
            table[rows] += new - old
        else:
            table[rows] += (new - old) * scale


class DaskTrainer(HogwildTrainer):
    """The word2vec method's ``dask`` engine: :func:`train_round` on every worker, :func:`combine` on the client.

    Holds the :class:`~w2v_np.cluster.Cluster` from construction until :meth:`close`; the
    corpus arrays go to every worker once.
    """

    def __init__(self, plan, model, optimizer, corpus):
        self.model, self.optimizer, self.corpus = model, optimizer, corpus
        self.shared_noise = plan.noise_per == "window"
        self.how = plan.combine
        self.cluster = Cluster(plan.workers, plan.scheduler)
        self.num_shares = min(self.cluster.num_workers, corpus.num_chunks)
        bounds = np.linspace(0, corpus.num_chunks, self.num_shares + 1).round().astype(np.int64)
        self.share_first, self.share_end = bounds[:-1], bounds[1:]
        self.chunks_per_round = -(-plan.sync_tokens // CHUNK_TOKENS)
        self.chunk_start = corpus.piece_offsets[corpus.chunk_pieces]   # first token of each chunk, and the end
        self.static = None

    @property
    def num_batches(self):
        """Rounds per epoch (the progress bar's steps)."""
        return int(-(-(self.share_end - self.share_first).max() // self.chunks_per_round))

    def run_epoch(self, streams, bar):
        """One pass over the corpus in rounds; returns ``{"loss", "pairs", "centers", "tokens", "workers",
        "rounds", "sent_mb"}`` (``tokens``: the corpus tokens the combined replicas trained on;
        ``sent_mb``: the tables and updates the client sent, per worker)."""
        corpus, model, client = self.corpus, self.model, self.cluster.client
        seed = kernel_seed(streams["data"])
        lr, min_lr_fraction, done, total_work = self.optimizer.streaming_schedule(len(corpus))
        shares = self.num_shares
        loss_sums = np.zeros(corpus.num_chunks)
        centers = np.zeros(corpus.num_chunks, dtype=np.int64)
        pairs = np.zeros(corpus.num_chunks, dtype=np.int64)
        cursor = self.share_first.copy()
        tokens, sent = 0, 0
        snapshot = updates = None
        update_bytes = 0
        for step in range(1, self.num_batches + 1):
            work = [(int(first), int(min(first + self.chunks_per_round, end)))
                    for first, end in zip(cursor, self.share_end) if first < end]
            for _ in range(MAX_ATTEMPTS):
                if snapshot is None:
                    snapshot = client.scatter([(model.center, model.context)], broadcast=True, hash=False)[0]
                    updates, update_bytes = [], 0
                    sent += model.center.nbytes + model.context.nbytes
                if self.static is None:
                    self.static = client.scatter([self._static_arrays()], broadcast=True, hash=False)[0]
                futures = [client.submit(train_round, self.static, snapshot.key, snapshot, updates, first, last,
                                         self.shared_noise, corpus.max_window, corpus.num_noise_words, lr,
                                         min_lr_fraction, (done + tokens) // shares - int(self.chunk_start[first]),
                                         total_work // shares, seed, pure=False)
                           for first, last in work]
                try:
                    results = client.gather(futures)
                    break
                except self.cluster.lost_data:
                    # The only copy of sent data died with its worker: send it again, run the round again.
                    snapshot = self.static = None
            else:
                raise W2VError(f"the cluster lost the data of round {step} of this epoch {MAX_ATTEMPTS} times "
                               f"(workers dying?); resume the run from its last checkpoint with --resume")
            combine(model.center, [result[:2] for result in results], self.how, shares)
            combine(model.context, [result[2:4] for result in results], self.how, shares)
            for (first, last), result in zip(work, results):
                loss_sums[first:last], centers[first:last], pairs[first:last] = result[4:]
                tokens += int(self.chunk_start[last] - self.chunk_start[first])
            cursor = np.minimum(cursor + self.chunks_per_round, self.share_end)
            center_rows = np.unique(np.concatenate([result[0] for result in results]))
            context_rows = np.unique(np.concatenate([result[2] for result in results]))
            update = (center_rows, model.center[center_rows], context_rows, model.context[context_rows])
            size = update[1].nbytes + update[3].nbytes
            # Updates accumulate until they outweigh the tables: then the tables go out afresh.
            if update_bytes + size > model.center.nbytes + model.context.nbytes:
                snapshot = None
            elif step < self.num_batches:
                updates.append(client.scatter([update], broadcast=True, hash=False)[0])
                update_bytes += size
                sent += size
            if bar.wants(step):
                bar.update(step, loss_sums.sum() / max(centers.sum(), 1))
        bar.close()
        return {"loss": float(loss_sums.sum() / max(centers.sum(), 1)), "pairs": int(pairs.sum()),
                "centers": int(centers.sum()), "tokens": tokens, "workers": shares, "rounds": self.num_batches,
                "sent_mb": sent / 2**20}

    def _static_arrays(self):
        """What every round reads of the corpus: its arrays and the noise table."""
        corpus = self.corpus
        return {"ids": corpus.ids, "piece_offsets": corpus.piece_offsets, "chunk_pieces": corpus.chunk_pieces,
                "keep_probability": corpus.keep_probability, "keep": corpus.noise.keep, "alias": corpus.noise.alias}

    def close(self):
        self.cluster.close()
