"""Peak memory of preparing a corpus from a file vs from an in-memory iterable of sentences.

Usage: python bench/inmemory_memory.py [--tokens 10_000_000] [--vocab 100_000] [--method word2vec]
           [--name inmemory_memory] [--no-save]

Makes a Zipf corpus of ``--tokens`` tokens with ``bench/synthetic.py`` in a temporary folder,
then runs :func:`w2v_np.train.prepare` on it in two fresh processes:

- **file**: ``TrainConfig(corpus=PATH)``, the file read in pieces (``read_corpus``);
- **in-memory**: ``TrainConfig(corpus=LineSentences(PATH))``, a restartable iterable whose
  ``__iter__`` reads the file line by line and yields ``line.split()``, so the corpus is never
  held as text or lists: what is measured is :func:`w2v_np.sentences.tokenize_sentences`.

Memory is the process's peak resident set (``ru_maxrss`` of the child: everything, NumPy,
Python objects, Numba's loaded kernels).  Each child first prepares a tiny corpus both ways, so
both have loaded the same modules and kernels; its peak then is the *baseline*, and
*prepare's own* is the peak after the big preparation minus that baseline.  ``--method
word2vec`` (the default) keeps the comparison to reading the corpus: its prepared data is the
corpus's ids plus O(V) tables; ``--method d2l`` adds the examples (centers, contexts, noise
words), which dominate both.  The seconds are of one run each, for orientation only.

Writes ``results/NAME.json`` and the section ``## NAME`` of RESULTS.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import save

BENCH = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys, time
from w2v_np import TrainConfig, make_plan
from w2v_np.sentences import LineSentences
from w2v_np.train import _random_streams, _use_threads, prepare

kind, path, tiny, method = sys.argv[1:5]


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(corpus_path, in_memory):
    config = TrainConfig(corpus=LineSentences(corpus_path) if in_memory else corpus_path, method=method, min_count=5,
                         **({"threads": 1} if method == "word2vec" else {}))
    plan = make_plan(config)
    _use_threads(plan)
    start = time.perf_counter()
    vocab, data, _ = prepare(plan, _random_streams(0)[0], [], config.corpus if in_memory else None)
    return time.perf_counter() - start, len(vocab)


run(tiny, False)
run(tiny, True)
baseline = peak_mb()
seconds, vocab_size = run(path, kind == "in-memory")
print(json.dumps({"baseline_mb": baseline, "peak_mb": peak_mb(), "seconds": seconds, "vocab": vocab_size}))
"""


def child(kind, path, tiny, method):
    done = subprocess.run([sys.executable, "-c", CHILD, kind, str(path), str(tiny), method], capture_output=True,
                          text=True, check=True, cwd=path.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=10_000_000)
    parser.add_argument("--vocab", type=int, default=100_000)
    parser.add_argument("--method", choices=("word2vec", "d2l"), default="word2vec")
    parser.add_argument("--name", default="inmemory_memory")
    parser.add_argument("--no-save", action="store_true", help="only print")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        subprocess.run([sys.executable, str(BENCH / "synthetic.py"), "--tokens", str(args.tokens), "--vocab",
                        str(args.vocab), "--out", str(folder), "--quiet"], check=True)
        path = folder / "corpus.txt"
        tiny = folder / "tiny.txt"
        tiny.write_text("a b c a b a\nb a c\n" * 20)
        size_mb = os.path.getsize(path) / 2**20
        runs = {kind: child(kind, path, tiny, args.method) for kind in ("file", "in-memory")}
    for figures in runs.values():
        figures["own_mb"] = figures["peak_mb"] - figures["baseline_mb"]
    if runs["file"]["vocab"] != runs["in-memory"]["vocab"]:
        raise SystemExit(f"the two preparations disagree: vocabularies {runs['file']['vocab']} and "
                         f"{runs['in-memory']['vocab']}")
    ratio_peak = runs["in-memory"]["peak_mb"] / runs["file"]["peak_mb"]
    ratio_own = runs["in-memory"]["own_mb"] / runs["file"]["own_mb"]
    lines = [f"`prepare` (method {args.method}, min_count 5) of a {args.tokens:,}-token synthetic corpus "
             f"({size_mb:.0f} MB, vocabulary {runs['file']['vocab']:,}), each in a fresh process; memory is the "
             f"child's ru_maxrss, baseline its peak after preparing a tiny corpus both ways.", "",
             "| corpus given as | peak MB | baseline MB | prepare's own MB | seconds (one run) |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {kind} | {r['peak_mb']:.0f} | {r['baseline_mb']:.0f} | {r['own_mb']:.0f} | {r['seconds']:.1f} |"
              for kind, r in runs.items()]
    lines += ["", f"In-memory over file: peak **{ratio_peak:.2f}×**, prepare's own **{ratio_own:.2f}×** "
              f"(the issue's target: within 1.5×)."]
    print("\n".join(lines))
    if not args.no_save:
        save(args.name, {"tokens": args.tokens, "vocab": args.vocab, "method": args.method, "runs": runs,
                         "peak_ratio": ratio_peak, "own_ratio": ratio_own}, lines)


if __name__ == "__main__":
    main()
