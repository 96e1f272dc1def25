"""Where one epoch's time goes: each stage of the training step timed separately.

Usage: W2V_NP_DATA=/path/to/ptb python bench/step_breakdown.py
Runs the same computation as ``SkipGram.loss_and_grads`` + ``Adam.step`` stage by
stage (batch packing here runs inline, whereas training prefetches it in a thread).
"""
import time

import numpy as np

from common import save

from w2v_np import ops
from w2v_np.corpus import find_ptb, read_sentences
from w2v_np.model import SkipGram
from w2v_np.optim import Adam
from w2v_np.sampling import build_examples
from w2v_np.vocab import Vocab


def main():
    timings = {}
    start = time.perf_counter()
    sentences = read_sentences(find_ptb(download=False))
    vocab = Vocab.build(sentences, 10)
    ids, offsets = vocab.encode(sentences)
    timings["read + vocabulary"] = time.perf_counter() - start
    data_rng, shuffle_rng, init_rng = [np.random.default_rng(s) for s in np.random.SeedSequence(0).spawn(3)]
    start = time.perf_counter()
    examples = build_examples(ids, offsets, vocab.counts, max_window=5, num_noise_words=5,
                              sample=1e-4, rng=data_rng)
    timings["subsample + windows + noise"] = time.perf_counter() - start
    model = SkipGram(len(vocab), 100, rng=init_rng)
    optimizer = Adam(model.params, lr=0.002)
    stages = {}

    def lap(name, since):
        now = time.perf_counter()
        stages[name] = stages.get(name, 0.0) + now - since
        return now

    batches = examples.batches(512, shuffle_rng)
    num_batches = 0
    while True:
        t = time.perf_counter()
        batch = next(batches, None)
        if batch is None:
            break
        num_batches += 1
        t = lap("pack batch", t)
        v, center_cache = ops.embedding_forward(model.center, batch.center)
        u, _ = ops.embedding_forward(model.context, batch.context_negative)
        t = lap("embedding gather", t)
        scores, _ = ops.batch_dot_forward(v, u)
        t = lap("batch dot", t)
        losses, cache = ops.masked_sigmoid_bce_forward(scores[:, 0, :], batch.label, batch.mask)
        dscores = ops.masked_sigmoid_bce_backward(np.ones_like(losses), cache)[:, None, :]
        t = lap("masked BCE fwd+bwd", t)
        dv = np.einsum("bol,bld->bod", dscores, u)
        t = lap("batch dot backward (dv)", t)
        grads = {"center": ops.embedding_backward_rows(dv, center_cache)}
        t = lap("center scatter-add", t)
        grads["context"] = ops.batch_dot_embedding_backward(dscores, v, batch.context_negative, len(vocab))
        t = lap("context backward (fused)", t)
        optimizer.step(grads)
        lap("Adam (both tables)", t)
    total = sum(stages.values())
    table = ["| stage | seconds per epoch | ms per batch | share |", "| --- | --- | --- | --- |"]
    for name, seconds in list(timings.items()) + list(stages.items()):
        per_batch = f"{seconds / num_batches * 1e3:.2f}" if name in stages else "—"
        share = f"{seconds / total:.0%}" if name in stages else "(once)"
        table.append(f"| {name} | {seconds:.2f} | {per_batch} | {share} |")
    table.append(f"| one epoch, {num_batches} batches | {total:.2f} | {total / num_batches * 1e3:.2f} | 100% |")
    save("step_breakdown", {"once": timings, "per_epoch": stages, "num_batches": num_batches}, table)
    print("\n".join(table))


if __name__ == "__main__":
    main()
