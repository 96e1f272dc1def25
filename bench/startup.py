"""What a fresh process pays before and after training: each stage of start-up, timed in new processes.

Usage: W2V_NP_DATA=/path/to/ptb python bench/startup.py [--repeats 5] [--name startup_ptb]

Every measurement runs in a fresh Python process (the kernels' cache on disk already
filled by a warm-up round), ``--repeats`` interleaved rounds, medians:

- **stages**, one child that times, in order: importing NumPy, importing ``w2v_np``,
  importing Numba, the first call of a cached kernel (Numba's own start-up: its typing
  and lowering registries, without the BLAS check, skipped as the command skips it),
  :func:`w2v_np.train.prepare` on PTB as a run does it (the rest of the kernels'
  cache loads, then reading, vocabulary, subsampling, windows, noise words), the same
  preparation once more in the same process (no loads left: the work alone), drawing
  ``loss.png``, writing ``vectors.txt``, then the interpreter's exit (from the child's
  last line to its end, seen by this process), once as a library's process ends
  (CPython collects every object still tracked, Numba's registries included) and once
  after ``gc.freeze()``, as the ``w2v-np`` command ends;
- **prep**: ``prep_seconds`` of a fresh ``w2v-np train --corpus ptb --epochs 1`` (as
  ``metrics.json`` reports it) and that run's end-to-end seconds;
- **seed**: the chapter's pure-Python pipeline (``seed_pipeline.first_batch``, file to the
  first batch) in a fresh process: the anchor of the preparation's speed-up.

Writes ``results/NAME.json`` and the section ``## NAME`` of RESULTS.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import median, save

BENCH = Path(__file__).resolve().parent

STAGES = r"""
import json, sys, time
clock = time.perf_counter
marks = [("start", clock())]
import numpy as np
marks.append(("import numpy", clock()))
import w2v_np
from w2v_np import TrainConfig, make_plan, numba_startup
numba_startup.skip_blas_check()
from w2v_np.train import _random_streams, _use_threads, prepare
marks.append(("import w2v_np", clock()))
import numba
marks.append(("import numba", clock()))
from w2v_np.kernels import rng
rng.chunk_stream(1, 0)
marks.append(("first kernel call (Numba's start-up)", clock()))
plan = make_plan(TrainConfig(corpus="ptb", epochs=1))
_use_threads(plan)
vocab, data, _ = prepare(plan, _random_streams(0)[0], [])
marks.append(("prepare PTB, fresh (kernel loads + work)", clock()))
prepare(plan, _random_streams(0)[0], [])
marks.append(("prepare PTB again (work only)", clock()))
from w2v_np.plot import plot_loss
plot_loss([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.4}], sys.argv[1] + "/loss.png")
marks.append(("draw loss.png", clock()))
from w2v_np.io import write_word2vec
write_word2vec(sys.argv[1] + "/vectors.txt", vocab.idx_to_token,
               np.random.default_rng(0).normal(size=(len(vocab), 100)).astype(np.float32))
marks.append(("write vectors.txt", clock()))
figures = {b[0]: b[1] - a[1] for a, b in zip(marks, marks[1:])}
if sys.argv[2] == "freeze":
    import gc
    gc.freeze()
print(json.dumps(dict(figures, ended=time.time())), flush=True)
"""

SEED = r"""
import json, sys, time
start = time.perf_counter()
sys.path.insert(0, sys.argv[3])
import seed_pipeline
seed_pipeline.first_batch(sys.argv[2])
print(json.dumps({"seed pipeline, file to first batch": time.perf_counter() - start}))
"""


def child(code, *args):
    """Run ``code`` in a fresh interpreter (outside the checkout); returns its JSON line, its wall
    seconds and the ``time.time()`` at its end."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code, folder, *args], cwd=folder, capture_output=True,
                              text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - start, time.time()


def stages():
    """The stages child's figures, run once as a library's process ends and once as the command's does."""
    figures, wall, ended = child(STAGES, "collect")
    figures["interpreter exit, objects collected (a library's process)"] = ended - figures.pop("ended")
    figures["stages child, end to end"] = wall
    frozen, _, ended = child(STAGES, "freeze")
    figures["interpreter exit after gc.freeze() (the w2v-np command)"] = ended - frozen.pop("ended")
    return figures


def fresh_train():
    """``prep_seconds`` and end-to-end seconds of a fresh ``w2v-np train --corpus ptb --epochs 1``."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "w2v_np", "train", "--corpus", "ptb", "--epochs", "1", "--out",
                        "run", "--quiet"], cwd=folder, check=True, capture_output=True)
        wall = time.perf_counter() - start
        metrics = json.loads(Path(folder, "run", "metrics.json").read_text())
    return {"w2v-np train prep_seconds": metrics["prep_seconds"], "w2v-np train end to end": wall,
            "w2v-np train epoch": metrics["epochs"][0]["seconds"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--name", default="startup_ptb")
    parser.add_argument("--no-save", action="store_true", help="only print")
    args = parser.parse_args()
    from w2v_np.corpus import find_ptb
    ptb = find_ptb(download=False)
    load = os.getloadavg()
    rounds = []
    for number in range(args.repeats + 1):
        figures = stages()
        figures.update(child(SEED, str(ptb), str(BENCH))[0])
        figures.update(fresh_train())
        if number:
            rounds.append(figures)
        print(f"{'warm-up' if number == 0 else f'round {number}'}: " +
              ", ".join(f"{k} {v:.3f}" for k, v in figures.items()), flush=True)
    medians = {key: median([r[key] for r in rounds]) for key in rounds[0]}
    ratio = medians["seed pipeline, file to first batch"] / medians["w2v-np train prep_seconds"]
    lines = [f"Fresh processes, medians of {args.repeats} interleaved rounds after a warm-up; load average "
             f"before the start {load[0]:.2f}.", "", "| stage | seconds |", "| --- | --- |"]
    lines += [f"| {key} | {value:.3f} |" for key, value in medians.items()]
    lines += ["", f"Fresh `w2v-np train` preparation against the chapter's pipeline: **{ratio:.1f}×**."]
    print("\n".join(lines))
    if not args.no_save:
        save(args.name, {"repeats": args.repeats, "load_before": load, "rounds": rounds, "medians": medians,
                         "seed_over_prep": ratio}, lines)


if __name__ == "__main__":
    main()
