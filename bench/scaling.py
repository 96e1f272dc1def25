"""Scaling curves: time and peak memory against corpus size, vocabulary size and dimension.

Usage: python bench/scaling.py [--tokens 1e6 1e7 1e8] [--vocabs 1e4 1e5 1e6] [--dims 50 100 300]
                               [--base-tokens 1e7] [--base-vocab 1e5] [--base-dim 100]
                               [--engines w2v-np:numba-word2vec gensim] [--epochs 1] [--data DIR] [--name NAME]

Three sweeps on synthetic corpora (``bench/synthetic.py``: Zipf vocabulary, planted word
groups, a ``pairs.tsv`` scoring how well the groups are recovered), each varying one
quantity around a base point:

- corpus size: every ``--tokens`` value, with the base vocabulary and dimension;
- vocabulary size: every ``--vocabs`` value, with the base corpus size and dimension;
- dimension: every ``--dims`` value, with the base corpus size and vocabulary.

Each point is one fresh process per engine (``compare.run_once``): end-to-end, preparation
and training seconds, corpus words per second of training, the child's peak resident memory,
and the Spearman of its vectors on the corpus's ``pairs.tsv``.  Engines are ``compare.py``'s
(``ENGINE@name=value,...`` included).  The default is w2v-np's streaming Hogwild SGD
(``w2v-np:numba-word2vec``, which holds the corpus's token ids and draws everything else on the
fly) against gensim streaming the file (``--gensim-stream``, which holds only its
vocabulary); w2v-np's mini-batch variants run with ``--resample epoch``, which keeps the
subsampled corpus and one batch.  ``min_count`` is 5.  Corpora are generated into ``--data`` (kept and reused between
runs).  ``results/NAME.json`` is rewritten after every point (long sweeps keep what they
measured); at the end come ``results/NAME.png`` (time and memory per sweep) and tables in
RESULTS.md.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import RESULTS_DIR, new_figure, save
from compare import Settings, engine_argument, quality, run_once, unavailable

BENCH = Path(__file__).resolve().parent


def corpus(data, tokens, vocab):
    """The folder of a synthetic corpus of ``tokens`` tokens and ``vocab`` types, made once."""
    folder = Path(data) / f"zipf_{tokens}_{vocab}"
    if not (folder / "meta.json").exists():
        subprocess.run([sys.executable, str(BENCH / "synthetic.py"), "--tokens", str(tokens), "--vocab", str(vocab),
                        "--out", str(folder), "--quiet"], check=True)
    return folder


def point(engine, folder, dim, epochs, threads, env):
    """One run of ``engine`` on the corpus in ``folder``; its figures and quality."""
    settings = Settings(epochs=epochs, threads=threads, dim=dim, min_count=5, resample="epoch",
                        gensim_stream=True)
    run = run_once(engine, folder / "corpus.txt", 0, settings, env)
    run.update(quality(run.pop("vectors"), folder / "pairs.tsv", None))
    shutil.rmtree(run.pop("folder"))
    words = json.loads((folder / "meta.json").read_text())["tokens"]
    run["corpus_words_per_second"] = words * epochs / run["train_seconds"]
    return run


def sweeps(args):
    """``{sweep name: [(x value, corpus tokens, vocab, dim)]}`` from the command line."""
    return {"tokens": [(t, t, args.base_vocab, args.base_dim) for t in args.tokens],
            "vocab": [(v, args.base_tokens, v, args.base_dim) for v in args.vocabs],
            "dim": [(d, args.base_tokens, args.base_vocab, d) for d in args.dims]}


def draw(name, results):
    figure = new_figure((11, 6))
    if figure is None:
        return
    labels = {"tokens": "corpus tokens", "vocab": "vocabulary (types)", "dim": "dimension"}
    for column, sweep in enumerate(labels):
        if not any(results[sweep].values()):
            continue
        for row, (key, unit) in enumerate((("train_seconds", "training seconds"), ("peak_rss_mb", "peak MB"))):
            axes = figure.add_subplot(2, 3, row * 3 + column + 1)
            for index, (engine, points) in enumerate(results[sweep].items()):
                axes.plot([p["x"] for p in points], [p[key] for p in points], marker="o", color=f"C{index}",
                          label=engine)
            axes.set_xscale("log")
            axes.set_yscale("log")
            axes.set_xlabel(labels[sweep])
            axes.set_ylabel(unit)
            axes.grid(alpha=0.3)
            if row == column == 0:
                axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(RESULTS_DIR / f"{name}.png", dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=float, nargs="*", default=[1e6, 1e7, 1e8])
    parser.add_argument("--vocabs", type=float, nargs="*", default=[1e4, 1e5, 1e6])
    parser.add_argument("--dims", type=int, nargs="*", default=[50, 100, 300])
    parser.add_argument("--base-tokens", type=float, default=1e7)
    parser.add_argument("--base-vocab", type=float, default=1e5)
    parser.add_argument("--base-dim", type=int, default=100)
    parser.add_argument("--engines", nargs="+", default=["w2v-np:numba-word2vec", "gensim"], type=engine_argument)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--data", default=Path.home() / ".cache" / "w2v-np" / "synthetic",
                        help="folder for the generated corpora (kept for later runs)")
    parser.add_argument("--name", default="scaling")
    args = parser.parse_args()
    args.tokens, args.vocabs = [int(t) for t in args.tokens], [int(v) for v in args.vocabs]
    args.base_tokens, args.base_vocab = int(args.base_tokens), int(args.base_vocab)

    engines = [engine for engine in args.engines if not unavailable(engine)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), NUMBA_NUM_THREADS=str(args.threads))
    warm = corpus(args.data, 1_000_000, 10_000)
    for engine in engines:                                  # JIT caches, imports
        run_once(engine, warm / "corpus.txt", 0, Settings(epochs=1, threads=args.threads, min_count=5), env)
    results, lines, done = {}, [], {}
    for sweep, values in sweeps(args).items():
        results[sweep] = {engine: [] for engine in engines}
        if not values:
            continue
        for x, tokens, vocab, dim in values:
            folder = corpus(args.data, tokens, vocab)
            for engine in engines:
                # The base point belongs to all three sweeps: measured once.
                key = (engine, tokens, vocab, dim)
                if key not in done:
                    done[key] = point(engine, folder, dim, args.epochs, args.threads, env)
                run = dict(done[key], x=x)
                results[sweep][engine].append(run)
                print(f"{sweep}={x:,} {engine}: {run['prep_seconds']:.1f} s prep, "
                      f"{run['train_seconds']:.1f} s training, {run['corpus_words_per_second']:,.0f} words/s, "
                      f"{run['peak_rss_mb']:.0f} MB, Spearman {run['spearman']:.3f}", flush=True)
                RESULTS_DIR.mkdir(exist_ok=True)
                (RESULTS_DIR / f"{args.name}.json").write_text(json.dumps({"partial": True, "results": results},
                                                                          indent=2) + "\n")
        lines += [f"Sweep: {sweep}", "", f"| {sweep} | engine | end-to-end s | prep s | training s | "
                  "corpus words/s | peak MB | Spearman (planted pairs) |", "| --- " * 8 + "|"]
        lines += [f"| {p['x']:,} | {engine} | {p['wall_seconds']:.1f} | {p['prep_seconds']:.1f} | "
                  f"{p['train_seconds']:.1f} | {p['corpus_words_per_second']:,.0f} | "
                  f"{p['peak_rss_mb']:.0f} | {p['spearman']:.3f} |"
                  for engine, points in results[sweep].items() for p in points]
        lines.append("")
    RESULTS_DIR.mkdir(exist_ok=True)
    draw(args.name, results)
    notes = [f"Synthetic Zipf corpora (bench/synthetic.py); {args.epochs} epoch(s), {args.threads} threads, "
             f"min_count 5; gensim streams the file. Base point: "
             f"{args.base_tokens:,} tokens, {args.base_vocab:,} types, dimension {args.base_dim}. "
             f"Plot: results/{args.name}.png.", ""]
    save(args.name, {"epochs": args.epochs, "threads": args.threads, "results": results}, notes + lines)


if __name__ == "__main__":
    main()
