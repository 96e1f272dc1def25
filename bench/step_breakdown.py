"""Where one epoch's time goes: each stage of the training step timed separately.

Usage: W2V_NP_DATA=/path/to/ptb python bench/step_breakdown.py [--engine numpy|numba]
                                                                [--optimizer adam|lazy-adam|sgd]
``numpy`` runs the same computation as ``SkipGram.loss_and_grads`` + ``Adam.step`` stage by
stage (batch packing here runs inline, whereas training prefetches it in a thread);
``numba`` times the fused kernels of ``--engine numba`` (the fused loss and gradients,
then the optimizer's kernel on both tables) after one warm-up batch.
"""
import argparse
import time

import numpy as np

from common import save

from w2v_np import ops
from w2v_np.corpus import find_ptb, read_sentences
from w2v_np.engine import FusedStep, make_optimizer
from w2v_np.model import SkipGram
from w2v_np.sampling import build_examples
from w2v_np.vocab import Vocab


def reference_stages(examples, model, optimizer, shuffle_rng, lap):
    """The NumPy engine, op by op; returns the number of batches."""
    batches = examples.batches(512, shuffle_rng)
    num_batches = 0
    while True:
        t = time.perf_counter()
        batch = next(batches, None)
        if batch is None:
            return num_batches
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
        grads["context"] = ops.batch_dot_embedding_backward(dscores, v, batch.context_negative, model.center.shape[0])
        t = lap("context backward (fused)", t)
        optimizer.step(grads)
        lap("Adam (both tables)", t)


def fused_stages(examples, model, optimizer, shuffle_rng, lap):
    """The Numba engine's two kernels and what surrounds them; returns the number of batches."""
    step = FusedStep(model, optimizer, 512, examples.max_row_length(), per_pair=optimizer.name == "sgd")
    order = shuffle_rng.permutation(len(examples))
    step(examples, order[:512])                                   # compile or load the kernels
    work = step.workspace
    num_batches = 0
    for start in range(0, order.shape[0], 512):
        num_batches += 1
        t = time.perf_counter()
        indices = order[start:start + 512]
        work.loss_and_grads(model.center, model.context, examples, indices, step.per_pair)
        t = lap("fused loss and gradients", t)
        step._update()
        t = lap(f"{optimizer.name} kernel (both tables)", t)
        work.release()
        lap("release rows", t)
    return num_batches


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["numpy", "numba"], default="numpy")
    parser.add_argument("--optimizer", choices=["adam", "lazy-adam", "sgd"], default="adam")
    args = parser.parse_args()
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
    lr = {"sgd": 0.025}.get(args.optimizer, 0.002)
    optimizer = make_optimizer(args.optimizer, model.params, lr, 5 * len(examples))
    stages = {}

    def lap(name, since):
        now = time.perf_counter()
        stages[name] = stages.get(name, 0.0) + now - since
        return now

    stages_of = fused_stages if args.engine == "numba" else reference_stages
    num_batches = stages_of(examples, model, optimizer, shuffle_rng, lap)
    total = sum(stages.values())
    table = ["| stage | seconds per epoch | ms per batch | share |", "| --- | --- | --- | --- |"]
    for name, seconds in list(timings.items()) + list(stages.items()):
        per_batch = f"{seconds / num_batches * 1e3:.2f}" if name in stages else "—"
        share = f"{seconds / total:.0%}" if name in stages else "(once)"
        table.append(f"| {name} | {seconds:.2f} | {per_batch} | {share} |")
    table.append(f"| one epoch, {num_batches} batches | {total:.2f} | {total / num_batches * 1e3:.2f} | 100% |")
    name = "step_breakdown" if (args.engine, args.optimizer) == ("numpy", "adam") else \
        f"step_breakdown_{args.engine}_{args.optimizer}"
    save(name, {"engine": args.engine, "optimizer": args.optimizer, "once": timings, "per_epoch": stages,
                "num_batches": num_batches}, table)
    print("\n".join(table))


if __name__ == "__main__":
    main()
