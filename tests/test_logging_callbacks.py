"""What a run reports: log records (silent unless configured; the CLI prints them as before)
and the per-epoch callbacks, which see metrics.json's epochs and may stop a run that resumes."""
import json
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from w2v_np import TrainConfig, W2VError, resume, train
from w2v_np.checkpoint import load_checkpoint
from w2v_np.cli import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    path = tmp_path_factory.mktemp("corpus") / "words.txt"
    path.write_text("\n".join(" ".join(rng.choice(words, 10)) for _ in range(200)) + "\n")
    return path


SMALL = dict(min_count=1, dim=8, batch_size=64, sample=0.0, seed=0, engine="numpy", sampler="numpy")
SMALL_FLAGS = ["--min-count", "1", "--dim", "8", "--batch-size", "64", "--sample", "0", "--engine", "numpy",
               "--sampler", "numpy"]


def config(corpus, epochs=3):
    return TrainConfig(corpus=str(corpus), epochs=epochs, **SMALL)


# --------------------------------------------------------------------------- logging

def test_the_library_is_silent_until_logging_is_configured(corpus, tmp_path):
    """In a fresh process: importing adds no handler; a run prints nothing (stderr is a pipe: no
    bar); after basicConfig(level=INFO) the same run's lines come as records of w2v_np.train."""
    script = textwrap.dedent(f"""
        import logging, sys
        import w2v_np
        from w2v_np import TrainConfig, train
        assert logging.getLogger("w2v_np").handlers == [] and logging.getLogger().handlers == []
        config = TrainConfig(corpus={str(corpus)!r}, epochs=2, **{SMALL!r})
        train(config, probes=["w1"])
        sys.stdout.write("--- configured\\n")
        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(name)s: %(message)s")
        train(config, probes=["w1"])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    silent, configured = done.stdout.split("--- configured\n")
    assert silent == ""
    lines = configured.splitlines()
    assert [line.split(":")[0] for line in lines] == ["INFO w2v_np.train"] * 4
    assert lines[0].startswith("INFO w2v_np.train: vocabulary 31, 2000 centers")
    assert lines[1].startswith("INFO w2v_np.train: epoch 1/2: loss ")
    assert lines[2].startswith("INFO w2v_np.train: epoch 2/2: loss ")
    assert lines[3].startswith("INFO w2v_np.train: nearest to 'w1': ")


def test_the_cli_prints_the_lines_as_before_and_leaves_logging_as_found(corpus, capsys):
    """Information on stdout as plain lines, the no --out warning as 'w2v-np: ...' on stderr;
    --quiet keeps only the probe's line; afterwards the w2v_np logger is as it was."""
    logger = logging.getLogger("w2v_np")
    before = (list(logger.handlers), logger.level, logger.propagate)
    assert main(["train", "--corpus", str(corpus), "--epochs", "2", *SMALL_FLAGS, "--probe", "w1"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 4 and lines[0].startswith("vocabulary 31, 2000 centers")
    assert lines[1].startswith("epoch 1/2: loss ") and lines[2].startswith("epoch 2/2: loss ")
    assert lines[3].startswith("nearest to 'w1': ") and len(lines[3].split(", ")) == 3
    assert err == "w2v-np: no --out given: the trained vectors will not be saved\n"
    assert (list(logger.handlers), logger.level, logger.propagate) == before

    assert main(["train", "--corpus", str(corpus), "--epochs", "2", *SMALL_FLAGS, "--probe", "w1", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [lines[3]]       # the same seed: the same neighbours
    assert err == "w2v-np: no --out given: the trained vectors will not be saved\n"


# --------------------------------------------------------------------------- callbacks

def test_callbacks_see_each_epoch_after_it_is_saved(corpus, tmp_path):
    """Every callback, in order, after every epoch, gets a dict equal to metrics.json's entry;
    by then metrics.json and the checkpoint hold that epoch.  Changing the dict changes nothing."""
    out, calls = tmp_path / "run", []

    def first(epoch):
        listed = json.loads((out / "metrics.json").read_text())["epochs"]
        calls.append(("first", epoch, len(listed), load_checkpoint(out / "checkpoint.npz").epoch))
        epoch["loss"] = -1.0

    def second(epoch):
        calls.append(("second", epoch["epoch"], epoch["loss"]))

    result = train(config(corpus), out_dir=out, probes=(), quiet=True, callbacks=[first, second])
    saved = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [e["epoch"] for e in saved] == [1, 2, 3] and all(e["loss"] > 0 for e in saved)
    assert saved == result.metrics["epochs"]
    assert [call[0] for call in calls] == ["first", "second"] * 3
    for number, expected in enumerate(saved, 1):
        name, seen, listed, checkpointed = calls[2 * number - 2]
        assert seen == dict(expected, loss=-1.0)            # a copy: the change stayed there
        assert listed == checkpointed == number
        assert calls[2 * number - 1] == ("second", number, expected["loss"])


def test_callbacks_without_an_output_folder(corpus):
    losses = []
    result = train(config(corpus, epochs=2), probes=(), quiet=True, callbacks=(lambda e: losses.append(e["loss"]),))
    assert losses == [e["loss"] for e in result.metrics["epochs"]] and len(losses) == 2


class Stop(Exception):
    pass


def test_a_callback_that_raises_stops_the_run_and_resume_continues_it(corpus, tmp_path):
    """A callback raising after epoch 2 of 3 ends the run with its exception; the checkpoint and
    metrics hold 2 epochs; resume trains epoch 3 (its callbacks see only that one) and ends with
    the vectors and losses of an uninterrupted run."""
    whole = train(config(corpus), out_dir=tmp_path / "whole", probes=(), quiet=True)

    def stop_after_2(epoch):
        if epoch["epoch"] == 2:
            raise Stop("enough")

    with pytest.raises(Stop, match="enough"):
        train(config(corpus), out_dir=tmp_path / "run", probes=(), quiet=True, callbacks=[stop_after_2])
    assert load_checkpoint(tmp_path / "run" / "checkpoint.npz").epoch == 2
    assert len(json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]) == 2
    assert not (tmp_path / "run" / "vectors.txt").exists()

    seen = []
    resumed = resume(tmp_path / "run", probes=(), quiet=True, callbacks=[seen.append])
    assert [e["epoch"] for e in seen] == [3] and seen[0] == resumed.metrics["epochs"][2]
    assert resumed.metrics["resumed_at"] == [2]
    assert [e["loss"] for e in resumed.metrics["epochs"]] == [e["loss"] for e in whole.metrics["epochs"]]
    np.testing.assert_array_equal(resumed.model.center, whole.model.center)


@pytest.mark.parametrize("callbacks, message", [
    (print, "callbacks must be a sequence of functions, got builtin_function_or_method"),
    ("fn", "callbacks must be a sequence of functions, got str"),
    (3, "callbacks must be a sequence of functions, got int"),
    ([print, 3], r"callbacks\[1\] is not callable: int")])
def test_bad_callbacks_are_refused_before_any_work(corpus, tmp_path, callbacks, message):
    with pytest.raises(W2VError, match=message):
        train(config(corpus), out_dir=tmp_path / "run", callbacks=callbacks)
    assert not (tmp_path / "run").exists()
    with pytest.raises(W2VError, match=message):
        resume(tmp_path / "missing", callbacks=callbacks)
