"""A Spark MLlib reference run: ``pyspark.ml.feature.Word2Vec`` in local mode, the distributed anchor.

Usage: python bench/spark_reference.py --corpus PATH [--partitions 1] [--cores 2] [--dim 100]
           [--window 5] [--min-count 5] [--epochs 1] [--lr 0.025] [--seed 0]
           [--max-sentence-length 1000] [--driver-memory 8g] [--pairs FILE] [--json OUT] [--vectors OUT]

Needs ``pyspark`` (``pip install pyspark``, benchmark only, never a dependency of the
package) and a Java runtime that it supports (Java 17 or 21 for pyspark 4); without either
the script prints one line and exits with status 2, as the other reference scripts skip a
missing engine.  ``run_spark`` does the work and is what other bench scripts import
(``from spark_reference import run_spark, unavailable``).

What is trained.  Spark MLlib's Word2Vec (``vectorSize=--dim, windowSize=--window,
minCount=--min-count, maxIter=--epochs, stepSize=--lr, numPartitions=--partitions, seed,
maxSentenceLength``) on a ``local[--cores]`` master: the driver and its executor threads
share one JVM.  The corpus is one whitespace-tokenised sentence per line, read by Spark
(``spark.read.text``, split on whitespace into an array column, empty lines dropped) and
cached, so it never exists as Python lists; every token is kept (``<unk>`` included, which
``gensim_reference.py`` drops).  As read in Spark's source (``mllib/feature/Word2Vec.scala``;
the installed 4.x jar's bytecode has the same steps) and stated in its API docs ("skip-gram
model ... and hierarchical softmax"), the model is word2vec.c's skip-gram with hierarchical
softmax over a Huffman tree of the vocabulary; there is no negative sampling and no
subsampling of frequent words.  Words below ``minCount`` are removed before windowing; the
window is shrunk at random as in word2vec.c.  Distribution: ``fit`` repartitions the
sentences into ``numPartitions`` (P); in each iteration the driver broadcasts the input and
Huffman-node matrices, every partition runs plain SGD over its own sentences starting from
the broadcast, and the driver replaces every row touched by at least one partition with the
*mean* of the touching partitions' copies: model averaging once per iteration, so on a
cluster a row seen by all P partitions moves by about 1/P of its summed updates.  The
learning rate decays linearly from ``stepSize`` to a floor of ``stepSize * 1e-4``, each
partition estimating the progress as P times its own words
(``alpha = stepSize * (1 - (P * words_done_here + (k-1) * train_words) / (maxIter * train_words + 1))``,
refreshed every 10,000 words): more partitions keep the schedule, but each sees 1/P of the
data, so on a cluster expect lower quality per iteration with P > 1 (more ``--epochs`` or a
larger ``--lr`` compensate).  Local mode differs: a broadcast is not copied inside the JVM
that made it (``TorrentBroadcast`` keeps the driver's object in the local block manager and
tasks read that object back), and MLlib trains in place on ``broadcast.value``, so all
partitions update the driver's own matrices concurrently, Hogwild-like, and the averaging
then mixes snapshots of that shared array; so ``--seed`` does not make runs with
``--cores`` > 1 and ``--partitions`` > 1 reproducible, and local-mode quality need not match
a cluster's.  MLlib calls BLAS for every dot product and axpy: native BLAS when a
``libblas.so.3`` is installed, else its Java implementation (``jdk.incubator.vector``);
``blas`` in the output says which (by whether this process can load ``libblas.so.3``).

Timing (``time.perf_counter``): ``startup_seconds`` creating the SparkSession (the JVM's
launch included for the first session of a process); ``prep_seconds`` reading, splitting
and caching the DataFrame, forced by one aggregation that also counts sentences and tokens;
``train_seconds`` ``Word2Vec.fit``, which includes MLlib's own vocabulary pass, the Huffman
tree and the repartition shuffle besides the iterations; ``total_seconds`` the three
together.  Afterwards (``export_seconds``, outside the total) the vectors are collected in
order of decreasing word count (counted by Spark on the cached corpus), evaluated with
``--pairs`` and written with ``--vectors``.  When Spark's UI is reachable, ``fit_stages``
lists the stages that ``fit`` ran (name, tasks, wall seconds, summed task seconds) and
``epoch_seconds`` the wall seconds of each iteration: its training stage (the first also
reads the shuffled sentences into the cache) with its reduce stage; both are null
otherwise.  ``train_cpu_seconds`` is the JVM's CPU time (all threads, from ``/proc``)
during ``fit``, ``jvm_peak_rss_mb`` the JVM's peak resident memory (``VmHWM``) at the end,
i.e. the memory a local-mode run needs (null where ``/proc`` or the JVM cannot be found).

Units.  "corpus words" is the number of whitespace tokens in the file (counted in Spark);
"words/s" is corpus words x epochs / training seconds.  ``train_words`` is what MLlib
trains on per iteration: the tokens of words in the vocabulary (sum of their counts).

Output: a summary on stdout; ``--json OUT`` writes ``{"engine": "spark-mllib", "partitions",
"cores", "config", "spark_version", "java_version", "startup_seconds", "prep_seconds",
"train_seconds", "total_seconds", "export_seconds", "epoch_seconds", "fit_stages",
"train_cpu_seconds", "jvm_peak_rss_mb", "blas", "sentences", "corpus_words", "train_words",
"words_per_second", "vocab_size", "spearman", "pearson", "pairs_found", "pairs_oov",
"coverage", "pairs_error", "pairs_file", "vectors", "note"}`` (``spearman``, ``pearson``,
``pairs_*`` and ``coverage`` null without ``--pairs``; ``coverage`` is the fraction of the
file's pairs with both words in the vocabulary; a pairs file with none of them gives 0 pairs
and the message in ``pairs_error`` instead of failing the run); ``--vectors OUT`` writes the input vectors as a word2vec
text file (``w2v_np.io.write_word2vec``), most frequent word first.
"""
import argparse
import ctypes
import datetime
import importlib.util
import json
import os
import shutil
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from w2v_np import Embeddings, evaluate_pairs
from w2v_np.errors import W2VError
from w2v_np.io import write_word2vec

ENGINE = "spark-mllib"
EXIT_UNAVAILABLE = 2
FIT_GROUP = "w2v-np-spark-fit"
NOTE = ("Spark MLlib Word2Vec: skip-gram with hierarchical softmax (no negative sampling, no subsampling), "
        "linear learning-rate decay to stepSize*1e-4; numPartitions partitions train from the broadcast weights "
        "and the driver averages each touched row over the partitions that touched it, once per iteration "
        "(read in mllib/feature/Word2Vec.scala and the installed jar's bytecode). In local mode the broadcast is "
        "the driver's own array, so concurrent partitions update shared weights (Hogwild-like) before the "
        "averaging.")


class SparkUnavailable(RuntimeError):
    """pyspark or a Java runtime is missing: the run is skipped, not failed."""


def unavailable():
    """Why Spark cannot run here (one line), or None when it can."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install pyspark)"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.access(os.path.join(java_home, "bin", "java"), os.X_OK)) and not shutil.which("java"):
        return "no Java runtime found (java not on PATH and no JAVA_HOME)"
    return None


def _start_session(cores, driver_memory, shuffle_partitions):
    """A quiet ``local[cores]`` SparkSession (the JVM launches here unless one is running)."""
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(f"local[{cores}]").appName("w2v-np spark_reference")
               .config("spark.driver.memory", driver_memory)
               .config("spark.driver.maxResultSize", "0")   # the per-iteration collect holds 2 x V x D floats
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.log.level", "ERROR")
               .config("spark.sql.shuffle.partitions", str(shuffle_partitions)))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _gmt_seconds(stamp):
    """Seconds since the epoch of a Spark REST time stamp such as ``2024-05-01T10:00:00.123GMT``."""
    parsed = datetime.datetime.strptime(stamp.replace("GMT", ""), "%Y-%m-%dT%H:%M:%S.%f")
    return parsed.replace(tzinfo=datetime.timezone.utc).timestamp()


def _fit_stages(spark, wait_seconds=5.0):
    """The completed stages of the jobs in :data:`FIT_GROUP` from Spark's REST API, or None.

    Best effort: the UI's store is filled asynchronously, so this polls until every job of
    the group has finished (at most ``wait_seconds``); any failure gives None.
    """
    sc = spark.sparkContext
    url = sc.uiWebUrl
    if not url:
        return None
    base = f"{url}/api/v1/applications/{sc.applicationId}"

    def get(path):
        with urllib.request.urlopen(base + path, timeout=5) as response:
            return json.load(response)

    try:
        deadline = time.perf_counter() + wait_seconds
        while True:
            jobs = [job for job in get("/jobs") if job.get("jobGroup") == FIT_GROUP]
            if jobs and all(job["status"] != "RUNNING" for job in jobs) or time.perf_counter() > deadline:
                break
            time.sleep(0.2)
        stage_ids = sorted({stage for job in jobs for stage in job["stageIds"]})
        stages = {stage["stageId"]: stage for stage in get("/stages?status=complete")}
        rows = []
        for stage_id in stage_ids:
            stage = stages.get(stage_id)
            if stage is None or "submissionTime" not in stage or "completionTime" not in stage:
                continue                       # skipped (its shuffle output was reused) or not yet listed
            rows.append({"stage": stage_id, "name": stage["name"], "tasks": stage["numTasks"],
                         "seconds": _gmt_seconds(stage["completionTime"]) - _gmt_seconds(stage["submissionTime"]),
                         "task_seconds": stage["executorRunTime"] / 1000.0})
        return rows
    except Exception:                          # the breakdown is optional: no UI, a changed API, a timeout
        return None


def _epoch_seconds(stages, epochs):
    """Wall seconds of every iteration: its training stage plus its reduce stage, or None.

    The stages of ``fit`` after its ``repartition at Word2Vec.scala`` stage come in pairs, one
    pair per iteration (the training ``mapPartitions`` and the ``collect`` of the averaged
    rows); any other shape (another Spark version) gives None.
    """
    if not stages:
        return None
    starts = [i for i, row in enumerate(stages) if row["name"].startswith("repartition at Word2Vec.scala")]
    rest = stages[starts[-1] + 1:] if starts else []
    if len(rest) != 2 * epochs or not all(row["name"].startswith("collect at") for row in rest[1::2]):
        return None
    return [train["seconds"] + reduce["seconds"] for train, reduce in zip(rest[0::2], rest[1::2])]


def _jvm_pid():
    """The pid of the JVM that pyspark launched (a ``java`` child of this process), or None."""
    try:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(entry.path, "stat").read_text()
                except OSError:
                    continue
                comm, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
                if comm == "java" and int(fields[1]) == os.getpid():
                    return int(entry.name)
    except OSError:
        pass
    return None


def _cpu_seconds(pid):
    """User + system CPU seconds of process ``pid`` (all its threads), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, TypeError, ValueError, IndexError):
        return None


def _peak_rss_mb(pid):
    """Peak resident memory (``VmHWM``) of process ``pid`` in MiB, or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, TypeError, ValueError):
        pass
    return None


def _blas():
    """Which BLAS MLlib's training calls: ``native`` when ``libblas.so.3`` loads, else ``java``.

    netlib's native loader in the JVM dlopens ``libblas.so.3`` (same library path as this
    process); when that fails MLlib falls back to its Java BLAS (``VectorBLAS`` with
    ``jdk.incubator.vector`` on Java 16+).
    """
    try:
        ctypes.CDLL("libblas.so.3")
        return "native (libblas.so.3)"
    except OSError:
        return "java (libblas.so.3 not loadable)"


def _pair_scores(tokens, matrix, pairs):
    """The ``--pairs`` fields of the payload: Spearman, Pearson, pairs found and missed, coverage.

    All None without ``pairs``; a file with no usable pair gives null correlations, 0 pairs
    found and ``pairs_error`` rather than losing the run.
    """
    fields = dict.fromkeys(("spearman", "pearson", "pairs_found", "pairs_oov", "coverage", "pairs_error"))
    if not pairs:
        return fields
    try:
        result = evaluate_pairs(Embeddings(tokens, matrix), pairs)
    except W2VError as error:
        return dict(fields, pairs_found=0, coverage=0.0, pairs_error=str(error))
    scores = result.to_dict()                    # a NaN correlation (constant scores) becomes None
    return dict(fields, spearman=scores["spearman"], pearson=scores["pearson"], pairs_found=result.pairs,
                pairs_oov=result.oov, coverage=result.pairs / (result.pairs + result.oov))


def _java_version(spark):
    """The running JVM's version, vendor and VM, e.g. ``17.0.15 (Debian, OpenJDK 64-Bit Server VM)``."""
    system = spark.sparkContext._jvm.java.lang.System
    return (f"{system.getProperty('java.runtime.version')} ({system.getProperty('java.vendor')}, "
            f"{system.getProperty('java.vm.name')})")


def run_spark(corpus, partitions=1, *, cores=2, dim=100, window=5, min_count=5, epochs=1, lr=0.025, seed=0,
              max_sentence_length=1000, driver_memory="8g", pairs=None, vectors=None):
    """Train MLlib's Word2Vec once on ``corpus`` in a fresh ``local[cores]`` session; return the JSON payload.

    ``pairs``: a word-pair TSV to evaluate (Spearman, coverage); ``vectors``: a word2vec text
    file to write.  The session is stopped before returning, even on error.  ``driver_memory``
    only takes effect when this call launches the JVM (the first session of the process),
    and ``startup_seconds`` of later calls leave the JVM's launch out.
    Raises SparkUnavailable when pyspark or Java is missing, FileNotFoundError for a missing corpus.
    """
    reason = unavailable()
    if reason:
        raise SparkUnavailable(reason)
    corpus = Path(corpus)
    if not corpus.is_file():
        raise FileNotFoundError(f"corpus {corpus} not found")
    import pyspark
    from pyspark.ml.feature import Word2Vec
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    config = {"corpus": str(corpus), "master": f"local[{cores}]", "partitions": partitions, "cores": cores,
              "dim": dim, "window": window, "min_count": min_count, "epochs": epochs, "lr": lr, "seed": seed,
              "max_sentence_length": max_sentence_length, "driver_memory": driver_memory,
              "model": "skip-gram", "loss": "hierarchical softmax", "subsampling": None, "unk_removed": False}

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")   # no warning about a loopback host name
    start = time.perf_counter()
    spark = _start_session(cores, driver_memory, shuffle_partitions=max(cores, partitions))
    try:
        startup_seconds = time.perf_counter() - start

        prep_start = time.perf_counter()
        lines = spark.read.text(str(corpus)).select(F.trim(F.col("value")).alias("line"))
        sentences = (lines.where(F.length("line") > 0)
                     .select(F.split("line", r"\s+").alias("sentence"))
                     .cache())
        counted = sentences.agg(F.count(F.lit(1)).alias("n"), F.sum(F.size("sentence")).alias("tokens")).first()
        num_sentences, corpus_words = int(counted["n"]), int(counted["tokens"] or 0)
        prep_seconds = time.perf_counter() - prep_start

        estimator = Word2Vec(vectorSize=dim, minCount=min_count, numPartitions=partitions, stepSize=lr,
                             maxIter=epochs, seed=seed, windowSize=window, maxSentenceLength=max_sentence_length,
                             inputCol="sentence", outputCol="embedding")
        jvm = _jvm_pid()
        cpu_before = _cpu_seconds(jvm)
        spark.sparkContext.setJobGroup(FIT_GROUP, "Word2Vec.fit")
        train_start = time.perf_counter()
        model = estimator.fit(sentences)
        train_seconds = time.perf_counter() - train_start
        cpu_after = _cpu_seconds(jvm)
        total_seconds = time.perf_counter() - start
        spark.sparkContext.setJobGroup("w2v-np-spark-export", "vectors")   # later jobs leave FIT_GROUP

        export_start = time.perf_counter()
        counts = (sentences.select(F.explode("sentence").alias("word")).groupBy("word").count())
        rows = (model.getVectors().join(counts, "word")
                .select("word", "count", vector_to_array("vector", "float32").alias("vector"))
                .orderBy(F.desc("count"), "word").collect())
        tokens = [row["word"] for row in rows]
        matrix = np.array([row["vector"] for row in rows], dtype=np.float32).reshape(len(rows), dim)
        train_words = int(sum(row["count"] for row in rows))
        quality = _pair_scores(tokens, matrix, pairs)
        if vectors:
            write_word2vec(vectors, tokens, matrix)
        export_seconds = time.perf_counter() - export_start

        stages = _fit_stages(spark)
        payload = {
            "engine": ENGINE,
            "partitions": partitions,
            "cores": cores,
            "config": config,
            "spark_version": pyspark.__version__,
            "java_version": _java_version(spark),
            "startup_seconds": startup_seconds,
            "prep_seconds": prep_seconds,
            "train_seconds": train_seconds,
            "total_seconds": total_seconds,
            "export_seconds": export_seconds,
            "epoch_seconds": _epoch_seconds(stages, epochs),
            "fit_stages": stages,
            "train_cpu_seconds": None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
            "jvm_peak_rss_mb": _peak_rss_mb(jvm),
            "blas": _blas(),
            "sentences": num_sentences,
            "corpus_words": corpus_words,
            "train_words": train_words,
            "words_per_second": corpus_words * epochs / train_seconds,
            "vocab_size": len(tokens),
            **quality,
            "pairs_file": str(pairs) if pairs else None,
            "vectors": str(vectors) if vectors else None,
            "note": NOTE,
        }
    finally:
        spark.stop()
    return payload


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="text file, one whitespace-tokenised sentence per line")
    parser.add_argument("--partitions", type=int, default=1, help="Word2Vec numPartitions")
    parser.add_argument("--cores", type=int, default=2, help="executor threads: master local[CORES]")
    parser.add_argument("--dim", type=int, default=100, help="vectorSize")
    parser.add_argument("--window", type=int, default=5, help="windowSize")
    parser.add_argument("--min-count", type=int, default=5, help="minCount")
    parser.add_argument("--epochs", type=int, default=1, help="maxIter")
    parser.add_argument("--lr", type=float, default=0.025, help="stepSize (initial learning rate)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-sentence-length", type=int, default=1000, help="maxSentenceLength")
    parser.add_argument("--driver-memory", default="8g", help="spark.driver.memory (the whole local-mode JVM)")
    parser.add_argument("--pairs", help="word-pair TSV (WordSim-353 or planted pairs) to evaluate")
    parser.add_argument("--json", help="write the timings and settings to this JSON file")
    parser.add_argument("--vectors", help="write the vectors to this word2vec text file")
    args = parser.parse_args(argv)
    for name in ("partitions", "cores", "dim", "window", "epochs", "max_sentence_length"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if not os.path.isfile(args.corpus):
        parser.exit(1, f"corpus {args.corpus} not found\n")
    if args.pairs and not os.path.isfile(args.pairs):
        parser.exit(1, f"pairs file {args.pairs} not found\n")

    try:
        payload = run_spark(args.corpus, args.partitions, cores=args.cores, dim=args.dim, window=args.window,
                            min_count=args.min_count, epochs=args.epochs, lr=args.lr, seed=args.seed,
                            max_sentence_length=args.max_sentence_length, driver_memory=args.driver_memory,
                            pairs=args.pairs, vectors=args.vectors)
    except SparkUnavailable as error:
        print(f"spark_reference.py: skipped: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE

    print(f"Spark MLlib {payload['spark_version']} (Java {payload['java_version']}), local[{args.cores}], "
          f"{args.partitions} partitions, {args.epochs} epochs on {args.corpus}: "
          f"{payload['corpus_words']:,} corpus words, vocabulary {payload['vocab_size']:,}")
    epochs = ("" if payload["epoch_seconds"] is None else
              " (iterations " + ", ".join(f"{s:.2f}" for s in payload["epoch_seconds"]) + ")")
    print(f"start-up {payload['startup_seconds']:.2f} s, prep {payload['prep_seconds']:.2f} s, "
          f"train {payload['train_seconds']:.2f} s{epochs}, total {payload['total_seconds']:.2f} s; "
          f"{payload['words_per_second']:,.0f} corpus words/s")
    if payload["spearman"] is not None or payload["pairs_found"] is not None:
        spearman = "n/a" if payload["spearman"] is None else f"{payload['spearman']:.3f}"
        print(f"Spearman {spearman} on {payload['pairs_found']} pairs "
              f"({100 * payload['coverage']:.1f}% of the file's pairs in the vocabulary)")
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
