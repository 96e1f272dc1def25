"""The skip-gram model: two embedding tables and the loss and gradients of a batch."""
import math

import numpy as np

from . import ops, sparse_grads
from .backend import get_array_module, to_device
from .errors import W2VError


def xavier_uniform(shape, rng, dtype=np.float32):
    """``U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))`` (``nn.init.xavier_uniform_``).

    For a ``(V, D)`` embedding weight PyTorch takes ``fan_in = D`` and ``fan_out = V``.
    Drawn on the host from ``rng`` so every backend starts from the same numbers.
    """
    bound = math.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


INITS = ("xavier", "word2vec")


def initial_tables(vocab_size, dim, rng, init="xavier", dtype=np.float32):
    """The starting ``(center, context)`` tables, float ``(V, D)`` on the host.

    ``xavier``: both :func:`xavier_uniform` (the seed).  ``word2vec``: center
    ``U(-0.5/D, 0.5/D)`` and context zero, as word2vec.c and gensim start.  With the
    zero context table a row holds only what training put there; Xavier's random context
    rows (about +-0.03 on PTB) fade slowly in rows that SGD seldom touches: on PTB the
    streaming SGD per window at lr 0.025 gains 0.014 of WordSim-353 Spearman from
    ``word2vec`` (mean of 14 seeds; README).
    """
    shape = (vocab_size, dim)
    if init == "xavier":
        return xavier_uniform(shape, rng, dtype), xavier_uniform(shape, rng, dtype)
    if init == "word2vec":
        return ((rng.random(shape) - 0.5) / dim).astype(dtype), np.zeros(shape, dtype=dtype)
    raise W2VError(f"init must be one of {', '.join(INITS)}, got {init!r}")


class SkipGram:
    """Skip-gram with negative sampling: a center table and a context table, both ``(V, D)``.

    The score of a center word ``c`` and a context-or-noise word ``o`` is
    ``center[c] . context[o]``; the loss of an example is the masked sigmoid binary
    cross-entropy of its scores against its labels, averaged over valid positions,
    and the loss of a batch is the sum over its examples (the seed's ``l.sum()``), the
    objective whatever the optimizer.
    The tables start as ``init`` says (:func:`initial_tables`), drawn from ``rng``.
    """

    def __init__(self, vocab_size: int, dim: int, *, rng: np.random.Generator, xp=np, dtype=np.float32,
                 init: str = "xavier") -> None:
        center, context = initial_tables(vocab_size, dim, rng, init, dtype)
        self.params = {"center": to_device(center, xp), "context": to_device(context, xp)}

    @property
    def center(self):
        """float ``(V, D)``: the vectors users keep (the seed's ``net[0].weight``)."""
        return self.params["center"]

    @property
    def context(self):
        """float ``(V, D)``: the output vectors."""
        return self.params["context"]

    def reference_loss_and_grads(self, center, context_negative, mask, label):
        """Per-example losses and dense gradients of their sum, composed of the plain ops only.

        The chain of GUIDE §1, each step a pair of :mod:`w2v_np.ops`: gather both tables'
        vectors, batch dot, masked sigmoid BCE; then back through the BCE, the batch dot
        and the scatter-add into each table.  It builds ``du (B, L, D)`` and two ``(V, D)``
        gradients a batch: slow, and the statement of what :meth:`loss_and_grads` computes.

        Inputs: as :meth:`loss_and_grads`.
        Returns:
            losses: float ``(B,)``; grads: dict ``{"center", "context"}`` of dense float
            ``(V, D)`` gradients of the sum of the losses, of the model's dtype.
        """
        xp = get_array_module(self.center)
        v, center_cache = ops.embedding_forward(self.center, center)                  # (B,1,D)
        u, context_cache = ops.embedding_forward(self.context, context_negative)      # (B,L,D)
        scores, dot_cache = ops.batch_dot_forward(v, u)                               # (B,1,L)
        losses, loss_cache = ops.masked_sigmoid_bce_forward(scores[:, 0, :], label, mask)  # (B,)

        # d(sum of the losses) / d(losses[b]) = 1
        dscores = ops.masked_sigmoid_bce_backward(xp.ones_like(losses), loss_cache)   # (B,L)
        dv, du = ops.batch_dot_backward(dscores[:, None, :], dot_cache)               # (B,1,D), (B,L,D)
        grads = {"center": ops.embedding_backward(dv, center_cache),                  # (V,D)
                 "context": ops.embedding_backward(du, context_cache)}                # (V,D)
        return losses, grads

    def loss_and_grads(self, center, context_negative, mask, label, timer=None):
        """Per-example losses and row-sparse gradients of their sum with respect to both tables.

        What the ``numpy`` engine trains with: the forward ops of
        :meth:`reference_loss_and_grads`, then gradients kept as the rows the batch touches
        (:mod:`w2v_np.sparse_grads`); the context table's is built without the ``(B, L, D)``
        gradient of the context vectors.  Tests hold the two methods equal.

        Inputs (on the model's backend):
            center: int ``(B, 1)``; context_negative: int ``(B, L)``;
            mask, label: float ``(B, L)`` of the model's dtype;
            timer: optional callable, called with each stage's name as the stage ends
            (``bench/step_breakdown.py`` times these very stages with it).
        Returns:
            losses: float ``(B,)``; grads: dict ``{"center", "context"}`` of
            :class:`~w2v_np.sparse_grads.RowSparse` gradients of the ``(V, D)`` tables.
        """
        timer = timer or _untimed
        xp = get_array_module(self.center)
        v, center_cache = ops.embedding_forward(self.center, center)                  # (B,1,D)
        u, _ = ops.embedding_forward(self.context, context_negative)                  # (B,L,D)
        timer("embedding gather")
        scores, _ = ops.batch_dot_forward(v, u)                                       # (B,1,L)
        timer("batch dot")
        losses, loss_cache = ops.masked_sigmoid_bce_forward(scores[:, 0, :], label, mask)  # (B,)
        timer("masked BCE forward")

        # d(sum of the losses) / d(losses[b]) = 1
        dscores = ops.masked_sigmoid_bce_backward(xp.ones_like(losses), loss_cache)[:, None, :]  # (B,1,L)
        timer("masked BCE backward")
        dv = sparse_grads.batch_dot_backward_v(dscores, u)                            # (B,1,D)
        timer("batch dot backward (dv)")
        center_grad = sparse_grads.embedding_backward_rows(dv, center_cache)
        timer("center scatter-add")
        # du and its scatter-add fused: never builds the (B,L,D) gradient of u.
        context_grad = sparse_grads.batch_dot_embedding_backward(dscores, v, context_negative,
                                                                 self.context.shape[0])
        timer("context backward (fused)")
        return losses, {"center": center_grad, "context": context_grad}


def _untimed(stage):
    """The default ``timer`` of :meth:`SkipGram.loss_and_grads`: stages go untimed."""
