"""The training job: prepare the data, run the epochs, report honest figures, save results."""
import json
import math
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .backend import get_array_module, get_backend, to_device
from .checkpoint import load_checkpoint, save_checkpoint
from .corpus import file_fingerprint, read_corpus, resolve_corpus
from .errors import W2VError
from .io import atomic_write, remove_stale_temporaries, write_word2vec
from .engine import (DEFAULT_LR, ENGINES, NOISE_PER, OPTIMIZERS, HogwildTrainer, MiniBatchTrainer,
                     StreamedCorpus, make_optimizer, resolve_engine, set_threads)
from .model import INITS, SkipGram
from .plot import plot_loss
from .query import Embeddings
from .sampling import RESAMPLE, SAMPLERS, SUBSAMPLING, build_examples, resolve_sampler
from .vocab import Vocab

DTYPES = ("float32", "float64")


@dataclass
class TrainConfig:
    """Every hyper-parameter of a run; the defaults are the seed chapter's.

    ``engine``, ``optimizer``, ``threads``, ``deterministic`` and ``noise_per`` choose how
    the run trains (see :mod:`w2v_np.engine`); ``lr`` ``None`` means the optimizer's default
    (:data:`~w2v_np.engine.DEFAULT_LR`: the seed's 0.002 for Adam, word2vec.c's 0.025 for SGD);
    ``init`` how the tables start (:func:`~w2v_np.model.initial_tables`).
    """
    corpus: str = "ptb"
    epochs: int = 5
    batch_size: int = 512
    window: int = 5
    negative: int = 5
    dim: int = 100
    lr: float = None
    min_count: int = 10
    sample: float = 1e-4
    subsampling: str = "seed"
    seed: int = 0
    backend: str = "numpy"
    dtype: str = "float32"
    sampler: str = "auto"
    resample: str = "once"
    engine: str = "auto"
    optimizer: str = "adam"
    threads: int = None
    deterministic: bool = False
    noise_per: str = "pair"
    init: str = "xavier"

    def validate(self):
        """Raise :class:`W2VError` naming the first impossible value; fill in the default ``lr``."""
        optional = ("threads",) if self.threads is not None else ()
        for name in ("epochs", "batch_size", "window", "negative", "dim", "min_count", *optional):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise W2VError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.deterministic, bool):
            raise W2VError(f"deterministic must be True or False, got {self.deterministic!r}")
        if self.optimizer not in OPTIMIZERS:
            raise W2VError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.lr is None:
            self.lr = DEFAULT_LR[self.optimizer]
        if not (_is_number(self.lr) and self.lr > 0):
            raise W2VError(f"learning rate must be a positive number, got {self.lr!r}")
        if not (_is_number(self.sample) and self.sample >= 0):
            raise W2VError(f"sample must be a number >= 0, got {self.sample!r}")
        if not _is_int(self.seed) or self.seed < 0:
            raise W2VError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name, choices in (("dtype", DTYPES), ("sampler", SAMPLERS), ("resample", RESAMPLE),
                              ("engine", ENGINES), ("subsampling", SUBSAMPLING), ("noise_per", NOISE_PER),
                              ("init", INITS)):
            if getattr(self, name) not in choices:
                raise W2VError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")


def _is_int(value):
    """An integer that is not a bool."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _is_number(value):
    """A finite real number that is not a bool."""
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
            and math.isfinite(value))


@dataclass
class TrainResult:
    """What a run produced: the vocabulary, the model, the optimizer and the metrics."""
    vocab: Vocab
    model: SkipGram
    optimizer: object
    metrics: dict = field(default_factory=dict)

    def embeddings(self):
        """The center vectors as an :class:`~w2v_np.query.Embeddings`."""
        return Embeddings(self.vocab.idx_to_token, self.model.center)


class SigintLatch:
    """Makes Ctrl-C stop training even when it arrives while Numba compiles.

    Numba calls back into Python while it compiles and caches kernels, and a
    ``KeyboardInterrupt`` raised inside such a callback is printed and dropped: the run
    would go on as if nothing happened.  While the latch is installed, SIGINT raises
    ``KeyboardInterrupt`` as usual and is also remembered; :meth:`check`, called at every
    training step, raises it again.  Outside the main thread, or when the program has its
    own SIGINT handler, the latch leaves signals alone and :meth:`check` never raises.
    """

    def __init__(self):
        self.pending = False
        self.previous = None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self._interrupted)
        return self

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def _interrupted(self, signum, frame):
        self.pending = True
        raise KeyboardInterrupt

    def check(self):
        """Raise ``KeyboardInterrupt`` if a Ctrl-C arrived since the latch was installed."""
        if self.pending:
            raise KeyboardInterrupt


class Progress:
    """A one-line progress bar on a terminal; silent when disabled.

    The trainers ask :meth:`wants` at every step, so it is also where a Ctrl-C that
    Numba swallowed is raised again (``latch``, a :class:`SigintLatch`).
    """

    def __init__(self, total, label, stream=sys.stderr, enabled=True, latch=None):
        self.total, self.label, self.stream, self.enabled = total, label, stream, enabled
        self.latch = latch
        self.every = max(1, total // 50)
        self.started = time.perf_counter()

    def wants(self, done):
        """Whether to redraw after ``done`` steps (about 50 times in all, and at the end)."""
        if self.latch is not None:
            self.latch.check()
        return self.enabled and (done % self.every == 0 or done == self.total)

    def update(self, done, loss):
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / self.total)
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                          f"{done}/{self.total} loss {loss:.3f} {rate:.0f} batches/s")
        self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


def _random_streams(seed):
    """Independent generators for data preparation, shuffling and initialisation."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]


DEFAULT_PROBE = "chip"
ENCODE_SLICE = 1 << 22


CHECKPOINT = "checkpoint.npz"
RUN_FILES = (CHECKPOINT, "metrics.json", "vectors.txt", "loss.png")
PLOT_INTERVAL = 10.0
"""Seconds between two drawings of ``loss.png`` during a run (it is always drawn at the end)."""


def train(config, out_dir=None, probes=None, quiet=False, log=print):
    """Run a whole training job and return a :class:`TrainResult`.

    ``probes`` are words whose nearest tokens are printed at the end; they are checked
    as soon as the vocabulary exists, before any training time is spent.  ``None``
    means ``chip`` (the seed's probe) when the vocabulary has it, else none.

    With ``out_dir`` the run writes ``checkpoint.npz`` when training starts and after
    every epoch, ``metrics.json`` after every epoch, (with matplotlib) ``loss.png`` after
    the last epoch and after any epoch that ends :data:`PLOT_INTERVAL` seconds or more
    after its last drawing (or the start of training), and ``vectors.txt`` at the end,
    each atomically.  A run that fails before its first checkpoint leaves no folder it
    created; a later failure leaves a checkpoint that :func:`resume` continues.  A folder
    holding a checkpoint is refused: continue that run with :func:`resume` instead of
    overwriting it.
    """
    _check_setup(config)
    if out_dir is None:
        return _run(config, None, probes, quiet, log)
    out_dir = Path(out_dir)
    if (out_dir / CHECKPOINT).exists():
        raise W2VError(f"{out_dir} already holds a training run; continue it with --resume {out_dir} "
                       f"or choose another output folder")
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise W2VError(f"cannot create output folder {out_dir}: {exc.strerror}") from None
    try:
        return _run(config, out_dir, probes, quiet, log)
    except BaseException:
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise


def resume(out_dir, *, epochs=None, backend=None, threads=None, probes=None, quiet=False, log=print):
    """Continue the run saved in ``out_dir`` from its last checkpoint; returns a :class:`TrainResult`.

    The run's settings come from the checkpoint; ``epochs`` may raise the total number
    of epochs, ``backend`` may move the run to another array backend and ``threads``
    change the number of threads.  The corpus is
    read again and must be the same file, byte for byte (size and BLAKE2 hash).  With ``resample="once"``
    (and the same backend) the resumed run ends with exactly the vectors of an
    uninterrupted one: the examples are rebuilt from the seed and the tables, Adam's
    state and the random streams are restored bit for bit.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise W2VError(f"no checkpoint in {out_dir}: "
                       f"{'it is not a folder' if out_dir.exists() else 'there is no such folder'}")
    if not (out_dir / CHECKPOINT).exists():
        raise W2VError(f"no checkpoint in {out_dir}: the run stopped before it wrote one "
                       f"(start it again with --out {out_dir})")
    checkpoint = load_checkpoint(out_dir / CHECKPOINT)
    meta = checkpoint.meta
    try:
        config = TrainConfig(**dict(meta["config"], corpus=meta["corpus_path"], sampler=meta["sampler"]))
    except (KeyError, TypeError) as exc:
        raise W2VError(f"{out_dir / CHECKPOINT} holds an unusable configuration ({exc})") from None
    if epochs is not None:
        config.epochs = epochs
    if backend is not None:
        config.backend = backend
    if threads is not None:
        config.threads = threads
    _check_setup(config)
    if config.epochs < checkpoint.epoch:
        raise W2VError(f"the checkpoint in {out_dir} has finished {checkpoint.epoch} epochs; "
                       f"--epochs {config.epochs} cannot undo them")
    return _run(config, out_dir, probes, quiet, log, checkpoint)


def _check_setup(config):
    """Validate ``config`` and everything it asks of this machine, before any work is done."""
    config.validate()
    if resolve_engine(config.engine, get_backend(config.backend)) == "cuda" and config.dtype != "float32":
        raise W2VError(f"the GPU kernels (engine numba on the cupy backend) train float32 tables, not "
                       f"{config.dtype}; use --engine numpy for {config.dtype} on the GPU")
    if config.noise_per != "pair" and not streams_corpus(config):
        raise W2VError(f"noise_per {config.noise_per!r} needs the streaming SGD (--optimizer sgd with "
                       "--engine numba on the CPU, not --deterministic)")
    resolve_sampler(config.sampler)
    set_threads(config.threads)


def streams_corpus(config):
    """Whether the run trains with the streaming SGD (no examples prepared in advance)."""
    return (config.optimizer == "sgd" and not config.deterministic
            and resolve_engine(config.engine, get_backend(config.backend)) == "numba")


def prepare(config, rng, probes=None):
    """Read the corpus, build the vocabulary, check the probe words, build the examples.

    ``config.sampler`` chooses the implementation of the whole data pipeline (tokenising
    included): the Numba kernels or the NumPy reference.

    Returns ``(vocab, examples, probes)``; ``probes=None`` becomes ``[chip]`` when the
    vocabulary has it, else ``[]``.  ``examples`` is a :class:`~w2v_np.engine.StreamedCorpus`
    when the run streams (:func:`streams_corpus`).
    """
    sampler = resolve_sampler(config.sampler)
    corpus = read_corpus(resolve_corpus(config.corpus), use_kernels=sampler == "numba")
    vocab = Vocab.from_counts(corpus.types, corpus.counts, config.min_count)
    if probes is None:
        probes = [DEFAULT_PROBE] if DEFAULT_PROBE in vocab else []
    for word in probes:
        if word not in vocab:
            raise W2VError(f"probe word {word!r} is not in the vocabulary "
                           f"({len(vocab)} tokens with count >= {config.min_count})")
    ids, to_vocab = corpus.type_ids, vocab.ids_of(corpus.types)
    # In place, a slice at a time: the whole corpus's ids are never held twice.
    for start in range(0, ids.shape[0], ENCODE_SLICE):
        ids[start:start + ENCODE_SLICE] = to_vocab[ids[start:start + ENCODE_SLICE]]
    if streams_corpus(config):
        return vocab, StreamedCorpus(ids, corpus.offsets, vocab.counts, max_window=config.window,
                                     num_noise_words=config.negative, sample=config.sample,
                                     subsampling=config.subsampling), list(probes)
    examples = build_examples(ids, corpus.offsets, vocab.counts, max_window=config.window,
                              num_noise_words=config.negative, sample=config.sample, rng=rng,
                              sampler=sampler, resample=config.resample, subsampling=config.subsampling)
    return vocab, examples, list(probes)


def _run(config, out_dir, probes, quiet, log, checkpoint=None):
    with SigintLatch() as latch:
        return _run_latched(config, out_dir, probes, quiet, log, checkpoint, latch)


def _run_latched(config, out_dir, probes, quiet, log, checkpoint, latch):
    say = (lambda *args: None) if quiet else log
    if out_dir is not None:
        remove_stale_temporaries(out_dir, RUN_FILES)
        # Hashed before the corpus is prepared, so a changed corpus is refused at once.
        corpus_path = resolve_corpus(config.corpus).resolve()
        fingerprint = file_fingerprint(corpus_path)
        if checkpoint is not None and fingerprint != checkpoint.meta["corpus_fingerprint"]:
            raise W2VError(f"the corpus {corpus_path} has changed since the checkpoint (its size or "
                           f"content differs); cannot resume")
    data_rng, shuffle_rng, init_rng = _random_streams(config.seed)
    prep_start = time.perf_counter()
    vocab, examples, probes = prepare(config, data_rng, probes)
    prep_seconds = time.perf_counter() - prep_start
    xp = get_backend(config.backend)
    engine = resolve_engine(config.engine, xp)
    if isinstance(examples, StreamedCorpus):
        sampler = "numba"
        say(f"vocabulary {len(vocab)}, {len(examples)} tokens streamed (windows and noise words drawn "
            f"on the fly), prepared in {prep_seconds:.2f} s")
    else:
        sampler = examples.sampler
        drawn = ("windows and noise words drawn anew each epoch" if config.resample == "epoch"
                 else f"{examples.num_pairs} pairs")
        say(f"vocabulary {len(vocab)}, {len(examples)} centers, {drawn}, "
            f"prepared in {prep_seconds:.2f} s ({sampler} sampler)")

    model = SkipGram(len(vocab), config.dim, rng=init_rng, xp=xp, dtype=np.dtype(config.dtype),
                     init=config.init)
    optimizer = make_optimizer(config.optimizer, model.params, config.lr, config.epochs * len(examples))
    if isinstance(examples, StreamedCorpus):
        trainer = HogwildTrainer(model, optimizer, examples, config.noise_per)
    else:
        trainer = MiniBatchTrainer(model, optimizer, examples, config.batch_size, engine, config.deterministic)
    streams = {"data": data_rng, "shuffle": shuffle_rng}
    epochs, resumed_at = [], []
    if checkpoint is not None:
        _restore(checkpoint, vocab, model, optimizer, streams)
        epochs, resumed_at = checkpoint.meta["epochs"], checkpoint.meta["resumed_at"] + [checkpoint.epoch]
        say(f"resumed after epoch {checkpoint.epoch} of {config.epochs}")

    def metrics():
        # With resample "epoch" every epoch draws its own pairs: num_pairs is the first epoch's.
        return {"config": dict(asdict(config), corpus=os.fspath(config.corpus)), "sampler": sampler,
                "engine": engine, "vocab_size": len(vocab),
                "num_centers": epochs[0]["centers"] if epochs else trainer.num_centers,
                "num_pairs": epochs[0]["pairs"] if epochs else None, "prep_seconds": prep_seconds,
                "train_seconds": sum(e["seconds"] for e in epochs), "epochs": epochs,
                "resumed_at": resumed_at}

    last_plot = time.perf_counter()

    def save_progress():
        nonlocal last_plot
        # The checkpoint goes last: once it exists, metrics.json covers its epochs.  Drawing
        # loss.png costs about 0.08 s (0.4 s the first time), a sixth of a fast PTB epoch:
        # it is drawn at most every PLOT_INTERVAL seconds, counted from the start of
        # training, and after the last epoch, so a short run draws it once.
        current = metrics()
        if epochs:
            _write_metrics(current, out_dir)
            if len(epochs) == config.epochs or time.perf_counter() - last_plot >= PLOT_INTERVAL:
                plot_loss(epochs, out_dir / "loss.png")
                last_plot = time.perf_counter()
        meta = dict(current, epoch=len(epochs), corpus_path=os.fspath(corpus_path),
                    corpus_fingerprint=fingerprint,
                    rng={name: rng.bit_generator.state for name, rng in streams.items()})
        save_checkpoint(out_dir / CHECKPOINT, meta=meta, tokens=vocab.idx_to_token, counts=vocab.counts,
                        params=model.params, optimizer=optimizer)

    if out_dir is not None and checkpoint is None:
        save_progress()
    for epoch in range(len(epochs) + 1, config.epochs + 1):
        epoch_start = time.perf_counter()
        bar = Progress(trainer.num_batches, f"epoch {epoch}/{config.epochs}",
                       enabled=not quiet and sys.stderr.isatty(), latch=latch)
        done = trainer.run_epoch(streams, bar)
        seconds = time.perf_counter() - epoch_start
        epochs.append(dict(epoch=epoch, **done, seconds=seconds, centers_per_second=done["centers"] / seconds))
        say(f"epoch {epoch}/{config.epochs}: loss {done['loss']:.4f}, {seconds:.2f} s, "
            f"{done['centers'] / seconds:,.0f} centers/s")
        if out_dir is not None:
            save_progress()

    result = TrainResult(vocab, model, optimizer, metrics())
    if out_dir is not None:
        write_word2vec(out_dir / "vectors.txt", vocab.idx_to_token, model.center)
        say(f"wrote {out_dir}/metrics.json, vectors.txt and {CHECKPOINT}")
    embeddings = result.embeddings()
    for word in probes:
        neighbours = ", ".join(f"{token} ({cosine:.3f})"
                               for token, cosine in embeddings.most_similar(word, topn=3))
        log(f"nearest to {word!r}: {neighbours}")
    return result


def _restore(checkpoint, vocab, model, optimizer, streams):
    """Load a checkpoint's tables, optimizer state and random streams into a freshly prepared run."""
    if checkpoint.tokens != vocab.idx_to_token or not np.array_equal(checkpoint.counts, vocab.counts):
        raise W2VError(f"the corpus {checkpoint.meta['corpus_path']} has changed since the checkpoint "
                       f"(its vocabulary differs); cannot resume")
    xp = get_array_module(model.center)
    for name, param in model.params.items():
        if checkpoint.params[name].shape != param.shape or checkpoint.params[name].dtype != param.dtype:
            raise W2VError(f"the checkpoint's {name} table is {checkpoint.params[name].dtype} "
                           f"{checkpoint.params[name].shape}, the run needs {param.dtype} {param.shape}")
        param[...] = to_device(checkpoint.params[name], xp)
    state = checkpoint.meta["optimizer"]
    if state.get("name") != optimizer.name:
        raise W2VError(f"the checkpoint holds the state of optimizer {state.get('name')!r}, "
                       f"the run uses {optimizer.name!r}")
    arrays = {key: {name: to_device(a, xp) for name, a in tables.items()}
              for key, tables in checkpoint.optimizer_arrays.items()}
    optimizer.load_state_dict(dict(state, **arrays))
    try:
        for name, rng in streams.items():
            rng.bit_generator.state = checkpoint.meta["rng"][name]
    except (KeyError, TypeError, ValueError) as exc:
        raise W2VError(f"the checkpoint's random state is damaged ({type(exc).__name__}: {exc})") from None


def _write_metrics(metrics, out_dir):
    with atomic_write(Path(out_dir) / "metrics.json") as out:
        json.dump(metrics, out, indent=2)
        out.write("\n")
