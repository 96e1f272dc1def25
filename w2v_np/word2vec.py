"""The word2vec method: word2vec.c's streaming loop, per-pair SGD, threads without locks.

How it differs from the chapter (and from the d2l method): windows, subsampling and noise
words are drawn anew every epoch on the fly; a noise word equal to the context word is
skipped rather than redrawn, and other context words of the center may be drawn as noise;
each pair updates the tables at once with SGD (the rate decaying linearly over the run's
tokens) instead of one optimizer step per batch; sentences longer than
:data:`~w2v_np.streamed_corpus.MAX_PIECE` tokens are cut.  With ``noise_per="window"`` a
window's context words share one draw of noise words and each predicts the center
(HogBatch): a step reads about a third of the rows.  With several threads, concurrent
updates of a row race (Hogwild) and results vary from run to run; with one thread they
depend on the seed only.

Its one implementation is Numba's (``w2v_np.kernels.streaming``, the row ``("word2vec",
"numba")`` of :data:`w2v_np.plan.TRAINERS`).  :func:`sgd_pair_reference` and
:func:`sgd_window_reference` are the NumPy references of its two steps, and
:func:`sgd_hogwild_reference` that of the whole driver around them (subsampling, windows,
noise words, the rate per piece, the per-chunk streams), drawing the kernel's very numbers:
the tests pin the kernels to them.
"""
import numpy as np

from .ops import sigmoid_bce
from .sampling import kernel_seed
from .splitmix import ChunkStream
from .streamed_corpus import StreamedCorpus


def sgd_pair_reference(v, context_table, targets, alpha):
    """One (center, context word) pair's SGD step, word2vec.c's, in NumPy.

    ``v`` float ``(D,)``: the center's vector (a row of the center table, updated in place);
    ``targets`` int ``(K+1,)``: the context word (label 1), then the noise words (label 0),
    rows of ``context_table`` float ``(V, D)`` (updated in place).  Every score
    ``v . u_k`` is taken before any row moves, then ``g_k = (label_k - sigmoid) * alpha``
    and, target by target, ``neu += g_k u_k`` and ``u_k += g_k v``; last ``v += neu``.
    Returns the sum of the positions' BCE (before the step), float64.
    """
    labels = (np.arange(len(targets)) == 0).astype(v.dtype)
    scores = np.array([context_table[t] @ v for t in targets])
    sigmoid = 1 / (1 + np.exp(-scores))
    neu = np.zeros_like(v)
    for g, t in zip((labels - sigmoid) * alpha, targets):
        neu += g * context_table[t]
        context_table[t] += g * v
    v += neu
    return float(sigmoid_bce(scores.astype(np.float64), labels.astype(np.float64)).sum())


def sgd_window_reference(center_table, inputs, context_table, targets, alpha):
    """One window's SGD step with shared noise words (HogBatch), in NumPy.

    Each context word ``o`` of ``inputs`` (rows of ``center_table`` float ``(V, D)``)
    predicts ``targets`` (rows of ``context_table``): the center (label 1), then the
    window's noise words (label 0).  Every gradient is taken from the rows before the
    step; a row that appears twice among the inputs or the targets moves once per
    appearance.  Both tables are updated in place.  Returns the sum of the positions' BCE
    (before the step), float64.
    """
    labels = (np.arange(len(targets)) == 0).astype(center_table.dtype)
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    w, u = center_table[inputs].copy(), context_table[targets].copy()
    scores = w @ u.T                                       # (inputs, targets)
    g = (labels - 1 / (1 + np.exp(-scores))) * alpha
    np.add.at(context_table, targets, g.T @ w)
    np.add.at(center_table, inputs, g @ u)
    return float(sigmoid_bce(scores.astype(np.float64), np.broadcast_to(labels, scores.shape).astype(np.float64)).sum())


def sgd_hogwild_reference(ids, piece_offsets, chunk_pieces, keep_probability, keep, alias, center_table,
                          context_table, max_window, num_noise_words, shared_noise, lr, min_lr_fraction, done_before,
                          total_work, seed, first_chunk, loss_sums, center_counts, pair_counts):
    """The streaming driver ``kernels.streaming.sgd_hogwild`` in plain Python and NumPy, one thread.

    The same arguments and outputs as the kernel (see its docstring) and the same random
    numbers: chunk ``c`` draws from :class:`~w2v_np.splitmix.ChunkStream` ``(seed, c)`` in
    the kernel's order (a keep coin per token of a piece, then per kept center its window,
    then its noise words), so the centers and pairs are the kernel's exactly and the tables
    and losses agree to the rounding of the steps.  Slow: for tests on small corpora.
    """
    dtype = center_table.dtype.type
    for local in range(loss_sums.shape[0]):
        chunk = first_chunk + local
        stream = ChunkStream(seed, chunk)
        loss_sum, num_centers, num_pairs = 0.0, 0, 0
        for piece in range(chunk_pieces[chunk], chunk_pieces[chunk + 1]):
            start, stop = piece_offsets[piece], piece_offsets[piece + 1]
            # word2vec.c's linear decay written out, not kernels.schedule's: a reference shares no code with its kernel.
            alpha = dtype(lr * max(1 - (done_before + start) / total_work, min_lr_fraction))
            kept = [int(w) for w in ids[start:stop] if stream.uniform() < keep_probability[w]]
            for i, center in enumerate(kept):
                window = stream.window(max_window)
                context = kept[max(0, i - window):i] + kept[i + 1:i + window + 1]
                if not context:
                    continue
                if shared_noise:
                    targets = _targets(center, num_noise_words, stream, keep, alias)
                    bce = sgd_window_reference(center_table, context, context_table, targets, alpha)
                    terms = len(context) * len(targets)
                else:
                    bce, terms = 0.0, 0
                    for word in context:
                        targets = _targets(word, num_noise_words, stream, keep, alias)
                        bce += sgd_pair_reference(center_table[center], context_table, targets, alpha)
                        terms += len(targets)
                loss_sum += bce / terms
                num_centers += 1
                num_pairs += len(context)
        loss_sums[local], center_counts[local], pair_counts[local] = loss_sum, num_centers, num_pairs


def _targets(positive, num_noise_words, stream, keep, alias):
    """``[positive]`` then ``num_noise_words`` alias draws, those equal to ``positive`` dropped (word2vec.c's rule)."""
    noise = [stream.alias_pick(keep, alias) for _ in range(num_noise_words)]
    return np.array([positive] + [word for word in noise if word != positive], dtype=np.int64)


class HogwildTrainer:
    """The word2vec method's trainer: :func:`~w2v_np.kernels.streaming.sgd_hogwild` over the corpus.

    ``optimizer`` must be :class:`~w2v_np.optim.SGD`: it hands the kernel its schedule
    and counts the epoch's tokens as done.
    """

    def __init__(self, plan, model, optimizer, corpus):
        import numba

        from .kernels import streaming
        self.kernels = streaming
        self.model, self.optimizer, self.corpus = model, optimizer, corpus
        self.shared_noise = plan.noise_per == "window"
        # Kernel calls of several chunks per thread, about 50 an epoch (the progress bar's steps).
        self.group = max(4 * numba.get_num_threads(), -(-corpus.num_chunks // 50))

    @staticmethod
    def prepare(plan, ids, offsets, counts, rng):
        """The :class:`~w2v_np.streamed_corpus.StreamedCorpus` of the run (``rng`` is not used:
        everything random is drawn during the epochs)."""
        return StreamedCorpus(ids, offsets, counts, max_window=plan.window, num_noise_words=plan.negative,
                              sample=plan.sample, subsampling=plan.subsampling)

    @staticmethod
    def describe(corpus, plan):
        """What was prepared, for the run's log line."""
        return f"{len(corpus)} tokens streamed (windows and noise words drawn on the fly)"

    @property
    def num_batches(self):
        """Kernel calls per epoch (the progress bar's steps)."""
        return -(-self.corpus.num_chunks // self.group)

    num_centers = None
    """Centers per epoch: they vary, subsampling being drawn anew each epoch."""

    def close(self):
        """Nothing to release (the ``dask`` engine's trainer releases its cluster here)."""

    def run_epoch(self, streams, bar):
        """One pass over the corpus; returns ``{"loss", "pairs", "centers"}``."""
        corpus, model = self.corpus, self.model
        seed = kernel_seed(streams["data"])
        lr, min_lr_fraction, done, total_work = self.optimizer.streaming_schedule(len(corpus))
        loss_sums = np.zeros(corpus.num_chunks)
        centers = np.zeros(corpus.num_chunks, dtype=np.int64)
        pairs = np.zeros(corpus.num_chunks, dtype=np.int64)
        for step, first in enumerate(range(0, corpus.num_chunks, self.group), 1):
            last = min(first + self.group, corpus.num_chunks)
            self.kernels.sgd_hogwild(
                corpus.ids, corpus.piece_offsets, corpus.chunk_pieces, corpus.keep_probability,
                corpus.noise.keep, corpus.noise.alias, model.center, model.context, corpus.max_window,
                corpus.num_noise_words, self.shared_noise, lr, min_lr_fraction, done, total_work,
                seed, first, loss_sums[first:last], centers[first:last], pairs[first:last])
            if bar.wants(step):
                bar.update(step, loss_sums[:last].sum() / max(centers[:last].sum(), 1))
        bar.close()
        return {"loss": float(loss_sums.sum() / max(centers.sum(), 1)), "pairs": int(pairs.sum()),
                "centers": int(centers.sum())}
