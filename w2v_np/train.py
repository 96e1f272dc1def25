"""The training job: prepare the data, run the epochs, report honest figures, save results."""
import contextlib
import copy
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from .backend import get_array_module, get_backend, to_device
from .checkpoint import checkpoint_arrays, load_checkpoint, write_checkpoint
from .cluster import Cluster
from .corpus import file_fingerprint, read_corpus, resolve_corpus
from .dask_corpus import ClusterIds, ClusterText
from .errors import W2VError
from .footprint import check_fits
from .io import atomic_write, remove_stale_temporaries, write_word2vec
from .model import SkipGram
from .optim import make_optimizer
from .plan import TrainConfig, make_plan
from .plot import plot_loss
from .progress import Progress, shows_bar
from .query import Embeddings
from .run_lock import LOCK_FILE, run_folder_lock
from .sentences import is_sentences, tokenize_sentences
from .vocab import Vocab
from .write_behind import WriteBehind

# Records go to the application's handlers; a library adds none (Python's logging HOWTO).
# Unconfigured, INFO is dropped and warnings reach stderr through logging's last resort.
logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a run produced: the vocabulary, the model, the optimizer and the metrics."""
    vocab: Vocab
    model: SkipGram
    optimizer: Any
    metrics: dict = field(default_factory=dict)

    def embeddings(self) -> Embeddings:
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


def _random_streams(seed):
    """Independent generators for data preparation, shuffling and initialisation."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]


DEFAULT_PROBE = "chip"
ENCODE_SLICE = 1 << 22


CHECKPOINT = "checkpoint.npz"
VECTORS = {False: "vectors.txt", True: "vectors.bin"}
"""The run's vectors file, by ``binary``: word2vec text or binary format."""
RUN_FILES = (CHECKPOINT, "metrics.json", *VECTORS.values(), "loss.png")
PLOT_INTERVAL = 10.0
"""Seconds between two drawings of ``loss.png`` during a run (it is always drawn at the end)."""


EpochCallback = Callable[[dict], Any]
"""What ``callbacks`` holds: a function of one epoch's metrics (a dict, as ``metrics.json`` lists it)."""


def train(config: TrainConfig, out_dir: Union[str, os.PathLike, None] = None,
          probes: Optional[Sequence[str]] = None, quiet: bool = False,
          callbacks: Optional[Iterable[EpochCallback]] = (), binary: bool = False,
          progress: Optional[Callable[..., Progress]] = None) -> TrainResult:
    """Run a whole training job and return a :class:`TrainResult`.

    ``config`` is a :class:`~w2v_np.plan.TrainConfig`; it is resolved into a
    :class:`~w2v_np.plan.Plan` (and refused, in one line, if impossible) before any work.
    ``probes`` are words whose nearest tokens are logged at the end; they are checked
    as soon as the vocabulary exists, before any training time is spent.  ``None``
    means ``chip`` (the seed's probe) when the vocabulary has it, else none.

    The run logs through the ``w2v_np.train`` logger, at INFO: the vocabulary, each epoch's
    loss and time, where the outputs went (none of these with ``quiet``) and the probes'
    neighbours; nothing shows unless the application configures logging.  A progress bar
    is drawn on stderr when it is a terminal or a Jupyter cell's output, never with ``quiet``.

    ``callbacks``, a sequence of functions (gensim's ``on_epoch_end``), are called in order
    after every epoch, once its checkpoint and metrics are written, with a copy of that
    epoch's metrics: the dict that ``metrics.json`` lists under ``"epochs"``.  A callback
    may read it and anything else (record or plot the losses, stop early); an exception it
    raises ends the run there and propagates, the epoch's checkpoint and metrics already
    saved (with ``out_dir``), so :func:`resume` continues it.

    With ``out_dir`` the run writes ``checkpoint.npz`` when training starts and after
    every epoch, ``metrics.json`` after every epoch, ``loss.png`` after
    the last epoch and after any epoch that ends :data:`PLOT_INTERVAL` seconds or more
    after its last drawing (or the start of training), and ``vectors.txt`` at the end
    (``vectors.bin``, word2vec binary format, with ``binary``), each atomically.  An epoch's
    files are written in the background while the next epoch trains (from copies taken at
    its end, :mod:`w2v_np.write_behind`); the run waits for them before calling callbacks
    and before it returns or raises, and a write that fails (a full disk) stops the run at
    the next epoch's end, or at its end, with the files it wrote before.  A run
    that fails before its first checkpoint leaves no folder it created; a later failure
    leaves a checkpoint that :func:`resume` continues.  A folder holding a checkpoint is
    refused: continue that run with :func:`resume` instead of overwriting it.  The run holds
    the folder's lock (:mod:`w2v_np.run_lock`) while it writes there: a second run into the
    same folder is refused.  Without ``out_dir`` nothing is written.  A run on an in-memory
    corpus (``config.corpus`` an iterable of sentences) writes the same files, recording the
    corpus as its description and no fingerprint; it cannot be resumed.

    ``progress``, when given, replaces the progress bar, even with ``quiet``: at the start of
    every epoch, ``progress(trainer, epoch, latch)`` returns the epoch's bar, an object with
    :class:`Progress`'s ``wants``, ``update`` and ``close`` (whose ``wants`` calls
    ``latch.check()``, so that Ctrl-C stops the run).
    """
    plan = make_plan(config)
    callbacks = _check_callbacks(callbacks)
    if out_dir is None and binary:
        raise W2VError("binary sets the format of the run folder's vectors file: give out_dir too")
    if out_dir is None:
        return _run(config, plan, None, probes, quiet, callbacks, binary=binary, progress=progress)
    out_dir = Path(out_dir)
    if (out_dir / CHECKPOINT).exists():
        raise W2VError(f"{out_dir} already holds a training run; continue it with --resume {out_dir} "
                       f"or choose another output folder")
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise W2VError(f"cannot create output folder {out_dir}: {exc.strerror}") from None
    with run_folder_lock(out_dir):
        try:
            if (out_dir / CHECKPOINT).exists():     # another run got there between the check and the lock
                raise W2VError(f"{out_dir} already holds a training run; continue it with --resume {out_dir}")
            return _run(config, plan, out_dir, probes, quiet, callbacks, binary=binary, progress=progress)
        except BaseException:
            # Only the lock's holder may tidy up: a run refused the lock would otherwise remove
            # the folder of the run that holds it, while that run still writes there.
            if created and {p.name for p in out_dir.iterdir()} <= {LOCK_FILE}:
                (out_dir / LOCK_FILE).unlink(missing_ok=True)
                with contextlib.suppress(OSError):      # a third run may have opened a new lock file
                    out_dir.rmdir()
            raise


def resume(out_dir: Union[str, os.PathLike], *, epochs: Optional[int] = None, backend: Optional[str] = None,
           threads: Optional[int] = None, workers: Optional[int] = None, scheduler: Optional[str] = None,
           probes: Optional[Sequence[str]] = None, quiet: bool = False,
           callbacks: Optional[Iterable[EpochCallback]] = (), binary: Optional[bool] = None) -> TrainResult:
    """Continue the run saved in ``out_dir`` from its last checkpoint; returns a :class:`TrainResult`.

    The run's settings come from the checkpoint; ``epochs`` may raise the total number
    of epochs, ``backend`` may move the run to another array backend and ``threads``
    change the number of threads; ``workers`` or ``scheduler`` move a run of the dask
    engine to another cluster (a local one of ``workers`` processes, or the scheduler at
    that address: the tables are the same bits when the cluster has as many workers as
    the run had shares); ``binary`` ``None`` writes the vectors in the run's format,
    ``True`` or ``False`` in binary or text.  The corpus is read again and must be the same file,
    byte for byte (size and BLAKE2 hash); a run on an in-memory corpus is refused, its
    sentences being nowhere to read again.  The d2l method keeps the data pipeline that ran
    (``sampler``).  With ``resample="once"`` (and the same backend) the resumed run ends
    with exactly the vectors of an uninterrupted one: the examples are rebuilt from the
    seed and the tables, the optimizer's state and the random streams are restored bit
    for bit.  ``probes``, ``quiet`` and ``callbacks`` are those of :func:`train`; callbacks
    see the epochs trained from here on.
    """
    callbacks = _check_callbacks(callbacks)
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise W2VError(f"no checkpoint in {out_dir}: "
                       f"{'it is not a folder' if out_dir.exists() else 'there is no such folder'}")
    if not (out_dir / CHECKPOINT).exists():
        raise W2VError(f"no checkpoint in {out_dir}: the run stopped before it wrote one "
                       f"(start it again with --out {out_dir})")
    with run_folder_lock(out_dir):
        return _resume_locked(out_dir, epochs, backend, threads, (workers, scheduler), probes, quiet, callbacks,
                              binary)


def _resume_locked(out_dir, epochs, backend, threads, cluster, probes, quiet, callbacks, binary):
    checkpoint = load_checkpoint(out_dir / CHECKPOINT)
    meta = checkpoint.meta
    if meta["corpus_fingerprint"] is None:
        raise W2VError(f"cannot resume {out_dir}: it trained on an in-memory corpus ({meta['corpus_path']}), "
                       f"which the checkpoint does not hold; start the run again")
    try:
        config = TrainConfig(**dict(meta["config"], corpus=meta["corpus_path"]))
        if config.method == "d2l":
            config.sampler = meta["plan"]["sampler"]
    except (KeyError, TypeError) as exc:
        raise W2VError(f"{out_dir / CHECKPOINT} holds an unusable configuration ({exc})") from None
    for name, value in (("epochs", epochs), ("backend", backend), ("threads", threads)):
        if value is not None:
            setattr(config, name, value)
    if cluster != (None, None):
        if meta["plan"]["engine"] != "dask":
            raise W2VError(f"the run in {out_dir} trained in one process (--engine {meta['plan']['engine']}); "
                           f"--workers and --scheduler move a run of the dask engine")
        config.workers, config.scheduler = cluster
    plan = make_plan(config)
    if plan.epochs < checkpoint.epoch:
        raise W2VError(f"the checkpoint in {out_dir} has finished {checkpoint.epoch} epochs; "
                       f"--epochs {plan.epochs} cannot undo them")
    if binary is None:
        binary = meta.get("vectors") == VECTORS[True]
    return _run(config, plan, out_dir, probes, quiet, callbacks, checkpoint, binary=binary)


def prepare(plan, rng, probes=None, sentences=None):
    """Read the corpus, build the vocabulary (or read ``plan.vocab_file``), check the probe words,
    prepare the trainer's data.

    The corpus is the file ``plan.corpus`` names, or ``sentences``, the run's in-memory
    corpus (``TrainConfig.corpus`` when it is an iterable of sentences: a plan records only
    its description), read once by :func:`~w2v_np.sentences.tokenize_sentences`.

    ``plan.sampler`` chooses the implementation of the data pipeline (tokenising included):
    the Numba kernels or the NumPy reference.  The dask engine's cluster starts here, and its
    workers read a corpus file (:class:`~w2v_np.dask_corpus.ClusterText`); the trainer takes
    the cluster over, and closes it.

    A run whose arrays would not fit in the machine's memory is refused before any
    sampling (:func:`~w2v_np.footprint.check_fits`).

    Returns ``(vocab, data, probes)``: ``data`` is what the plan's trainer prepared
    (examples for the d2l method, a streamed corpus for word2vec); ``probes=None`` becomes
    ``[chip]`` when the vocabulary has it, else ``[]``.
    """
    # The dask engine's cluster is started here: its workers read the corpus (w2v_np.dask_corpus).
    cluster = Cluster(plan.workers, plan.scheduler) if plan.engine == "dask" else None
    try:
        return _prepare(plan, rng, probes, sentences, cluster)
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise


def _prepare(plan, rng, probes, sentences, cluster):
    if sentences is not None:
        corpus = tokenize_sentences(sentences)
    elif cluster is not None:
        corpus = ClusterText(cluster, resolve_corpus(plan.corpus))
    else:
        kernels = plan.sampler == "numba"
        corpus = read_corpus(resolve_corpus(plan.corpus), use_kernels=kernels, threads=plan.threads if kernels else 1)
    if plan.vocab_file is None:
        vocab = Vocab.from_counts(corpus.types, corpus.counts, plan.min_count)
    else:
        vocab = Vocab.read(plan.vocab_file, corpus.types, corpus.counts, plan.min_count)
    if probes is None:
        probes = [DEFAULT_PROBE] if DEFAULT_PROBE in vocab else []
    for word in probes:
        if word not in vocab:
            raise W2VError(f"probe word {word!r} is not in the vocabulary "
                           f"({len(vocab)} tokens with count >= {plan.min_count})")
    check_fits(plan, len(vocab), int(corpus.offsets[-1]), int(np.diff(corpus.offsets).max(initial=0)))
    if isinstance(corpus, ClusterText):
        ids = corpus.encode(vocab)
    else:
        ids, to_vocab = corpus.type_ids, vocab.ids_of(corpus.types)
        # In place, a slice at a time: the whole corpus's ids are never held twice.
        for start in range(0, ids.shape[0], ENCODE_SLICE):
            ids[start:start + ENCODE_SLICE] = to_vocab[ids[start:start + ENCODE_SLICE]]
        if cluster is not None:
            ids = ClusterIds.scatter(cluster, ids, corpus.offsets)
    return vocab, plan.trainer.prepare(plan, ids, corpus.offsets, vocab.counts, rng), list(probes)


def _use_threads(plan):
    """Let Numba's kernels use the plan's threads (Numba's setting is global to the process)."""
    if plan.uses_numba:
        import numba
        numba.set_num_threads(plan.threads)


def _check_callbacks(callbacks):
    """``callbacks`` (a sequence of callables, or None for none) as a tuple; W2VError otherwise."""
    if callbacks is None:
        return ()
    if callable(callbacks) or isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise W2VError(f"callbacks must be a sequence of functions, got {type(callbacks).__name__} "
                       f"(one function goes in a list: callbacks=[function])")
    callbacks = tuple(callbacks)
    for position, callback in enumerate(callbacks):
        if not callable(callback):
            raise W2VError(f"callbacks[{position}] is not callable: {type(callback).__name__}")
    return callbacks


def _run(config, plan, out_dir, probes, quiet, callbacks, checkpoint=None, binary=False, progress=None):
    with SigintLatch() as latch:
        return _run_latched(config, plan, out_dir, probes, quiet, callbacks, checkpoint, latch, binary, progress)


def _run_latched(config, plan, out_dir, probes, quiet, callbacks, checkpoint, latch, binary, progress):
    def say(message):
        if not quiet:
            logger.info(message)

    sentences = config.corpus if is_sentences(config.corpus) else None
    if out_dir is not None and sentences is not None:
        remove_stale_temporaries(out_dir, RUN_FILES)
        corpus_path, fingerprint = plan.corpus, None     # no file to hash, none to read again on resume
    elif out_dir is not None:
        remove_stale_temporaries(out_dir, RUN_FILES)
        # Hashed before the corpus is prepared, so a changed corpus is refused at once.
        corpus_path = resolve_corpus(plan.corpus).resolve()
        fingerprint = file_fingerprint(corpus_path)
        if checkpoint is not None and fingerprint != checkpoint.meta["corpus_fingerprint"]:
            raise W2VError(f"the corpus {corpus_path} has changed since the checkpoint (its size or "
                           f"content differs); cannot resume")
    _use_threads(plan)
    data_rng, shuffle_rng, init_rng = _random_streams(plan.seed)
    prep_start = time.perf_counter()
    vocab, data, probes = prepare(plan, data_rng, probes, sentences)
    prep_seconds = time.perf_counter() - prep_start
    say(f"vocabulary {len(vocab)}, {plan.trainer.describe(data, plan)}, prepared in {prep_seconds:.2f} s")

    model = SkipGram(len(vocab), plan.dim, rng=init_rng, xp=get_backend(plan.backend), dtype=np.dtype(plan.dtype),
                     init=plan.init)
    # len(data), the work of an epoch, is what SGD's schedule counts: examples for the d2l
    # method, corpus tokens for word2vec (as word2vec.c decays its rate).
    optimizer = make_optimizer(plan.optimizer, model.params, plan.lr, plan.epochs * len(data))
    streams = {"data": data_rng, "shuffle": shuffle_rng}
    epochs, resumed_at = [], []
    if checkpoint is not None:
        _restore(checkpoint, vocab, model, optimizer, streams)
        epochs, resumed_at = checkpoint.meta["epochs"], checkpoint.meta["resumed_at"] + [checkpoint.epoch]
        say(f"resumed after epoch {checkpoint.epoch} of {plan.epochs}")

    def metrics():
        # With resample "epoch" every epoch draws its own pairs: num_pairs is the first epoch's.
        return {"plan": plan.to_dict(), "config": asdict(replace(config, corpus=plan.corpus)),
                "vocab_size": len(vocab),
                "num_centers": epochs[0]["centers"] if epochs else trainer.num_centers,
                "num_pairs": epochs[0]["pairs"] if epochs else None, "prep_seconds": prep_seconds,
                "train_seconds": sum(e["seconds"] for e in epochs), "epochs": epochs,
                "resumed_at": resumed_at}

    last_plot = time.perf_counter()

    def save_progress(writes):
        nonlocal last_plot
        # The checkpoint goes first: metrics.json never claims an epoch the checkpoint does
        # not hold, even when a write fails (a full disk); a resumed run rewrites it from the
        # checkpoint.  The files are written while the next epoch trains, from copies taken
        # here.  Drawing loss.png costs a noticeable share of a fast epoch: it is drawn at
        # most every PLOT_INTERVAL seconds, counted from the start of training, and after the
        # last epoch, so a short run draws it once.
        current = copy.deepcopy(metrics())
        meta = dict(current, epoch=len(epochs), corpus_path=os.fspath(corpus_path), vectors=VECTORS[binary],
                    corpus_fingerprint=fingerprint,
                    rng={name: rng.bit_generator.state for name, rng in streams.items()})
        arrays = checkpoint_arrays(meta=meta, tokens=vocab.idx_to_token, counts=vocab.counts, params=model.params,
                                   optimizer=optimizer)
        draw = bool(epochs) and (len(epochs) == plan.epochs or time.perf_counter() - last_plot >= PLOT_INTERVAL)
        if draw:
            last_plot = time.perf_counter()

        def write():
            write_checkpoint(out_dir / CHECKPOINT, arrays)
            if current["epochs"]:
                _write_metrics(current, out_dir)
            if draw:
                plot_loss(current["epochs"], out_dir / "loss.png")

        writes.submit(write)
        if callbacks:           # they are promised the epoch's files
            writes.wait()

    # The trainer may hold a cluster: closed however the run ends.
    with WriteBehind() as writes, contextlib.closing(plan.trainer(plan, model, optimizer, data)) as trainer:
        if out_dir is not None and checkpoint is None:
            save_progress(writes)
        elif out_dir is not None and epochs:
            _write_metrics(metrics(), out_dir)
        for epoch in range(len(epochs) + 1, plan.epochs + 1):
            epoch_start = time.perf_counter()
            if progress is None:
                bar = Progress(trainer.num_batches, f"epoch {epoch}/{plan.epochs}", sys.stderr,
                               enabled=not quiet and shows_bar(sys.stderr), latch=latch)
            else:
                bar = progress(trainer, epoch, latch)
            done = trainer.run_epoch(streams, bar)
            seconds = time.perf_counter() - epoch_start
            epochs.append(dict(epoch=epoch, **done, seconds=seconds, centers_per_second=done["centers"] / seconds))
            say(f"epoch {epoch}/{plan.epochs}: loss {done['loss']:.4f}, {seconds:.2f} s, "
                f"{done['centers'] / seconds:,.0f} centers/s")
            if out_dir is not None:
                save_progress(writes)
            for callback in callbacks:
                callback(dict(epochs[-1]))

    result = TrainResult(vocab, model, optimizer, metrics())
    if out_dir is not None:
        write_word2vec(out_dir / VECTORS[binary], vocab.idx_to_token, model.center, binary=binary)
        say(f"wrote {out_dir}/metrics.json, {VECTORS[binary]} and {CHECKPOINT}")
    embeddings = result.embeddings()
    for word in probes:
        neighbours = ", ".join(f"{token} ({cosine:.3f})"
                               for token, cosine in embeddings.most_similar(word, topn=3))
        logger.info(f"nearest to {word!r}: {neighbours}")
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
