"""The d2l method's ``cuda`` implementation: the GPU kernels of :mod:`w2v_np.kernels.gpu`.

The data path keeps the GPU fed without Python sampling in the loop: the examples' CSR
arrays go to the device once, each epoch's order of the examples once per epoch (drawn on
the host by the same generator call as the CPU engines, so the batches are theirs), and a
batch is then a slice of that order.  The fused kernel reads its examples straight from
the CSR arrays; nothing is copied back but the loss, when the trainer asks for it.

Gradients: by default the fused kernel adds them into two dense gradient tables with
atomics (the last bits of a sum vary from run to run); with ``deterministic`` every
contribution gets its own slot and each row is summed in the order of a sort (the same
bits on every run).  The optimizer's ``cuda_step`` then updates the parameters and clears
the gradient tables for the next batch.

On a machine without a GPU the same code runs on NumPy arrays under Numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``), which is how the tests check it.
"""
import numpy as np

from .backend import get_array_module, to_device
from .d2l import MiniBatchTrainer
from .sampling import SkipGramExamples


class DeviceExamples:
    """The CSR arrays of a :class:`~w2v_np.sampling.SkipGramExamples` on the device of ``xp``.

    ``kernel_args`` are the same arrays as the kernels take them (``device_view``).
    """

    def __init__(self, examples, xp):
        from .kernels.gpu import device_view
        self.centers = to_device(examples.centers, xp)
        self.context_offsets = to_device(examples.context_offsets, xp)
        self.contexts = to_device(examples.contexts, xp)
        self.noise = to_device(examples.noise, xp)
        self.num_noise_words = examples.num_noise_words
        self.kernel_args = (*map(device_view, (self.centers, self.context_offsets, self.contexts, self.noise)),
                            self.num_noise_words)


class CudaTrainer(MiniBatchTrainer):
    """The d2l method on the GPU: fused loss and gradients by one kernel, then the optimizer's ``cuda_step``.

    ``model``'s tables must be float32 (CuPy arrays on a GPU; NumPy arrays under the
    simulator).  Buffers for batches of ``self.batch_size`` examples are allocated once.
    With ``plan.reduction == "sorted"`` the gradients are summed without atomics.
    """

    prefetched = False
    """The batches are slices of an order already on the device: nothing to prefetch."""

    def __init__(self, plan, model, optimizer, examples):
        super().__init__(plan, model, optimizer, examples)
        from .kernels import gpu
        self.kernels = gpu
        self.deterministic = plan.reduction == "sorted"
        batch_size, max_row = self.batch_size, examples.max_row_length()
        xp = self.xp = get_array_module(model.center)
        num_rows, dim = model.center.shape
        dtype = model.center.dtype
        self.grads = {name: xp.zeros((num_rows, dim), dtype=dtype) for name in ("center", "context")}
        # The number of the last step that used each row (0: none yet), per table: a row is
        # "touched" when it holds the current step's number, so the marks are never cleared.
        self.touched = xp.zeros((2, num_rows), dtype=np.int32)
        self.stamp = 0
        self.losses = xp.zeros(batch_size, dtype=np.float64)
        self.center_rows = xp.empty((batch_size, dim), dtype=dtype)
        slots = batch_size * max(max_row, 1) if self.deterministic else 1
        self.entry_rows = xp.empty((slots, dim), dtype=dtype)
        self.entry_ids = xp.full(slots, -1, dtype=np.int64)
        self.threads = min(gpu.TILE, 32 * -(-max(max_row, dim) // 32))
        self._device = None
        view = gpu.device_view
        # One dict of device views: the fused kernel's buffers and what the optimizer's
        # cuda_step reads (params, grads, touched per table, its own arrays).
        self.views = {"marks": view(self.touched), "losses": view(self.losses),
                      "center_rows": view(self.center_rows), "entries": (view(self.entry_rows), view(self.entry_ids)),
                      "params": {name: view(p) for name, p in model.params.items()},
                      "grads": {name: view(g) for name, g in self.grads.items()},
                      "touched": {"center": view(self.touched[0]), "context": view(self.touched[1])},
                      **optimizer.device_arrays(view)}

    def batches(self, rng):
        """Yield ``(device examples, device indices, pairs)`` per batch of the epoch.

        The order is ``rng.permutation``, as :meth:`SkipGramExamples.index_batches` draws
        it; ``pairs`` (the batch's context words) is counted on the host.
        """
        examples, batch_size = self.examples, self.batch_size
        if not isinstance(examples, SkipGramExamples):   # drawn anew for every batch
            for batch_examples, indices in examples.index_batches(batch_size, rng):
                yield (DeviceExamples(batch_examples, self.xp), to_device(indices, self.xp),
                       int(batch_examples.num_pairs))
            return
        if self._device is None:
            self._device = DeviceExamples(examples, self.xp)
        order = rng.permutation(len(examples))
        lengths = np.diff(examples.context_offsets)
        on_device = to_device(order, self.xp)
        for start in range(0, order.shape[0], batch_size):
            stop = start + batch_size
            yield self._device, on_device[start:stop], int(lengths[order[start:stop]].sum())

    def step(self, batch):
        """Train on ``examples[indices]``; returns ``(sum of the losses on the device, pairs)``."""
        examples, indices, pairs = batch
        gpu = self.kernels
        size = indices.shape[0]
        self.stamp += 1
        views = self.views
        if self.deterministic:     # this batch's slots: the kernel finds their number per example from them
            entries = size * (self.entry_ids.shape[0] // self.losses.shape[0])
            entry_rows, entry_ids = self.entry_rows[:entries], self.entry_ids[:entries]
            entry_ids.fill(-1)
            entry_views = tuple(view[:entries] for view in views["entries"])
        else:
            entry_views = views["entries"]
        gpu.skipgram_grads[size, self.threads](
            views["params"]["center"], views["params"]["context"], gpu.device_view(indices), *examples.kernel_args,
            views["losses"], views["marks"], self.stamp, not self.deterministic, views["grads"]["center"],
            views["grads"]["context"], views["center_rows"], *entry_views)
        if self.deterministic:
            gpu.scatter_add_sorted(self.grads["center"], examples.centers[indices], self.center_rows[:size], self.xp)
            gpu.scatter_add_sorted(self.grads["context"], entry_ids, entry_rows, self.xp)
        self.optimizer.cuda_step(views, self.stamp, work=size)
        return self.losses[:size].sum(), pairs
