"""The d2l method: the chapter's shuffled padded mini-batches, one optimizer step each.

The objective is the chapter's: each example's mean masked BCE over its context and noise
words, summed over the batch (``l.sum()``), for every optimizer.  Three implementations
compute it, one trainer class each (the rows ``("d2l", ...)`` of
:data:`w2v_np.plan.TRAINERS`):

===========  ==================================================================================
``numpy``    :class:`ReferenceTrainer`: padded batches through ``SkipGram.loss_and_grads`` and
             the optimizer's reference ``step`` (NumPy or CuPy arrays)
``numba``    :class:`NumbaTrainer`: the same batches read straight from the CSR examples by the
             fused kernel of ``w2v_np.kernels.minibatch``, then the optimizer's ``numba_step``;
             float32 sums in another order than NumPy's, the same whatever the threads
``cuda``     :class:`~w2v_np.gpu_step.CudaTrainer`: the numba.cuda kernels on CuPy arrays
===========  ==================================================================================

A trainer is built from the :class:`~w2v_np.plan.Plan`, the model, the optimizer and the
data :meth:`MiniBatchTrainer.prepare` made; :meth:`~MiniBatchTrainer.run_epoch` returns the
epoch's mean per-example loss, its number of (center, context word) pairs and of centers.
"""
import queue
import threading

import numpy as np

from .backend import get_array_module, to_device, to_host
from .sampling import build_examples


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
    """The epoch loop of the d2l method; a subclass supplies the batches and the step.

    Subclasses define ``batches(rng)`` (an iterable of whatever ``step`` takes) and
    ``step(batch)`` returning ``(sum of the batch's losses, pairs)``; the loss
    may stay on the device until the progress bar or the epoch's end reads it.
    """

    prefetched = True
    """Whether batches are packed in a background thread while the step runs."""

    def __init__(self, plan, model, optimizer, examples):
        self.model, self.optimizer, self.examples = model, optimizer, examples
        # No batch holds more examples than there are: buffers are sized by this.
        self.batch_size = min(plan.batch_size, max(len(examples), 1))

    @staticmethod
    def prepare(plan, ids, offsets, counts, rng):
        """The examples of the run: a :class:`~w2v_np.sampling.SkipGramExamples` (or
        ``ResampledExamples`` with ``resample="epoch"``) drawn from ``rng``."""
        return build_examples(ids, offsets, counts, max_window=plan.window, num_noise_words=plan.negative,
                              sample=plan.sample, rng=rng, sampler=plan.sampler, resample=plan.resample,
                              subsampling=plan.subsampling)

    @staticmethod
    def describe(examples, plan):
        """What was prepared, for the run's log line."""
        drawn = ("windows and noise words drawn anew each epoch" if plan.resample == "epoch"
                 else f"{examples.num_pairs} pairs")
        return f"{len(examples)} centers, {drawn} ({plan.sampler} sampler)"

    @property
    def num_batches(self):
        return self.examples.num_batches(self.batch_size)

    @property
    def num_centers(self):
        """Centers per epoch."""
        return len(self.examples)

    def run_epoch(self, streams, bar):
        """One pass over the examples in a fresh order from ``streams["shuffle"]``;
        returns ``{"loss", "pairs", "centers"}``.

        The loss stays on the model's backend and is read back only when ``bar`` shows
        it (about 50 times an epoch) and once at the end.
        """
        xp = get_array_module(self.model.center)
        loss_sum = xp.zeros((), dtype=np.float64)
        pairs = 0
        batches = self.batches(streams["shuffle"])
        for number, batch in enumerate(prefetch(batches) if self.prefetched else batches, 1):
            batch_loss, batch_pairs = self.step(batch)
            loss_sum += batch_loss
            pairs += batch_pairs
            if bar.wants(number):
                bar.update(number, float(loss_sum) / min(len(self.examples), number * self.batch_size))
        bar.close()
        return {"loss": float(to_host(loss_sum)) / len(self.examples), "pairs": pairs,
                "centers": len(self.examples)}


class ReferenceTrainer(MiniBatchTrainer):
    """The ``numpy`` implementation: padded batches, ``SkipGram.loss_and_grads``, ``optimizer.step``."""

    def batches(self, rng):
        return self.examples.batches(self.batch_size, rng, self.model.center.dtype)

    def step(self, batch):
        xp = get_array_module(self.model.center)
        losses, grads = self.model.loss_and_grads(
            to_device(batch.center, xp), to_device(batch.context_negative, xp),
            to_device(batch.mask, xp), to_device(batch.label, xp))
        size = batch.center.shape[0]
        self.optimizer.step(grads, work=size)
        return losses.sum(dtype=np.float64), int(np.count_nonzero(batch.label))


class NumbaTrainer(MiniBatchTrainer):
    """The ``numba`` implementation: fused loss and gradients, then the optimizer's ``numba_step``.

    Holds a :class:`~w2v_np.kernels.minibatch.BatchWorkspace`, so the hot loop allocates
    nothing but each batch's index array.
    """

    def __init__(self, plan, model, optimizer, examples):
        super().__init__(plan, model, optimizer, examples)
        from .kernels.minibatch import BatchWorkspace
        num_rows, dim = model.center.shape
        self.workspace = BatchWorkspace(num_rows, dim, self.batch_size, max(examples.max_row_length(), 1),
                                        model.center.dtype)

    def batches(self, rng):
        return self.examples.index_batches(self.batch_size, rng)

    def step(self, batch):
        """Train on ``examples[indices]``; returns ``(sum of the losses, pairs)``."""
        examples, indices = batch
        work, model = self.workspace, self.model
        size = indices.shape[0]
        losses = work.loss_and_grads(model.center, model.context, examples, indices)
        center_rows, center_grads, context_rows, context_grads = work.touched()
        self.optimizer.numba_step({"center": (work.slot[0], center_rows, center_grads),
                                   "context": (work.slot[1], context_rows, context_grads)}, work=size)
        work.release()
        pairs = int((examples.context_offsets[indices + 1] - examples.context_offsets[indices]).sum())
        return float(losses.sum()), pairs
