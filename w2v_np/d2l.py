"""The d2l method: the chapter's shuffled padded mini-batches, one optimizer step each.

The objective is the chapter's: each example's mean masked BCE over its context and noise
words, summed over the batch (``l.sum()``), for every optimizer.  Three implementations
compute it, one trainer class each (the rows ``("d2l", ...)`` of
:data:`w2v_np.plan.TRAINERS`):

===========  ==================================================================================
``numpy``    :class:`ReferenceTrainer`: padded batches through ``SkipGram.loss_and_grads`` and
             the optimizer's reference ``step`` (NumPy or CuPy arrays)
``numba``    :class:`NumbaTrainer`: the same batches read straight from the CSR examples by the
             fused kernel of ``w2v_np.kernels.minibatch``, which also applies the optimizer's
             update; float32 sums in another order than NumPy's, the same whatever the threads
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
from .sampling import ResampledExamples, build_examples
from .threads import ThreadGovernor


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

    def close(self):
        """Nothing to release (a trainer on a cluster releases it here)."""

    @property
    def num_centers(self):
        """Centers per epoch."""
        return len(self.examples)

    def run_epoch(self, streams, bar):
        """One pass over the examples in a fresh order from ``streams["shuffle"]``;
        returns ``{"loss", "pairs", "centers"}``.

        The loss stays on the model's backend and is read back only when ``bar`` shows
        it (at most 50 times an epoch and 5 times a second) and once at the end.
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
    """The ``numba`` implementation: one fused kernel per batch computes the loss and the
    gradients and applies the optimizer's update (its ``numba_update``).

    Holds a :class:`~w2v_np.kernels.minibatch.BatchWorkspace`, so the hot loop allocates
    nothing but each batch's index array.
    """

    def __init__(self, plan, model, optimizer, examples):
        super().__init__(plan, model, optimizer, examples)
        import numba

        from .kernels.minibatch import BatchWorkspace
        num_rows, dim = model.center.shape
        self.workspace = BatchWorkspace(num_rows, dim, self.batch_size, max(examples.max_row_length(), 1),
                                        model.center.dtype)
        # Fixed examples are cut into batches by slicing a permutation: nothing to overlap.
        self.prefetched = isinstance(examples, ResampledExamples)
        self.governor = ThreadGovernor(plan.threads, numba.set_num_threads) if plan.adaptive_threads else None
        self.plan_threads = plan.threads

    def batches(self, rng):
        return self.examples.index_batches(self.batch_size, rng)

    def step(self, batch):
        """Train on ``examples[indices]``; returns ``(sum of the losses, pairs)``."""
        examples, indices = batch
        if self.governor is not None:
            self.governor.start()
        losses, pairs = self.workspace.step(self.model.center, self.model.context, examples, indices,
                                            self.optimizer.numba_update(work=indices.shape[0]))
        if self.governor is not None:
            self.governor.stop(indices.shape[0])
        return float(losses.sum()), int(pairs)

    def run_epoch(self, streams, bar):
        """:meth:`MiniBatchTrainer.run_epoch`, plus ``threads``: the mean number of threads the
        steps ran on (the plan's, or fewer where the governor chose fewer)."""
        if self.governor is not None:
            self.governor.reset_mean()
        done = super().run_epoch(streams, bar)
        done["threads"] = self.governor.mean_threads() if self.governor is not None else self.plan_threads
        return done
