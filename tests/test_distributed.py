"""The word2vec method on a Dask cluster (the ``dask`` engine): local clusters of worker processes.

What is pinned: one worker is the single-threaded ``numba`` engine bit for bit, whatever
``sync_tokens``; a run depends on its seed, its number of shares and ``sync_tokens`` only,
so it repeats bit for bit, resumes bit for bit, and survives a worker killed mid-run with
the very same tables, every token of every epoch trained once; two workers learn what one
learns; unreachable or wrong addresses give one line and exit 2 within 30 s.
"""
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from w2v_np import TrainConfig, W2VError, resume, train
from w2v_np.streamed_corpus import CHUNK_TOKENS
from test_minibatch_kernels import corpus_file, run

pytest.importorskip("numba")
distributed = pytest.importorskip("distributed")

SENTENCES = 12_000                       # 96,000 tokens: 6 chunks, 3 a share with 2 workers
TOPIC_WORDS = 6


def local_cluster(workers):
    return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                     dashboard_address=":0", silence_logs=logging.ERROR)


@pytest.fixture(scope="module")
def scheduler():
    """A cluster of two single-threaded workers, shared by the tests that do not kill one."""
    with local_cluster(2) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return corpus_file(tmp_path_factory.mktemp("distributed"), seed=5, sentences=SENTENCES)


SETTINGS = dict(min_count=1, dim=16, sample=0.0, seed=0, method="word2vec", lr=0.05, sync_tokens=CHUNK_TOKENS)
"""As ``test_minibatch_kernels.run`` trains, for --method word2vec."""


def word2vec(path, **changes):
    return run(path, **{**SETTINGS, "batch_size": None, "epochs": 2, **changes})


def tables(result):
    return result.model.center.copy(), result.model.context.copy()


def assert_same_bits(a, b):
    for x, y in zip(tables(a), tables(b)):
        np.testing.assert_array_equal(x, y)


def topic_neighbours(result):
    """The share of the topics' words whose nearest word (cosine of the center vectors) is of their topic."""
    tokens = result.vocab.idx_to_token
    rows = [tokens.index(f"t{t}w{i}") for t in range(10) for i in range(TOPIC_WORDS)]
    unit = result.model.center[rows] / np.linalg.norm(result.model.center[rows], axis=1, keepdims=True)
    cosines = unit @ unit.T
    np.fill_diagonal(cosines, -2)
    return np.mean(cosines.argmax(axis=1) // TOPIC_WORDS == np.arange(len(rows)) // TOPIC_WORDS)


def test_one_worker_is_the_single_threaded_numba_engine_bit_for_bit(corpus):
    serial = word2vec(corpus, threads=1, sync_tokens=None)
    one = word2vec(corpus, workers=1)
    assert one.metrics["plan"]["engine"] == "dask" and one.metrics["plan"]["reduction"] == "rounds"
    assert_same_bits(serial, one)
    for a, b in zip(serial.metrics["epochs"], one.metrics["epochs"]):
        assert (a["loss"], a["pairs"], a["centers"]) == (b["loss"], b["pairs"], b["centers"])
        assert b["tokens"] == SENTENCES * 8 and b["workers"] == 1 and b["rounds"] == 6


def test_the_workers_read_the_corpus_into_what_one_process_reads(corpus, scheduler, tmp_path):
    """The first pass on the workers: each reads its byte range, the client merges types,
    counts and lines into what read_corpus gives, and the ids the workers encode are the
    serial ids, cut into shares across their ranges; a worker that cannot see the file says so."""
    from w2v_np.cluster import Cluster
    from w2v_np.corpus import read_corpus
    from w2v_np.dask_corpus import ClusterText, _read_range
    from w2v_np.vocab import Vocab
    uneven = tmp_path / "uneven.txt"
    uneven.write_text("\n\n" + corpus.read_text()[:5000] + "\n lonely\n" + "w " * 30000 + "\nx y x\n\n")
    cluster = Cluster(address=scheduler)
    try:
        for path in (corpus, uneven):
            serial = read_corpus(path)
            text = ClusterText(cluster, path)
            assert text.types == serial.types
            np.testing.assert_array_equal(text.counts, serial.counts)
            np.testing.assert_array_equal(text.offsets, serial.offsets)
            vocab = Vocab.from_counts(text.types, text.counts, min_freq=2)
            ids = text.encode(vocab)
            expected = vocab.ids_of(serial.types)[serial.type_ids]
            assert ids.shape == expected.shape and ids.has_examples
            workers = sorted(cluster.client.scheduler_info()["workers"])
            size = expected.shape[0]
            for start, stop in ((0, size), (size // 3, 2 * size // 3), (size - 5, size)):
                np.testing.assert_array_equal(cluster.client.gather(ids.share(start, stop, workers[1])),
                                              expected[start:stop])
    finally:
        cluster.close()
    with pytest.raises(W2VError, match=r"^a dask worker on .* finds no corpus file /nowhere/c.txt: every worker "):
        _read_range("/nowhere/c.txt", 0, 10, "utf-8")


def test_a_range_lost_with_its_worker_is_read_again(corpus):
    """The ranges' ids live on the workers only: when a worker dies, Dask runs again the tasks
    that read and encoded its range (the client dropped the read's futures), from the file."""
    from w2v_np.cluster import Cluster
    from w2v_np.corpus import read_corpus
    from w2v_np.dask_corpus import ClusterText
    from w2v_np.vocab import Vocab
    serial = read_corpus(corpus)
    with local_cluster(2) as local:
        cluster = Cluster(address=local.scheduler_address)
        try:
            text = ClusterText(cluster, corpus)
            vocab = Vocab.from_counts(text.types, text.counts, min_freq=1)
            ids = text.encode(vocab)
            client = cluster.client
            pids = client.run(os.getpid)
            victim, survivor = sorted(pids)
            os.kill(pids[victim], signal.SIGKILL)
            size = ids.shape[0]
            again = client.gather(ids.share(0, size, survivor))
            np.testing.assert_array_equal(again, vocab.ids_of(serial.types)[serial.type_ids])
            assert pids[victim] not in client.run(os.getpid).values()
        finally:
            cluster.close()


def test_a_local_cluster_leaves_its_cores_to_the_workers():
    """--workers N: no statistical profiler in the workers, no work stealing in the scheduler."""
    import dask

    from w2v_np.cluster import Cluster
    cluster = Cluster(workers=1)
    try:
        profiling = cluster.client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
        assert set(profiling.values()) == {False}
        assert "stealing" not in cluster.client.run_on_scheduler(lambda dask_scheduler: set(dask_scheduler.extensions))
        assert cluster.client.run(lambda: dask.config.get("distributed.admin.tick.interval")).popitem()[1] == "1s"
    finally:
        cluster.close()
    # The client's own settings are left as they were.
    assert dask.config.get("distributed.worker.profile.enabled")


def test_an_in_memory_corpus_goes_to_the_workers_from_the_client(corpus):
    sentences = [line.split() for line in corpus.read_text().splitlines()]
    serial, one = (train(TrainConfig(corpus=sentences, **{**SETTINGS, "epochs": 1, **changes}), probes=(), quiet=True)
                   for changes in ({"threads": 1, "sync_tokens": None}, {"workers": 1}))
    assert one.metrics["plan"]["engine"] == "dask"
    assert_same_bits(serial, one)


def test_two_workers_repeat_bit_for_bit_and_learn_what_one_learns(corpus, scheduler):
    first, again = (word2vec(corpus, scheduler=scheduler) for _ in range(2))
    assert_same_bits(first, again)
    epochs = first.metrics["epochs"]
    assert first.metrics["plan"]["combine"] == "average"
    assert ([(e["tokens"], e["workers"], e["rounds"]) for e in epochs] == [(SENTENCES * 8, 2, 3)] * 2)
    serial = word2vec(corpus, threads=1, sync_tokens=None)
    # Same vocabulary; the replicas' loss within 5% of one thread's; every topic word's neighbour in its topic.
    assert first.vocab.idx_to_token == serial.vocab.idx_to_token
    assert abs(epochs[-1]["loss"] / serial.metrics["epochs"][-1]["loss"] - 1) < 0.05
    assert topic_neighbours(serial) == topic_neighbours(first) == 1
    summed = word2vec(corpus, scheduler=scheduler, combine="sum")
    assert summed.metrics["plan"]["combine"] == "sum"
    assert not np.array_equal(summed.model.center, first.model.center)
    assert abs(summed.metrics["epochs"][-1]["loss"] / serial.metrics["epochs"][-1]["loss"] - 1) < 0.05
    assert topic_neighbours(summed) == 1


def test_average_trains_each_replica_at_workers_times_the_rate(corpus, scheduler):
    """At a small rate, where a round's changes add up nearly as one thread's do, averaging two
    replicas trained at 2 x lr moves the center table as far as one thread at lr; at the plain
    rate (given lr / 2) far less (the context table starts at zero, so the center rows' changes
    grow faster than the rate)."""
    start = word2vec(corpus, threads=1, sync_tokens=None, epochs=1, lr=1e-12).model.center
    serial, averaged, halved = (word2vec(corpus, epochs=1, lr=lr, **where)
                                for lr, where in ((1e-3, {"threads": 1, "sync_tokens": None}),
                                                  (1e-3, {"scheduler": scheduler}), (5e-4, {"scheduler": scheduler})))
    distance = [np.linalg.norm(result.model.center - start) for result in (serial, averaged, halved)]
    assert averaged.metrics["plan"]["combine"] == "average"
    assert abs(distance[1] / distance[0] - 1) < 0.02 and distance[2] < distance[0] / 2


def test_a_diverging_run_stops_in_one_line(corpus, scheduler):
    with pytest.raises(W2VError, match=r"^training diverged in round \d+ of 3 \(mean loss .*\): lower --lr "
                                       r"\(--combine average trains each of the 2 replicas at 2 x --lr\)$"):
        word2vec(corpus, scheduler=scheduler, lr=50.0)


def test_sync_tokens_sets_the_rounds(corpus, scheduler, monkeypatch):
    coarse = word2vec(corpus, scheduler=scheduler, sync_tokens=3 * CHUNK_TOKENS, epochs=1)
    fine = word2vec(corpus, scheduler=scheduler, sync_tokens=CHUNK_TOKENS + 1, epochs=1)
    assert coarse.metrics["epochs"][0]["rounds"] == 1 and fine.metrics["epochs"][0]["rounds"] == 2
    assert not np.array_equal(coarse.model.center, fine.model.center)
    # By default a round's tokens are divided among the workers.
    monkeypatch.setattr("w2v_np.word2vec_dask.ROUND_TOKENS", 4 * CHUNK_TOKENS)
    default = word2vec(corpus, scheduler=scheduler, sync_tokens=None, epochs=1)
    assert default.metrics["plan"]["sync_tokens"] is None
    epoch = default.metrics["epochs"][0]
    assert (epoch["sync_tokens"], epoch["rounds"]) == (2 * CHUNK_TOKENS, 2)


def test_a_run_stopped_after_an_epoch_resumes_bit_for_bit_on_another_cluster(corpus, scheduler, tmp_path):
    straight = word2vec(corpus, scheduler=scheduler, epochs=3)

    def stop_after_epoch_1(epoch):                      # its checkpoint is written
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(**dict(SETTINGS, corpus=str(corpus), epochs=3, scheduler=scheduler)),
              out_dir=tmp_path / "run", probes=(), quiet=True, callbacks=[stop_after_epoch_1])
    # The scheduler moved: the run goes on in a new local cluster of as many workers.
    resumed = resume(tmp_path / "run", workers=2, probes=(), quiet=True)
    assert resumed.metrics["resumed_at"] == [1]
    assert resumed.metrics["plan"]["workers"] == 2 and resumed.metrics["plan"]["scheduler"] is None
    assert_same_bits(straight, resumed)


def test_only_a_dask_run_resumes_on_a_cluster(corpus, tmp_path):
    train(TrainConfig(**dict(SETTINGS, corpus=str(corpus), epochs=1, sync_tokens=None)), out_dir=tmp_path / "run",
          probes=(), quiet=True)
    with pytest.raises(W2VError, match=r"trained in one process \(--engine numba\); --workers and --scheduler "
                                       r"move a run of the dask engine"):
        resume(tmp_path / "run", epochs=2, workers=2, probes=(), quiet=True)


def test_a_worker_killed_mid_run_changes_nothing(corpus, scheduler):
    undisturbed = word2vec(corpus, scheduler=scheduler, epochs=3)
    with local_cluster(2) as cluster, distributed.Client(cluster) as client:
        victim = sorted(client.run(os.getpid).values())[0]
        killed = threading.Event()

        def kill_after_the_first_epoch(epoch):
            if epoch["epoch"] == 1:
                # Mid-round: the next epoch's first tasks are being sent when it dies.
                threading.Timer(0.05, lambda: (os.kill(victim, signal.SIGKILL), killed.set())).start()

        survived = train(TrainConfig(**dict(SETTINGS, corpus=str(corpus), epochs=3,
                                            scheduler=cluster.scheduler_address)),
                         probes=(), quiet=True, callbacks=[kill_after_the_first_epoch])
        assert killed.wait(10)
        assert victim not in client.run(os.getpid).values()
    assert_same_bits(undisturbed, survived)
    assert [e["tokens"] for e in survived.metrics["epochs"]] == [SENTENCES * 8] * 3


def losing_rounds(monkeypatch, losses):
    """Make the first ``losses`` gathers of the rounds fail as when the only copy of sent data dies with its
    worker (the first pass's gathers, before the rounds, are left alone)."""
    gather = distributed.Client.gather
    calls = []

    def lossy_gather(client, futures, *args, **kwargs):
        if not (futures if isinstance(futures, list) else [futures])[0].key.startswith(("round_metrics",
                                                                                         "segment_tables")):
            return gather(client, futures, *args, **kwargs)
        calls.append(len(futures) if isinstance(futures, list) else 1)
        if len(calls) <= losses:
            client.cancel(futures)
            raise distributed.client.FutureCancelledError("train_round", "lost dependencies")
        return gather(client, futures, *args, **kwargs)

    monkeypatch.setattr(distributed.Client, "gather", lossy_gather)
    return calls


def test_a_segment_whose_data_was_lost_runs_again_with_the_same_result(corpus, scheduler, monkeypatch):
    undisturbed = word2vec(corpus, scheduler=scheduler)
    calls = losing_rounds(monkeypatch, losses=2)
    again = word2vec(corpus, scheduler=scheduler)
    # Two lost tries, then an epoch's 3 rounds and its tables, twice.
    assert calls == [2, 2] + [2, 2, 2, 1] * 2
    assert_same_bits(undisturbed, again)


def test_a_segment_lost_again_and_again_ends_the_run_in_one_line(corpus, scheduler, monkeypatch):
    losing_rounds(monkeypatch, losses=10)
    with pytest.raises(W2VError, match="the cluster lost data of rounds 1-3 of this epoch 3 times"):
        word2vec(corpus, scheduler=scheduler)


def test_average_is_the_default_and_sum_is_refused_beyond_two_replicas(corpus):
    from w2v_np.plan import make_plan
    from w2v_np.word2vec_dask import check_combine
    assert make_plan(TrainConfig(corpus=corpus, **{**SETTINGS, "workers": 3})).combine == "average"
    for combine, replicas in (("average", 8), ("sum", 1), ("sum", 2)):
        check_combine(combine, replicas)
    with pytest.raises(W2VError, match=r"^--combine sum diverges with more than 2 workers \(3 here\).*"
                                       r"use --combine average$"):
        word2vec(corpus, workers=3, combine="sum", epochs=1)


def test_settings_of_the_dask_engine_are_refused_elsewhere(corpus):
    with pytest.raises(W2VError, match="--sync-tokens is a setting of the dask engine; give --workers N"):
        word2vec(corpus)
    with pytest.raises(W2VError, match="--workers runs on a Dask cluster, with --engine dask, not --engine numba"):
        word2vec(corpus, engine="numba", workers=2, sync_tokens=None)
    with pytest.raises(W2VError, match="give one of them"):
        word2vec(corpus, workers=2, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(W2VError, match=r"^--threads sets the Numba threads of one process; the dask engine's "
                                       r"workers train on one thread each .*give more --workers$"):
        word2vec(corpus, workers=2, threads=2)
    with pytest.raises(W2VError, match="--method d2l has no dask engine: exchanging .* use --method word2vec on"):
        run(corpus, workers=2)


@pytest.mark.parametrize("address, message", [
    ("tcp://127.0.0.1:9", "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"),
    ("no-port-here", "cannot reach the Dask scheduler at 'no-port-here': missing port number"),
])
def test_a_scheduler_that_does_not_answer_is_one_line_and_exit_2_within_30_s(corpus, address, message, tmp_path):
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "w2v_np", "train", "--corpus", str(corpus), "--method", "word2vec",
                           "--min-count", "1", "--epochs", "1", "--quiet", "--scheduler", address,
                           "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)  # the installed package
    assert time.monotonic() - start < 30
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("w2v-np: error: " + message)
    assert not list(tmp_path.glob("run/*.npz")) and not list(tmp_path.glob("run/vectors.*"))


def test_without_dask_the_run_names_the_extra(corpus, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(W2VError, match=r"need Dask: pip install 'w2v-np\[distributed\]'"):
        word2vec(corpus, workers=2, sync_tokens=None)
