"""The word2vec method on a Dask cluster: each worker trains a replica on its share, the replicas combined every round.

The corpus's chunks (:class:`~w2v_np.streamed_corpus.StreamedCorpus`, each seeded on its
own) are cut into one contiguous share per worker; the token ids are on the workers, who
read the corpus file themselves (:mod:`w2v_np.dask_corpus`).  A *round*: each worker runs the
streaming kernel on the next ``sync_tokens`` of its share (rounded up to whole chunks;
by default :data:`ROUND_TOKENS` divided among the workers), on
one thread, from the combined tables; its result is the center rows of its tokens (the
only ones it can move) and the whole context table (noise words touch nearly every row).
The next round's tasks take every share's result as input: Dask carries each result from
worker to worker, and every worker folds them, in share order, into its own copy of the
combined tables (:func:`combine`), so all replicas hold the same bits and the client stays
out of the data's way.  Combining:

- ``average`` (the default): each replica trains at ``N`` times the learning rate and the
  replicas are averaged.  A row one replica moves a little moves as in one process (its change
  is ``N`` times as large and counts ``1/N``); a row every replica brings to its optimum lands
  on it.  Without the ``N``, averaging would learn at ``1/N`` of the rate (Spark MLlib's
  Word2Vec);
- ``sum``: every replica trains at the learning rate and every change is added (as Hogwild
  threads add theirs, but seen by the others one round late); refused for more than two
  replicas (:func:`check_combine`).

Rounds go in *segments* of :data:`SEGMENT_ROUNDS`: the client sends the tables at a
segment's start and takes the combined tables back at its end.  A segment is a pure
function of its first tables and the chunks, so when a worker dies with results that are
needed (or a round reaches a worker that cannot start it, :class:`StaleReplica`), the
client runs the segment again from its first tables, and the result neither changes nor
counts twice: for a seed, a number of shares and ``sync_tokens``, the tables are the same
bits whatever the workers' speeds or failures.

The learning rate follows the tokens trained by all workers together: worker ``w``'s token
``p`` tokens into its round trains at the rate word2vec.c gives global progress
``(done before the round + N * p) / total`` (times ``N`` with ``average``).  A round whose
mean loss is not finite or exceeds twice that of untrained vectors stops the run
(:data:`DIVERGED_LOSS`).  With one worker and any ``sync_tokens`` it
is the single-threaded ``numba`` engine, bit for bit.
"""
import threading

import numpy as np

from .errors import W2VError
from .sampling import kernel_seed
from .streamed_corpus import CHUNK_TOKENS
from .word2vec import HogwildTrainer

COMBINES = ("sum", "average")
DIVERGED_LOSS = 2 * np.log(2)
"""A round's mean loss above this (twice a center's loss on untrained vectors, whose scores
are 0) means training diverged: the run stops with a W2VError instead of writing garbage."""
ROUND_TOKENS = 1 << 21
"""The tokens a round trains, all workers together, when ``sync_tokens`` is not given: each
worker trains its share of them.  Chosen on measurement (docs/distributed.md): two workers of
2^20 tokens kept one worker's quality within 1%, and smaller rounds cost more than they train."""
SEGMENT_ROUNDS = 16
"""Rounds between two copies of the combined tables on the client: what a lost worker costs to train again."""
MAX_ATTEMPTS = 3
"""Times a segment is run again after the cluster lost data it needed, before the run gives up."""


class StaleReplica(Exception):
    """A round reached a worker whose replica is not at the round's start (the worker is new, or
    lost the results it needed): the client runs the segment again."""


class Replica:
    """A worker's combined tables ``base`` after round ``round`` of segment ``key`` (-1: the segment's first tables)."""

    def __init__(self, key, tables):
        self.key, self.round = key, -1
        self.base = [table.copy() for table in tables]


_replica = None
"""The replica of the run this worker process serves (one at a time)."""
_replica_lock = threading.Lock()
"""One round at a time per worker process, however many threads it has."""


def _replica_before(key, snapshot, previous, r, how, replicas):
    """This worker's :class:`Replica` brought to the start of round ``r`` of segment ``key``.

    Round 0 starts from ``snapshot``; round ``r`` from the replica after round ``r - 2``
    and ``previous``, every share's result of round ``r - 1`` in share order, combined by
    :func:`combine` (or already combined, when the worker ran another share of round ``r``).
    Raises :class:`StaleReplica` when the replica is at neither.
    """
    global _replica
    if r == 0:
        if _replica is None or _replica.key != key or _replica.round != -1:
            _replica = Replica(key, snapshot)
        return _replica
    if _replica is None or _replica.key != key or _replica.round not in (r - 2, r - 1):
        raise StaleReplica(f"this worker cannot start round {r} of segment {key}")
    if _replica.round == r - 2:
        center, context = _replica.base
        combine(center, [result[:2] for result in previous], how, replicas)
        combine(context, [(None, result[2]) for result in previous], how, replicas)
        _replica.round = r - 1
    return _replica


def train_round(static, key, snapshot, previous, r, how, replicas, first, last, shared_noise, max_window,
                num_noise_words, lr, min_lr_fraction, done_before, total_work, seed):
    """One worker's share of round ``r`` of a segment (runs on the worker): chunks ``first..last-1`` on one thread.

    ``static``: the share's arrays (:func:`share_arrays`: its ids, pieces and chunks, and the
    noise table); ``snapshot``: the tables ``(center, context)`` float ``(V, D)`` at
    the segment's start (round 0 only, else None); ``previous``: every share's result of
    round ``r - 1`` (None in round 0).  Trains a copy of the combined tables
    (:func:`_replica_before`).  Returns ``(center rows int64 (R,), their new values (R, D),
    the new context table (V, D), loss_sums float64 (n,), center_counts int64 (n,),
    pair_counts int64 (n,))`` for the ``n = last - first`` chunks; the center rows are
    those of the chunks' tokens, the only center rows the kernel can move.
    """
    import numba

    from .kernels import streaming
    with _replica_lock:
        center, context = (table.copy() for table in _replica_before(key, snapshot, previous, r, how,
                                                                     replicas).base)
        numba.set_num_threads(1)
        count = last - first
        loss_sums = np.zeros(count)
        center_counts = np.zeros(count, dtype=np.int64)
        pair_counts = np.zeros(count, dtype=np.int64)
        streaming.sgd_hogwild(static["ids"], static["piece_offsets"], static["chunk_pieces"],
                              static["keep_probability"], static["keep"], static["alias"], center, context,
                              max_window, num_noise_words, shared_noise, lr, min_lr_fraction, done_before,
                              total_work, seed, first, loss_sums, center_counts, pair_counts)
    start, stop = static["piece_offsets"][static["chunk_pieces"][[first, last]]]
    present = np.zeros(center.shape[0], dtype=bool)
    present[static["ids"][start:stop]] = True
    rows = np.flatnonzero(present)
    return rows, center[rows], context, loss_sums, center_counts, pair_counts


def share_arrays(ids, layout, shared):
    """What a share's rounds read (a dict): its ids (int32 ``(N,)``), its ``layout`` (the pieces and
    chunks of :class:`~w2v_np.streamed_corpus.StreamedCorpus`, counted from the share's first token and piece,
    :meth:`DaskTrainer._share_arrays`) and ``shared``, the keep probabilities and noise table."""
    return {"ids": ids, **layout, **shared}


def round_metrics(result):
    """What the client reads of a :func:`train_round` result: its three count arrays and its size in bytes."""
    return result[3:] + (sum(part.nbytes for part in result[:3]),)


def segment_tables(key, previous, rounds, how, replicas):
    """The combined tables ``[center, context]`` after a segment's ``rounds`` rounds (runs on a worker)."""
    with _replica_lock:
        return _replica_before(key, None, previous, rounds, how, replicas).base


def combine(table, changes, how, replicas):
    """Fold the workers' ``changes`` (a list, in worker order, of ``(rows, new rows)``) into ``table`` in place.

    ``rows``: int64 ``(R,)``, distinct, with ``new rows`` float ``(R, D)``, or None for the whole
    table.  With ``s = 1 / replicas`` (``average``; ``replicas`` is the number of replicas, and a
    share whose chunks are all trained counts as one that did not move) or ``s = 1`` (``sum``),
    a row ``b`` that ``k`` workers moved becomes ``b + s * sum(new - b)``, computed as
    ``(1 - s * k) * b + s * sum(new)`` so that no copy of the table before the round is needed
    (:func:`combine_reference` is the definition).  A row only one worker moved under ``sum``,
    and every row of a single replica, is taken as it is; rows no worker moved stay as they are.
    """
    from .kernels.replicas import add_scaled_rows
    every_row = np.arange(table.shape[0])
    changes = [(every_row if rows is None else rows, new) for rows, new in changes]
    moved = np.zeros(table.shape[0], dtype=np.int64)
    for rows, _ in changes:
        moved[rows] += 1
    scale = 1 / replicas if how == "average" else 1
    table *= (1 - scale * moved).astype(table.dtype)[:, None]
    for rows, new in changes:
        add_scaled_rows(table, rows, new, table.dtype.type(scale))


def combine_reference(table, changes, how, replicas):
    """:func:`combine`'s definition in NumPy: the table before the round, plus every worker's
    change (its rows minus the table's before the round), divided by ``replicas`` for
    ``average``; the first worker's rows under ``sum``, and a single replica's, are taken as
    they are."""
    before = table.copy()
    for w, (rows, new) in enumerate(changes):
        index = slice(None) if rows is None else rows
        if replicas == 1 or how == "sum" and w == 0:
            table[index] = new
            continue
        change = new - before[index]
        if how == "average":
            change /= replicas
        table[index] += change


def add_scaled_rows_reference(table, rows, values, scale):
    """The reference of :func:`w2v_np.kernels.replicas.add_scaled_rows`: ``table[rows] += scale * values``."""
    table[rows] += scale * values


def check_combine(combine, replicas):
    """Refuse (W2VError) ``combine`` for a run of ``replicas`` replicas when it diverges.

    With ``sum``, a row that every replica brings to its optimum within a round (a frequent
    word's) moves ``replicas`` times the way: it lands ``replicas - 1`` times the distance past
    the optimum.  Two replicas swing about it and stay bounded; more diverge (measured in
    docs/distributed.md), so ``sum`` with more than two is refused (W2VError).
    """
    if combine == "sum" and replicas > 2:
        raise W2VError(f"--combine sum diverges with more than 2 workers ({replicas} here): a row that every "
                       f"replica brings to its optimum lands {replicas - 1} times the distance past it "
                       f"(docs/distributed.md); use --combine average")


class DaskTrainer(HogwildTrainer):
    """The word2vec method's ``dask`` engine: rounds of :func:`train_round`, combined on the workers.

    Takes over the cluster that holds the corpus's ids (``corpus.ids``, a
    :class:`~w2v_np.dask_corpus.ClusterIds`) and closes it in :meth:`close`; each share's ids
    are cut on the workers once (again only after the cluster lost them).
    """

    def __init__(self, plan, model, optimizer, corpus):
        self.model, self.optimizer, self.corpus = model, optimizer, corpus
        self.shared_noise = plan.noise_per == "window"
        self.cluster = corpus.ids.cluster
        try:
            self._cut(plan, corpus)
        except BaseException:
            self.cluster.close()
            raise

    def _cut(self, plan, corpus):
        """The shares, the rounds, and each share's arrays on its worker (see the module's docstring)."""
        self.num_shares = min(self.cluster.num_workers, corpus.num_chunks)
        check_combine(plan.combine, self.num_shares)
        self.how = plan.combine
        self.lr_scale = self.num_shares if self.how == "average" else 1
        self.bounds = np.linspace(0, corpus.num_chunks, self.num_shares + 1).round().astype(np.int64)
        self.sync_tokens = plan.sync_tokens or -(-ROUND_TOKENS // self.num_shares)
        chunks_per_round = -(-self.sync_tokens // CHUNK_TOKENS)
        chunk_start = corpus.piece_offsets[corpus.chunk_pieces]   # first token of each chunk, and the end
        # rounds[i]: each share's chunks (share, first, last) in round i; before[i]: the tokens of rounds 0..i-1.
        self.rounds = []
        for cursor in range(0, int(np.diff(self.bounds).max()), chunks_per_round):
            self.rounds.append([(share, int(first + cursor), int(min(first + cursor + chunks_per_round, end)))
                                for share, (first, end) in enumerate(zip(self.bounds[:-1], self.bounds[1:]))
                                if first + cursor < end])
        tokens = [sum(int(chunk_start[last] - chunk_start[first]) for _, first, last in work) for work in self.rounds]
        self.before = np.concatenate([[0], np.cumsum(tokens)]).astype(np.int64)
        self.chunk_start = chunk_start
        # Each share's ids are cut now, with the run's preparation, not in its first round.
        self.statics = self._share_arrays(sorted(self.cluster.client.scheduler_info()["workers"]))
        self.cluster.wait(self.statics)

    @property
    def num_batches(self):
        """Rounds per epoch (the progress bar's steps)."""
        return len(self.rounds)

    def run_epoch(self, streams, bar):
        """One pass over the corpus in rounds; returns ``{"loss", "pairs", "centers", "tokens", "workers",
        "rounds", "sync_tokens", "received_mb"}`` (``tokens``: the corpus tokens the
        combined replicas trained on;
        ``received_mb``: what reached each worker, on average: tables at each segment's start and the
        other shares' results of every round)."""
        corpus = self.corpus
        schedule = (kernel_seed(streams["data"]),) + self.optimizer.streaming_schedule(len(corpus))
        counts = [np.zeros(corpus.num_chunks), np.zeros(corpus.num_chunks, dtype=np.int64),
                  np.zeros(corpus.num_chunks, dtype=np.int64)]
        received = 0
        for first in range(0, len(self.rounds), SEGMENT_ROUNDS):
            rounds = range(first, min(first + SEGMENT_ROUNDS, len(self.rounds)))
            for _ in range(MAX_ATTEMPTS):
                try:
                    received += self._segment(rounds, schedule, counts, bar)
                    break
                except (self.cluster.lost_data, StaleReplica):
                    # A worker died with results or sent data only it held: run the segment again.
                    self.statics = None
            else:
                raise W2VError(f"the cluster lost data of rounds {rounds.start + 1}-{rounds.stop} of this epoch "
                               f"{MAX_ATTEMPTS} times (workers dying?); resume the run from its last checkpoint "
                               f"with --resume")
        bar.close()
        loss_sums, centers, pairs = counts
        return {"loss": float(loss_sums.sum() / max(centers.sum(), 1)), "pairs": int(pairs.sum()),
                "centers": int(centers.sum()), "tokens": int(self.before[-1]), "workers": self.num_shares,
                "rounds": len(self.rounds), "sync_tokens": self.sync_tokens,
                "received_mb": received / self.num_shares / 2**20}

    def _segment(self, rounds, schedule, counts, bar):
        """Rounds ``rounds`` from the model's tables, which then hold their combination; fills ``counts``
        (loss sums, centers, pairs per chunk) and returns the bytes the workers received."""
        seed, lr, min_lr_fraction, done, total_work = schedule
        corpus, model, client, shares = self.corpus, self.model, self.cluster.client, self.num_shares
        workers = sorted(client.scheduler_info()["workers"])
        if self.statics is None:
            self.statics = self._share_arrays(workers)
        snapshot = client.scatter([(model.center, model.context)], broadcast=True, hash=False)[0]
        received = shares * (model.center.nbytes + model.context.nbytes)
        previous = pending = None
        for r, step in enumerate(rounds):
            # The kernel counts a token's progress from its share's first token.
            futures = [client.submit(train_round, self.statics[s], snapshot.key, snapshot if r == 0 else None,
                                     previous, r, self.how, shares, first, last, self.shared_noise,
                                     corpus.max_window, corpus.num_noise_words, lr * self.lr_scale, min_lr_fraction,
                                     (done + int(self.before[step])) // shares
                                     - int(self.chunk_start[first] - self.chunk_start[self.bounds[s]]),
                                     total_work // shares, seed, workers=[workers[s % len(workers)]],
                                     allow_other_workers=True, pure=False)
                       for s, first, last in self.rounds[step]]
            metrics = [client.submit(round_metrics, future, pure=False) for future in futures]
            if pending is not None:
                received += self._record(*pending, counts, bar)
            pending, previous = (step, metrics), futures
        tables = client.submit(segment_tables, snapshot.key, previous, len(rounds), self.how, shares,
                               workers=[workers[0]], allow_other_workers=True, pure=False)
        received += self._record(*pending, counts, bar)
        model.center[:], model.context[:] = client.gather(tables)
        return received

    def _record(self, step, metrics, counts, bar):
        """Round ``step``'s counts into ``counts`` (waits for them); returns the bytes its results
        sent to the other shares' workers.  Raises W2VError when the round diverged (:data:`DIVERGED_LOSS`)."""
        results = self.cluster.client.gather(metrics)
        for (_, first, last), result in zip(self.rounds[step], results):
            for total, part in zip(counts, result[:3]):
                total[first:last] = part
        loss = sum(result[0].sum() for result in results) / max(sum(result[1].sum() for result in results), 1)
        if not loss <= DIVERGED_LOSS:
            raise W2VError(f"training diverged in round {step + 1} of {len(self.rounds)} (mean loss {loss:.3g}; "
                           f"untrained vectors give {np.log(2):.3f}): lower --lr"
                           + (f" (--combine average trains each of the {self.num_shares} replicas at "
                              f"{self.num_shares} x --lr)" if self.lr_scale > 1 else ""))
        if bar.wants(step + 1):
            bar.update(step + 1, counts[0].sum() / max(counts[1].sum(), 1))
        return (len(results) - 1) * sum(result[3] for result in results)

    def _share_arrays(self, workers):
        """Futures of :func:`share_arrays` for every share, each on its worker (``workers``: addresses)."""
        corpus, client = self.corpus, self.cluster.client
        shared = client.scatter([{"keep_probability": corpus.keep_probability, "keep": corpus.noise.keep,
                                  "alias": corpus.noise.alias}], broadcast=True, hash=False)[0]
        statics = []
        for share in range(self.num_shares):
            worker = workers[share % len(workers)]
            first_piece, last_piece = corpus.chunk_pieces[self.bounds[share:share + 2]]
            first_token, last_token = corpus.piece_offsets[[first_piece, last_piece]]
            # chunk_pieces keeps every chunk's entry: the kernel seeds a chunk by its index in the corpus.
            layout = {"piece_offsets": corpus.piece_offsets[first_piece:last_piece + 1] - first_token,
                      "chunk_pieces": corpus.chunk_pieces - first_piece}
            ids = corpus.ids.share(int(first_token), int(last_token), worker)
            layout = client.scatter([layout], workers=[worker], hash=False)[0]
            statics.append(client.submit(share_arrays, ids, layout, shared, workers=[worker],
                                         allow_other_workers=True, pure=False))
        return statics

    def close(self):
        self.cluster.close()
