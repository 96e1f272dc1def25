"""Runs that collide, sizes that cannot exist, writes that fail, data that cannot train.

Each case is refused in one line (a W2VError, or ``w2v-np: error: ...`` and exit status 2)
before any work it would spoil; the CLI runs in a subprocess with ``cwd=tmp_path``.
"""
import contextlib
import importlib
import json
import signal
import subprocess
import sys

import numpy as np
import pytest

import w2v_np.d2l
import w2v_np.kernels
from w2v_np import TrainConfig, W2VError, resume, train
from w2v_np.checkpoint import load_checkpoint
from w2v_np.footprint import estimate
from w2v_np.plan import make_plan
from w2v_np.run_lock import LOCK_FILE
from cli_runs import ended, wait_for
from log_lines import on_log

run_module = importlib.import_module("w2v_np.train")     # the package's `train` is the function


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """6000 tokens over 60 words, 12 a sentence."""
    rng = np.random.default_rng(3)
    path = tmp_path_factory.mktemp("corpus") / "words.txt"
    path.write_text("\n".join(" ".join(f"w{w}" for w in rng.integers(0, 60, size=12)) for _ in range(500)) + "\n")
    return path


def command(*args, cwd):
    return subprocess.Popen([sys.executable, "-m", "w2v_np", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def small(corpus, **changes):
    return TrainConfig(**dict(dict(corpus=str(corpus), epochs=2, min_count=1, dim=8, sample=0.0), **changes))


# --------------------------------------------------------------------------- one run per folder

@pytest.mark.parametrize("second", ["train", "resume"])
def test_a_second_run_into_a_live_runs_folder_is_refused(corpus, tmp_path, second):
    """While a run trains in ``run``, another ``--out run`` or ``--resume run`` exits 2 with one
    line naming the folder and the live run's pid; the live run goes on undisturbed."""
    first = command("train", "--corpus", str(corpus), "--out", "run", "--epochs", "100000", "--min-count", "1",
                    "--dim", "8", "--quiet", cwd=tmp_path)
    try:
        wait_for(tmp_path / "run" / "checkpoint.npz")
        args = (["train", "--corpus", str(corpus), "--out", "run", "--epochs", "1"] if second == "train"
                else ["train", "--resume", "run"])
        other = command(*args, cwd=tmp_path)
        _, err = ended(other)
        assert other.returncode == 2
        if second == "train":
            assert "already holds a training run" in err or "in use" in err, err
        else:
            assert err == f"w2v-np: error: run is in use by another w2v-np run (pid {first.pid}); wait for it to " \
                          f"end or choose another folder\n"
        assert first.poll() is None                                 # still training
    finally:
        first.send_signal(signal.SIGINT)
        ended(first)
    assert first.returncode == 130


def test_two_runs_started_together_into_one_folder(corpus, tmp_path):
    """Started at once into a new folder: one trains, the other is refused in one line."""
    runs = [command("train", "--corpus", str(corpus), "--out", "same", "--epochs", "3", "--min-count", "1",
                    "--dim", "8", "--quiet", cwd=tmp_path) for _ in range(2)]
    outcomes = sorted((run.returncode, err) for run in runs for _, err in [ended(run)])
    assert [code for code, _ in outcomes] == [0, 2], outcomes
    assert outcomes[1][1].count("\n") == 1 and outcomes[1][1].startswith("w2v-np: error: same ")
    assert len(json.loads((tmp_path / "same" / "metrics.json").read_text())["epochs"]) == 3


def test_a_run_refused_the_lock_leaves_the_holders_new_folder_alone(corpus, tmp_path, monkeypatch):
    """Two runs create one new folder at once; the one refused the lock must not tidy the folder
    away (the holder writes there), nor unlink the lock file the holder holds."""
    real_lock = run_module.run_folder_lock
    holder = contextlib.ExitStack()

    def raced_lock(folder):
        holder.enter_context(real_lock(folder))        # the other run wins the lock first
        return real_lock(folder)

    monkeypatch.setattr(run_module, "run_folder_lock", raced_lock)
    with holder:
        with pytest.raises(W2VError, match="in use by another w2v-np run"):
            train(small(corpus), out_dir=tmp_path / "new", quiet=True)
        assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [LOCK_FILE]


def test_a_killed_runs_lock_does_not_block_its_resume(corpus, tmp_path):
    """The OS drops the lock of a SIGKILLed run: --resume continues it at once."""
    run = command("train", "--corpus", str(corpus), "--out", "run", "--epochs", "100000", "--min-count", "1",
                  "--dim", "8", "--quiet", cwd=tmp_path)
    wait_for(tmp_path / "run" / "checkpoint.npz")
    run.kill()
    ended(run)
    epochs = load_checkpoint(tmp_path / "run" / "checkpoint.npz").epoch
    result = resume(tmp_path / "run", epochs=epochs + 1, probes=(), quiet=True)
    assert len(result.metrics["epochs"]) == epochs + 1


# --------------------------------------------------------------------------- sizes

@pytest.mark.parametrize("flag", ["--batch-size", "--dim", "--window", "--negative", "--epochs", "--min-count"])
def test_huge_integers_are_refused_in_one_line(corpus, tmp_path, flag):
    process = command("train", "--corpus", str(corpus), "--out", "run", flag, "99999999999999999999",
                      cwd=tmp_path)
    _, err = ended(process)
    assert process.returncode == 2
    assert err.count("\n") == 1 and err.startswith(f"w2v-np: error: {flag[2:].replace('-', '_')} must be at most")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("changes", [{"dim": 2_000_000_000}, {"negative": 2**31 - 1},
                                     {"batch_size": 2**31 - 1, "dim": 10**6}])
def test_runs_larger_than_the_memory_are_refused_before_sampling(corpus, tmp_path, changes, monkeypatch):
    """Sizes that fit the kernels' integers but not the machine: one line, nothing written."""
    monkeypatch.setattr(w2v_np.d2l, "build_examples", lambda *a, **k: pytest.fail("sampling started"))
    with pytest.raises(W2VError, match=r"this run needs about [\d,.]+ GiB of memory .*more than the"):
        train(small(corpus, **changes), out_dir=tmp_path / "run", probes=(), quiet=True)
    assert not (tmp_path / "run").exists()


def test_the_memory_estimate_counts_what_the_run_allocates():
    """Tables: 2 tables x (param, m, v, scratch) for Adam, 2 x param for SGD; a batch of no
    more examples than tokens; a window no wider than the longest sentence."""
    adam = estimate(make_plan(TrainConfig(dim=10)), vocab_size=100, num_tokens=1000, longest_sentence=12)
    sgd = estimate(make_plan(TrainConfig(dim=10, optimizer="sgd")), vocab_size=100, num_tokens=1000,
                   longest_sentence=12)
    assert adam["tables"] == 8 * 100 * 10 * 4 and sgd["tables"] == 2 * 100 * 10 * 4
    wide = estimate(make_plan(TrainConfig(window=10**9, batch_size=10**9)), vocab_size=100, num_tokens=1000,
                    longest_sentence=12)
    assert wide["batch"] == 1000 * 11 * 6 * (100 * 4 + 16)
    assert wide["examples"] == 4 * 1000 * 11 * 6


@pytest.mark.parametrize("method", ["d2l", pytest.param("word2vec", marks=pytest.mark.skipif(
    not w2v_np.kernels.numba_available(), reason="Numba is not installed"))])
def test_a_window_wider_than_any_sentence_trains(corpus, method):
    """--window 2**31-1 on 12-token sentences: every window is its whole sentence; no buffer is
    sized by the window itself."""
    changes = {"method": method} if method == "word2vec" else {"batch_size": 64}
    result = train(small(corpus, window=2**31 - 1, epochs=1, **changes), probes=(), quiet=True)
    assert result.metrics["epochs"][0]["pairs"] == result.metrics["epochs"][0]["centers"] * 11


# --------------------------------------------------------------------------- writes that fail

def test_a_failed_checkpoint_leaves_metrics_that_claim_no_more(corpus, tmp_path, monkeypatch):
    """A full disk while epoch 1's checkpoint is written: metrics.json claims no epoch the
    checkpoint (epoch 0) lacks, and --resume then finishes the run."""
    real, calls = run_module.write_checkpoint, []

    def full_disk(path, arrays):
        calls.append(path)
        if len(calls) == 2:
            raise W2VError(f"cannot write {path}: No space left on device")
        real(path, arrays)

    monkeypatch.setattr(run_module, "write_checkpoint", full_disk)
    with pytest.raises(W2VError, match="No space left on device"):
        train(small(corpus), out_dir=tmp_path / "run", probes=(), quiet=True)
    assert load_checkpoint(tmp_path / "run" / "checkpoint.npz").epoch == 0
    assert not (tmp_path / "run" / "metrics.json").exists()
    monkeypatch.setattr(run_module, "write_checkpoint", real)
    assert len(resume(tmp_path / "run", probes=(), quiet=True).metrics["epochs"]) == 2


def test_a_failed_metrics_write_is_mended_by_resume(corpus, tmp_path, monkeypatch):
    """The checkpoint of epoch 1 is written, metrics.json is not: resuming rewrites it from the
    checkpoint before training on."""
    real, calls = run_module._write_metrics, []

    def full_disk(metrics, out_dir):
        calls.append(metrics)
        raise W2VError("cannot write metrics.json: No space left on device")

    monkeypatch.setattr(run_module, "_write_metrics", full_disk)
    with pytest.raises(W2VError, match="No space left on device"):
        train(small(corpus, epochs=3), out_dir=tmp_path / "run", probes=(), quiet=True)
    assert load_checkpoint(tmp_path / "run" / "checkpoint.npz").epoch == 1
    monkeypatch.setattr(run_module, "_write_metrics", real)

    def stop_after_resuming(line):
        if line.startswith("epoch 2/"):               # trained, not yet saved
            raise KeyboardInterrupt

    with on_log(stop_after_resuming), pytest.raises(KeyboardInterrupt):
        resume(tmp_path / "run", probes=())
    assert len(json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]) == 1


# --------------------------------------------------------------------------- data that cannot train

def test_a_one_word_vocabulary_is_refused_before_sampling(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("same same same\n" * 20000 + "rare\n")
    with pytest.raises(W2VError, match="vocabulary holds one word besides <unk>"):
        train(TrainConfig(corpus=str(path), min_count=5, sample=0.0), probes=(), quiet=True)


def test_a_corpus_of_only_unk_says_so(tmp_path):
    path = tmp_path / "unk.txt"
    path.write_text("<unk> <unk> <unk>\n" * 1000)
    with pytest.raises(W2VError, match="the corpus holds only <unk>"):
        train(TrainConfig(corpus=str(path), min_count=1), probes=(), quiet=True)
