"""The skip-gram model: two embedding tables and the loss and gradients of a batch."""
import math

import numpy as np

from . import ops
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
    and the loss of a batch is the sum over its examples (the seed's ``l.sum()``).
    The tables start as ``init`` says (:func:`initial_tables`), drawn from ``rng``.
    """

    def __init__(self, vocab_size, dim, *, rng, xp=np, dtype=np.float32, init="xavier"):
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

    def loss_and_grads(self, center, context_negative, mask, label, per_pair=False):
        """Per-example losses and the gradients of their sum with respect to both tables.

        With ``per_pair`` the gradients are those of the sum of every valid position's BCE
        (word2vec.c's objective, which SGD follows): each example's loss weighted by its
        number of valid positions.  The losses returned are the seed's either way.

        Inputs (on the model's backend):
            center: int ``(B, 1)``; context_negative: int ``(B, L)``;
            mask, label: float ``(B, L)`` of the model's dtype.
        Returns:
            losses: float ``(B,)``; grads: dict ``{"center", "context"}`` of
            :class:`~w2v_np.ops.RowSparse` gradients of the ``(V, D)`` tables.
        """
        xp = get_array_module(self.center)
        v, center_cache = ops.embedding_forward(self.center, center)            # (B,1,D)
        u, _ = ops.embedding_forward(self.context, context_negative)            # (B,L,D)
        scores, _ = ops.batch_dot_forward(v, u)                                 # (B,1,L)
        losses, loss_cache = ops.masked_sigmoid_bce_forward(scores[:, 0, :], label, mask)

        dlosses = mask.sum(axis=1) if per_pair else xp.ones_like(losses)
        dscores = ops.masked_sigmoid_bce_backward(dlosses, loss_cache)[:, None, :]
        dv = xp.einsum("bol,bld->bod", dscores, u)  # the dv half of batch_dot_backward
        grads = {
            "center": ops.embedding_backward_rows(dv, center_cache),
            # du and its scatter-add fused: never builds the (B,L,D) gradient of u.
            "context": ops.batch_dot_embedding_backward(dscores, v, context_negative,
                                                        self.context.shape[0]),
        }
        return losses, grads
