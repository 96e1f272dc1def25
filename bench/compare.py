"""One command, several engines, one corpus: w2v-np against the seed's PyTorch code and gensim.

Usage: python bench/compare.py [--corpus ptb|FILE] [--engines ...] [--epochs 5] [--repeats 3]
                               [--threads 2] [--pairs FILE] [--analogies FILE] [--name NAME]

Engines (``--engines``, default: every one available here):

- ``w2v-np:VARIANT``, ``w2v-np train`` (see :data:`W2V_VARIANTS`): ``numpy`` the NumPy
  reference (engine and data pipeline); ``numba`` the exact fast path (fused kernels, dense
  Adam); ``numba-lazy-adam``; ``numba-d2l-sgd`` mini-batch SGD on the chapter's batches;
  ``numba-word2vec`` the word2vec method (streaming Hogwild SGD); ``cupy`` the reference
  engine on the CuPy backend (with a GPU); ``cupy-fused`` the numba.cuda kernels on it
  (atomics), ``cupy-fused-det`` their deterministic form (sorted reduction);
- ``torch:cpu``, ``torch:cuda``: ``bench/torch_reference.py``, the seed chapter's code;
- ``gensim``: ``bench/gensim_reference.py``, gensim's Word2Vec with the seed's settings,
  trained from the sentences in memory (its faster mode; ``--gensim-stream`` re-reads the file).

Any engine may carry its own hyper-parameters after ``@``, as ``name=value`` pairs joined
by commas: ``w2v-np:numba-word2vec@window=10,negative=15`` or ``gensim@window=10``; they become
the engine's flags (``--window 10 --negative 15``), and the name, settings included, labels
its rows.

An engine whose package (or GPU) is missing is skipped with a note.  Every run is a fresh
process, so the figures include start-up and each has its own peak memory (``ru_maxrss``
of the child).  Round 0 runs every engine once untimed (JIT caches, file cache); then
``--repeats`` rounds run the engines interleaved, with seed = round number, and the table
shows medians over rounds.  Units:

- end-to-end seconds: process start to exit, reading the corpus and writing vectors included;
- preparation seconds: as each engine reports it (w2v-np and torch: file to batches ready;
  gensim: ``build_vocab``);
- centers/s: centers (subsampled corpus positions) trained per second of epoch time;
  for gensim its "effective words", the same count;
- corpus words/s: corpus tokens x epochs / training seconds;
- loss: the last epoch's mean loss where the engine defines it (not gensim);
- quality: WordSim-353 Spearman and analogy accuracy of the center vectors, computed
  here with ``w2v_np.evaluate`` (gensim's semantics) for every engine alike.

Writes ``bench/results/NAME.json``, ``NAME_quality.png`` (quality against end-to-end
time, one point per run) and ``NAME_throughput.png``, and appends a table to RESULTS.md.
"""
import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import RESULTS_DIR, finish_time_axes, median, new_figure, save

from w2v_np import Embeddings, evaluate_analogies, evaluate_pairs
from w2v_np.corpus import read_corpus, resolve_corpus

BENCH = Path(__file__).resolve().parent
EVAL_DIR = Path(os.environ.get("W2V_NP_DATA", "."), "..", "eval").resolve()
W2V_VARIANTS = {
    "numpy": ["--engine", "numpy", "--sampler", "numpy"],
    "numba": ["--engine", "numba"],
    "numba-lazy-adam": ["--engine", "numba", "--optimizer", "lazy-adam"],
    "numba-d2l-sgd": ["--engine", "numba", "--optimizer", "sgd"],
    "numba-word2vec": ["--method", "word2vec"],
    "cupy": ["--engine", "numpy", "--backend", "cupy"],
    "cupy-fused": ["--engine", "numba", "--backend", "cupy"],
    "cupy-fused-det": ["--engine", "numba", "--backend", "cupy", "--deterministic"],
}
ENGINES = (*(f"w2v-np:{variant}" for variant in W2V_VARIANTS), "torch:cpu", "torch:cuda", "gensim")


def split_engine(text):
    """``(engine, flags)`` of an engine entry ``ENGINE[@name=value,...]``; ValueError if malformed."""
    engine, _, tuned = text.partition("@")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    flags = []
    for pair in filter(None, tuned.split(",")):
        name, equals, value = pair.partition("=")
        if not (equals and name and value):
            raise ValueError(f"expected name=value after @ in {text!r}, got {pair!r}")
        flags += ["--" + name.replace("_", "-"), value]
    return engine, flags


def engine_argument(text):
    """argparse type of ``--engines`` entries: checked by :func:`split_engine`, kept as written."""
    try:
        split_engine(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _gpu_visible(module):
    """Whether ``module`` (cupy or torch) sees a CUDA device, asked in a throw-away process."""
    probe = {"cupy": "import cupy; assert cupy.cuda.runtime.getDeviceCount() > 0",
             "torch": "import torch; assert torch.cuda.is_available()"}[module]
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def unavailable(engine):
    """Why ``engine`` cannot run here, or None when it can."""
    engine = split_engine(engine)[0]
    needs = "numba" if engine.startswith("w2v-np:numba") else "cupy" if engine.startswith("w2v-np:cupy") else {
        "torch:cpu": "torch", "torch:cuda": "torch", "gensim": "gensim"}.get(engine)
    if needs and importlib.util.find_spec(needs) is None:
        return f"{needs} is not installed"
    if needs == "cupy" or engine == "torch:cuda":
        if not _gpu_visible(needs):
            return "no GPU visible"
    return None


@dataclass
class Settings:
    """What every run of a comparison shares; ``dim`` and ``min_count`` default to the seed's.

    ``threads`` ``None`` leaves w2v-np its default (the usable CPUs, fewer while they are
    shared) and gives torch and gensim the usable CPUs.

    ``resample`` is w2v-np's (``epoch`` streams: memory independent of the epochs and of
    ``--negative``); ``gensim_stream`` makes gensim re-read the file every epoch instead of
    training from the sentences held in memory (its faster mode).
    """
    epochs: int = 5
    threads: int = os.cpu_count()
    dim: int = 100
    min_count: int = 10
    resample: str = "once"
    gensim_stream: bool = False


def command(engine, corpus, seed, folder, settings):
    """The command line of one run; its results land in ``folder``."""
    engine, tuned = split_engine(engine)
    shared = ["--corpus", str(corpus), "--epochs", str(settings.epochs), "--seed", str(seed),
              "--dim", str(settings.dim)]
    if engine.startswith("w2v-np"):
        variant = W2V_VARIANTS[engine.split(":")[1]]
        # --resample is the d2l method's: the word2vec method draws everything on the fly.
        resample = [] if "word2vec" in variant else ["--resample", settings.resample]
        threads = ["--threads", str(settings.threads)] if "numba" in engine and settings.threads else []
        return [sys.executable, "-m", "w2v_np", "train", *shared, "--out", str(folder / "run"), "--quiet",
                "--min-count", str(settings.min_count), *resample, *variant, *threads, *tuned]
    shared += ["--json", str(folder / "result.json"), "--vectors", str(folder / "vectors.txt")]
    threads = str(settings.threads or len(os.sched_getaffinity(0)))
    if engine.startswith("torch"):
        return [sys.executable, str(BENCH / "torch_reference.py"), "--device", engine.split(":")[1],
                "--threads", threads, *shared, *tuned]
    return [sys.executable, str(BENCH / "gensim_reference.py"), "--workers", threads, *shared,
            "--min-count", str(settings.min_count), *([] if settings.gensim_stream else ["--in-memory"]), *tuned]


def run_once(engine, corpus, seed, settings, env):
    """Run one engine in a child process; returns its figures (times, memory, loss, vectors path)."""
    folder = Path(tempfile.mkdtemp(prefix=f"compare-{engine.replace(':', '-')}-"))
    start = time.perf_counter()
    # cwd is the run's folder, so `python -m w2v_np` imports the installed package, not ./w2v_np.
    # stderr goes to a file: a pipe nobody reads while waiting could fill up and block the child.
    with open(folder / "stderr.txt", "wb") as errors:
        child = subprocess.Popen(command(engine, corpus, seed, folder, settings), env=env, cwd=folder,
                                 stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)    # usage: this child's own peak memory
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        last = (folder / "stderr.txt").read_text(errors="replace").strip().splitlines()[-1:]
        raise SystemExit(f"{engine} failed with status {child.returncode}: {last}")
    if engine.startswith("w2v-np"):
        metrics = json.loads((folder / "run" / "metrics.json").read_text())
        report = {"prep_seconds": metrics["prep_seconds"], "epochs": metrics["epochs"],
                  "num_centers": metrics["num_centers"], "vectors": str(folder / "run" / "vectors.txt")}
    else:
        report = json.loads((folder / "result.json").read_text())
        if "effective_words" in report:     # gensim: centers trained, summed over the epochs
            report["num_centers"] = report["effective_words"] / len(report["epochs"])
    epoch_seconds = [e["seconds"] for e in report["epochs"]]
    return {"engine": engine, "seed": seed, "wall_seconds": wall, "peak_rss_mb": usage.ru_maxrss / 1024,
            "epoch_threads": [e.get("threads") for e in report["epochs"]],
            "prep_seconds": report["prep_seconds"], "epoch_seconds": epoch_seconds,
            "train_seconds": sum(epoch_seconds), "num_centers": report["num_centers"],
            "last_loss": report["epochs"][-1].get("loss"), "vectors": report["vectors"], "folder": folder}


def quality(vectors, pairs, analogies):
    """WordSim Spearman and analogy accuracy of a vectors file (None for a missing file)."""
    embeddings = Embeddings.load(vectors)
    return {"spearman": evaluate_pairs(embeddings, pairs).spearman if pairs else None,
            "analogy_accuracy": evaluate_analogies(embeddings, analogies).accuracy if analogies else None}


def summarise(runs, corpus_words, epochs):
    """Medians over the timed rounds of one engine."""
    def med(key):
        values = [r[key] for r in runs if r[key] is not None]
        return median(values) if values else None
    per_epoch = median([s for r in runs for s in r["epoch_seconds"]])
    centers = runs[0]["num_centers"]
    return {"wall_seconds": med("wall_seconds"), "prep_seconds": med("prep_seconds"),
            "epoch_seconds": per_epoch, "centers_per_second": centers / per_epoch if centers else None,
            "corpus_words_per_second": corpus_words * epochs / med("train_seconds"),
            "peak_rss_mb": med("peak_rss_mb"), "last_loss": med("last_loss"), "spearman": med("spearman"),
            "analogy_accuracy": med("analogy_accuracy"), "runs": len(runs)}


def available(engines):
    """``(the engines that can run here, {engine: why not} for the others)``, the others announced."""
    runnable, skipped = [], {}
    for engine in engines:
        why = unavailable(engine)
        if why:
            skipped[engine] = why
            print(f"skipping {engine}: {why}")
        else:
            runnable.append(engine)
    return runnable, skipped


def run_rounds(engines, corpus, corpus_words, settings, env, repeats, pairs, analogies):
    """A warm-up round, then ``repeats`` interleaved rounds (seed = round); returns ``(runs, summary)``."""
    runs = []
    for round_number in range(repeats + 1):
        for engine in engines:
            run = run_once(engine, corpus, round_number, settings, env)
            run.update(quality(run.pop("vectors"), pairs, analogies))
            shutil.rmtree(run.pop("folder"))
            state = "warm-up" if round_number == 0 else f"round {round_number}"
            print(f"{state} {engine}: {run['wall_seconds']:.2f} s end to end, {run['train_seconds']:.2f} s "
                  f"training, {run['peak_rss_mb']:.0f} MB, Spearman {_number(run['spearman'], 3)}", flush=True)
            if round_number > 0:
                runs.append(run)
    summary = {engine: summarise([r for r in runs if r["engine"] == engine], corpus_words, settings.epochs)
               for engine in engines}
    return runs, summary


def _number(value, digits):
    return "" if value is None else f"{value:,.{digits}f}"


def table(summary):
    lines = ["| engine | end-to-end s | prep s | s / epoch | centers/s | corpus words/s | peak MB | "
             "last loss | WordSim ρ | analogies |", "| --- " * 10 + "|"]
    for engine, row in summary.items():
        lines.append(f"| {engine} | {_number(row['wall_seconds'], 2)} | {_number(row['prep_seconds'], 2)} | "
                     f"{_number(row['epoch_seconds'], 2)} | {_number(row['centers_per_second'], 0)} | "
                     f"{_number(row['corpus_words_per_second'], 0)} | {_number(row['peak_rss_mb'], 0)} | "
                     f"{_number(row['last_loss'], 4)} | {_number(row['spearman'], 3)} | "
                     f"{_number(row['analogy_accuracy'], 4)} |")
    return lines


def draw(name, runs, summary):
    """Quality against end-to-end time (one point per run) and throughput bars, as PNGs."""
    figure = new_figure((6, 4))
    if figure is None:
        return
    axes = figure.add_subplot()
    for index, engine in enumerate(summary):
        points = [(r["wall_seconds"], r["spearman"]) for r in runs
                  if r["engine"] == engine and r["spearman"] is not None]
        if points:
            axes.scatter(*zip(*points), label=engine, color=f"C{index}")
    finish_time_axes(axes, "WordSim-353 Spearman")
    figure.tight_layout()
    figure.savefig(RESULTS_DIR / f"{name}_quality.png", dpi=110)

    figure = new_figure((6, 0.5 + 0.45 * len(summary)))
    axes = figure.add_subplot()
    engines = list(summary)
    axes.barh(engines, [summary[e]["corpus_words_per_second"] for e in engines],
              color=[f"C{i}" for i in range(len(engines))])
    axes.invert_yaxis()
    axes.set_xlabel("corpus words per second of training (median)")
    axes.grid(alpha=0.3, axis="x")
    figure.tight_layout()
    figure.savefig(RESULTS_DIR / f"{name}_throughput.png", dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="ptb", help="'ptb' or a text file (one sentence per line)")
    parser.add_argument("--engines", nargs="+", type=engine_argument, default=list(ENGINES),
                        help="engines to run, each optionally ENGINE@name=value,... (see above)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds after the warm-up round")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="torch threads, gensim workers, w2v-np's Numba threads")
    parser.add_argument("--pairs", type=Path, default=EVAL_DIR / "wordsim353.tsv")
    parser.add_argument("--analogies", type=Path, default=EVAL_DIR / "questions-words.txt")
    parser.add_argument("--name", default="compare_ptb", help="name of the results (JSON, PNGs, RESULTS.md)")
    parser.add_argument("--gensim-stream", action="store_true",
                        help="gensim re-reads the file every epoch instead of training from a list of "
                             "sentences in memory (its faster mode, the default here)")
    parser.add_argument("--no-save", action="store_true", help="only print")
    args = parser.parse_args()

    corpus = resolve_corpus(args.corpus).resolve()
    corpus_words = int(read_corpus(corpus).counts.sum())
    pairs = args.pairs if args.pairs and args.pairs.is_file() else None
    analogies = args.analogies if args.analogies and args.analogies.is_file() else None
    engines, skipped = available(args.engines)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), NUMBA_NUM_THREADS=str(args.threads))
    settings = Settings(epochs=args.epochs, threads=args.threads, gensim_stream=args.gensim_stream)

    runs, summary = run_rounds(engines, corpus, corpus_words, settings, env, args.repeats, pairs, analogies)
    lines = table(summary)
    print("\n".join(lines))
    if args.no_save:
        return
    RESULTS_DIR.mkdir(exist_ok=True)
    draw(args.name, runs, summary)
    notes = [f"Corpus {corpus.name} ({corpus_words:,} words), {args.epochs} epochs, {args.threads} threads; "
             f"median of {args.repeats} interleaved rounds after a warm-up round, seeds 1..{args.repeats}. "
             f"Quality: Spearman on {pairs.name if pairs else '-'}, accuracy on "
             f"{analogies.name if analogies else '-'} (w2v_np.evaluate). Plots: results/{args.name}_quality.png, "
             f"results/{args.name}_throughput.png."]
    notes += [f"Skipped {engine}: {why}." for engine, why in skipped.items()]
    save(args.name, {"corpus": str(corpus), "corpus_words": corpus_words, "epochs": args.epochs,
                     "threads": args.threads, "repeats": args.repeats, "skipped": skipped, "summary": summary,
                     "runs": runs}, notes + [""] + lines)


if __name__ == "__main__":
    main()
