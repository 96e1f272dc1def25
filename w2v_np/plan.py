"""From what a user asks to what runs: a :class:`TrainConfig` becomes a frozen :class:`Plan`, once.

Two questions are answered apart (``../shared/GUIDE.md`` §2):

- the **method**, *what* is computed: ``d2l``, the chapter's padded mini-batches and the mean
  masked BCE of each example (:mod:`w2v_np.d2l`), or ``word2vec``, word2vec.c's streaming
  per-pair SGD (:mod:`w2v_np.word2vec`);
- the **engine** (implementation), *how* it runs: ``numpy`` (the readable reference, on
  NumPy or CuPy arrays), ``numba`` (fused CPU kernels), ``cuda`` (numba.cuda kernels on
  CuPy arrays) or ``dask`` (the streaming kernel in the worker processes of a Dask cluster).
  Implementations of one method agree to float rounding, except where parallel updates race
  or are combined late (Hogwild threads, Dask replicas: :attr:`Plan.reduction`); ``auto``
  picks the fastest one on this machine and never another method, nor a cluster.

:func:`make_plan` is the only place that knows which combinations exist (:data:`TRAINERS`,
keyed by ``(method, engine)``), fills in each method's defaults (:data:`METHOD_DEFAULTS`,
:data:`DEFAULT_LR`), and refuses, in one line, every impossible value and every setting the
chosen method does not use.  It has no side effects; the plan it returns is recorded whole in
``metrics.json`` and in the checkpoint.
"""
import math
import os
from collections.abc import Iterable, Sequence
from typing import Optional, Union
from dataclasses import asdict, dataclass, fields

import numpy as np

from .backend import BACKENDS, get_backend
from .d2l import NumbaTrainer, ReferenceTrainer
from .errors import W2VError
from .gpu_step import CudaTrainer
from .kernels import cuda_available, numba_available
from .model import INITS
from .optim import OPTIMIZERS
from .sampling import RESAMPLE, SAMPLERS, SUBSAMPLING
from .sentences import describe_corpus, is_sentences
from .threads import usable_cpus
from .word2vec import HogwildTrainer
from .word2vec_dask import COMBINES, DaskTrainer

METHODS = ("d2l", "word2vec")
ENGINES = ("auto", "numpy", "numba", "cuda", "dask")
"""What users choose; a plan's engine is one of ``numpy``, ``numba``, ``cuda``, ``dask``."""
DTYPES = ("float32", "float64")
NOISE_PER = ("pair", "window")
"""How often the word2vec method draws noise words: per (center, context word) pair as
word2vec.c, or once per window, shared by its context words (HogBatch)."""

TRAINERS = {
    ("d2l", "numpy"): ReferenceTrainer,
    ("d2l", "numba"): NumbaTrainer,
    ("d2l", "cuda"): CudaTrainer,
    ("word2vec", "numba"): HogwildTrainer,
    ("word2vec", "dask"): DaskTrainer,
}
"""The trainer class of each (method, engine) that exists; adding a trainer is adding a row."""

METHOD_DEFAULTS = {
    "d2l": {"optimizer": "adam", "subsampling": "seed", "init": "xavier", "batch_size": 512,
            "resample": "once", "sampler": "auto"},
    "word2vec": {"optimizer": "sgd", "subsampling": "word2vec", "init": "word2vec", "noise_per": "pair"},
}
"""The settings each method uses and their defaults (the chapter's for ``d2l``, word2vec.c's
for ``word2vec``).  A setting of another method's table is refused."""

DEFAULT_LR = {(method, name): lr for name, optimizer in OPTIMIZERS.items()
              for method, lr in optimizer.DEFAULT_LR.items()}
"""The default learning rate of each (method, optimizer) that exists: the optimizers' own
``DEFAULT_LR`` (a rate fits the objective it scales; see :mod:`w2v_np.optim`)."""
METHOD_OPTIMIZERS = {method: tuple(name for m, name in DEFAULT_LR if m == method) for method in METHODS}

_CHOICES = {"method": METHODS, "engine": ENGINES, "backend": BACKENDS, "dtype": DTYPES,
            "subsampling": SUBSAMPLING, "init": INITS, "resample": RESAMPLE, "sampler": SAMPLERS,
            "noise_per": NOISE_PER, "optimizer": tuple(OPTIMIZERS), "combine": COMBINES}
_POSITIVE_INTS = ("epochs", "window", "negative", "dim", "min_count", "batch_size", "threads", "workers",
                  "sync_tokens")
DASK_SETTINGS = {"sync_tokens": None, "combine": "average"}
"""The settings of the ``dask`` engine and their defaults; ``workers`` and ``scheduler`` say where it runs."""
MAX_COUNT = 2**31 - 1
"""The largest size a setting may name: the kernels count words, positions and rows in
int32 and int64, and the run's memory is checked against what the sizes need once the
vocabulary is known (:mod:`w2v_np.footprint`)."""
MAX_EPOCHS = 1_000_000
"""More passes than any schedule uses; a larger count could not finish."""


@dataclass
class TrainConfig:
    """What a user asks of a run; :func:`make_plan` resolves it.

    The defaults are the chapter's.  Settings that default to ``None`` take the chosen
    method's default (:data:`METHOD_DEFAULTS`, :data:`DEFAULT_LR`); naming one that the
    method does not use is an error (``batch_size``, ``resample`` and ``sampler`` belong
    to ``d2l``, ``noise_per`` to ``word2vec``).  ``threads`` ``None`` means the CPUs this
    process may use (:func:`~w2v_np.threads.usable_cpus`), and for the d2l method's
    ``numba`` engine fewer while other processes share them
    (:class:`~w2v_np.threads.ThreadGovernor`); a number is used as it is.
    ``deterministic`` asks for the same bits on every run.

    ``corpus`` is ``"ptb"``, a path to a text file (one sentence per line), or an in-memory
    corpus: an iterable of sentences, each a sequence of ``str`` tokens, as gensim's
    ``Word2Vec(sentences=...)`` takes (a list, a restartable iterable or a one-shot generator;
    see :mod:`w2v_np.sentences`).  It trains exactly as a file holding the same text; the plan
    records only its description (:func:`~w2v_np.sentences.describe_corpus`), and a run on it
    cannot be resumed (the checkpoint does not hold the sentences).
    ``vocab_file`` names a vocabulary file (``word count`` lines, word2vec.c's ``-save-vocab``
    format) to train with instead of counting the corpus (:meth:`~w2v_np.vocab.Vocab.read`).

    ``workers`` (a number of local worker processes) or ``scheduler`` (a Dask scheduler's
    address) runs the word2vec method on a Dask cluster (the ``dask`` engine,
    :mod:`w2v_np.word2vec_dask`), whose replicas are combined every ``sync_tokens`` tokens
    per worker (None: :data:`~w2v_np.word2vec_dask.ROUND_TOKENS` a round, divided among the
    workers) by ``combine`` (``average``, the default: replicas trained at workers x ``lr``,
    averaged; or ``sum``, two workers at most); ``threads`` is then refused (each worker trains
    on one thread).
    """
    corpus: Union[str, os.PathLike, Iterable[Sequence[str]]] = "ptb"
    method: str = "d2l"
    engine: str = "auto"
    epochs: int = 5
    window: int = 5
    negative: int = 5
    dim: int = 100
    min_count: int = 10
    sample: float = 1e-4
    seed: int = 0
    backend: str = "numpy"
    dtype: str = "float32"
    threads: Optional[int] = None
    deterministic: bool = False
    optimizer: Optional[str] = None
    lr: Optional[float] = None
    subsampling: Optional[str] = None
    init: Optional[str] = None
    batch_size: Optional[int] = None
    resample: Optional[str] = None
    sampler: Optional[str] = None
    noise_per: Optional[str] = None
    vocab_file: Union[str, os.PathLike, None] = None
    workers: Optional[int] = None
    scheduler: Optional[str] = None
    sync_tokens: Optional[int] = None
    combine: Optional[str] = None


@dataclass(frozen=True)
class Plan:
    """A run, every choice resolved.

    ``method`` and ``engine`` (``numpy``, ``numba`` or ``cuda``) pick the trainer
    (:data:`TRAINERS`); ``backend`` is ``numpy`` or ``cupy``; ``sampler`` is ``numpy`` or
    ``numba``, the data pipeline that runs (always ``numba`` for ``word2vec``, which draws
    inside its kernel); ``reduction`` says in what order gradients are summed: ``fixed`` (an order set
    by the batch), ``sorted`` or ``atomic`` (the GPU), ``serial`` or ``hogwild`` (one or
    several threads of the streaming SGD), ``rounds`` (replicas combined in worker order, the dask
    engine); ``deterministic`` whether the same seed gives
    the same bits on every run; ``threads`` Numba's threads (1 when no Numba kernel runs),
    and ``adaptive_threads`` whether the trainer may use fewer of them while the CPU is
    shared (the d2l method's ``numba`` engine when ``threads`` was not given: its results do
    not depend on the number of threads).  ``vocab_file``: the vocabulary file, or ``None``
    when the corpus's counts make the vocabulary.  ``workers`` (``None`` with ``scheduler``),
    ``scheduler``, ``sync_tokens`` and ``combine``: where and how the ``dask`` engine runs.
    Settings the method or the engine does not use are ``None``.
    ``corpus`` is the corpus file's path (or ``"ptb"``), or an in-memory corpus's description.
    """
    method: str
    engine: str
    backend: str
    optimizer: str
    lr: float
    subsampling: str
    init: str
    batch_size: Optional[int]
    resample: Optional[str]
    sampler: Optional[str]
    noise_per: Optional[str]
    reduction: str
    deterministic: bool
    threads: int
    adaptive_threads: bool
    corpus: str
    epochs: int
    window: int
    negative: int
    dim: int
    min_count: int
    sample: float
    seed: int
    dtype: str
    vocab_file: Optional[str]
    workers: Optional[int]
    scheduler: Optional[str]
    sync_tokens: Optional[int]
    combine: Optional[str]

    @property
    def trainer(self):
        """The trainer class of this plan's (method, engine)."""
        return TRAINERS[self.method, self.engine]

    @property
    def uses_numba(self):
        """Whether any Numba kernel runs on the CPU (its threads then matter)."""
        return _uses_numba(self.engine, self.sampler)

    def to_dict(self):
        """The plan as JSON-ready values."""
        return asdict(self)


def _uses_numba(engine, sampler):
    return engine == "numba" or sampler == "numba"


def _flag(name):
    return "--" + name.replace("_", "-")


def _is_int(value):
    """An integer that is not a bool."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _is_number(value):
    """A finite real number that is not a bool."""
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
            and math.isfinite(value))


def _check_values(config):
    """Refuse a value no method accepts: wrong type, out of range, not a known choice."""
    if not (isinstance(config.corpus, (str, os.PathLike)) or is_sentences(config.corpus)):
        raise W2VError(f"corpus must be 'ptb' or a path to a text file, or an iterable of sentences (sequences "
                       f"of str tokens), got {config.corpus!r}")
    if config.vocab_file is not None and not isinstance(config.vocab_file, (str, os.PathLike)):
        raise W2VError(f"vocab_file must be a path to a vocabulary file or None, got {config.vocab_file!r}")
    for name in _POSITIVE_INTS:
        value = getattr(config, name)
        if value is not None and (not _is_int(value) or value < 1):
            raise W2VError(f"{name} must be a positive integer, got {value!r}")
        limit = MAX_EPOCHS if name == "epochs" else MAX_COUNT
        if value is not None and value > limit:
            raise W2VError(f"{name} must be at most {limit:,}, got {value:,}")
    if not (_is_number(config.sample) and config.sample >= 0):
        raise W2VError(f"sample must be a number >= 0, got {config.sample!r}")
    if not _is_int(config.seed) or not 0 <= config.seed < 2**64:
        raise W2VError(f"seed must be an integer in 0..2**64-1, got {config.seed!r}")
    if config.lr is not None and not (_is_number(config.lr) and config.lr > 0):
        raise W2VError(f"learning rate must be a positive number, got {config.lr!r}")
    if config.scheduler is not None and not (isinstance(config.scheduler, str) and config.scheduler.strip()):
        raise W2VError(f"scheduler must be a Dask scheduler's address such as tcp://host:8786, got "
                       f"{config.scheduler!r}")
    if not isinstance(config.deterministic, bool):
        raise W2VError(f"deterministic must be True or False, got {config.deterministic!r}")
    for name, choices in _CHOICES.items():
        value = getattr(config, name)
        # None means "the method's default" only where the field's default is None.
        if (value is not None or getattr(TrainConfig, name) is not None) and value not in choices:
            raise W2VError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def _method_settings(config):
    """The method's own settings, defaults filled in; refuses another method's settings."""
    method = config.method
    settings = METHOD_DEFAULTS[method]
    for other, its_settings in METHOD_DEFAULTS.items():
        for name in its_settings.keys() - settings.keys():
            if getattr(config, name) is not None:
                raise W2VError(f"{_flag(name)} is a setting of --method {other}; --method {method} does not "
                               f"use it")
    resolved = {name: default if getattr(config, name) is None else getattr(config, name)
                for name, default in settings.items()}
    if resolved["optimizer"] not in METHOD_OPTIMIZERS[method]:
        raise W2VError(f"--method {method} trains with {' or '.join(METHOD_OPTIMIZERS[method])} only, "
                       f"not --optimizer {resolved['optimizer']}")
    return resolved


def _engine(config, backend):
    """The engine that runs ``config.method`` on ``backend`` (``"numpy"`` or ``"cupy"``)."""
    method, engine = config.method, config.engine
    engines = [e for m, e in TRAINERS if m == method]
    cluster = [_flag(name) for name in ("workers", "scheduler") if getattr(config, name) is not None]
    if cluster:
        if engine not in ("auto", "dask"):
            raise W2VError(f"{cluster[0]} runs on a Dask cluster, with --engine dask, not --engine {engine}")
        engine = "dask"
    if len(cluster) == 2:
        raise W2VError("--workers starts a local cluster and --scheduler uses an existing one: give one of them")
    for name in DASK_SETTINGS:
        if engine != "dask" and getattr(config, name) is not None:
            where = ("give --workers N or --scheduler ADDRESS" if engine == "auto"
                     else f"--engine {engine} does not use it")
            raise W2VError(f"{_flag(name)} is a setting of the dask engine; {where}")
    if engine == "dask" and method == "d2l":
        raise W2VError("--method d2l has no dask engine: exchanging a step's gradients over Dask takes longer "
                       "than the part of the step a second worker would save (docs/distributed.md); use "
                       "--method word2vec on a cluster")
    if engine == "dask" and config.threads is not None:
        raise W2VError("--threads sets the Numba threads of one process; the dask engine's workers train on "
                       "one thread each and read the corpus themselves: give more --workers")
    if engine == "dask" and backend == "cupy":
        raise W2VError("the dask engine trains on the workers' CPUs: use --backend numpy")
    if backend == "cupy":
        if not {"numpy", "cuda"} & set(engines):
            raise W2VError(f"--method {method} has no engine for --backend cupy (it runs on the CPU); "
                           "use --method d2l on the GPU")
        # On CuPy arrays: the reference, or the numba.cuda kernels (--engine numba there).
        engine = {"auto": "cuda" if cuda_available() else "numpy", "numba": "cuda"}.get(engine, engine)
    elif engine == "auto":
        engine = "numba" if numba_available() else "numpy"
    if engine not in engines:
        hint = "; install Numba: pip install 'w2v-np[fast]'" if "numba" in engines and not numba_available() else ""
        raise W2VError(f"--method {method} has no {engine} engine (its engines: {', '.join(engines)}){hint}")
    if engine in ("numba", "dask") and not numba_available():
        raise W2VError(f"the {engine} engine needs Numba, which is not installed: pip install 'w2v-np[fast]'"
                       + (" (or use --engine numpy)" if "numpy" in engines else ""))
    if engine == "cuda":
        if backend != "cupy":
            raise W2VError("--engine cuda runs on the GPU: add --backend cupy")
        if not cuda_available():
            raise W2VError("the cuda engine needs numba.cuda to see the GPU (Numba, or the CUDA libraries it "
                           "uses, are missing); use --engine numpy with --backend cupy")
        if config.dtype != "float32":
            raise W2VError(f"the cuda engine trains float32 tables, not {config.dtype}; use --engine numpy for "
                           f"{config.dtype} on the GPU")
    return engine


def _sampler(sampler):
    """``numpy`` or ``numba`` for ``--sampler``."""
    if sampler == "auto":
        return "numba" if numba_available() else "numpy"
    if sampler == "numba" and not numba_available():
        raise W2VError("--sampler numba needs Numba, which is not installed: pip install 'w2v-np[fast]' "
                       "(or use --sampler numpy)")
    return sampler


def _threads(config, uses_numba):
    """Numba's threads for the run (1 when no Numba kernel runs on the CPU)."""
    if not uses_numba:
        if config.threads not in (None, 1):
            raise W2VError("--threads sets the threads of the Numba kernels, and this run uses none "
                           "(engine and sampler numpy)" if numba_available() else
                           "--threads needs Numba, which is not installed: pip install 'w2v-np[fast]'")
        return 1
    import numba
    available = numba.config.NUMBA_NUM_THREADS
    if config.threads is not None and config.threads > available:
        raise W2VError(f"threads must lie in 1..{available} (the threads Numba can use here), got {config.threads}")
    return min(usable_cpus(), available) if config.threads is None else int(config.threads)


def _reduction(config, engine, threads):
    """``(reduction, deterministic)``: how gradients are summed, and whether bits repeat."""
    if engine == "dask":
        return "rounds", True
    if config.method == "word2vec":
        if threads == 1:
            return "serial", True
        if config.deterministic:
            raise W2VError("--deterministic with --method word2vec needs --threads 1: its threads update "
                           "the tables without locks (Hogwild), so their races vary from run to run")
        return "hogwild", False
    if engine == "cuda":
        return ("sorted", True) if config.deterministic else ("atomic", False)
    return "fixed", True


def make_plan(config: TrainConfig) -> Plan:
    """Resolve ``config`` (a :class:`TrainConfig`) into a :class:`Plan`; :class:`W2VError` names the
    first impossible value or unused setting.  No side effects."""
    if not isinstance(config, TrainConfig):
        raise W2VError(f"a run is configured by a TrainConfig, got {type(config).__name__}")
    _check_values(config)
    settings = _method_settings(config)
    backend = "numpy" if get_backend(config.backend) is np else "cupy"
    engine = _engine(config, backend)
    # word2vec's data pipeline is its kernels' (tokenising, and drawing inside the streaming step).
    settings["sampler"] = _sampler(settings["sampler"]) if "sampler" in settings else "numba"
    values = {f.name: None for f in fields(Plan)}
    values.update({name: getattr(config, name) for name in values.keys() & {f.name for f in fields(TrainConfig)}})
    values.update(settings, engine=engine, backend=backend, corpus=describe_corpus(config.corpus),
                  vocab_file=None if config.vocab_file is None else os.fspath(config.vocab_file))
    values["lr"] = DEFAULT_LR[config.method, settings["optimizer"]] if config.lr is None else config.lr
    # Plain Python numbers, so that the plan goes to JSON as it is (NumPy scalars are accepted).
    for name in ("epochs", "window", "negative", "dim", "min_count", "seed", "batch_size"):
        values[name] = None if values[name] is None else int(values[name])
    values["sample"], values["lr"] = float(config.sample), float(values["lr"])
    values["threads"] = _threads(config, _uses_numba(engine, settings["sampler"]))
    values["reduction"], values["deterministic"] = _reduction(config, engine, values["threads"])
    if engine == "dask":
        values.update({name: default if getattr(config, name) is None else getattr(config, name)
                       for name, default in DASK_SETTINGS.items()})
        if config.scheduler is None and config.workers is None:
            values["workers"] = usable_cpus()
        values["workers"] = None if values["workers"] is None else int(values["workers"])
        values["sync_tokens"] = None if values["sync_tokens"] is None else int(values["sync_tokens"])
    values["adaptive_threads"] = (config.threads is None and (config.method, engine) == ("d2l", "numba")
                                  and values["threads"] > 1)
    return Plan(**values)
