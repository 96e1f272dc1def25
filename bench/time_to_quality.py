"""Time to quality: how many seconds each engine needs to reach a WordSim-353 Spearman.

Usage: python bench/time_to_quality.py [--engines ...] [--epochs 1 2 3 5 10 20] [--seeds 0 1]
                                       [--targets 0.30 0.40] [--threads 2] [--name NAME]

The number of epochs is the free variable: every engine trains on PTB (or ``--corpus``)
once per epoch count and seed, each run a fresh process as in ``compare.py``; the quality
of a setting is the median Spearman over the seeds and its time the median end-to-end
seconds.  For each target the table gives the cheapest setting whose quality reaches it
(time and epochs), and the best quality seen with its time.  A target no setting reaches
is marked "not reached".  Writes ``results/NAME.json``, ``results/NAME.png`` (quality
against time, one line per engine) and a table in RESULTS.md.
"""
import argparse
import os
import shutil

from common import RESULTS_DIR, finish_time_axes, median, new_figure, save
from compare import EVAL_DIR, Settings, engine_argument, quality, run_once, unavailable

from w2v_np.corpus import resolve_corpus


def curve(engine, corpus, epoch_counts, seeds, threads, pairs, env):
    """``[{"epochs", "seconds", "spearman", "runs"}]`` of one engine, one entry per epoch count."""
    points = []
    for epochs in epoch_counts:
        runs = []
        for seed in seeds:
            run = run_once(engine, corpus, seed, Settings(epochs=epochs, threads=threads), env)
            run.update(quality(run.pop("vectors"), pairs, None))
            shutil.rmtree(run.pop("folder"))
            runs.append(run)
        point = {"epochs": epochs, "seconds": median([r["wall_seconds"] for r in runs]),
                 "spearman": median([r["spearman"] for r in runs]), "runs": runs}
        print(f"{engine}, {epochs} epochs: {point['seconds']:.1f} s, Spearman {point['spearman']:.3f}", flush=True)
        points.append(point)
    return points


def reached(points, target):
    """The fastest point whose quality is at least ``target``, or None."""
    good = [p for p in points if p["spearman"] >= target]
    return min(good, key=lambda p: p["seconds"]) if good else None


def draw(name, curves, targets):
    figure = new_figure((6, 4))
    if figure is None:
        return
    axes = figure.add_subplot()
    for index, (engine, points) in enumerate(curves.items()):
        axes.plot([p["seconds"] for p in points], [p["spearman"] for p in points], marker="o",
                  color=f"C{index}", label=engine)
        for p in points:
            axes.annotate(str(p["epochs"]), (p["seconds"], p["spearman"]), fontsize=7,
                          xytext=(2, 2), textcoords="offset points")
    for target in targets:
        axes.axhline(target, color="grey", linestyle=":", linewidth=1)
    finish_time_axes(axes, "WordSim-353 Spearman (median over seeds)",
                     "end-to-end seconds (log scale); labels: epochs")
    figure.tight_layout()
    figure.savefig(RESULTS_DIR / f"{name}.png", dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="ptb")
    parser.add_argument("--engines", nargs="+", type=engine_argument, default=["w2v-np:numba", "torch:cpu", "gensim"])
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 2, 3, 5, 10, 20])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--targets", type=float, nargs="+", default=[0.30, 0.40])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--pairs", default=EVAL_DIR / "wordsim353.tsv")
    parser.add_argument("--name", default="time_to_quality_ptb")
    args = parser.parse_args()

    corpus = resolve_corpus(args.corpus).resolve()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), NUMBA_NUM_THREADS=str(args.threads))
    curves, skipped = {}, {}
    for engine in args.engines:
        why = unavailable(engine)
        if why:
            skipped[engine] = why
            print(f"skipping {engine}: {why}")
            continue
        run_once(engine, corpus, 0, Settings(epochs=1, threads=args.threads), env)   # warm-up: JIT, file cache
        curves[engine] = curve(engine, corpus, args.epochs, args.seeds, args.threads, args.pairs, env)

    header = "| engine | " + " | ".join(f"to ρ ≥ {t:.2f}" for t in args.targets) + " | best ρ (time, epochs) |"
    lines = [header, "| --- " * (len(args.targets) + 2) + "|"]
    for engine, points in curves.items():
        cells = []
        for target in args.targets:
            point = reached(points, target)
            cells.append(f"{point['seconds']:.1f} s ({point['epochs']} epochs)" if point else "not reached")
        best = max(points, key=lambda p: p["spearman"])
        lines.append(f"| {engine} | " + " | ".join(cells) +
                     f" | {best['spearman']:.3f} ({best['seconds']:.1f} s, {best['epochs']} epochs) |")
    print("\n".join(lines))
    RESULTS_DIR.mkdir(exist_ok=True)
    draw(args.name, curves, args.targets)
    notes = [f"Corpus {corpus.name}; epochs {args.epochs}; seeds {args.seeds} (median); {args.threads} threads; "
             f"end-to-end seconds of a fresh process. Plot: results/{args.name}.png."]
    notes += [f"Skipped {engine}: {why}." for engine, why in skipped.items()]
    save(args.name, {"corpus": str(corpus), "targets": args.targets, "curves": curves, "skipped": skipped},
         notes + [""] + lines)


if __name__ == "__main__":
    main()
