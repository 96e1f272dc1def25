"""The plan: TrainConfig -> Plan, resolved once; each method's defaults; every refusal in one line.

The refusals are checked through the Python API (a W2VError naming the setting) and through
the ``w2v-np`` command (one line on stderr, exit status 2, no traceback).
"""
import json
import subprocess
import sys

import numpy as np
import pytest

import w2v_np
import w2v_np.kernels
import w2v_np.plan
from w2v_np import TrainConfig, W2VError, make_plan, train
from w2v_np.plan import DEFAULT_LR, METHOD_DEFAULTS, TRAINERS

needs_numba = pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed")


def test_d2l_defaults_are_the_chapters():
    plan = make_plan(TrainConfig())
    assert (plan.method, plan.optimizer, plan.lr, plan.batch_size, plan.resample) == ("d2l", "adam", 0.002, 512,
                                                                                       "once")
    assert (plan.subsampling, plan.init, plan.noise_per, plan.backend) == ("seed", "xavier", None, "numpy")
    assert (plan.reduction, plan.deterministic) == ("fixed", True)
    assert plan.engine == ("numba" if w2v_np.kernels.numba_available() else "numpy")


@needs_numba
def test_word2vec_defaults_are_word2vec_cs():
    plan = make_plan(TrainConfig(method="word2vec"))
    assert (plan.optimizer, plan.lr, plan.subsampling, plan.init, plan.noise_per) == (
        "sgd", 0.025, "word2vec", "word2vec", "pair")
    assert (plan.engine, plan.sampler, plan.batch_size, plan.resample) == ("numba", "numba", None, None)
    overridden = make_plan(TrainConfig(method="word2vec", lr=0.05, subsampling="seed", init="xavier"))
    assert (overridden.lr, overridden.subsampling, overridden.init) == (0.05, "seed", "xavier")


@pytest.mark.parametrize("optimizer, lr", [("adam", 0.002), ("lazy-adam", 0.002), ("sgd", 2.0)])
def test_each_d2l_optimizer_has_its_own_default_rate(optimizer, lr):
    assert make_plan(TrainConfig(optimizer=optimizer)).lr == lr == DEFAULT_LR["d2l", optimizer]


@needs_numba
def test_threads_and_reduction_of_the_streaming_sgd():
    import numba
    serial = make_plan(TrainConfig(method="word2vec", threads=1, deterministic=True))
    assert (serial.threads, serial.reduction, serial.deterministic) == (1, "serial", True)
    if numba.config.NUMBA_NUM_THREADS > 1:
        racing = make_plan(TrainConfig(method="word2vec"))
        assert (racing.threads, racing.reduction, racing.deterministic) == (
            numba.config.NUMBA_NUM_THREADS, "hogwild", False)


def test_the_numpy_reference_uses_one_thread_and_refuses_more():
    plan = make_plan(TrainConfig(engine="numpy", sampler="numpy"))
    assert (plan.threads, plan.uses_numba) == (1, False)
    with pytest.raises(W2VError, match="--threads"):
        make_plan(TrainConfig(engine="numpy", sampler="numpy", threads=2))


def test_every_method_has_a_trainer_and_every_trainer_a_method():
    assert {method for method, _ in TRAINERS} == set(METHOD_DEFAULTS)
    assert all(engine in ("numpy", "numba", "cuda", "dask") for _, engine in TRAINERS)


def test_planning_has_no_side_effects():
    """make_plan leaves the config as given and Numba's threads as they were."""
    config = TrainConfig(method="d2l", threads=1)
    before = dict(vars(config))
    threads = None
    if w2v_np.kernels.numba_available():
        import numba
        threads = numba.get_num_threads()
    make_plan(config)
    assert vars(config) == before
    if threads is not None:
        assert numba.get_num_threads() == threads


def test_the_plan_is_frozen_and_json_ready():
    plan = make_plan(TrainConfig(epochs=np.int64(2), lr=np.float32(0.01)))
    with pytest.raises(AttributeError):
        plan.lr = 1.0
    assert json.loads(json.dumps(plan.to_dict())) == plan.to_dict()
    assert type(plan.epochs) is int and type(plan.lr) is float


REFUSED = [
    ({"method": "word2vec", "batch_size": 64}, "--batch-size is a setting of --method d2l"),
    ({"method": "word2vec", "batch_size": 512}, "--batch-size is a setting of --method d2l"),
    ({"method": "word2vec", "resample": "epoch"}, "--resample is a setting of --method d2l"),
    ({"method": "word2vec", "sampler": "numpy"}, "--sampler is a setting of --method d2l"),
    ({"method": "word2vec", "optimizer": "adam"}, "--method word2vec trains with sgd only"),
    ({"method": "word2vec", "optimizer": "lazy-adam"}, "--method word2vec trains with sgd only"),
    ({"method": "word2vec", "engine": "numpy"}, "--method word2vec has no numpy engine"),
    ({"method": "word2vec", "engine": "cuda"}, "--method word2vec has no cuda engine"),
    ({"method": "d2l", "noise_per": "window"}, "--noise-per is a setting of --method word2vec"),
    ({"method": "d2l", "noise_per": "pair"}, "--noise-per is a setting of --method word2vec"),
    ({"engine": "cuda"}, "--engine cuda runs on the GPU"),
    ({"method": "skipgram"}, "method must be one of d2l, word2vec"),
    ({"method": None}, "method must be one of d2l, word2vec"),
    ({"engine": None}, "engine must be one of"),
    ({"corpus": None}, "corpus must be 'ptb' or a path"),
    ({"corpus": 123}, "corpus must be 'ptb' or a path"),
]


@pytest.mark.parametrize("settings, message", REFUSED)
def test_meaningless_combinations_are_refused(settings, message):
    if settings.get("method") == "word2vec" and not w2v_np.kernels.numba_available():
        message = "word2vec"
    with pytest.raises(W2VError, match=message):
        make_plan(TrainConfig(**settings))


@needs_numba
def test_deterministic_word2vec_needs_one_thread(monkeypatch):
    import numba
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", max(2, numba.config.NUMBA_NUM_THREADS))
    with pytest.raises(W2VError, match="--deterministic with --method word2vec needs --threads 1"):
        make_plan(TrainConfig(method="word2vec", deterministic=True))
    with pytest.raises(W2VError, match="--deterministic with --method word2vec needs --threads 1"):
        make_plan(TrainConfig(method="word2vec", deterministic=True, threads=2))


def test_without_numba_the_method_is_kept_and_the_run_refused(monkeypatch):
    """auto never swaps the method: without Numba, --method word2vec stops with the install line."""
    monkeypatch.setattr(w2v_np.plan, "numba_available", lambda: False)
    with pytest.raises(W2VError, match=r"pip install 'w2v-np\[fast\]'"):
        make_plan(TrainConfig(method="word2vec"))
    plan = make_plan(TrainConfig(optimizer="sgd"))
    assert (plan.method, plan.engine, plan.sampler, plan.optimizer) == ("d2l", "numpy", "numpy", "sgd")


def test_a_run_is_configured_by_a_trainconfig():
    with pytest.raises(W2VError, match="TrainConfig"):
        make_plan({"epochs": 2})


def w2v_np_command(*args, cwd):
    return subprocess.run([sys.executable, "-m", "w2v_np", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("flags, message", [
    (["--method", "word2vec", "--batch-size", "64"], "--batch-size is a setting of --method d2l"),
    (["--method", "word2vec", "--resample", "epoch"], "--resample is a setting of --method d2l"),
    (["--method", "word2vec", "--sampler", "numpy"], "--sampler is a setting of --method d2l"),
    (["--method", "word2vec", "--optimizer", "adam"], "--method word2vec trains with sgd only"),
    (["--noise-per", "window"], "--noise-per is a setting of --method word2vec"),
    (["--method", "d2l", "--noise-per", "pair"], "--noise-per is a setting of --method word2vec"),
])
def test_the_command_refuses_in_one_line(tmp_path, flags, message):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c d\n" * 20)
    done = w2v_np_command("train", "--corpus", str(corpus), "--out", "run", *flags, cwd=tmp_path)
    if "word2vec" in flags and not w2v_np.kernels.numba_available():
        message = "word2vec"
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "run").exists()


def test_version(tmp_path):
    done = w2v_np_command("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"w2v-np {w2v_np.__version__}"


def test_train_without_out_says_nothing_is_saved(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"w{i % 7} w{(i + 1) % 7} w{(i + 2) % 7} w{(i + 3) % 7}" for i in range(60)))
    done = w2v_np_command("train", "--corpus", str(corpus), "--epochs", "1", "--min-count", "1", "--sample", "0",
                          "--dim", "8", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no --out given: the trained vectors will not be saved" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]


@pytest.mark.parametrize("method", ["d2l", pytest.param("word2vec", marks=needs_numba)])
def test_metrics_and_checkpoint_record_the_plan(tmp_path, method):
    corpus = tmp_path / "c.txt"
    rng = np.random.default_rng(0)
    corpus.write_text("\n".join(" ".join(f"w{w}" for w in rng.integers(0, 12, size=8)) for _ in range(80)))
    result = train(TrainConfig(corpus=str(corpus), method=method, epochs=1, min_count=1, sample=0.0, dim=8),
                   out_dir=tmp_path / "run", probes=(), quiet=True)
    recorded = json.loads((tmp_path / "run" / "metrics.json").read_text())["plan"]
    assert recorded == result.metrics["plan"] == make_plan(
        TrainConfig(corpus=str(corpus), method=method, epochs=1, min_count=1, sample=0.0, dim=8)).to_dict()
    assert {"method", "engine", "optimizer", "lr"} <= recorded.keys() and recorded["method"] == method
    from w2v_np.checkpoint import load_checkpoint
    assert load_checkpoint(tmp_path / "run" / "checkpoint.npz").meta["plan"] == recorded
