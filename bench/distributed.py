"""The dask engine against workers and ``--sync-tokens``, beside one process and Spark MLlib.

Usage: python bench/distributed.py [--corpus ptb|DIR] [--seeds 3] [--runs SPEC ...]
                                   [--sweep SPEC ...] [--ceiling] [--log FILE] [--baseline SPEC] [--name NAME]

``--corpus`` is ``ptb`` (3 epochs, WordSim-353 Spearman) or a folder written by
``bench/synthetic.py`` (``corpus.txt`` and ``pairs.tsv``: 1 epoch at ``--lr 0.05``,
planted-pair Spearman).  A run is a SPEC, ``engine[:key=value,...]``:

- ``numba:threads=T``: one process (``--engine numba``), ``T`` Hogwild threads;
- ``dask:workers=N[,sync_tokens=S][,combine=C][,lr=R]``: ``--workers N``, a ``LocalCluster``
  of ``N`` single-threaded worker processes (4 workers time-share this machine's cores);
- ``spark:partitions=P``: ``bench/spark_reference.py``, Spark MLlib's Word2Vec in local mode
  on every core, ``numPartitions = P`` (skipped with a note without PySpark or Java).

The ``--runs`` are run ``--seeds`` times, interleaved (round ``s`` runs every spec with
seed ``s``); the ``--sweep`` specs run once each, seed 0, after them; last, the case of the
d2l method (:func:`d2l_case`): its step time in one process against Dask's exchange of a
step's gradients, and with ``--ceiling`` what two processes at once can gain over one
(:func:`ceiling`).  ``--log`` keeps every run as a JSON line, so that an interrupted
benchmark goes on where it stopped.  Every run is a fresh process.  Figures per run:
``seconds`` the training (w2v-np: the epochs' time, the cluster's start excluded; Spark:
``Word2Vec.fit``), ``tokens_per_second`` the corpus file's tokens x epochs over it,
``wall`` the whole process, and the Spearman of the center vectors (w2v-np's
``evaluate_pairs`` for every engine).  The table gives means over seeds (the issue's unit)
and each run's figures are in ``results/NAME.json``.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
WORDSIM = Path(os.environ.get("W2V_NP_DATA", "."), "..", "eval", "wordsim353.tsv").resolve()
RUNS = ["numba:threads=1", "dask:workers=1", "dask:workers=2", "dask:workers=4", "spark:partitions=4"]
SWEEP = ["numba:threads=2", "dask:workers=2,sync_tokens=262144", "dask:workers=2,sync_tokens=524288",
         "dask:workers=2,combine=sum", "dask:workers=2,lr=0.025", "dask:workers=8,lr=0.025",
         "spark:partitions=1", "spark:partitions=2"]


def parse(spec):
    """``engine:key=value,...`` -> ``(engine, {key: value})`` (numbers as numbers)."""
    engine, _, rest = spec.partition(":")
    settings = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        settings[key] = int(value) if value.isdigit() else float(value) if value[:1].isdigit() else value
    return engine, settings


def corpus_settings(corpus):
    """The corpus file, the pairs file and the training settings shared by every engine."""
    if corpus == "ptb":
        settings = {"corpus": "ptb", "file": str(Path(os.environ.get("W2V_NP_DATA", "."), "ptb.train.txt").resolve()),
                    "pairs": str(WORDSIM), "epochs": 3, "lr": None, "min_count": 10}
    else:
        folder = Path(corpus)
        settings = {"corpus": str(folder / "corpus.txt"), "file": str(folder / "corpus.txt"),
                    "pairs": str(folder / "pairs.tsv"), "epochs": 1, "lr": 0.05, "min_count": 10}
    with open(settings["file"]) as lines:
        settings["tokens"] = sum(len(line.split()) for line in lines)
    return settings


def one_w2v_np(engine, settings, shared, seed):
    """One w2v-np run in this process: its figures (a dict)."""
    from w2v_np import TrainConfig, evaluate_pairs, train
    start = time.perf_counter()
    options = dict(settings)
    lr = options.pop("lr", shared["lr"])
    config = TrainConfig(corpus=shared["corpus"], method="word2vec", engine=engine, epochs=shared["epochs"],
                         min_count=shared["min_count"], seed=seed, **({} if lr is None else {"lr": lr}), **options)
    result = train(config, probes=(), quiet=True)
    epochs = result.metrics["epochs"]
    seconds = sum(epoch["seconds"] for epoch in epochs)
    quality = evaluate_pairs(result.embeddings(), shared["pairs"])
    return {"seconds": seconds, "tokens_per_second": shared["tokens"] * len(epochs) / seconds,
            "wall": time.perf_counter() - start, "prep_seconds": result.metrics["prep_seconds"],
            "spearman": quality.spearman, "loss": epochs[-1]["loss"], "rounds": epochs[0].get("rounds"),
            "received_mb": epochs[0].get("received_mb")}


def one_spark(settings, shared, seed):
    """One Spark MLlib run (``bench/spark_reference.py`` in a child process): its figures, or None."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder, "spark.json")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, str(BENCH / "spark_reference.py"), "--corpus", shared["file"],
                               "--partitions", str(settings["partitions"]), "--epochs", str(shared["epochs"]),
                               "--min-count", str(shared["min_count"]), "--seed", str(seed),
                               "--pairs", shared["pairs"], "--json", str(out)], capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            print(f"spark skipped: {(done.stderr or done.stdout).strip().splitlines()[-1:]}", flush=True)
            return None
        report = json.loads(out.read_text())
    return {"seconds": report["train_seconds"],
            "tokens_per_second": shared["tokens"] * shared["epochs"] / report["train_seconds"],
            "wall": time.perf_counter() - start, "prep_seconds": report["prep_seconds"],
            "spearman": report["spearman"], "loss": None, "rounds": None, "received_mb": None}


def run(spec, shared, seed):
    """One run in a fresh process: its figures, or None when its engine is missing here."""
    engine, settings = parse(spec)
    if engine == "spark":
        return one_spark(settings, shared, seed)
    done = subprocess.run([sys.executable, __file__, "--one", json.dumps([spec, shared, seed])],
                          capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{spec} seed {seed} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(lines[-1])


def ceiling(shared, repeats=3):
    """What data parallelism can gain on this machine at most: two single-threaded ``numba``
    trainings at once, each on half the corpus, against one of them alone (no Dask, no exchange).

    Both halves train the whole corpus's vocabulary (read from a vocabulary file), so their
    tables are a worker's: a half's own vocabulary would be smaller (87,259 words against
    99,809 on the 20M corpus) and its tables would fit the caches better.  Returns the
    throughput of the pair over that of one process alone, per repeat: the two processes
    share the cores' caches and the memory bus, as two workers do.
    """
    from w2v_np.corpus import read_corpus
    from w2v_np.vocab import Vocab
    lines = Path(shared["file"]).read_text().splitlines(keepends=True)
    whole = read_corpus(shared["file"], use_kernels=True)
    ratios = []
    with tempfile.TemporaryDirectory() as folder:
        vocab_file = Path(folder, "vocab.txt")
        Vocab.from_counts(whole.types, whole.counts, shared["min_count"]).save(vocab_file)
        halves = [Path(folder, f"half{i}.txt") for i in range(2)]
        for i, half in enumerate(halves):
            half.write_text("".join(lines[i::2]))
        specs = [json.dumps([f"numba:threads=1,vocab_file={vocab_file}", dict(shared, corpus=str(half)), 0])
                 for half in halves]
        command = [sys.executable, __file__, "--one"]
        for _ in range(repeats):
            alone = json.loads(subprocess.run(command + [specs[0]], capture_output=True, text=True,
                                              check=True).stdout.splitlines()[-1])["seconds"]
            pair = [subprocess.Popen(command + [spec], stdout=subprocess.PIPE, text=True) for spec in specs]
            together = max(json.loads(process.communicate()[0].splitlines()[-1])["seconds"] for process in pair)
            ratios.append(2 * alone / together)
    return ratios


def _exchange(own, *others):
    """A worker's stand-in for a d2l step: sum its partial gradients with the others'."""
    total = own.copy()
    for other in others:
        total += other
    return total


def d2l_case(shared, steps=200, rows=4_742, dim=100):
    """Whether the d2l method could gain from Dask: its step time in one process against the
    time a synchronous step takes on a 2-worker ``LocalCluster`` only to exchange its gradients.

    Exact data parallelism sums every worker's gradients before the one optimizer step: each
    step every worker needs every other's row-sparse gradients (``rows`` rows: on PTB a
    batch touches 458 center and 4,284 context rows), one all-to-all as the dask engine's
    rounds.  Measured as a chain of ``steps`` such exchanges whose tasks only add the arrays.
    """
    import numpy as np
    from distributed import Client, LocalCluster, wait

    from w2v_np import TrainConfig, train
    # The second run's step: the first one's includes loading (or compiling) the kernels.
    for _ in range(2):
        result = train(TrainConfig(corpus=shared["corpus"], method="d2l", engine="numba", epochs=1, seed=0),
                       probes=(), quiet=True)
    epoch = result.metrics["epochs"][0]
    step_seconds = epoch["seconds"] / -(-result.metrics["num_centers"] // result.metrics["plan"]["batch_size"])
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster) as client:
        workers = sorted(client.scheduler_info()["workers"])
        gradients = np.zeros((rows, dim), dtype=np.float32)
        previous = [client.submit(_exchange, gradients, workers=[w], pure=False) for w in workers]
        wait(previous)
        start = time.perf_counter()
        for _ in range(steps):
            previous = [client.submit(_exchange, previous[i], *previous[:i], *previous[i + 1:], workers=[w],
                                      pure=False) for i, w in enumerate(workers)]
        wait(previous)
        exchange_seconds = (time.perf_counter() - start) / steps
    return {"d2l_step_ms": 1e3 * step_seconds, "exchange_ms": 1e3 * exchange_seconds, "gradient_rows": rows}


def mean(values):
    values = [value for value in values if value is not None]
    return sum(values) / len(values) if values else None


def table(runs, baselines):
    """Markdown rows: per spec, the means over its seeds and the throughput ratios to ``baselines``."""
    by_spec = {}
    for entry in runs:
        by_spec.setdefault(entry["spec"], []).append(entry)
    means = {spec: {key: mean([e[key] for e in entries]) for key in ("seconds", "tokens_per_second", "wall",
                                                                     "spearman", "received_mb")}
             for spec, entries in by_spec.items()}
    names = [name for name in baselines if name in means]
    lines = ["| run | seeds | training s | tokens/s | " + " | ".join(f"× {name}" for name in names)
             + " | Spearman | × its Spearman | MB to each worker | rounds |",
             "|---|---|---|---|" + "---|" * len(names) + "---|---|---|---|"]
    reference = means.get(names[0]) if names else None
    for spec, entries in by_spec.items():
        m = means[spec]
        ratios = " | ".join(f"{m['tokens_per_second'] / means[name]['tokens_per_second']:.2f}" for name in names)
        quality = (f"{m['spearman'] / reference['spearman']:.3f}"
                   if reference and m["spearman"] is not None and reference["spearman"] else "")
        received = "" if m["received_mb"] is None else f"{m['received_mb']:.0f}"
        lines.append(f"| `{spec}` | {len(entries)} | {m['seconds']:.1f} | {m['tokens_per_second']:,.0f} | {ratios} | "
                     f"{m['spearman']:.4f} | {quality} | {received} | {entries[0]['rounds'] or ''} |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="ptb", help="ptb, or a bench/synthetic.py folder")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--runs", nargs="*", default=RUNS)
    parser.add_argument("--sweep", nargs="*", default=SWEEP)
    parser.add_argument("--name", default="distributed_ptb")
    parser.add_argument("--baseline", default="dask:workers=1", help="the spec the others are compared with")
    parser.add_argument("--log", help="a file of runs (JSON lines): a run found there is not run again, "
                                      "and every new run is appended")
    parser.add_argument("--ceiling", action="store_true",
                        help="also time two single-threaded processes at once against one alone")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--d2l", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one or args.d2l:
        # This file's folder comes first on the path, and its name would shadow Dask's package.
        sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH]
        if args.d2l:
            print(json.dumps(d2l_case(json.loads(args.d2l))))
            return
        spec, shared, seed = json.loads(args.one)
        engine, settings = parse(spec)
        print(json.dumps(one_w2v_np(engine, settings, shared, seed)))
        return
    # Not at the top: Dask's worker processes import this module again, without this folder on their path.
    from common import save
    shared = corpus_settings(args.corpus)
    load = os.getloadavg()[0]
    done = {}
    if args.log and Path(args.log).exists():
        for line in Path(args.log).read_text().splitlines():
            entry = json.loads(line)
            done[entry["spec"], entry["seed"]] = entry
    runs = []
    plan = [(spec, seed) for seed in range(args.seeds) for spec in args.runs] + [(spec, 0) for spec in args.sweep]
    for spec, seed in plan:
        if (spec, seed) in done:
            runs.append(done[spec, seed])
            continue
        figures = run(spec, shared, seed)
        if figures is not None:
            runs.append(dict(figures, spec=spec, seed=seed))
            print(json.dumps(runs[-1]), flush=True)
            if args.log:
                with open(args.log, "a") as log:
                    log.write(json.dumps(runs[-1]) + "\n")
    done = subprocess.run([sys.executable, __file__, "--d2l", json.dumps(corpus_settings("ptb"))],
                          capture_output=True, text=True)
    d2l = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    pair_ratios = ceiling(shared) if args.ceiling else None
    lines = table(runs, [args.baseline, "numba:threads=1"])
    if pair_ratios:
        lines += ["", "Two single-threaded processes at once, each on half the corpus, against one alone (no Dask): "
                  + ", ".join(f"{ratio:.2f}×" for ratio in pair_ratios) + " the throughput: what two workers can "
                  "gain at most on this machine."]
    if d2l is not None:
        lines += ["", f"The d2l method (PTB, `--engine numba`, 2 threads): {d2l['d2l_step_ms']:.1f} ms a step in one "
                  f"process; a 2-worker exchange of a step's gradients ({d2l['gradient_rows']:,} rows) alone: "
                  f"{d2l['exchange_ms']:.1f} ms a step."]
    lines += ["", f"Load average before: {load:.2f}. Means over seeds; `× X`: tokens/s over X's; "
              f"`× its Spearman`: over the first of those. 4 workers time-share 2 cores."]
    print("\n".join(lines))
    save(args.name, {"corpus": args.corpus, "settings": shared, "load_before": load, "runs": runs, "d2l": d2l,
                      "pair_over_one": pair_ratios}, lines)


if __name__ == "__main__":
    main()
