"""Where one epoch's time goes: each stage of the training step timed separately.

Usage: W2V_NP_DATA=/path/to/ptb python bench/step_breakdown.py [--engine numpy|numba]
                                                                [--optimizer adam|lazy-adam|sgd]
``numpy`` times the NumPy engine's own code, not a copy of it: ``SkipGram.loss_and_grads``
reports each of its stages through its ``timer`` argument, then the optimizer's ``step``
runs (batch packing here runs inline, whereas training prefetches it in a thread);
``numba`` times the d2l method's Numba trainer: its workspace's fused step, whose update's
share is measured as the difference of the step with and without it, after one warm-up batch.
"""
import argparse
import time

import numpy as np

from common import save

from w2v_np import TrainConfig, make_plan
from w2v_np.corpus import find_ptb, read_sentences
from w2v_np.d2l import NumbaTrainer
from w2v_np.model import SkipGram
from w2v_np.optim import make_optimizer
from w2v_np.sampling import build_examples
from w2v_np.vocab import Vocab


class StageClock:
    """Seconds per stage, summed over an epoch: ``clock(stage)`` ends a stage begun at the previous call."""

    def __init__(self):
        self.seconds = {}
        self.restart()

    def restart(self):
        self.since = time.perf_counter()

    def __call__(self, stage):
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self.since
        self.since = now


def reference_stages(examples, model, optimizer, shuffle_rng, clock):
    """The NumPy engine's step on each batch of an epoch; returns the number of batches."""
    num_batches = 0
    clock.restart()
    for batch in examples.batches(512, shuffle_rng, model.center.dtype):
        clock("pack batch")
        _, grads = model.loss_and_grads(batch.center, batch.context_negative, batch.mask, batch.label,
                                        timer=clock)
        optimizer.step(grads, work=batch.center.shape[0])
        clock(f"{optimizer.name} step (both tables)")
        num_batches += 1
    return num_batches


def fused_stages(plan, examples, model, optimizer, shuffle_rng, clock):
    """The Numba trainer's fused step on each batch of an epoch; returns the number of batches.

    The fused step computes the loss and the gradients and applies the update in one
    kernel: each batch runs twice, without the update (tables unchanged) and with it, and
    the update's share is the difference.
    """
    trainer = NumbaTrainer(plan, model, optimizer, examples)
    order = shuffle_rng.permutation(len(examples))
    trainer.workspace.step(model.center, model.context, examples, order[:512])    # compile or load the kernels
    work = trainer.workspace
    num_batches = 0
    for start in range(0, order.shape[0], 512):
        num_batches += 1
        indices = order[start:start + 512]
        clock.restart()
        work.step(model.center, model.context, examples, indices)
        gradients = time.perf_counter() - clock.since
        clock.restart()
        work.step(model.center, model.context, examples, indices, optimizer.numba_update(work=indices.shape[0]))
        whole = time.perf_counter() - clock.since
        for stage, seconds in (("fused loss and gradients", gradients),
                               (f"{optimizer.name} update (fused step minus the above)", whole - gradients)):
            clock.seconds[stage] = clock.seconds.get(stage, 0.0) + seconds
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
    plan = make_plan(TrainConfig(engine=args.engine, optimizer=args.optimizer, sampler="numpy"))
    model = SkipGram(len(vocab), 100, rng=init_rng)
    optimizer = make_optimizer(args.optimizer, model.params, plan.lr, 5 * len(examples))
    clock = StageClock()
    if args.engine == "numba":
        num_batches = fused_stages(plan, examples, model, optimizer, shuffle_rng, clock)
    else:
        num_batches = reference_stages(examples, model, optimizer, shuffle_rng, clock)
    stages = clock.seconds
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
