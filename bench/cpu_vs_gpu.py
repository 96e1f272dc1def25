"""CPU against GPU: the same configuration on numpy, numba and cupy, and the GPU kernels timed one by one.

Usage: python bench/cpu_vs_gpu.py [--corpora ptb [FILE ...]] [--engines ...] [--epochs 5]
                                  [--repeats 3] [--threads 2] [--kernel-batches 200] [--name NAME]

Two parts, both written to ``results/NAME.json`` and a section of RESULTS.md:

1. **End to end**, per corpus: ``compare.py``'s rounds (fresh processes, warm-up first,
   median of interleaved repeats, WordSim-353 quality) over the engines, by default every
   backend and path of w2v-np with the seed's settings (exact Adam) and the PyTorch
   reference on ``cuda``.  Engines whose package or GPU is missing are skipped with a note,
   so on a machine without a GPU this is a CPU table.  For a 100M-token synthetic corpus
   (``bench/synthetic.py``) name the engines that can afford it, e.g.
   ``--engines w2v-np:numba-word2vec w2v-np:cupy-fused w2v-np:cupy-fused@optimizer=sgd``.
2. **Kernels** (with CuPy and a GPU): each kernel of ``w2v_np.kernels.gpu`` on PTB's
   batches (batch 512, the seed's windows and noise words), timed by CUDA events around
   ``--kernel-batches`` launches after a warm-up; the bytes each launch must move (a
   model: every table element read or written once, the gathered rows once per use) over
   its time is its achieved bandwidth, set against the device-to-device copy rate of the
   same GPU measured here (a 1 GiB ``cupy`` copy; about 4.3 TB/s on an H200).
"""
import argparse
import os
import time

import numpy as np
from common import median, save
from compare import EVAL_DIR, Settings, available, engine_argument, run_rounds, table, unavailable

from w2v_np.corpus import read_corpus, resolve_corpus

DEFAULT_ENGINES = ["w2v-np:numpy", "w2v-np:numba", "w2v-np:cupy", "w2v-np:cupy-fused", "w2v-np:cupy-fused-det",
                   "torch:cpu", "torch:cuda"]
COPY_BYTES = 1 << 30


def end_to_end(corpus_name, engines, args):
    """compare.py's table for one corpus: ``(lines, payload)``."""
    corpus = resolve_corpus(corpus_name).resolve()
    corpus_words = int(read_corpus(corpus).counts.sum())
    runnable, skipped = available(engines)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), NUMBA_NUM_THREADS=str(args.threads))
    pairs = EVAL_DIR / "wordsim353.tsv"
    pairs = pairs if pairs.is_file() else None
    runs, summary = run_rounds(runnable, corpus, corpus_words, Settings(epochs=args.epochs, threads=args.threads),
                               env, args.repeats, pairs, None)
    lines = [f"### {corpus.name} ({corpus_words:,} words), {args.epochs} epochs", ""]
    lines += [f"Skipped {engine}: {why}." for engine, why in skipped.items()]
    lines += [""] + table(summary) + [""]
    return lines, {"corpus": str(corpus), "corpus_words": corpus_words, "skipped": skipped, "summary": summary,
                   "runs": runs}


def copy_rate(cupy):
    """Bytes per second of a device-to-device copy (read + write counted), median of 5."""
    source = cupy.ones(COPY_BYTES // 4, dtype=np.float32)
    target = cupy.empty_like(source)
    rates = []
    for _ in range(6):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        target[...] = source
        stop.record()
        stop.synchronize()
        rates.append(2 * COPY_BYTES / (cupy.cuda.get_elapsed_time(start, stop) / 1e3))
    return median(rates[1:])


def time_kernel(cupy, launch, repeats):
    """Milliseconds per call of ``launch()`` (CUDA events around ``repeats`` calls, after one warm-up)."""
    launch()
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    start.record()
    for _ in range(repeats):
        launch()
    stop.record()
    stop.synchronize()
    return cupy.cuda.get_elapsed_time(start, stop) / repeats


def kernels(args):
    """Per-kernel times and bandwidths on PTB's batches: ``(lines, payload)``, or a note without a GPU."""
    if unavailable("w2v-np:cupy-fused"):
        note = f"Kernel timings skipped: {unavailable('w2v-np:cupy-fused')}."
        return [note, ""], {"skipped": note}
    import cupy

    from types import SimpleNamespace

    from w2v_np import TrainConfig, make_plan
    from w2v_np.gpu_step import CudaTrainer
    from w2v_np.kernels import gpu
    from w2v_np.model import SkipGram
    from w2v_np.optim import Adam
    from w2v_np.train import prepare

    rng = np.random.default_rng(0)
    vocab, examples, _ = prepare(make_plan(TrainConfig(corpus="ptb")), rng, probes=[])
    model = SkipGram(len(vocab), 100, rng=rng, xp=cupy)
    batch_size = 512
    rows = {}
    for deterministic in (False, True):
        plan = SimpleNamespace(batch_size=batch_size, reduction="sorted" if deterministic else "atomic")
        step = CudaTrainer(plan, model, Adam(model.params), examples)
        device, indices, _ = next(step.batches(np.random.default_rng(1)))
        positions = int(cupy.diff(device.context_offsets)[indices].sum()) * 6
        # device_view passes the scalars through unchanged
        args_of = tuple(map(gpu.device_view, (
            model.center, model.context, indices, *device.kernel_args, step.losses, step.touched, 1,
            not deterministic, step.grads["center"], step.grads["context"], step.center_rows, step.entry_rows,
            step.entry_ids)))

        def fused():
            gpu.skipgram_grads[batch_size, step.threads](*args_of)
            if deterministic:
                gpu.scatter_add_sorted(step.grads["center"], device.centers[indices], step.center_rows, cupy)
                gpu.scatter_add_sorted(step.grads["context"], step.entry_ids, step.entry_rows, cupy)
        row_bytes = 100 * 4
        # center row read once; each position's context row read twice (score, gradient) and its
        # gradient row read and written (atomics) or written and read back by the reduction
        moved = batch_size * row_bytes + positions * row_bytes * 4
        name = "fused step, sorted reduction" if deterministic else "fused step, atomics"
        rows[name] = (time_kernel(cupy, fused, args.kernel_batches), moved)
    # The embedding backward alone, on the last batch's context gradients (the deterministic
    # step left them in per-entry slots): read each entry row once, read and write its table row.
    used = step.entry_ids >= 0
    ids, values = step.entry_ids[used], step.entry_rows[used]
    grad_view, ids_view, values_view = map(gpu.device_view, (step.grads["context"], ids, values))
    scatter_blocks, scatter_threads = gpu.launch_1d(values.size)
    moved = 3 * values.size * 4
    rows["scatter_add_atomic (a batch's context gradients)"] = (time_kernel(
        cupy, lambda: gpu.scatter_add_atomic[scatter_blocks, scatter_threads](grad_view, ids_view, values_view),
        args.kernel_batches), moved)
    rows["scatter_add_sorted (the same)"] = (time_kernel(
        cupy, lambda: gpu.scatter_add_sorted(step.grads["context"], ids, values, cupy), args.kernel_batches), moved)
    table_elements = model.center.size
    blocks, threads = gpu.launch_1d(table_elements)
    opt = Adam(model.params)
    param, m, v, grad, touched = map(gpu.device_view, (model.center, opt.m["center"], opt.v["center"],
                                                       cupy.zeros_like(model.center),
                                                       cupy.ones(model.center.shape[0], dtype=np.int32)))
    constants = [np.float32(c) for c in (0.9, 0.999, 0.1, 0.001, 1e-8, 0.002)]
    rows["adam_update (one table)"] = (time_kernel(cupy, lambda: gpu.adam_update[blocks, threads](
        param, m, v, grad, touched, 1, False, *constants), args.kernel_batches), 8 * 4 * table_elements)
    rows["sgd_update (one table, every row)"] = (time_kernel(cupy, lambda: gpu.sgd_update[blocks, threads](
        param, grad, touched, 1, np.float32(0.01)), args.kernel_batches), 4 * 4 * table_elements)
    rate = copy_rate(cupy)
    lines = [f"Kernels on PTB's batches (batch 512, dimension 100, vocabulary {len(vocab):,}); "
             f"device-to-device copy rate {rate / 1e12:.2f} TB/s.", "",
             "| kernel | ms / call | bytes moved (model) | GB/s | % of copy rate |", "| --- " * 5 + "|"]
    payload = {"copy_bytes_per_second": rate, "kernels": {}}
    for name, (ms, moved) in rows.items():
        speed = moved / (ms / 1e3)
        lines.append(f"| {name} | {ms:.4f} | {moved:,} | {speed / 1e9:,.0f} | {100 * speed / rate:.1f} |")
        payload["kernels"][name] = {"ms_per_call": ms, "bytes_moved": moved, "bytes_per_second": speed}
    return lines + [""], payload


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="+", default=["ptb"], help="'ptb' or text files")
    parser.add_argument("--engines", nargs="+", type=engine_argument, default=DEFAULT_ENGINES)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--kernel-batches", type=int, default=200, help="launches timed per kernel")
    parser.add_argument("--name", default="cpu_vs_gpu")
    args = parser.parse_args()

    started = time.perf_counter()
    lines, payload = [], {"corpora": {}}
    for corpus in args.corpora:
        corpus_lines, payload["corpora"][corpus] = end_to_end(corpus, args.engines, args)
        lines += corpus_lines
    kernel_lines, payload["kernels"] = kernels(args)
    lines += ["### GPU kernels", ""] + kernel_lines
    print("\n".join(lines))
    print(f"({time.perf_counter() - started:.0f} s)")
    save(args.name, payload, [f"Threads {args.threads}; median of {args.repeats} rounds after a warm-up.", ""]
         + lines)


if __name__ == "__main__":
    main()
