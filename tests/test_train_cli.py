"""Training runs (w2v_np.train) and the ``w2v-np`` command, on small corpora built here.

The CLI is run in a subprocess with ``cwd=tmp_path`` so that the *installed* package is
imported, exactly as a user runs it.
"""
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import w2v_np.kernels
from w2v_np import TrainConfig, W2VError, train
from w2v_np.io import read_word2vec
from log_lines import on_log

NUM_TOPICS, WORDS_PER_TOPIC = 20, 5
TOPICS = [[f"t{t}w{i}" for i in range(WORDS_PER_TOPIC)] for t in range(NUM_TOPICS)]
FLAGS = ["--corpus", "--out", "--epochs", "--batch-size", "--window", "--negative", "--dim",
         "--lr", "--min-count", "--sample", "--seed", "--probe", "--quiet", "--backend", "--dtype",
         "--sampler", "--resample", "--engine", "--optimizer", "--threads", "--deterministic", "--subsampling"]
SAMPLERS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not w2v_np.kernels.numba_available(), reason="Numba is not installed"))]


def topic_of(word):
    return word.split("w")[0]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """4000 tokens with structure: 500 sentences of 8 words, each drawn from one of 20 topics
    of 5 words, so words of a topic share contexts and words of different topics never do."""
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(TOPICS[rng.integers(NUM_TOPICS)], size=8)) for _ in range(500)]
    path = tmp_path_factory.mktemp("corpus") / "topics.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def small_config(corpus, **changes):
    """3 epochs of a 16-dimensional model; no subsampling (every word here is 'frequent')."""
    settings = dict(corpus=str(corpus), epochs=3, min_count=1, dim=16, batch_size=64, sample=0.0,
                    lr=0.01, seed=0)
    settings.update(changes)
    return TrainConfig(**settings)


def run_quiet(config, **kwargs):
    return train(config, probes=(), quiet=True, **kwargs)


# --------------------------------------------------------------------------- Python API

def test_training_lowers_loss_and_learns_topics(corpus):
    """Epoch 3's mean loss is below half of epoch 1's (observed ratio ~0.2 over seeds 0-5),
    epoch 1 starts near ln 2 (tiny initial vectors), and the nearest neighbour of at least
    90 % of the words is in the same topic (chance: 4/99 ~ 4 %; observed 100 %)."""
    result = run_quiet(small_config(corpus))
    losses = [e["loss"] for e in result.metrics["epochs"]]
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses)
    assert losses[0] < math.log(2) + 0.01
    assert losses[2] < 0.5 * losses[0], losses
    assert losses[0] > losses[1] > losses[2]
    embeddings = result.embeddings()
    words = [w for topic in TOPICS for w in topic]
    same = np.mean([topic_of(embeddings.most_similar(w, topn=1)[0][0]) == topic_of(w) for w in words])
    assert same >= 0.9, same


@pytest.mark.parametrize("resample", ["once", "epoch"])
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_same_seed_same_run_other_seed_differs(corpus, sampler, resample):
    """Same seed: identical per-epoch losses and identical tables; another seed: different
    (for either data pipeline, drawing the examples once or every epoch)."""
    a = run_quiet(small_config(corpus, seed=7, sampler=sampler, resample=resample))
    b = run_quiet(small_config(corpus, seed=7, sampler=sampler, resample=resample))
    c = run_quiet(small_config(corpus, seed=8, sampler=sampler, resample=resample))
    assert a.metrics["plan"]["sampler"] == sampler

    def loss(result):
        return [e["loss"] for e in result.metrics["epochs"]]

    assert loss(a) == loss(b)
    assert np.array_equal(a.model.center, b.model.center)
    assert np.array_equal(a.model.context, b.model.context)
    assert loss(a) != loss(c)
    assert not np.array_equal(a.model.center, c.model.center)


def test_out_writes_metrics_and_vectors(corpus, tmp_path):
    """--out: metrics.json holds every hyper-parameter and the run's figures; vectors.txt is
    word2vec text format and reads back as the center table (6 significant digits)."""
    config = small_config(corpus, seed=3)
    out = tmp_path / "run"
    result = run_quiet(config, out_dir=out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"plan", "config", "vocab_size", "num_centers", "num_pairs", "prep_seconds",
            "train_seconds", "epochs"} <= set(metrics)
    assert metrics["plan"]["sampler"] in ("numpy", "numba") and metrics["plan"]["method"] == "d2l"
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert {"epochs", "batch_size", "window", "negative", "dim", "lr", "min_count", "sample",
            "seed"} <= fields
    assert metrics["config"] == dataclasses.asdict(config)
    assert metrics["vocab_size"] == len(result.vocab) == 1 + NUM_TOPICS * WORDS_PER_TOPIC
    # no subsampling, every sentence has 8 known tokens: every token is a center
    assert metrics["num_centers"] == 500 * 8
    assert 500 * 8 <= metrics["num_pairs"] <= 500 * 8 * 2 * config.window
    assert metrics["prep_seconds"] >= 0 and metrics["train_seconds"] > 0
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2, 3]
    for entry in metrics["epochs"]:
        # the numba engine also reports the mean threads its steps ran on (fewer while the CPU is shared)
        numba = metrics["plan"]["engine"] == "numba"
        assert set(entry) == {"epoch", "loss", "pairs", "centers", "seconds", "centers_per_second"} | (
            {"threads"} if numba else set())
        assert not numba or 1 <= entry["threads"] <= metrics["plan"]["threads"]
        assert entry["pairs"] == metrics["num_pairs"]  # drawn once: every epoch sees the same pairs
        assert entry["seconds"] > 0
        assert entry["centers_per_second"] == pytest.approx(metrics["num_centers"] / entry["seconds"])
    assert metrics["epochs"] == result.metrics["epochs"]

    lines = (out / "vectors.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"{len(result.vocab)} {config.dim}"
    assert all(len(line.split(" ")) == config.dim + 1 for line in lines[1:])
    tokens, vectors = read_word2vec(out / "vectors.txt")
    assert tokens == result.vocab.idx_to_token
    assert vectors.shape == (len(result.vocab), config.dim)
    # '%.6g' keeps 6 significant digits: relative error <= 5e-6, plus float32 rounding
    np.testing.assert_allclose(vectors, result.model.center, rtol=1e-5, atol=1e-30)
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_probe_checked_before_training(corpus):
    """An unknown probe word fails with W2VError naming it, before data preparation: the run
    logs nothing (its first log line comes after preparation), so a late check makes the
    log handler fail the test at once instead of training 1000 epochs."""
    def log(line):
        raise AssertionError(f"the run went on past the vocabulary: {line}")

    start = time.perf_counter()
    with on_log(log), pytest.raises(W2VError, match="nosuchword"):
        train(small_config(corpus, epochs=1000, batch_size=1), probes=("nosuchword",), quiet=False)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("change, fragment", [
    ({"lr": 0}, "learning rate"),
    ({"lr": -1.0}, "learning rate"),
    ({"lr": float("nan")}, "learning rate"),
    ({"epochs": 0}, "epochs"),
    ({"dim": -1}, "dim"),
    ({"batch_size": 0}, "batch_size"),
    ({"window": 0}, "window"),
    ({"negative": 0}, "negative"),
    ({"min_count": 0}, "min_count"),
    ({"sample": -1.0}, "sample"),
    ({"seed": -1}, "seed"),
    ({"epochs": 2.5}, "epochs"),
    ({"dtype": "float16"}, "dtype"),
    ({"sampler": "cython"}, "sampler"),
    ({"resample": "batch"}, "resample"),
    ({"engine": "cython"}, "engine"),
    ({"optimizer": "adagrad"}, "optimizer"),
    ({"threads": 0}, "threads"),
    ({"threads": 10_000}, "threads"),
    ({"deterministic": "yes"}, "deterministic"),
    ({"subsampling": "gensim"}, "subsampling"),
    ({"noise_per": "center"}, "noise_per"),
    ({"init": "normal"}, "init must be one of xavier, word2vec"),
    ({"noise_per": "window"}, "--noise-per is a setting of --method word2vec"),
    ({"method": "word2vec", "batch_size": None, "optimizer": "adam"}, "--method word2vec trains with sgd only|Numba"),
])
def test_invalid_config_raises(corpus, tmp_path, change, fragment):
    """Each impossible hyper-parameter is a W2VError naming it; nothing is written."""
    out = tmp_path / "out"
    with pytest.raises(W2VError, match=fragment):
        train(small_config(corpus, **change), out_dir=out, probes=(), quiet=True)
    assert not (out / "vectors.txt").exists() and not (out / "metrics.json").exists()


def test_engine_numba_on_cupy_runs_the_cuda_kernels_or_says_what_is_missing():
    """``--engine numba --backend cupy`` means the numba.cuda kernels on the GPU; where CuPy
    or a GPU is missing, it is refused in one line that names what is missing."""
    from w2v_np import make_plan
    try:
        plan = make_plan(TrainConfig(engine="numba", backend="cupy"))
    except W2VError as exc:
        assert "CuPy is not installed" in str(exc) or "numba.cuda" in str(exc)
    else:
        assert (plan.engine, plan.backend) == ("cuda", "cupy")


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_resample_every_epoch_trains_on_fresh_pairs(corpus, sampler):
    """--resample epoch: every center appears each epoch (num_centers fixed) but with new
    windows, so the pair counts differ between epochs (each within the possible range);
    the loss still falls and the topics are still learnt."""
    result = run_quiet(small_config(corpus, sampler=sampler, resample="epoch"))
    metrics = result.metrics
    pairs = [e["pairs"] for e in metrics["epochs"]]
    assert metrics["num_centers"] == 500 * 8 and metrics["num_pairs"] == pairs[0]
    assert all(500 * 8 <= p <= 500 * 8 * 2 * 5 for p in pairs)
    assert len(set(pairs)) == 3, pairs
    losses = [e["loss"] for e in metrics["epochs"]]
    assert losses[0] > losses[1] > losses[2] and losses[2] < 0.6 * losses[0], losses
    embeddings = result.embeddings()
    words = [w for topic in TOPICS for w in topic]
    assert np.mean([topic_of(embeddings.most_similar(w, topn=1)[0][0]) == topic_of(w) for w in words]) >= 0.9


@pytest.mark.parametrize("changes", [{}, pytest.param(
    {"method": "word2vec", "batch_size": None, "lr": 0.05, "threads": 1},
    marks=pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed"))])
def test_word2vec_init_learns_topics(corpus, changes):
    """init="word2vec" reaches the model: the run is recorded with it, differs from the
    Xavier run of the same seed, and still finds every word's topic (>= 90 % of nearest
    neighbours, as with Xavier), with the d2l method and with the word2vec method."""
    runs = {init: run_quiet(small_config(corpus, init=init, **changes)) for init in ("xavier", "word2vec")}
    result = runs["word2vec"]
    assert result.metrics["config"]["init"] == "word2vec"
    assert not np.allclose(result.model.center, runs["xavier"].model.center)
    embeddings = result.embeddings()
    words = [w for topic in TOPICS for w in topic]
    same = np.mean([topic_of(embeddings.most_similar(w, topn=1)[0][0]) == topic_of(w) for w in words])
    assert same >= 0.9, same


@pytest.mark.parametrize("method", [{}, pytest.param(
    {"method": "word2vec", "batch_size": None},
    marks=pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed"))])
def test_word2vec_subsampling_keeps_more_centers(corpus, method):
    """Every word of the topic corpus has f = 0.01, so t = 0.002 keeps a token with p =
    sqrt(0.2) = 0.447 (seed) or sqrt(0.2) + 0.2 = 0.647 (word2vec).  A kept token is a center
    when its 8-token sentence keeps another one: 500 (8p - 8p(1-p)^7) centers expected,
    about 1761 and 2586; each count must be within 5 sd (sd < sqrt(4000 p (1-p)) < 32)."""
    for subsampling, p in (("seed", 0.2 ** 0.5), ("word2vec", 0.2 ** 0.5 + 0.2)):
        result = run_quiet(small_config(corpus, epochs=1, sample=0.002, subsampling=subsampling, threads=1,
                                        **method))
        assert result.metrics["config"]["subsampling"] == subsampling
        centers = result.metrics["epochs"][0]["centers"]
        expected = 500 * (8 * p - 8 * p * (1 - p) ** 7)
        assert abs(centers - expected) < 5 * 32, (subsampling, centers, expected)


def test_corpus_given_as_path_object(corpus, tmp_path):
    """A pathlib.Path corpus works like a string, including writing metrics.json."""
    config = small_config(corpus, epochs=1)
    config.corpus = Path(corpus)
    run_quiet(config, out_dir=tmp_path / "out")
    assert (tmp_path / "out" / "metrics.json").is_file()


# --------------------------------------------------------------------------- the w2v-np command

def w2v(args, cwd, timeout=600):
    """Run ``python -m w2v_np ARGS`` in ``cwd`` (the installed package, not the source tree)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "w2v_np", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_train_then_similar(corpus, tmp_path):
    """train --quiet prints only the probe's nearest-tokens line and writes both files;
    similar -k 2 prints two 'cosine<TAB>token' lines, nearest first, not the word itself."""
    out = tmp_path / "run"
    done = w2v(["train", "--corpus", corpus, "--epochs", 1, "--dim", 8, "--min-count", 1,
                "--probe", "t3w1", "--out", out, "--quiet"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nearest to 't3w1': ")
    assert len(lines[0].split(": ", 1)[1].split(", ")) == 3
    assert (out / "metrics.json").is_file() and (out / "vectors.txt").is_file()
    assert json.loads((out / "metrics.json").read_text())["config"]["dim"] == 8

    similar = w2v(["similar", out / "vectors.txt", "t3w1", "-k", 2], tmp_path)
    assert similar.returncode == 0, similar.stderr
    rows = [line.split("\t") for line in similar.stdout.splitlines()]
    assert len(rows) == 2 and all(len(row) == 2 for row in rows)
    tokens, _ = read_word2vec(out / "vectors.txt")
    cosines = [float(c) for c, _ in rows]
    assert all(-1 <= c <= 1 for c in cosines) and cosines[0] >= cosines[1]
    assert all(t in tokens and t != "t3w1" for _, t in rows)


def test_cli_train_progress_lines(corpus, tmp_path):
    """Without --quiet, the vocabulary line and one line per epoch go to stdout."""
    done = w2v(["train", "--corpus", corpus, "--epochs", 2, "--dim", 8, "--min-count", 1,
                "--sample", 0, "--probe", "t0w0"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "vocabulary 101, 4000 centers" in done.stdout
    assert "epoch 1/2: loss" in done.stdout and "epoch 2/2: loss" in done.stdout


def test_cli_help_lists_every_flag(tmp_path):
    """train --help documents every flag."""
    done = w2v(["train", "--help"], tmp_path)
    assert done.returncode == 0
    missing = [flag for flag in FLAGS if flag not in done.stdout]
    assert not missing


def test_console_script(corpus, tmp_path):
    """The installed ``w2v-np`` entry point runs the same command."""
    script = shutil.which("w2v-np", path=str(Path(sys.executable).parent)) or shutil.which("w2v-np")
    if script is None:
        pytest.skip("the w2v-np console script is not installed in this environment")
    done = subprocess.run([script, "train", "--help"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0 and "--min-count" in done.stdout


def assert_usage_error(done, out, fragments, argparse_error=False):
    """Exit 2, no traceback, the problem named on stderr's (last) line, no outputs written."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines, "stderr is empty"
    if argparse_error:
        assert lines[-1].startswith("w2v-np train: error:"), lines[-1]
    else:
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("w2v-np: error:"), lines[0]
    for fragment in fragments:
        assert fragment in lines[-1], (fragment, lines[-1])
    if out is not None:
        assert not (out / "vectors.txt").exists() and not (out / "metrics.json").exists()


def _bad_corpus(tmp_path, kind):
    if kind == "missing":
        return tmp_path / "missing.txt"
    if kind == "directory":
        folder = tmp_path / "folder"
        folder.mkdir()
        return folder
    path = tmp_path / f"{kind}.txt"
    path.write_bytes({"empty": b"", "rare": b"a b c\nd e f\n",
                      "undecodable": b"a b\n\xff\xfe\xfa\n"}[kind])
    return path


@pytest.mark.parametrize("kind, fragments", [
    ("missing", ["not found", "missing.txt"]),
    ("directory", ["not a file"]),
    ("empty", ["empty"]),
    ("rare", ["vocabulary is empty", "--min-count"]),
    ("undecodable", ["not valid utf-8"]),
])
def test_cli_bad_corpus(tmp_path, kind, fragments):
    """A corpus that cannot be used: one 'w2v-np: error:' line, exit 2, nothing written."""
    out = tmp_path / "out"
    path = _bad_corpus(tmp_path, kind)
    done = w2v(["train", "--corpus", path, "--epochs", 1, "--dim", 8, "--min-count", 2,
                "--probe", "a", "--out", out, "--quiet"], tmp_path)
    assert_usage_error(done, out, fragments)


@pytest.mark.parametrize("flag, value, fragments, argparse_error", [
    ("--epochs", "0", ["--epochs", "positive integer"], True),
    ("--dim", "-1", ["--dim", "positive integer"], True),
    ("--batch-size", "0", ["--batch-size", "positive integer"], True),
    ("--window", "0", ["--window", "positive integer"], True),
    ("--negative", "0", ["--negative", "positive integer"], True),
    ("--epochs", "two", ["--epochs", "'two'"], True),
    ("--lr", "abc", ["--lr", "'abc'"], True),
    ("--lr", "0", ["learning rate", "positive"], False),
    ("--lr", "-1", ["learning rate", "-1"], False),
    ("--lr", "nan", ["learning rate"], False),
    ("--sample", "-1", ["sample", ">= 0"], False),
    ("--seed", "-3", ["--seed", "non-negative"], True),
    ("--sampler", "fast", ["--sampler", "'fast'"], True),
    ("--resample", "never", ["--resample", "'never'"], True),
    ("--init", "normal", ["--init", "'normal'"], True),
])
def test_cli_bad_hyperparameter(corpus, tmp_path, flag, value, fragments, argparse_error):
    """Each impossible flag value: exit 2, its problem named on the last stderr line, no
    traceback, nothing written (argparse handles type errors, W2VError the rest)."""
    out = tmp_path / "out"
    done = w2v(["train", "--corpus", corpus, "--epochs", 1, "--dim", 8, "--min-count", 1,
                "--probe", "t0w0", "--out", out, "--quiet", flag, value], tmp_path)
    assert_usage_error(done, out, fragments, argparse_error)


def test_cli_sampler_numba_without_numba(corpus, tmp_path):
    """--sampler numba where Numba cannot be imported: one line naming the fix, exit 2,
    nothing written; --sampler auto then trains with the NumPy reference."""
    out = tmp_path / "out"
    script = ("import sys; sys.modules['numba'] = None; from w2v_np.cli import main; "
              "sys.exit(main(sys.argv[1:]))")
    common = ["train", "--corpus", str(corpus), "--epochs", "1", "--dim", "8", "--min-count", "1",
              "--probe", "t0w0"]
    done = subprocess.run([sys.executable, "-c", script, *common, "--sampler", "numba", "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert_usage_error(done, out, ["Numba", "pip install"])
    done = subprocess.run([sys.executable, "-c", script, *common, "--sampler", "auto"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "(numpy sampler)" in done.stdout


def test_cli_unknown_probe_fails_before_training(corpus, tmp_path):
    """An unknown --probe word fails at once: with --epochs 1000 --batch-size 1 (hours of
    training) the command still returns within 10 s, naming the word."""
    out = tmp_path / "out"
    start = time.perf_counter()
    done = w2v(["train", "--corpus", corpus, "--epochs", 1000, "--batch-size", 1, "--dim", 8,
                "--min-count", 1, "--probe", "zebra", "--out", out, "--quiet"], tmp_path, timeout=600)
    assert time.perf_counter() - start < 10
    assert_usage_error(done, out, ["zebra", "not in the vocabulary"])


def test_cli_similar_missing_vectors(tmp_path):
    """similar with a vectors file that does not exist."""
    done = w2v(["similar", tmp_path / "none.txt", "word"], tmp_path)
    assert_usage_error(done, None, ["not found", "none.txt"])


def test_cli_similar_unknown_word(tmp_path):
    """similar with a word the vectors file does not hold."""
    vectors = tmp_path / "v.txt"
    vectors.write_text("3 2\n<unk> 0 0\nfoo 1 0\nbar 0 1\n")
    done = w2v(["similar", vectors, "baz"], tmp_path)
    assert_usage_error(done, None, ["'baz'", "not in"])
    ok = w2v(["similar", vectors, "foo", "-k", 1], tmp_path)
    assert ok.returncode == 0 and ok.stdout.split("\t")[1].strip() in {"<unk>", "bar"}
