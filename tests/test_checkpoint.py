"""Checkpoints and resuming: the .npz format, exact continuation, and SIGKILL at random points.

The CLI runs in a subprocess with ``cwd=tmp_path`` so the *installed* package is used.
"""
import ctypes
import importlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

import w2v_np.kernels
from w2v_np import TrainConfig, W2VError, resume, train
import w2v_np.cli
from w2v_np.checkpoint import load_checkpoint
from w2v_np.io import read_word2vec
from w2v_np.run_lock import LOCK_FILE
from w2v_np.progress import Progress
from w2v_np.train import SigintLatch
from cli_runs import ended, wait_for
from log_lines import on_log

SAMPLERS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not w2v_np.kernels.numba_available(), reason="Numba is not installed"))]
RUN_FILES = {"checkpoint.npz", "metrics.json", "vectors.txt", "loss.png"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """60 000 tokens over 2000 types with Zipf-like counts, 20 tokens a sentence."""
    rng = np.random.default_rng(1)
    ids = rng.zipf(1.2, size=60_000) % 2000
    lines = [" ".join(f"w{i}" for i in ids[start:start + 20]) for start in range(0, ids.size, 20)]
    path = tmp_path_factory.mktemp("corpus") / "zipf.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def small_config(corpus, **changes):
    settings = dict(corpus=str(corpus), epochs=4, min_count=2, dim=24, batch_size=128, lr=0.005,
                    sample=1e-3, seed=3)
    settings.update(changes)
    return TrainConfig(**settings)


def quiet(function, *args, **kwargs):
    return function(*args, probes=(), quiet=True, **kwargs)


def run_files(folder):
    """Names in a run folder, without loss.png (drawn only when matplotlib is installed) and
    the folder's lock file."""
    return {p.name for p in folder.iterdir()} - {"loss.png", LOCK_FILE}


# --------------------------------------------------------------------------- the format

@pytest.mark.parametrize("optimizer", ["adam", "lazy-adam", "sgd"])
def test_checkpoint_round_trip_without_pickle(corpus, tmp_path, optimizer):
    """The checkpoint holds the tables, the optimizer's state, the vocabulary and the metadata
    exactly, and every array in it loads with allow_pickle=False (no object arrays)."""
    result = quiet(train, small_config(corpus, epochs=2, optimizer=optimizer, lr=None), out_dir=tmp_path / "run")
    with np.load(tmp_path / "run" / "checkpoint.npz", allow_pickle=False) as archive:
        dtypes = {name: archive[name].dtype for name in archive.files}
    assert all(dtype.kind != "O" for dtype in dtypes.values()), dtypes
    checkpoint = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    assert checkpoint.epoch == 2
    assert checkpoint.tokens == result.vocab.idx_to_token
    np.testing.assert_array_equal(checkpoint.counts, result.vocab.counts)
    state = result.optimizer.state_dict()
    assert set(checkpoint.optimizer_arrays) == set(result.optimizer.ARRAYS)
    for name in ("center", "context"):
        np.testing.assert_array_equal(checkpoint.params[name], result.model.params[name])
        for key in result.optimizer.ARRAYS:
            np.testing.assert_array_equal(checkpoint.optimizer_arrays[key][name], state[key][name])
        assert checkpoint.params[name].dtype == np.float32
    assert checkpoint.meta["optimizer"]["name"] == optimizer
    if optimizer == "sgd":
        assert checkpoint.meta["optimizer"]["done"] == result.optimizer.done > 0
        assert checkpoint.meta["optimizer"]["lr"] == checkpoint.meta["plan"]["lr"] == 2.0
    else:
        assert checkpoint.meta["optimizer"]["step"] == result.optimizer.step_count > 0
    assert checkpoint.meta["config"]["seed"] == 3
    assert [e["loss"] for e in checkpoint.meta["epochs"]] == [e["loss"] for e in result.metrics["epochs"]]


def test_tokens_with_unusual_characters_survive(tmp_path):
    """Tokens are stored as UTF-8 bytes, so non-ASCII tokens and a trailing NUL (which a
    fixed-width NumPy string array would strip) come back unchanged."""
    corpus = tmp_path / "odd.txt"
    corpus.write_text(" ".join(["naïve", "東京", "a\x00"] + [f"x{i}" for i in range(40)]) * 5 + "\n",
                      encoding="utf-8")
    result = quiet(train, TrainConfig(corpus=str(corpus), epochs=1, min_count=1, dim=4, sample=0.0),
                   out_dir=tmp_path / "run")
    assert load_checkpoint(tmp_path / "run" / "checkpoint.npz").tokens == result.vocab.idx_to_token
    assert "a\x00" in result.vocab


def _damage(path, how):
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "not a zip":
        path.write_bytes(b"hello, I am text\n")
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "wrong format":
        with zipfile.ZipFile(path, "w") as archive:
            with archive.open("format.npy", "w") as member:
                np.save(member, np.array("something else 1"))
    elif how == "missing table":
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files if name != "context"}
        np.savez(path, **arrays)
    elif how == "shapes disagree":
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        arrays["state_v_center"] = arrays["state_v_center"][:-1]
        np.savez(path, **arrays)
    elif how in ("no rng", "bad rng", "epoch disagrees"):
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(str(arrays["meta"]))
        if how == "no rng":
            del meta["rng"]
        elif how == "bad rng":
            meta["rng"]["shuffle"] = {"bit_generator": "PCG64", "state": "nonsense"}
        else:
            meta["epoch"] += 1
        arrays["meta"] = np.array(json.dumps(meta))
        np.savez(path, **arrays)
    elif how == "object array":
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        arrays["meta"] = np.array([{"epoch": 1}], dtype=object)
        np.savez(path, **arrays)


@pytest.mark.parametrize("how, message", [
    ("truncated", "not a readable checkpoint"), ("not a zip", "not a readable checkpoint"),
    ("empty", "not a readable checkpoint"), ("wrong format", "is not a w2v-np checkpoint"),
    ("missing table", "damaged checkpoint"), ("shapes disagree", "damaged checkpoint"),
    ("object array", "not a readable checkpoint"), ("no rng", "damaged checkpoint"),
    ("epoch disagrees", "damaged checkpoint"),
])
def test_damaged_checkpoints_are_refused(corpus, tmp_path, how, message):
    """Each kind of damage gives one W2VError naming the file, from load_checkpoint and resume;
    a pickled object is never unpickled."""
    quiet(train, small_config(corpus, epochs=1), out_dir=tmp_path / "run")
    path = tmp_path / "run" / "checkpoint.npz"
    _damage(path, how)
    with pytest.raises(W2VError, match=message) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(W2VError, match=message):
        quiet(resume, tmp_path / "run")


# --------------------------------------------------------------------------- resuming

@pytest.mark.parametrize("resample", ["once", "epoch"])
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_resume_reproduces_the_uninterrupted_run(corpus, tmp_path, sampler, resample):
    """2 epochs, then resume to 4: bit-identical tables, Adam state and per-epoch losses to a
    4-epoch run.  Both resampling modes are exact: the data and shuffle streams are restored."""
    config = small_config(corpus, sampler=sampler, resample=resample)
    whole = quiet(train, config, out_dir=tmp_path / "whole")
    quiet(train, small_config(corpus, sampler=sampler, resample=resample, epochs=2),
          out_dir=tmp_path / "parts")
    resumed = quiet(resume, tmp_path / "parts", epochs=4)
    for name in ("center", "context"):
        np.testing.assert_array_equal(resumed.model.params[name], whole.model.params[name])
        np.testing.assert_array_equal(resumed.optimizer.v[name], whole.optimizer.v[name])
    assert resumed.optimizer.step_count == whole.optimizer.step_count
    assert [e["loss"] for e in resumed.metrics["epochs"]] == [e["loss"] for e in whole.metrics["epochs"]]
    assert resumed.metrics["resumed_at"] == [2]
    assert (tmp_path / "parts" / "vectors.txt").read_bytes() == (tmp_path / "whole" / "vectors.txt").read_bytes()


@pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed")
@pytest.mark.parametrize("engine,optimizer,extra", [
    ("numba", "adam", {}), ("numba", "lazy-adam", {}), ("numpy", "lazy-adam", {}),
    ("numpy", "sgd", {}), ("numba", "sgd", {"deterministic": True}),
    ("numba", None, {"method": "word2vec", "threads": 1, "batch_size": None})])
def test_resume_is_exact_for_every_engine_and_optimizer(corpus, tmp_path, engine, optimizer, extra):
    """A 4-epoch run stopped during epoch 3 and resumed equals the uninterrupted run, bit for
    bit: the optimizer's arrays and scalars (SGD's place in its schedule) come back; the
    word2vec method's streaming SGD on one thread too."""
    settings = dict(engine=engine, optimizer=optimizer, lr=None, **extra)
    whole = quiet(train, small_config(corpus, **settings), out_dir=tmp_path / "whole")

    def stop_in_epoch_3(line):
        if line.startswith("epoch 3/"):                 # before epoch 3's checkpoint
            raise KeyboardInterrupt

    with on_log(stop_in_epoch_3), pytest.raises(KeyboardInterrupt):
        train(small_config(corpus, **settings), out_dir=tmp_path / "parts", probes=())
    resumed = quiet(resume, tmp_path / "parts")
    assert resumed.metrics["resumed_at"] == [2]
    assert resumed.optimizer.state_dict().keys() == whole.optimizer.state_dict().keys()
    for name in ("center", "context"):
        np.testing.assert_array_equal(resumed.model.params[name], whole.model.params[name])
    assert [e["loss"] for e in resumed.metrics["epochs"]] == [e["loss"] for e in whole.metrics["epochs"]]
    assert resumed.metrics["plan"] == whole.metrics["plan"] and resumed.metrics["plan"]["engine"] == engine


def test_damaged_random_state_is_refused(corpus, tmp_path):
    """A random state the generator cannot take is reported as damage, not a TypeError."""
    quiet(train, small_config(corpus, epochs=1), out_dir=tmp_path / "run")
    _damage(tmp_path / "run" / "checkpoint.npz", "bad rng")
    with pytest.raises(W2VError, match="random state is damaged"):
        quiet(resume, tmp_path / "run", epochs=2)


def test_resume_from_another_folder_and_with_a_relative_corpus(corpus, tmp_path, monkeypatch):
    """A run started with a relative --corpus resumes from any working directory: the
    checkpoint stores the corpus's absolute path."""
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "corpus.txt").write_bytes(corpus.read_bytes())
    monkeypatch.chdir(tmp_path / "work")
    quiet(train, small_config("corpus.txt", epochs=1), out_dir="run")
    monkeypatch.chdir(tmp_path)
    result = quiet(resume, "work/run", epochs=2)
    assert len(result.metrics["epochs"]) == 2
    assert load_checkpoint(tmp_path / "work" / "run" / "checkpoint.npz").meta["corpus_path"] == \
        str(tmp_path / "work" / "corpus.txt")


def test_resume_refuses_a_reordered_corpus(corpus, tmp_path):
    """Shuffled lines keep the vocabulary but change the examples, so resuming would not give
    the run's vectors: the fingerprint (size and hash of the file) refuses it."""
    copy = tmp_path / "corpus.txt"
    lines = corpus.read_text().splitlines()
    copy.write_text("\n".join(lines) + "\n")
    quiet(train, small_config(copy, epochs=1), out_dir=tmp_path / "run")
    copy.write_text("\n".join(reversed(lines)) + "\n")
    with pytest.raises(W2VError, match="has changed since the checkpoint"):
        quiet(resume, tmp_path / "run", epochs=2)


def test_resume_of_a_finished_run_rewrites_its_outputs(corpus, tmp_path):
    """Resuming a run that finished trains nothing and leaves vectors.txt exactly as it was."""
    quiet(train, small_config(corpus, epochs=1), out_dir=tmp_path / "run")
    before = (tmp_path / "run" / "vectors.txt").read_bytes()
    (tmp_path / "run" / "vectors.txt").unlink()
    result = quiet(resume, tmp_path / "run")
    assert len(result.metrics["epochs"]) == 1
    assert (tmp_path / "run" / "vectors.txt").read_bytes() == before


def test_resume_refusals(corpus, tmp_path):
    """Clear errors: no checkpoint, fewer epochs than done, a changed corpus, and a fresh
    run into a folder that holds a checkpoint."""
    with pytest.raises(W2VError, match="no checkpoint in .*: there is no such folder"):
        quiet(resume, tmp_path / "nothing")
    with pytest.raises(W2VError, match="no checkpoint in .*: it is not a folder"):
        quiet(resume, corpus)
    copy = tmp_path / "corpus.txt"
    copy.write_bytes(corpus.read_bytes())
    quiet(train, small_config(copy, epochs=2), out_dir=tmp_path / "run")
    with pytest.raises(W2VError, match="finished 2 epochs; --epochs 1 cannot undo them"):
        quiet(resume, tmp_path / "run", epochs=1)
    with pytest.raises(W2VError, match="already holds a training run; continue it with --resume"):
        quiet(train, small_config(copy), out_dir=tmp_path / "run")
    copy.write_text(corpus.read_text() + "w1 w2 w3\n")
    with pytest.raises(W2VError, match="has changed since the checkpoint"):
        quiet(resume, tmp_path / "run", epochs=3)


def test_stale_temporary_files_are_removed(corpus, tmp_path):
    """Temporary files a killed writer left behind are deleted when the run is resumed."""
    quiet(train, small_config(corpus, epochs=1), out_dir=tmp_path / "run")
    stale = [tmp_path / "run" / f".{name}.12345.0badcafe.tmp" for name in RUN_FILES]
    for path in stale:
        path.write_bytes(b"half a file")
    keep = tmp_path / "run" / "notes.txt"
    keep.write_text("mine")
    quiet(resume, tmp_path / "run", epochs=2)
    assert not any(path.exists() for path in stale)
    assert keep.read_text() == "mine"


# --------------------------------------------------------------------------- the CLI, killed

def cli(*args, cwd):
    return subprocess.Popen([sys.executable, "-m", "w2v_np", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process):
    """Wait for ``process`` to end, which it must do with status 0; returns its stdout."""
    out, err = ended(process)
    assert process.returncode == 0, err
    return out


TRAIN_FLAGS = ["--epochs", "5", "--min-count", "2", "--dim", "16", "--batch-size", "128",
               "--sample", "1e-3", "--seed", "5", "--sampler", "numpy", "--quiet"]


def test_cli_resume_rejects_changed_settings(corpus, tmp_path):
    finish(cli("train", "--corpus", str(corpus), "--out", "run", *TRAIN_FLAGS[:2], "--quiet", cwd=tmp_path))
    process = cli("train", "--resume", "run", "--lr", "0.1", "--window", "2", cwd=tmp_path)
    _, err = ended(process)
    assert process.returncode == 2
    assert err.strip() == ("w2v-np: error: --resume continues a run with the settings of its checkpoint; "
                           "--lr, --window cannot be changed "
                           "(only --epochs, --backend, --threads, --workers and --scheduler)")


def test_sigkill_at_random_points_then_resume(corpus, tmp_path):
    """20 rounds: start a 5-epoch CLI run, SIGKILL it at a uniformly random moment of its
    lifetime (process start included), then finish it: with ``--resume`` when a checkpoint
    exists, else by starting again.  Every round must end with exactly the uninterrupted
    run's vectors.txt (byte for byte), a metrics.json with its 5 losses, a loadable
    checkpoint at epoch 5 and no temporary files.  The kill points are printed (``-s``):
    some land before the first checkpoint, most mid-epoch.  ``W2V_NP_KILL_SEED`` draws
    other kill points (default 2026)."""
    started = time.perf_counter()
    finish(cli("train", "--corpus", str(corpus), "--out", "reference", *TRAIN_FLAGS, cwd=tmp_path))
    lifetime = time.perf_counter() - started
    reference = (tmp_path / "reference" / "vectors.txt").read_bytes()
    reference_losses = [e["loss"] for e in json.loads((tmp_path / "reference" / "metrics.json").read_text())["epochs"]]
    chooser = random.Random(int(os.environ.get("W2V_NP_KILL_SEED", "2026")))
    outcomes = []
    for round_number in range(20):
        folder = tmp_path / f"round{round_number}"
        process = cli("train", "--corpus", str(corpus), "--out", folder.name, *TRAIN_FLAGS, cwd=tmp_path)
        # Besides the random points, the first rounds kill at start-up and near the end.
        time.sleep({0: 0.02, 1: 0.97 * lifetime}.get(round_number, chooser.uniform(0, lifetime)))
        process.send_signal(signal.SIGKILL)
        ended(process)
        killed = process.returncode == -signal.SIGKILL
        if (folder / "checkpoint.npz").exists():
            outcomes.append(load_checkpoint(folder / "checkpoint.npz").epoch if killed else "finished")
            finish(cli("train", "--resume", folder.name, "--quiet", cwd=tmp_path))
        else:
            outcomes.append("before the first checkpoint")
            assert not folder.exists() or not run_files(folder) - {p.name for p in folder.glob(".*.tmp")}
            finish(cli("train", "--corpus", str(corpus), "--out", folder.name, *TRAIN_FLAGS, cwd=tmp_path))
        assert run_files(folder) == RUN_FILES - {"loss.png"}, (round_number, outcomes)
        assert (folder / "vectors.txt").read_bytes() == reference, (round_number, outcomes)
        metrics = json.loads((folder / "metrics.json").read_text())
        assert [e["loss"] for e in metrics["epochs"]] == reference_losses
        assert load_checkpoint(folder / "checkpoint.npz").epoch == 5
        tokens, vectors = read_word2vec(folder / "vectors.txt")
        assert vectors.shape == (len(tokens), 16)
    print("kill points (epochs checkpointed when killed):", outcomes)


# Runs the CLI, SIGKILLing itself at the N-th file a run replaces (w2v_np.io.atomic_write's
# os.replace), just before or just after the replacement: the temporary file is complete
# then, and the target either old or new.
KILL_AT_REPLACE = """
import os, signal, sys, types
import w2v_np.io
from w2v_np.cli import main

kill_at, moment = int(sys.argv[1]), sys.argv[2]
replaced = []

def replace(source, target):
    replaced.append(target)
    if len(replaced) == kill_at and moment == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    os.replace(source, target)
    if len(replaced) == kill_at and moment == "after":
        os.kill(os.getpid(), signal.SIGKILL)

w2v_np.io.os = types.SimpleNamespace(**dict(vars(os), replace=replace))
sys.exit(main(sys.argv[3:]))
"""


def test_sigkill_at_every_file_write_then_resume(corpus, tmp_path):
    """A 4-epoch CLI run is killed just before and just after each file it replaces — the
    first checkpoint, every epoch's checkpoint and metrics, loss.png, and vectors.txt (22
    kill points) — and then finished with --resume (or started again when no checkpoint
    exists): every round ends with the uninterrupted run's vectors.txt byte for byte, its
    4 losses in metrics.json, a checkpoint at epoch 4 and no temporary file; metrics.json
    never claims an epoch the checkpoint lacks."""
    flags = ["--epochs", "4", *TRAIN_FLAGS[2:]]
    finish(cli("train", "--corpus", str(corpus), "--out", "reference", *flags, cwd=tmp_path))
    reference = (tmp_path / "reference" / "vectors.txt").read_bytes()
    reference_losses = [e["loss"] for e in json.loads((tmp_path / "reference" / "metrics.json").read_text())["epochs"]]
    kill_points = []
    for kill_at in range(1, 100):
        for moment in ("before", "after"):
            folder = tmp_path / f"kill{kill_at}{moment}"
            process = subprocess.Popen([sys.executable, "-c", KILL_AT_REPLACE, str(kill_at), moment, "train",
                                        "--corpus", str(corpus), "--out", folder.name, *flags],
                                       cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            _, err = ended(process)
            if process.returncode == 0:             # the run replaced fewer files: every point was tried
                assert len(kill_points) >= 20 and any("vectors.txt" in point for point in kill_points)
                return
            assert process.returncode == -signal.SIGKILL, err
            written = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
            kill_points.append(f"{moment} replacement {kill_at}: {written}")
            if (folder / "checkpoint.npz").exists():
                if (folder / "metrics.json").exists():
                    claimed = len(json.loads((folder / "metrics.json").read_text())["epochs"])
                    assert claimed <= load_checkpoint(folder / "checkpoint.npz").epoch, kill_points[-1]
                finish(cli("train", "--resume", folder.name, "--quiet", cwd=tmp_path))
            else:
                finish(cli("train", "--corpus", str(corpus), "--out", folder.name, *flags, cwd=tmp_path))
            assert run_files(folder) == RUN_FILES - {"loss.png"}, kill_points[-1]
            assert (folder / "vectors.txt").read_bytes() == reference, kill_points[-1]
            metrics = json.loads((folder / "metrics.json").read_text())
            assert [e["loss"] for e in metrics["epochs"]] == reference_losses, kill_points[-1]
            assert load_checkpoint(folder / "checkpoint.npz").epoch == 4
    pytest.fail("the run kept replacing files: more than 99 replacements")


def test_interrupted_cli_names_the_resume_command(corpus, tmp_path):
    """SIGINT during training ends with status 130 and the command that continues the run."""
    process = cli("train", "--corpus", str(corpus), "--out", "run", *TRAIN_FLAGS[2:], "--epochs", "200",
                  cwd=tmp_path)
    wait_for(tmp_path / "run" / "checkpoint.npz")
    process.send_signal(signal.SIGINT)
    _, err = ended(process)
    assert process.returncode == 130
    assert err.strip().endswith("w2v-np: interrupted; continue with: w2v-np train --resume run")
    done = load_checkpoint(tmp_path / "run" / "checkpoint.npz").epoch
    assert done < 200
    finish(cli("train", "--resume", "run", "--epochs", str(done + 1), "--quiet", cwd=tmp_path))
    assert len(json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]) == done + 1


def test_an_interrupt_inside_a_constructor_ends_in_one_line(monkeypatch, capsys):
    """Ctrl-C inside a constructor (llvmlite's, while a kernel loads) leaves an object whose
    finalizer fails once the interrupt's traceback is released: the command reports the
    interrupt alone, and reports such failures again afterwards."""
    class HalfBuilt:
        def __init__(self):
            raise KeyboardInterrupt

        def __del__(self):
            self.handle.close()                  # never set: __init__ was interrupted

    def interrupted_command(args):
        HalfBuilt()

    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    monkeypatch.setitem(w2v_np.cli.COMMANDS, "train", interrupted_command)
    assert w2v_np.cli.main(["train"]) == 130
    assert capsys.readouterr().err == "w2v-np: interrupted\n"
    assert reported == [] and sys.unraisablehook == reported.append


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_swallowed_by_a_ctypes_callback_stops_the_next_step():
    """Numba compiles through ctypes callbacks, which print and drop exceptions: a Ctrl-C
    then must still stop training at the next step, and the latch restores the handler."""
    swallowing = ctypes.CFUNCTYPE(None)(lambda: signal.raise_signal(signal.SIGINT))
    with SigintLatch() as latch:
        bar = Progress(10, "epoch", enabled=False, latch=latch)
        assert bar.wants(1) is False
        swallowing()
        with pytest.raises(KeyboardInterrupt):
            bar.wants(2)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigint_latch_leaves_a_programs_own_handler_alone():
    def own(signum, frame):
        pass

    previous = signal.signal(signal.SIGINT, own)
    try:
        with SigintLatch() as latch:
            assert signal.getsignal(signal.SIGINT) is own
            signal.raise_signal(signal.SIGINT)
            latch.check()
        assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("has_checkpoint", [False, True])
def test_resume_hint_only_when_a_checkpoint_exists(tmp_path, monkeypatch, capsys, has_checkpoint):
    """Ctrl-C before the first checkpoint leaves nothing to resume: no --resume hint then."""
    import w2v_np.cli

    def interrupted(*args, **kwargs):
        if has_checkpoint:
            (tmp_path / "run").mkdir()
            (tmp_path / "run" / "checkpoint.npz").write_bytes(b"")
        raise KeyboardInterrupt

    monkeypatch.setattr(w2v_np.cli, "train", interrupted)
    assert w2v_np.cli.main(["train", "--out", str(tmp_path / "run")]) == 130
    hint = f"; continue with: w2v-np train --resume {tmp_path / 'run'}" if has_checkpoint else ""
    assert capsys.readouterr().err == f"w2v-np: interrupted{hint}\n"



@pytest.mark.parametrize("interval, drawn", [(0.0, [1, 2, 3, 4]), (1e9, [4])])
def test_loss_plot_is_redrawn_at_most_every_interval_and_at_the_end(corpus, tmp_path, monkeypatch,
                                                                    interval, drawn):
    """loss.png is drawn only when PLOT_INTERVAL seconds have passed since the last drawing
    (or the start of training), and always after the last epoch."""
    module = importlib.import_module("w2v_np.train")      # w2v_np.train is also the function
    calls = []
    monkeypatch.setattr(module, "PLOT_INTERVAL", interval)
    monkeypatch.setattr(module, "plot_loss", lambda epochs, path: calls.append(len(epochs)))
    train(small_config(corpus), out_dir=tmp_path / "run", probes=(), quiet=True)
    assert calls == drawn


def test_metrics_and_checkpoint_are_written_after_each_epoch(corpus, tmp_path):
    """When epoch k+1 is reported, metrics.json already lists k epochs and the checkpoint
    is at epoch k (epoch 0: the checkpoint written before training)."""
    seen = []

    def log(line):
        if line.startswith("epoch "):
            metrics_file = tmp_path / "run" / "metrics.json"
            listed = len(json.loads(metrics_file.read_text())["epochs"]) if metrics_file.exists() else 0
            seen.append((listed, load_checkpoint(tmp_path / "run" / "checkpoint.npz").epoch))

    with on_log(log):
        train(small_config(corpus, epochs=3), out_dir=tmp_path / "run", probes=())
    assert seen == [(0, 0), (1, 1), (2, 2)]
