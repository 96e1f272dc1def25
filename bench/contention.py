"""Speed when the CPU is shared: every CPU engine idle and beside one busy process per usable CPU.

Usage: python bench/contention.py [--corpus ptb] [--engines ...] [--epochs 2] [--repeats 3]
                                  [--name contention_ptb]

Each engine trains in a fresh process (``compare.py``'s runs: the same commands, engines
and ``@name=value`` settings), once on an idle machine and once while ``N`` busy loops run,
``N`` the CPUs this process may use; so ``N`` loops against an engine's ``N`` threads
shares the CPUs 2:1, as a laptop running a build or a CI runner with other jobs does.
The busy loops are this script's children, started before and stopped after each shared
run, in the same session as the engine (so the kernel's per-session grouping of
processes treats them as one group, as it would a user's shell).  Round 0 warms up (JIT
caches, file cache) untimed; then ``--repeats`` rounds run every engine idle, then
shared, interleaved, with seed = round number.

The default engines: w2v-np's exact path (``numba``, dense Adam) at its default threads
(the usable CPUs, fewer while they are shared) and at a fixed ``--threads`` equal to the
usable CPUs, lazy Adam, the word2vec method per pair and per window, gensim, and the
chapter's PyTorch code on the CPU.  The table gives median seconds per epoch (over every
epoch of every round) idle and shared, the slowdown (shared over idle), the median end
to end, and for w2v-np's d2l engines the mean number of threads the steps ran on.

Writes ``results/NAME.json`` and the section ``## NAME`` of RESULTS.md (``--no-save``: print only).
"""
import argparse
import os
import shutil
import subprocess
import sys

from common import median, save
from compare import EVAL_DIR, Settings, available, engine_argument, quality, run_once

from w2v_np.corpus import read_corpus, resolve_corpus
from w2v_np.threads import usable_cpus

BUSY_LOOP = "while True:\n    pass\n"


def default_engines(cpus):
    return ["w2v-np:numba", f"w2v-np:numba@threads={cpus}", "w2v-np:numba-lazy-adam", "w2v-np:numba-word2vec",
            "w2v-np:numba-word2vec@noise_per=window", "gensim", "torch:cpu"]


class BusyLoops:
    """``count`` processes spinning on the CPU while the ``with`` block runs."""

    def __init__(self, count):
        self.count = count

    def __enter__(self):
        self.loops = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(self.count)]
        return self

    def __exit__(self, *exc):
        for loop in self.loops:
            loop.kill()
        for loop in self.loops:
            loop.wait()


def run(engine, corpus, seed, settings, env, busy, pairs):
    """One run of ``engine``, idle (``busy`` 0) or beside ``busy`` busy loops."""
    if busy:
        with BusyLoops(busy):
            result = run_once(engine, corpus, seed, settings, env)
    else:
        result = run_once(engine, corpus, seed, settings, env)
    result.update(quality(result.pop("vectors"), pairs, None))
    shutil.rmtree(result.pop("folder"))
    return result


def summarise(runs):
    """Per engine and condition: median seconds per epoch, end to end, mean threads, quality."""
    summary = {}
    for run in runs:
        summary.setdefault(run["engine"], {}).setdefault(run["condition"], []).append(run)
    table = {}
    for engine, conditions in summary.items():
        row = {}
        for condition, group in conditions.items():
            threads = [t for r in group for t in r["epoch_threads"] if t is not None]
            row[condition] = {"epoch_seconds": median([s for r in group for s in r["epoch_seconds"]]),
                              "wall_seconds": median([r["wall_seconds"] for r in group]),
                              "mean_threads": sum(threads) / len(threads) if threads else None,
                              "spearman": median([r["spearman"] for r in group]) if group[0]["spearman"]
                              is not None else None, "runs": len(group)}
        if "idle" in row and "shared" in row:
            row["slowdown"] = row["shared"]["epoch_seconds"] / row["idle"]["epoch_seconds"]
        table[engine] = row
    return table


def lines_of(table):
    def number(value, digits):
        return "" if value is None else f"{value:.{digits}f}"
    lines = ["| engine | s / epoch idle | s / epoch shared | slowdown | end to end idle | end to end shared | "
             "threads idle | threads shared | WordSim ρ idle |", "| --- " * 9 + "|"]
    for engine, row in table.items():
        idle, shared = row.get("idle", {}), row.get("shared", {})
        lines.append(f"| {engine} | {number(idle.get('epoch_seconds'), 2)} | {number(shared.get('epoch_seconds'), 2)} "
                     f"| **{number(row.get('slowdown'), 2)}×** | {number(idle.get('wall_seconds'), 1)} | "
                     f"{number(shared.get('wall_seconds'), 1)} | {number(idle.get('mean_threads'), 2)} | "
                     f"{number(shared.get('mean_threads'), 2)} | {number(idle.get('spearman'), 3)} |")
    return lines


def main():
    cpus = usable_cpus()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="ptb", help="'ptb' or a text file (one sentence per line)")
    parser.add_argument("--engines", nargs="+", type=engine_argument, default=default_engines(cpus))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds after the warm-up round")
    parser.add_argument("--name", default="contention_ptb", help="name of the results (JSON, RESULTS.md)")
    parser.add_argument("--no-save", action="store_true", help="only print")
    args = parser.parse_args()

    corpus = resolve_corpus(args.corpus).resolve()
    corpus_words = int(read_corpus(corpus).counts.sum())
    pairs = EVAL_DIR / "wordsim353.tsv"
    pairs = pairs if pairs.is_file() else None
    engines, skipped = available(args.engines)
    load = os.getloadavg()
    settings = Settings(epochs=args.epochs, threads=None)
    env = dict(os.environ)
    runs = []
    for round_number in range(args.repeats + 1):
        for engine in engines:
            for condition, busy in (("idle", 0), ("shared", cpus)):
                result = run(engine, corpus, round_number, settings, env, busy, pairs)
                label = "warm-up" if round_number == 0 else f"round {round_number}"
                print(f"{label} {engine} {condition}: {median(result['epoch_seconds']):.2f} s / epoch, "
                      f"{result['wall_seconds']:.1f} s end to end", flush=True)
                if round_number > 0:
                    runs.append(dict(result, condition=condition))
    table = summarise(runs)
    lines = [f"Corpus {corpus.name} ({corpus_words:,} words), {args.epochs} epochs a run; {cpus} usable CPUs, "
             f"shared with {cpus} busy loops (2:1); medians of {args.repeats} interleaved rounds after a "
             f"warm-up; load average before the start {load[0]:.2f}.", ""]
    lines += [f"Skipped {engine}: {why}." for engine, why in skipped.items()]
    lines += lines_of(table)
    print("\n".join(lines))
    if not args.no_save:
        save(args.name, {"corpus": str(corpus), "corpus_words": corpus_words, "epochs": args.epochs,
                         "usable_cpus": cpus, "repeats": args.repeats, "load_before": load, "skipped": skipped,
                         "summary": table, "runs": runs}, lines)


if __name__ == "__main__":
    sys.exit(main())
