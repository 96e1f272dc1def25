"""How a run trains: the engine (NumPy reference or Numba kernels), the optimizer, the threads.

===========  ===========  ================================================================
engine       optimizer    what runs
===========  ===========  ================================================================
numpy        any          the reference: ``SkipGram.loss_and_grads`` on padded batches, then
                          the optimizer of :mod:`w2v_np.optim` (NumPy or CuPy arrays)
numba        adam,        mini-batches read straight from the CSR examples by fused kernels
             lazy-adam    (:mod:`w2v_np.kernels.training`): the same batches, the same
                          mathematics as ``numpy``, float32 sums in another order; the
                          result does not depend on the number of threads
numba        sgd          word2vec.c's loop (:func:`~w2v_np.kernels.training.sgd_hogwild`):
                          per-pair updates while streaming the token ids, threads without
                          locks (with ``noise_per="window"``, per-window updates with shared
                          noise words); with ``deterministic``, mini-batch SGD by the fused
                          kernels
numba on     any          ``engine`` resolves to ``cuda``: mini-batches by the numba.cuda kernels
the GPU                   (:mod:`w2v_np.kernels.gpu`, :class:`~w2v_np.gpu_step.CudaFusedStep`):
                          the same batches and mathematics as ``numpy``, float32 only;
                          atomics, or with ``deterministic`` a sorted reduction
===========  ===========  ================================================================

A trainer has ``run_epoch(streams, bar)`` returning the epoch's mean per-example loss, its
number of (center, context word) pairs and of centers, and ``num_batches`` for the bar.
"""
import queue
import threading

import numpy as np

from .backend import get_array_module, to_device, to_host
from .errors import W2VError
from .kernels import cuda_available, numba_available
from .optim import OPTIMIZERS, SGD, LazyAdam
from .sampling import _kernel_seed, keep_probabilities, noise_weights, NoiseSampler

ENGINES = ("auto", "numpy", "numba")
"""What users choose; :func:`resolve_engine` answers ``numpy``, ``numba`` (CPU) or ``cuda`` (GPU)."""
DEFAULT_LR = {"adam": 0.002, "lazy-adam": 0.002, "sgd": 0.025}
NOISE_PER = ("pair", "window")
"""How often the streaming SGD draws noise words: per (center, context word) pair as
word2vec.c, or once per window, shared by its context words (HogBatch)."""


def resolve_engine(engine, xp):
    """``"numpy"``, ``"numba"`` (CPU kernels) or ``"cuda"`` (GPU kernels) for ``engine`` in
    :data:`ENGINES` and the backend's array module ``xp``."""
    if engine not in ENGINES:
        raise W2VError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "numba" and not numba_available():
        raise W2VError("engine 'numba' needs Numba, which is not installed: "
                       "pip install 'w2v-np[fast]' (or use --engine numpy)")
    if xp is np:
        return ("numba" if numba_available() else "numpy") if engine == "auto" else engine
    if engine == "auto":
        return "cuda" if cuda_available() else "numpy"
    if engine == "numba" and not cuda_available():
        raise W2VError("engine 'numba' on the GPU needs numba.cuda to see the GPU (the CUDA toolkit "
                       "libraries numba uses are missing); use --engine numpy with --backend cupy")
    return "cuda" if engine == "numba" else engine


def set_threads(threads):
    """Let Numba's kernels use ``threads`` threads (``None``: all it was started with)."""
    if threads is None or not numba_available():
        if threads not in (None, 1):
            raise W2VError("--threads needs Numba, which is not installed: pip install 'w2v-np[fast]'")
        return
    import numba
    if not 1 <= threads <= numba.config.NUMBA_NUM_THREADS:
        raise W2VError(f"threads must lie in 1..{numba.config.NUMBA_NUM_THREADS} "
                       f"(the threads Numba can use here), got {threads}")
    numba.set_num_threads(threads)


def make_optimizer(name, params, lr, total_work):
    """The optimizer ``name`` (a key of :data:`OPTIMIZERS`) over ``params``.

    ``total_work`` is the whole run's work in the unit the trainer counts (examples, or
    tokens for the streaming SGD): it sets SGD's linear decay.
    """
    if name == "sgd":
        return SGD(params, lr=lr, total_work=total_work)
    return OPTIMIZERS[name](params, lr=lr)


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


class MiniBatchTrainer:
    """Shuffled mini-batches of prepared examples, one optimizer step each.

    ``engine`` ``"numpy"`` packs padded batches and runs the reference model and optimizer;
    ``"numba"`` runs :class:`FusedStep` on the CPU, ``"cuda"`` the GPU kernels'
    :class:`~w2v_np.gpu_step.CudaFusedStep` (with ``deterministic``: no atomics).  With SGD
    the gradient is that of the sum of every pair's BCE (word2vec.c's objective); otherwise
    of the sum of the examples' losses (the seed's).
    """

    def __init__(self, model, optimizer, examples, batch_size, engine, deterministic=False):
        self.model, self.optimizer, self.examples = model, optimizer, examples
        self.batch_size = batch_size
        self.per_pair = isinstance(optimizer, SGD)
        self.fused = None
        self.on_gpu = engine == "cuda"
        if engine == "numba":
            self.fused = FusedStep(model, optimizer, batch_size, examples.max_row_length(), self.per_pair)
        elif self.on_gpu:
            from .gpu_step import CudaFusedStep
            self.fused = CudaFusedStep(model, optimizer, batch_size, examples.max_row_length(), self.per_pair,
                                       deterministic)

    @property
    def num_batches(self):
        return self.examples.num_batches(self.batch_size)

    @property
    def num_centers(self):
        """Centers per epoch."""
        return len(self.examples)

    def batches(self, rng):
        if self.on_gpu:
            return self.fused.batches(self.examples, self.batch_size, rng)
        if self.fused is not None:
            return self.examples.index_batches(self.batch_size, rng)
        return self.examples.batches(self.batch_size, rng, self.model.center.dtype)

    def run_epoch(self, streams, bar):
        """One pass over the examples; returns ``{"loss", "pairs", "centers"}``.

        The loss stays on the model's backend and is read back only when ``bar`` shows
        it (about 50 times an epoch) and once at the end.
        """
        xp = get_array_module(self.model.center)
        loss_sum = xp.zeros((), dtype=np.float64)
        pairs = 0
        # The GPU's batches are slices of an order already on the device: nothing to prefetch.
        batches = self.batches(streams["shuffle"])
        for step, batch in enumerate(batches if self.on_gpu else prefetch(batches), 1):
            if self.fused is not None:
                batch_loss, batch_pairs, size = self.fused(*batch)
            else:
                batch_loss, batch_pairs, size = self._reference_step(batch, xp)
            loss_sum += batch_loss
            pairs += batch_pairs
            if bar.wants(step):
                bar.update(step, float(loss_sum) / min(len(self.examples), step * self.batch_size))
        bar.close()
        return {"loss": float(to_host(loss_sum)) / len(self.examples), "pairs": pairs,
                "centers": len(self.examples)}

    def _reference_step(self, batch, xp):
        losses, grads = self.model.loss_and_grads(
            to_device(batch.center, xp), to_device(batch.context_negative, xp),
            to_device(batch.mask, xp), to_device(batch.label, xp), per_pair=self.per_pair)
        size = batch.center.shape[0]
        self.optimizer.step(grads, work=size)
        return losses.sum(dtype=np.float64), int(np.count_nonzero(batch.label)), size


class FusedStep:
    """One training step by the Numba kernels: fused loss and gradients, then a fused update.

    Holds a :class:`~w2v_np.kernels.training.BatchWorkspace`, so the hot loop allocates
    nothing but each batch's index array.
    """

    def __init__(self, model, optimizer, batch_size, max_row, per_pair):
        from .kernels import training
        self.kernels = training
        self.model, self.optimizer, self.per_pair = model, optimizer, per_pair
        num_rows, dim = model.center.shape
        self.workspace = training.BatchWorkspace(num_rows, dim, batch_size, max(max_row, 1),
                                                 model.center.dtype)

    def __call__(self, examples, indices):
        """Train on ``examples[indices]``; returns ``(sum of the losses, pairs, examples)``."""
        work, model = self.workspace, self.model
        size = indices.shape[0]
        losses = work.loss_and_grads(model.center, model.context, examples, indices, self.per_pair)
        self._update()
        work.release()
        pairs = int((examples.context_offsets[indices + 1] - examples.context_offsets[indices]).sum())
        if isinstance(self.optimizer, SGD):
            self.optimizer.done += size
        return float(losses.sum()), pairs, size

    def _update(self):
        """The optimizer's step on the touched rows (every row for dense Adam)."""
        opt, work, kernels = self.optimizer, self.workspace, self.kernels
        dtype = self.model.center.dtype.type
        center_rows, center_grads, context_rows, context_grads = work.touched()
        touched = {"center": (work.slot[0], center_rows, center_grads),
                   "context": (work.slot[1], context_rows, context_grads)}
        if isinstance(opt, SGD):
            rate = dtype(opt.rate())
            for name, (_, rows, grads) in touched.items():
                kernels.sgd_rows(opt.params[name], rows, grads, rate)
            return
        beta1, beta2, eps_hat, scale = opt.scalars()
        constants = [dtype(c) for c in (beta1, beta2, 1 - beta1, 1 - beta2, eps_hat, scale)]
        opt.step_count += 1
        for name, (slot, rows, grads) in touched.items():
            if isinstance(opt, LazyAdam):
                kernels.adam_rows(opt.params[name], opt.m[name], opt.v[name], rows, grads, *constants)
            else:
                kernels.adam_dense(opt.params[name], opt.m[name], opt.v[name], slot, grads, *constants)


# Pieces of at most MAX_PIECE tokens, as gensim cuts long sentences (word2vec.c cuts at 1000).
MAX_PIECE = 10_000
# Tokens per chunk: the unit of work of a thread, seeded on its own.
CHUNK_TOKENS = 1 << 14


class StreamedCorpus:
    """The corpus as the streaming SGD reads it: token ids cut into pieces and chunks.

    Attributes:
        ids: int32 ``(T,)`` (``<unk>`` = 0 included: its keep probability is 0);
        piece_offsets: int64 ``(P+1,)``: sentences, those longer than :data:`MAX_PIECE` cut;
        chunk_pieces: int64 ``(C+1,)``: consecutive pieces of about :data:`CHUNK_TOKENS` tokens;
        keep_probability: float64 ``(V,)`` (subsampling; ``<unk>`` 0);
        noise: the :class:`~w2v_np.sampling.NoiseSampler` of ``count**0.75``.
    Memory beyond the ids: a few bytes per sentence.
    """

    def __init__(self, ids, offsets, counts, *, max_window, num_noise_words, sample, subsampling="seed"):
        if not _some_sentence_has_two_known(ids, offsets):
            raise W2VError("no training examples: no sentence has two known tokens")
        self.ids = ids
        self.piece_offsets = _pieces(offsets, MAX_PIECE)
        starts = np.searchsorted(self.piece_offsets[:-1], np.arange(0, ids.shape[0], CHUNK_TOKENS))
        self.chunk_pieces = np.unique(np.append(starts, self.piece_offsets.shape[0] - 1)).astype(np.int64)
        self.keep_probability = keep_probabilities(counts, sample, subsampling)
        self.noise = NoiseSampler(noise_weights(counts))
        self.max_window, self.num_noise_words = max_window, num_noise_words

    def __len__(self):
        """Tokens per epoch (the work unit of the learning-rate schedule)."""
        return self.ids.shape[0]

    @property
    def num_chunks(self):
        return self.chunk_pieces.shape[0] - 1


def _some_sentence_has_two_known(ids, offsets, sentences_per_slice=1 << 16):
    """Whether a sentence holds two ids other than ``<unk>`` (0).

    Looked at a slice of sentences at a time, so the temporaries are a slice's, not the
    corpus's (which may be 100M tokens); on real text the first slice answers.
    """
    num_sentences = offsets.shape[0] - 1
    for first in range(0, num_sentences, sentences_per_slice):
        bounds = offsets[first:min(first + sentences_per_slice, num_sentences) + 1]
        known_before = np.concatenate([[0], np.cumsum(ids[bounds[0]:bounds[-1]] != 0)])
        if np.any(np.diff(known_before[bounds - bounds[0]]) >= 2):
            return True
    return False


def _pieces(offsets, max_piece):
    """Offsets of the non-empty sentences, each cut every ``max_piece`` tokens: int64 ``(P+1,)``."""
    lengths = np.diff(offsets)
    cuts = -(-lengths // max_piece)                        # pieces per sentence, 0 if empty
    sentence = np.repeat(np.arange(lengths.shape[0]), cuts)
    first = np.cumsum(cuts) - cuts
    starts = offsets[:-1][sentence] + (np.arange(sentence.shape[0]) - first[sentence]) * max_piece
    return np.append(starts, offsets[-1]).astype(np.int64)


class HogwildTrainer:
    """word2vec.c's training: per-pair SGD while streaming the corpus, threads without locks.

    How it differs from the seed (and from the mini-batch engines): windows, subsampling
    and noise words are drawn anew every epoch on the fly; a noise word equal to the
    context word is skipped rather than redrawn, and other context words of the center
    may be drawn as noise; each pair updates the tables at once with SGD (learning rate
    decaying linearly over the run's tokens) instead of one Adam step per batch of 512
    centers; sentences longer than :data:`MAX_PIECE` tokens are cut.  With ``noise_per``
    ``"window"`` (:data:`NOISE_PER`) a window's context words share one draw of noise words
    and each predicts the center (HogBatch): a step reads about a third of the rows.  With
    several threads, concurrent updates of a row race (Hogwild) and results vary from run
    to run; with one thread they depend on the seed only.
    """

    def __init__(self, model, optimizer, corpus, noise_per="pair"):
        import numba

        from .kernels import training
        self.kernels = training
        self.model, self.optimizer, self.corpus = model, optimizer, corpus
        self.shared_noise = noise_per == "window"
        # Kernel calls of several chunks per thread, about 50 an epoch (the progress bar's steps).
        self.group = max(4 * numba.get_num_threads(), -(-corpus.num_chunks // 50))

    @property
    def num_batches(self):
        """Kernel calls per epoch (the progress bar's steps)."""
        return -(-self.corpus.num_chunks // self.group)

    num_centers = None
    """Centers per epoch: they vary, subsampling being drawn anew each epoch."""

    def run_epoch(self, streams, bar):
        """One pass over the corpus; returns ``{"loss", "pairs", "centers"}``."""
        corpus, opt, model = self.corpus, self.optimizer, self.model
        seed = _kernel_seed(streams["data"])
        loss_sums = np.zeros(corpus.num_chunks)
        centers = np.zeros(corpus.num_chunks, dtype=np.int64)
        pairs = np.zeros(corpus.num_chunks, dtype=np.int64)
        for step, first in enumerate(range(0, corpus.num_chunks, self.group), 1):
            last = min(first + self.group, corpus.num_chunks)
            self.kernels.sgd_hogwild(
                corpus.ids, corpus.piece_offsets, corpus.chunk_pieces, corpus.keep_probability,
                corpus.noise.keep, corpus.noise.alias, model.center, model.context, corpus.max_window,
                corpus.num_noise_words, self.shared_noise, opt.lr, opt.min_lr_fraction, opt.done, opt.total_work,
                seed, first, loss_sums[first:last], centers[first:last], pairs[first:last])
            if bar.wants(step):
                bar.update(step, loss_sums[:last].sum() / max(centers[:last].sum(), 1))
        bar.close()
        opt.done += len(corpus)
        return {"loss": float(loss_sums.sum() / max(centers.sum(), 1)), "pairs": int(pairs.sum()),
                "centers": int(centers.sum())}
