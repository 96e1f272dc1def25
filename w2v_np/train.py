"""The training job: prepare the data, run the epochs, report honest figures, save results."""
import json
import math
import os
import queue
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .backend import get_array_module, get_backend, to_device, to_host
from .checkpoint import load_checkpoint, save_checkpoint
from .corpus import file_fingerprint, read_corpus, resolve_corpus
from .errors import W2VError
from .io import atomic_write, remove_stale_temporaries, write_word2vec
from .model import SkipGram
from .optim import Adam
from .plot import plot_loss
from .query import Embeddings
from .sampling import RESAMPLE, SAMPLERS, build_examples, resolve_sampler
from .vocab import Vocab

DTYPES = ("float32", "float64")


@dataclass
class TrainConfig:
    """Every hyper-parameter of a run; the defaults are the seed chapter's."""
    corpus: str = "ptb"
    epochs: int = 5
    batch_size: int = 512
    window: int = 5
    negative: int = 5
    dim: int = 100
    lr: float = 0.002
    min_count: int = 10
    sample: float = 1e-4
    seed: int = 0
    backend: str = "numpy"
    dtype: str = "float32"
    sampler: str = "auto"
    resample: str = "once"

    def validate(self):
        """Raise :class:`W2VError` naming the first impossible value."""
        for name in ("epochs", "batch_size", "window", "negative", "dim", "min_count"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise W2VError(f"{name} must be a positive integer, got {value!r}")
        if not (_is_number(self.lr) and self.lr > 0):
            raise W2VError(f"learning rate must be a positive number, got {self.lr!r}")
        if not (_is_number(self.sample) and self.sample >= 0):
            raise W2VError(f"sample must be a number >= 0, got {self.sample!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise W2VError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name, choices in (("dtype", DTYPES), ("sampler", SAMPLERS), ("resample", RESAMPLE)):
            if getattr(self, name) not in choices:
                raise W2VError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")


def _is_number(value):
    """A finite real number that is not a bool."""
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
            and math.isfinite(value))


@dataclass
class TrainResult:
    """What a run produced: the vocabulary, the model, the optimizer and the metrics."""
    vocab: Vocab
    model: SkipGram
    optimizer: Adam
    metrics: dict = field(default_factory=dict)

    def embeddings(self):
        """The center vectors as an :class:`~w2v_np.query.Embeddings`."""
        return Embeddings(self.vocab.idx_to_token, self.model.center)


class Progress:
    """A one-line progress bar on a terminal; silent when disabled."""

    def __init__(self, total, label, stream=sys.stderr, enabled=True):
        self.total, self.label, self.stream, self.enabled = total, label, stream, enabled
        self.every = max(1, total // 50)
        self.started = time.perf_counter()

    def wants(self, done):
        """Whether to redraw after ``done`` steps (about 50 times in all, and at the end)."""
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


def prefetch(iterator, depth=2):
    """Yield the items of ``iterator``, producing up to ``depth`` ahead in a background thread.

    Batch packing then overlaps with the training step on the other core; the items
    and their order are exactly those of ``iterator``.
    """
    slots = queue.Queue(maxsize=depth)
    finished = object()
    stop = threading.Event()

    def produce():
        try:
            for item in iterator:
                if stop.is_set():
                    return
                slots.put(item)
            slots.put(finished)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            slots.put(exc)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is finished:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                slots.get_nowait()
            except queue.Empty:
                worker.join(0.01)


def _random_streams(seed):
    """Independent generators for data preparation, shuffling and initialisation."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]


DEFAULT_PROBE = "chip"


CHECKPOINT = "checkpoint.npz"
RUN_FILES = (CHECKPOINT, "metrics.json", "vectors.txt", "loss.png")


def train(config, out_dir=None, probes=None, quiet=False, log=print):
    """Run a whole training job and return a :class:`TrainResult`.

    ``probes`` are words whose nearest tokens are printed at the end; they are checked
    as soon as the vocabulary exists, before any training time is spent.  ``None``
    means ``chip`` (the seed's probe) when the vocabulary has it, else none.

    With ``out_dir`` the run writes ``checkpoint.npz`` when training starts and after
    every epoch, ``metrics.json`` and (with matplotlib) ``loss.png`` after every epoch,
    and ``vectors.txt`` at the end, each atomically.  A run that fails before its first
    checkpoint leaves no folder it created; a later failure leaves a checkpoint that
    :func:`resume` continues.  A folder holding a checkpoint is refused: continue that
    run with :func:`resume` instead of overwriting it.
    """
    config.validate()
    get_backend(config.backend)
    resolve_sampler(config.sampler)
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


def resume(out_dir, *, epochs=None, backend=None, probes=None, quiet=False, log=print):
    """Continue the run saved in ``out_dir`` from its last checkpoint; returns a :class:`TrainResult`.

    The run's settings come from the checkpoint; ``epochs`` may raise the total number
    of epochs and ``backend`` may move the run to another array backend.  The corpus is
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
    config.validate()
    if config.epochs < checkpoint.epoch:
        raise W2VError(f"the checkpoint in {out_dir} has finished {checkpoint.epoch} epochs; "
                       f"--epochs {config.epochs} cannot undo them")
    get_backend(config.backend)
    resolve_sampler(config.sampler)
    return _run(config, out_dir, probes, quiet, log, checkpoint)


def prepare(config, rng, probes=None):
    """Read the corpus, build the vocabulary, check the probe words, build the examples.

    ``config.sampler`` chooses the implementation of the whole data pipeline (tokenising
    included): the Numba kernels or the NumPy reference.

    Returns ``(vocab, examples, probes)``; ``probes=None`` becomes ``[chip]`` when the
    vocabulary has it, else ``[]``.
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
    ids = vocab.ids_of(corpus.types)[corpus.type_ids]
    examples = build_examples(ids, corpus.offsets, vocab.counts, max_window=config.window,
                              num_noise_words=config.negative, sample=config.sample, rng=rng,
                              sampler=sampler, resample=config.resample)
    return vocab, examples, list(probes)


def run_epoch(model, optimizer, examples, batch_size, rng, bar):
    """One pass over ``examples`` in shuffled batches.

    Returns ``(mean per-example loss, number of (center, context word) pairs seen)``.

    The loss stays on the model's backend and is read back only when ``bar`` shows it
    (about 50 times an epoch) and once at the end.
    """
    xp = get_array_module(model.center)
    dtype = model.center.dtype
    loss_sum = xp.zeros((), dtype=np.float64)
    pairs = 0
    for step, batch in enumerate(prefetch(examples.batches(batch_size, rng, dtype)), 1):
        pairs += int(np.count_nonzero(batch.label))
        losses, grads = model.loss_and_grads(to_device(batch.center, xp),
                                             to_device(batch.context_negative, xp),
                                             to_device(batch.mask, xp), to_device(batch.label, xp))
        optimizer.step(grads)
        loss_sum += losses.sum(dtype=np.float64)
        if bar.wants(step):
            bar.update(step, float(loss_sum) / min(len(examples), step * batch_size))
    bar.close()
    return float(to_host(loss_sum)) / len(examples), pairs


def _run(config, out_dir, probes, quiet, log, checkpoint=None):
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
    sampler = examples.sampler
    drawn = ("windows and noise words drawn anew each epoch" if config.resample == "epoch"
             else f"{examples.num_pairs} pairs")
    say(f"vocabulary {len(vocab)}, {len(examples)} centers, {drawn}, "
        f"prepared in {prep_seconds:.2f} s ({sampler} sampler)")

    model = SkipGram(len(vocab), config.dim, rng=init_rng, xp=get_backend(config.backend),
                     dtype=np.dtype(config.dtype))
    optimizer = Adam(model.params, lr=config.lr)
    streams = {"data": data_rng, "shuffle": shuffle_rng}
    epochs, resumed_at = [], []
    if checkpoint is not None:
        _restore(checkpoint, vocab, model, optimizer, streams)
        epochs, resumed_at = checkpoint.meta["epochs"], checkpoint.meta["resumed_at"] + [checkpoint.epoch]
        say(f"resumed after epoch {checkpoint.epoch} of {config.epochs}")

    def metrics():
        # With resample "epoch" every epoch draws its own pairs: num_pairs is the first epoch's.
        return {"config": dict(asdict(config), corpus=os.fspath(config.corpus)), "sampler": sampler,
                "vocab_size": len(vocab), "num_centers": len(examples),
                "num_pairs": epochs[0]["pairs"] if epochs else None, "prep_seconds": prep_seconds,
                "train_seconds": sum(e["seconds"] for e in epochs), "epochs": epochs,
                "resumed_at": resumed_at}

    def save_progress():
        # The checkpoint goes last: once it exists, metrics.json and loss.png cover its epochs.
        current = metrics()
        if epochs:
            _write_metrics(current, out_dir)
            plot_loss(epochs, out_dir / "loss.png")
        meta = dict(current, epoch=len(epochs), corpus_path=os.fspath(corpus_path),
                    corpus_fingerprint=fingerprint,
                    rng={name: rng.bit_generator.state for name, rng in streams.items()})
        save_checkpoint(out_dir / CHECKPOINT, meta=meta, tokens=vocab.idx_to_token, counts=vocab.counts,
                        params=model.params, optimizer=optimizer)

    if out_dir is not None and checkpoint is None:
        save_progress()
    for epoch in range(len(epochs) + 1, config.epochs + 1):
        epoch_start = time.perf_counter()
        bar = Progress(examples.num_batches(config.batch_size), f"epoch {epoch}/{config.epochs}",
                       enabled=not quiet and sys.stderr.isatty())
        loss, pairs = run_epoch(model, optimizer, examples, config.batch_size, shuffle_rng, bar)
        seconds = time.perf_counter() - epoch_start
        epochs.append({"epoch": epoch, "loss": loss, "pairs": pairs, "seconds": seconds,
                       "centers_per_second": len(examples) / seconds})
        say(f"epoch {epoch}/{config.epochs}: loss {loss:.4f}, {seconds:.2f} s, "
            f"{len(examples) / seconds:,.0f} centers/s")
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
    """Load a checkpoint's tables, Adam state and random streams into a freshly prepared run."""
    if checkpoint.tokens != vocab.idx_to_token or not np.array_equal(checkpoint.counts, vocab.counts):
        raise W2VError(f"the corpus {checkpoint.meta['corpus_path']} has changed since the checkpoint "
                       f"(its vocabulary differs); cannot resume")
    xp = get_array_module(model.center)
    for name, param in model.params.items():
        if checkpoint.params[name].shape != param.shape or checkpoint.params[name].dtype != param.dtype:
            raise W2VError(f"the checkpoint's {name} table is {checkpoint.params[name].dtype} "
                           f"{checkpoint.params[name].shape}, the run needs {param.dtype} {param.shape}")
        param[...] = to_device(checkpoint.params[name], xp)
    adam = checkpoint.meta["adam"]
    optimizer.load_state_dict(dict(adam, m={k: to_device(a, xp) for k, a in checkpoint.adam_m.items()},
                                   v={k: to_device(a, xp) for k, a in checkpoint.adam_v.items()}))
    try:
        for name, rng in streams.items():
            rng.bit_generator.state = checkpoint.meta["rng"][name]
    except (KeyError, TypeError, ValueError) as exc:
        raise W2VError(f"the checkpoint's random state is damaged ({type(exc).__name__}: {exc})") from None


def _write_metrics(metrics, out_dir):
    with atomic_write(Path(out_dir) / "metrics.json") as out:
        json.dump(metrics, out, indent=2)
        out.write("\n")
