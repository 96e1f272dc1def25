"""Compiled kernels of w2v-np, installed as ``w2v_np.kernels``.

The accelerated implementations (Numba on the CPU, numba.cuda on the GPU) of what the
NumPy reference in ``w2v_np`` computes, arranged by concept:

=================  =====================================================================
``rng``            random numbers: SplitMix64 streams and per-chunk seeds
``text``           tokenising a corpus's bytes
``vector_text``    writing vectors as word2vec text rows (``%.9g``)
``sampling``       subsampling, context windows, noise words, batch packing
``scores``         dot products and the stable BCE of a score, shared by the steps
``minibatch``      the d2l method's fused loss-and-gradient step of a batch
``optimizers``     the optimizers' updates (dense Adam, lazy Adam, SGD on rows)
``schedule``       SGD's linear decay, plain Python shared with ``w2v_np.optim``
``streaming``      the word2vec method's streaming SGD (Hogwild, HogBatch)
``replicas``       folding the dask engine's replicas into a table, in place
``gpu``            numba.cuda kernels of the d2l method's step and updates
=================  =====================================================================

Nothing here imports ``w2v_np``: callers pass in what a kernel needs.  Numba is optional
(``pip install "w2v-np[fast]"``): :func:`numba_available` tells whether it can be used,
and the modules that need it are imported only then; :func:`cuda_available` tells whether
the ``gpu`` kernels can run (on a GPU, or under Numba's CUDA simulator).
"""
import functools


@functools.cache
def numba_available():
    """Whether Numba imports (the NumPy reference is used otherwise)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def cuda_available():
    """Whether numba.cuda can launch kernels: it sees a GPU, or runs its simulator."""
    if not numba_available():
        return False
    try:
        from numba import cuda
        return bool(cuda.is_available())
    except Exception:  # a missing CUDA driver or toolkit surfaces as many different errors
        return False
