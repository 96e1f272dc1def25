"""Preparation of PTB, stage by stage: the seed's pipeline vs w2v-np (NumPy, Numba).

Usage: W2V_NP_DATA=/path/to/ptb python bench/prep.py [--repeats 5] [--pipelines seed numpy numba]
Times, from the file to the first batch of 512 examples (window 5, 5 noise words):
(a) the seed's pure-Python pipeline (``seed_pipeline.py``, the book's ``load_data_ptb``),
(b) w2v-np with the NumPy sampler, (c) w2v-np with the Numba kernels.  Each pipeline
runs once untimed (JIT compilation, caches), then ``--repeats`` times; the table shows
medians and two totals: "vocabulary -> first batch ready" (from the sentences already
read) and "file -> first batch ready" (reading included).  Speed-up = seed / w2v-np.
"""
import argparse
import gc
import time
from functools import partial
from pathlib import Path

import numpy as np

import seed_pipeline
from common import median, save

from w2v_np.corpus import find_ptb, tokenize
from w2v_np.kernels import numba_available
from w2v_np.sampling import build_examples
from w2v_np.vocab import Vocab

SAMPLE = 1e-4
MIN_FREQ = 10
LABELS = {"seed": "seed, pure Python", "numpy": "w2v-np NumPy", "numba": "w2v-np Numba"}

# (key, label, {pipeline kind: stages summed}); "seed" stages come from seed_pipeline.STAGES.
ROWS = [
    ("read", "read file", {"seed": ["read"], "w2v": ["read"]}),
    ("vocabulary", "tokenise + count + vocabulary", {"seed": ["vocabulary"], "w2v": ["vocabulary"]}),
    ("encode", "encode to ids", {"seed": ["encode"], "w2v": ["encode"]}),
    ("subsample", "of which: subsample", {"seed": ["subsample"]}),
    ("windows", "of which: centers and contexts", {"seed": ["centers_contexts"]}),
    ("noise", "of which: noise words", {"seed": ["negatives"]}),
    ("examples", "subsample + windows + noise", {"seed": ["subsample", "centers_contexts", "negatives"],
                                                 "w2v": ["examples"]}),
    ("first_batch", "first batch", {"seed": ["first_batch"], "w2v": ["first_batch"]}),
]


def time_seed(path, args):
    """Stage seconds of one run of the seed's pipeline."""
    timings = {}
    seed_pipeline.first_batch(path, batch_size=args.batch_size, max_window=args.max_window,
                              num_noise_words=args.num_noise_words, seed=args.seed, timings=timings)
    return timings


def time_w2v(path, args, sampler):
    """Stage seconds of one run of w2v-np's preparation with ``sampler`` ("numpy" or "numba")."""
    options = dict(max_window=args.max_window, num_noise_words=args.num_noise_words,
                   sample=SAMPLE, sampler=sampler)
    rng = np.random.default_rng(args.seed)
    timings = {}
    clock = [time.perf_counter()]

    def lap(stage):
        now = time.perf_counter()
        timings[stage] = now - clock[0]
        clock[0] = now

    # read_corpus(path) of the training job, split in two to time the reading alone.
    text = Path(path).read_text(encoding="utf-8")
    lap("read")
    corpus = tokenize(text, use_kernels=sampler == "numba")
    vocab = Vocab.from_counts(corpus.types, corpus.counts, MIN_FREQ)
    lap("vocabulary")
    ids = vocab.ids_of(corpus.types)[corpus.type_ids]
    lap("encode")
    examples = build_examples(ids, corpus.offsets, vocab.counts, rng=rng, **options)
    lap("examples")
    next(examples.batches(args.batch_size, rng, dtype=np.float32))
    lap("first_batch")
    return timings


def available_pipelines(requested):
    """The requested pipelines that can run here, with a message for each one skipped."""
    kept = []
    for name in requested:
        if name == "numba" and not numba_available():
            print("skipping w2v-np Numba: Numba is not installed")
        else:
            kept.append(name)
    return kept


def summarise(runs, kind):
    """Medians over runs: per table row, plus the two totals."""
    summary = {}
    for key, _, parts in ROWS:
        if kind in parts:
            summary[key] = median(sum(run[stage] for stage in parts[kind]) for run in runs)
    summary["vocab_to_batch"] = median(sum(v for stage, v in run.items() if stage != "read") for run in runs)
    summary["file_to_batch"] = median(sum(run.values()) for run in runs)
    return summary


def table(medians, pipelines, repeats):
    others = [p for p in pipelines if p != "seed"]
    has_seed = "seed" in pipelines
    header = ["stage"] + [f"{LABELS[p]} (s)" for p in pipelines]
    if has_seed:
        header += [f"speed-up {LABELS[p]}" for p in others]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    rows = [(key, label) for key, label, _ in ROWS] + [
        ("vocab_to_batch", "**vocabulary -> first batch ready**"),
        ("file_to_batch", "**file -> first batch ready**")]
    for key, label in rows:
        cells = [label] + [f"{medians[p][key]:.3f}" if key in medians[p] else "—" for p in pipelines]
        if has_seed:
            cells += [f"{medians['seed'][key] / medians[p][key]:.1f}x"
                      if key in medians[p] and key in medians["seed"] else "—" for p in others]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Median of {repeats} runs after one warm-up run; batch 512, window 5, "
              "5 noise words, min count 10, sample 1e-4. The seed splits lines into tokens while "
              "reading, w2v-np tokenises and counts in one pass after reading the text; the seed "
              "encodes after subsampling, w2v-np before; the \"of which\" rows are the seed's "
              "parts of the row below them."]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--max-window", type=int, default=5)
    parser.add_argument("--num-noise-words", type=int, default=5)
    parser.add_argument("--pipelines", nargs="+", choices=list(LABELS), default=list(LABELS),
                        help="which preparations to time (default: all three)")
    parser.add_argument("--path", help="ptb.train.txt (default: found through W2V_NP_DATA)")
    parser.add_argument("--no-save", action="store_true",
                        help="print only; do not write results/prep.json nor RESULTS.md")
    args = parser.parse_args()
    path = args.path or find_ptb(download=False)
    pipelines = [p for p in LABELS if p in available_pipelines(args.pipelines)]
    if not pipelines:
        parser.exit(1, "nothing to time\n")
    runs = {}
    for name in pipelines:
        run_once = partial(time_seed, path, args) if name == "seed" else partial(time_w2v, path, args, name)
        run_once()  # warm-up: JIT compilation, caches
        runs[name] = []
        for repeat in range(args.repeats):
            gc.collect()
            timings = run_once()
            runs[name].append(timings)
            print(f"{LABELS[name]} run {repeat + 1}: file -> first batch {sum(timings.values()):.3f} s",
                  flush=True)
    medians = {name: summarise(runs[name], "seed" if name == "seed" else "w2v") for name in pipelines}
    lines = table(medians, pipelines, args.repeats)
    print("\n".join(lines))
    speedups = {}
    if "seed" in pipelines:
        speedups = {name: {key: medians["seed"][key] / medians[name][key]
                           for key in ("vocab_to_batch", "file_to_batch")}
                    for name in pipelines if name != "seed"}
        for name, ratio in speedups.items():
            print(f"speed-up of {LABELS[name]} over the seed: {ratio['vocab_to_batch']:.1f}x "
                  f"(vocabulary -> first batch), {ratio['file_to_batch']:.1f}x (file -> first batch)")
    if not args.no_save:
        settings = {key: getattr(args, key) for key in ("repeats", "seed", "batch_size", "max_window",
                                                        "num_noise_words")}
        save("prep", {"settings": dict(settings, min_freq=MIN_FREQ, sample=SAMPLE), "runs": runs,
                      "median": medians, "speedup": speedups}, lines)


if __name__ == "__main__":
    main()
