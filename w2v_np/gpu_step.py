"""Training steps by the GPU kernels of :mod:`w2v_np.kernels.gpu` (the ``cuda`` engine).

The data path keeps the GPU fed without Python sampling in the loop: the examples' CSR
arrays go to the device once, each epoch's order of the examples once per epoch (drawn on
the host by the same generator call as the CPU engines, so the batches are theirs), and a
batch is then a slice of that order.  The fused kernel reads its examples straight from
the CSR arrays; nothing is copied back but the loss, when the trainer asks for it.

Gradients: by default the fused kernel adds them into two dense gradient tables with
atomics (the last bits of a sum vary from run to run); with ``deterministic`` every
contribution gets its own slot and each row is summed in the order of a sort (the same
bits on every run).  The optimizer kernels then update the parameters and clear the
gradient tables for the next batch.

On a machine without a GPU the same code runs on NumPy arrays under Numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``), which is how the tests check it.
"""
import numpy as np

from .backend import get_array_module, to_device
from .optim import SGD, LazyAdam
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


class CudaFusedStep:
    """One training step by the GPU kernels: fused loss and gradients, then a fused update.

    ``model``'s tables must be float32 (CuPy arrays on a GPU; NumPy arrays under the
    simulator).  Buffers for batches of ``batch_size`` examples of at most ``max_row``
    positions are allocated once.
    """

    def __init__(self, model, optimizer, batch_size, max_row, per_pair, deterministic=False):
        from .kernels import gpu
        self.kernels = gpu
        self.model, self.optimizer, self.per_pair = model, optimizer, per_pair
        self.deterministic = deterministic
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
        slots = batch_size * max(max_row, 1) if deterministic else 1
        self.entry_rows = xp.empty((slots, dim), dtype=dtype)
        self.entry_ids = xp.full(slots, -1, dtype=np.int64)
        self.threads = min(gpu.TILE, 32 * -(-max(max_row, dim) // 32))
        self._device = None
        view = gpu.device_view
        self.views = {"center": view(model.center), "context": view(model.context),
                      "touched": view(self.touched), "touched_rows": [view(self.touched[0]), view(self.touched[1])],
                      "grads": {name: view(g) for name, g in self.grads.items()},
                      "losses": view(self.losses), "center_rows": view(self.center_rows),
                      "entries": (view(self.entry_rows), view(self.entry_ids))}
        if not isinstance(optimizer, SGD):
            self.views["m"] = {name: view(m) for name, m in optimizer.m.items()}
            self.views["v"] = {name: view(v) for name, v in optimizer.v.items()}

    def batches(self, examples, batch_size, rng):
        """Yield ``(device examples, device indices, pairs)`` per batch of the epoch.

        The order is ``rng.permutation``, as :meth:`SkipGramExamples.index_batches` draws
        it; ``pairs`` (the batch's context words) is counted on the host.
        """
        if not isinstance(examples, SkipGramExamples):   # drawn anew for every batch
            for batch_examples, indices in examples.index_batches(batch_size, rng):
                yield (DeviceExamples(batch_examples, self.xp), to_device(indices, self.xp),
                       int(batch_examples.num_pairs))
            return
        if self._device is None or self._device[0] is not examples:
            self._device = (examples, DeviceExamples(examples, self.xp))
        device = self._device[1]
        order = rng.permutation(len(examples))
        lengths = np.diff(examples.context_offsets)
        on_device = to_device(order, self.xp)
        for start in range(0, order.shape[0], batch_size):
            stop = start + batch_size
            yield device, on_device[start:stop], int(lengths[order[start:stop]].sum())

    def __call__(self, examples, indices, pairs):
        """Train on ``examples[indices]``; returns ``(sum of the losses on the device, pairs, examples)``."""
        gpu = self.kernels
        size = indices.shape[0]
        self.stamp += 1
        grads = self.grads
        views = self.views
        if self.deterministic:     # this batch's slots: the kernel finds their number per example from them
            entries = size * (self.entry_ids.shape[0] // self.losses.shape[0])
            entry_rows, entry_ids = self.entry_rows[:entries], self.entry_ids[:entries]
            entry_ids.fill(-1)
            entry_views = tuple(view[:entries] for view in views["entries"])
        else:
            entry_views = views["entries"]
        gpu.skipgram_grads[size, self.threads](
            views["center"], views["context"], gpu.device_view(indices), *examples.kernel_args, self.per_pair,
            views["losses"], views["touched"], self.stamp, not self.deterministic, views["grads"]["center"],
            views["grads"]["context"], views["center_rows"], *entry_views)
        if self.deterministic:
            gpu.scatter_add_sorted(grads["center"], examples.centers[indices], self.center_rows[:size])
            gpu.scatter_add_sorted(grads["context"], entry_ids, entry_rows)
        self._update()
        if isinstance(self.optimizer, SGD):
            self.optimizer.done += size
        return self.losses[:size].sum(), pairs, size

    def _update(self):
        """The optimizer's step (every row for dense Adam, the touched rows otherwise); clears the gradients."""
        opt, gpu = self.optimizer, self.kernels
        dtype = self.model.center.dtype.type
        views = self.views
        blocks, threads = gpu.launch_1d(self.model.center.size)
        if isinstance(opt, SGD):
            rate = dtype(opt.rate())
            for table, name in enumerate(("center", "context")):
                gpu.sgd_update[blocks, threads](views[name], views["grads"][name],
                                                views["touched_rows"][table], self.stamp, rate)
            return
        beta1, beta2, eps_hat, scale = opt.scalars()
        constants = [dtype(c) for c in (beta1, beta2, 1 - beta1, 1 - beta2, eps_hat, scale)]
        opt.step_count += 1
        lazy = isinstance(opt, LazyAdam)
        for table, name in enumerate(("center", "context")):
            gpu.adam_update[blocks, threads](views[name], views["m"][name], views["v"][name], views["grads"][name],
                                             views["touched_rows"][table], self.stamp, lazy, *constants)
