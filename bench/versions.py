"""Training speed on the oldest and the newest supported Python + NumPy: the numpy engine, fresh processes.

Usage: W2V_NP_DATA=/path/to/ptb python bench/versions.py [--repeats 5] [--corpus ptb]
       [--venv-oldest .venvs/oldest] [--venv-newest .venvs/newest] [--name versions_ptb]

The venvs are the ones ``.ci/versions.sh`` builds (NumPy only, w2v-np installed from the
checkout as it was then: rerun ``.ci/versions.sh`` after editing the package). Every round
runs, in each venv and in a fresh process,
``w2v-np train --corpus CORPUS --epochs 1 --engine numpy --sampler numpy --quiet``;
a warm-up round first (file cache, bytecode; a PTB download if there is one), then
``--repeats`` interleaved rounds, the venvs' order alternating, medians. Reports the
epoch's seconds (``metrics.json``) and the end-to-end seconds, the oldest over the newest,
and whether the target holds for each: the oldest at most 2x the newest.

Writes ``results/NAME.json`` and the section ``## NAME`` of RESULTS.md.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from common import median, save

CHECKOUT = Path(__file__).resolve().parent.parent
TARGET = 2.0
VERSIONS = "import sys, numpy; print(sys.version.split()[0], numpy.__version__)"


def describe(venv):
    """``(python, numpy)`` version strings of ``venv``; exits with a hint when it is not built."""
    if not (venv / "bin" / "w2v-np").is_file():
        raise SystemExit(f"{venv} holds no w2v-np: build it with .ci/versions.sh (or pass --venv-oldest/--venv-newest)")
    done = subprocess.run([str(venv / "bin" / "python"), "-c", VERSIONS], capture_output=True, text=True, check=True)
    return tuple(done.stdout.split())


def train_once(venv, corpus):
    """Epoch seconds (``metrics.json``) and end-to-end seconds of one fresh run in ``venv``."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run([str(venv / "bin" / "w2v-np"), "train", "--corpus", corpus, "--epochs", "1",
                        "--engine", "numpy", "--sampler", "numpy", "--out", "run", "--quiet"],
                       cwd=folder, check=True, capture_output=True)
        wall = time.perf_counter() - start
        metrics = json.loads(Path(folder, "run", "metrics.json").read_text())
    return {"epoch": metrics["epochs"][0]["seconds"], "end to end": wall}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--corpus", default="ptb", help="what `w2v-np train --corpus` gets (default: ptb)")
    parser.add_argument("--venv-oldest", type=Path, default=CHECKOUT / ".venvs" / "oldest")
    parser.add_argument("--venv-newest", type=Path, default=CHECKOUT / ".venvs" / "newest")
    parser.add_argument("--name", default="versions_ptb")
    parser.add_argument("--no-save", action="store_true", help="only print")
    args = parser.parse_args()
    venvs = {"oldest": args.venv_oldest.resolve(), "newest": args.venv_newest.resolve()}
    versions = {label: describe(venv) for label, venv in venvs.items()}
    corpus = args.corpus if args.corpus == "ptb" else str(Path(args.corpus).resolve())
    load = os.getloadavg()
    print(f"load average before the start: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}", flush=True)
    rounds = {label: [] for label in venvs}
    for number in range(args.repeats + 1):
        order = list(venvs) if number % 2 == 0 else list(reversed(venvs))
        for label in order:
            figures = train_once(venvs[label], corpus)
            if number:
                rounds[label].append(figures)
            print(f"{'warm-up' if number == 0 else f'round {number}'} {label}: epoch {figures['epoch']:.3f} s, "
                  f"end to end {figures['end to end']:.3f} s", flush=True)
    medians = {label: {key: median([r[key] for r in runs]) for key in runs[0]} for label, runs in rounds.items()}
    ratios = {key: medians["oldest"][key] / medians["newest"][key] for key in medians["oldest"]}
    met = {key: ratio <= TARGET for key, ratio in ratios.items()}
    lines = [f"`w2v-np train --corpus {args.corpus} --epochs 1 --engine numpy --sampler numpy`, a fresh process "
             f"per run; medians of {args.repeats} interleaved rounds after a warm-up; load average before the "
             f"start {load[0]:.2f}.", "",
             "| interpreter | Python | NumPy | epoch s | end-to-end s |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {label} | {versions[label][0]} | {versions[label][1]} | {medians[label]['epoch']:.2f} | "
              f"{medians[label]['end to end']:.2f} |" for label in venvs]
    lines += ["", f"Oldest over newest (target: at most {TARGET:g}×): " + ", ".join(
        f"**{ratios[key]:.2f}×** {key} ({'met' if met[key] else 'NOT met'})" for key in ratios) + "."]
    print("\n".join(lines))
    if not args.no_save:
        save(args.name, {"repeats": args.repeats, "corpus": args.corpus, "load_before": load,
                         "versions": versions, "rounds": rounds, "medians": medians, "oldest_over_newest": ratios,
                         "target_met": met}, lines)


if __name__ == "__main__":
    main()
