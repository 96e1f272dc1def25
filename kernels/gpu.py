"""GPU training kernels (numba.cuda): the fused skip-gram step, scatter-add, Adam and SGD.

They take CuPy arrays on a GPU (through ``__cuda_array_interface__``) and, under Numba's
CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), NumPy arrays on the CPU, which is how the
tests run them on machines without a GPU.  Each kernel has its naive reference beside it
and is tested against it first (``tests/test_gpu_kernels.py``):

==========================  =====================================================
kernel                      naive reference
==========================  =====================================================
:func:`scatter_add_atomic`  ``np.add.at(out, ids, values)``
:func:`scatter_add_sorted`  ``np.add.at``, summed in a fixed order (no atomics)
:func:`skipgram_grads`      ``SkipGram.loss_and_grads`` on the padded batch
:func:`adam_update`         ``w2v_np.optim.Adam.step`` / ``LazyAdam.step``
:func:`sgd_update`          ``w2v_np.optim.SGD.step``
==========================  =====================================================

Atomic float additions land in whatever order the threads reach them, so their sums
differ in the last bits from run to run; the deterministic path writes every
contribution to its own slot instead and sums each row's contributions in the order of a
sort (:func:`scatter_add_sorted`), which gives the same bits on every run.

Launch shapes: :func:`skipgram_grads` runs one block per example with at most
:data:`TILE` threads; the element-wise kernels run one thread per element
(:func:`launch_1d`).
"""
import math

import numba
import numpy as np
from numba import cuda
from numba.cuda import libdevice

if not hasattr(np, "row_stack"):
    # The numba-cuda package (numba.cuda's home since Numba 0.61) registers an overload
    # of np.row_stack when it loads its registries, at the first kernel's compilation;
    # NumPy 2.5 removed that alias of np.vstack, and every kernel then failed to compile
    # (seen on an H200 machine with NumPy 2.5.2).  Restoring the alias is all it needs.
    np.row_stack = np.vstack

if numba.config.ENABLE_CUDASIM:
    @cuda.jit(device=True)
    def _product(a, b):
        """``a * b`` (float32), rounded on its own: the simulator runs Python, which never fuses."""
        return a * b
else:
    # NVVM fuses a product with the sum or difference that uses it (a * b + c becomes one
    # FMA, rounded once) unless told otherwise, and Numba's cuda.jit cannot tell it; NumPy
    # rounds the product first.  libdevice's mul.rn is never fused: the updates below use
    # it for every product that meets a sum, so that they give the reference's bits
    # (seen on an H200: one last bit in a few elements of SGD's step, more in Adam's first
    # moment where the two terms cancel).
    _product = libdevice.fmul_rn

# Positions of an example scored at once by a block: its shared buffers' length and the
# most threads a block of skipgram_grads may have.
TILE = 128
# Threads per block of the element-wise kernels.
THREADS = 128


def device_view(array):
    """``array`` as the kernels should take it, over the same memory.

    A CuPy array becomes a Numba device array created without synchronising its stream:
    left to itself, Numba synchronises the stream of every CuPy argument at every launch
    (the CUDA array interface's default), which would stall the host once per kernel.
    Kernels and CuPy both use the default stream, so the order of the work is kept.  A
    NumPy array (the simulator's), or a scalar, is returned as it is.
    """
    if hasattr(array, "__cuda_array_interface__"):
        return cuda.as_cuda_array(array, sync=False)
    return array


def launch_1d(size, threads=THREADS):
    """``(blocks, threads)`` covering ``size`` elements with one thread each."""
    return max(1, -(-size // threads)), threads


@cuda.jit(cache=True)
def scatter_add_atomic(out, ids, values):
    """``out[ids[i]] += values[i]`` for every ``i``, repeated ids accumulating (atomics).

    out float ``(V, D)``; ids int ``(N,)``; values float ``(N, D)``; one thread per element
    of ``values``.
    """
    index = cuda.grid(1)
    dim = values.shape[1]
    if index < values.shape[0] * dim:
        i, d = index // dim, index % dim
        cuda.atomic.add(out, (ids[i], d), values[i, d])


@cuda.jit(cache=True)
def segment_sum(out, order, starts, sorted_ids, values):
    """``out[sorted_ids[starts[s]]] += sum(values[order[k]] for k in segment s)``, in ``k`` order.

    Segment ``s`` is ``starts[s] .. starts[s + 1]`` of the sorted entries; ids ``< 0``
    (padding) are skipped.  One thread per (segment, column): each element of ``out`` has
    one writer, so no atomics, and each sum is taken in a fixed order.
    """
    index = cuda.grid(1)
    dim = values.shape[1]
    if index < (starts.shape[0] - 1) * dim:
        s, d = index // dim, index % dim
        word = sorted_ids[starts[s]]
        if word >= 0:
            # Starting from the first value keeps the sum in the values' dtype (a literal
            # 0 would make it float64 in compiled code, which rounds differently).
            total = values[order[starts[s]], d]
            for k in range(starts[s] + 1, starts[s + 1]):
                total += values[order[k], d]
            out[word, d] += total


def scatter_add_sorted(out, ids, values, xp):
    """Deterministic ``out[ids[i]] += values[i]``: a stable sort of ``ids``, then :func:`segment_sum`.

    out float ``(V, D)``; ids int ``(N,)`` (entries with id ``< 0`` are ignored); values
    float ``(N, D)``; ``xp`` the module of the arrays (CuPy, or NumPy under the simulator).
    Each row's contributions are added in the order of ``i``, so the result is the same,
    bit for bit, on every run and with any launch shape.
    """
    if ids.shape[0] == 0:
        return
    order = xp.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    is_first = xp.empty(ids.shape[0], dtype=bool)
    is_first[0] = True
    is_first[1:] = sorted_ids[1:] != sorted_ids[:-1]
    starts = xp.concatenate([xp.flatnonzero(is_first), xp.asarray([ids.shape[0]])]).astype(np.int64)
    blocks, threads = launch_1d((starts.shape[0] - 1) * values.shape[1])
    segment_sum[blocks, threads](*map(device_view, (out, order, starts, sorted_ids, values)))


@cuda.jit(device=True)
def _word_at(position, num_context, first, contexts, noise, num_noise_words):
    """Position ``position`` of an example's row: its context words, then their noise words."""
    if position < num_context:
        return contexts[first + position]
    return noise[num_noise_words * first + position - num_context]


@cuda.jit(cache=True)
def skipgram_grads(center_table, context_table, batch, centers, context_offsets, contexts, noise,
                   num_noise_words, losses, touched, stamp, atomic, center_grad, context_grad,
                   center_rows, entry_rows, entry_ids):
    """The fused skip-gram step: gather, scores, masked BCE, backward and scatter of one batch.

    Block ``b`` trains example ``n = batch[b]``: center ``centers[n]``, context words
    ``contexts[context_offsets[n]:context_offsets[n+1]]`` (label 1) and their noise words
    (label 0), ``count`` positions (the CSR arrays of ``SkipGramExamples``).  Its loss,
    ``losses[b]`` (float64), is the seed's mean BCE over the positions; the gradient is
    that of the sum of the examples' losses (the chapter's ``l.sum()``).  ``touched[0, c]`` and
    ``touched[1, w]`` (int32 ``(2, V)``) are set to ``stamp``, the step's number, for every
    center and context row the batch uses: the update kernels compare them with the same
    number, so the marks never need clearing.

    Tables float32 ``(V, D)``.  With ``atomic`` the gradients are added into the dense
    ``center_grad`` and ``context_grad`` (float32 ``(V, D)``) by atomics, and
    ``center_rows`` (float32 ``(B, D)``) is scratch.  Without, nothing is added: example
    ``b``'s center gradient is left in ``center_rows[b]`` and position ``p``'s context
    gradient in ``entry_rows[b * R + p]`` with its word in ``entry_ids[b * R + p]``
    (``R = entry_ids.shape[0] // B``, at least the longest row; slots past a row's end
    are not written), for :func:`scatter_add_sorted`.

    Threads: up to :data:`TILE` per block.  Positions are taken a tile at a time: thread
    ``t`` scores position ``start + t`` (a dot product over ``D``), then the threads split
    the columns and, for each position of the tile, add its share to the center gradient
    and to its context row's gradient.
    """
    coefficient = cuda.shared.array(TILE, dtype=np.float32)
    words = cuda.shared.array(TILE, dtype=np.int64)
    bce = cuda.shared.array(TILE, dtype=np.float64)
    b = cuda.blockIdx.x
    t = cuda.threadIdx.x
    width = cuda.blockDim.x
    dim = center_table.shape[1]
    n = batch[b]
    first = context_offsets[n]
    num_context = context_offsets[n + 1] - first
    count = num_context * (num_noise_words + 1)
    center = centers[n]
    weight = 1.0 / max(count, 1)
    slots = entry_ids.shape[0] // batch.shape[0]
    if t == 0:
        touched[0, center] = stamp
    for d in range(t, dim, width):
        center_rows[b, d] = 0
    loss = 0.0
    for start in range(0, count, width):
        position = start + t
        if position < count:
            word = _word_at(position, num_context, first, contexts, noise, num_noise_words)
            score = np.float32(0)
            for d in range(dim):
                score += center_table[center, d] * context_table[word, d]
            x = float(score)
            label = 1.0 if position < num_context else 0.0
            # w2v_np.ops.sigmoid_bce's formula, log(1 + e^-|x|) + max(x, 0) - label * x,
            # and the sigmoid from the same e: no overflow for any score.
            e = math.exp(-abs(x))
            sigmoid = 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)
            bce[t] = math.log1p(e) + max(x, 0.0) - label * x
            coefficient[t] = np.float32((sigmoid - label) * weight)
            words[t] = word
            touched[1, word] = stamp
            if not atomic:
                entry_ids[b * slots + position] = word
        cuda.syncthreads()
        in_tile = min(width, count - start)
        if t == 0:
            for q in range(in_tile):
                loss += bce[q]
        for d in range(t, dim, width):
            v = center_table[center, d]
            total = np.float32(0)
            for q in range(in_tile):
                g = coefficient[q]
                total += g * context_table[words[q], d]
                if atomic:
                    cuda.atomic.add(context_grad, (words[q], d), g * v)
                else:
                    entry_rows[b * slots + start + q, d] = g * v
            center_rows[b, d] += total
        cuda.syncthreads()
    if t == 0:
        losses[b] = loss / max(count, 1)
    if atomic:
        for d in range(t, dim, width):
            cuda.atomic.add(center_grad, (center, d), center_rows[b, d])


@cuda.jit(cache=True)
def adam_update(param, m, v, grad, touched, stamp, lazy, beta1, beta2, one_minus_beta1, one_minus_beta2, eps_hat,
                scale):
    """Adam on every element of ``param`` (float ``(V, D)``), then ``grad`` cleared for the next batch.

    With ``lazy`` only the rows with ``touched[r] == stamp`` move ("lazy" Adam); otherwise
    every row does, its moments decaying, as in ``torch.optim.Adam``.  The scalars and
    the order of the operations are those of ``w2v_np.optim.Adam`` (see
    ``kernels.optimizers.update_row``).  One thread per element.
    """
    index = cuda.grid(1)
    dim = param.shape[1]
    if index < param.shape[0] * dim:
        r, d = index // dim, index % dim
        if lazy and touched[r] != stamp:
            return
        g = grad[r, d]
        grad[r, d] = 0
        mi = _product(m[r, d], beta1) + _product(one_minus_beta1, g)
        vi = _product(v[r, d], beta2) + _product(one_minus_beta2, _product(g, g))
        m[r, d] = mi
        v[r, d] = vi
        param[r, d] -= _product(mi / (math.sqrt(vi) + eps_hat), scale)


@cuda.jit(cache=True)
def sgd_update(param, grad, touched, stamp, lr):
    """``param[r] -= lr * grad[r]`` on the rows with ``touched[r] == stamp``, then their ``grad`` cleared;
    one thread per element."""
    index = cuda.grid(1)
    dim = param.shape[1]
    if index < param.shape[0] * dim:
        r, d = index // dim, index % dim
        if touched[r] == stamp:
            param[r, d] -= _product(lr, grad[r, d])
            grad[r, d] = 0
