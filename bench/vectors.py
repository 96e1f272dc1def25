"""Using trained vectors: word2vec files, evaluation and checkpoints, w2v-np against gensim.

Usage: python bench/vectors.py VECTORS [--pairs FILE] [--analogies FILE] [--repeats 5]

VECTORS is a word2vec text file (e.g. ``run/vectors.txt`` of ``w2v-np train --corpus ptb
--out run``).  Each operation runs once untimed, then ``--repeats`` times; the table shows
medians in seconds:
- reading and writing the vectors in text and binary word2vec format (gensim:
  ``KeyedVectors.load_word2vec_format`` / ``save_word2vec_format``);
- word-pair evaluation and the full analogy evaluation (gensim: ``evaluate_word_pairs`` /
  ``evaluate_word_analogies``, whose answers the tests check to be the same);
- what checkpointing adds to an epoch: writing ``checkpoint.npz`` (both tables and Adam's
  moments) and redrawing ``loss.png``.
gensim columns are left empty when gensim is not installed.
"""
import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
from common import median, save

from w2v_np import Embeddings, evaluate_analogies, evaluate_pairs
from w2v_np.checkpoint import save_checkpoint
from w2v_np.io import read_word2vec, write_word2vec
from w2v_np.optim import Adam
from w2v_np.plot import plot_loss


def timed(function, repeats):
    """Median wall time of ``function()`` over ``repeats`` runs after one untimed run."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return median(times)


def operations(vectors_path, pairs, analogies, folder):
    """``{name: (w2v-np callable, gensim callable or None)}``."""
    tokens, vectors = read_word2vec(vectors_path)
    embeddings = Embeddings(tokens, vectors)
    text, binary = folder / "v.txt", folder / "v.bin"
    write_word2vec(text, tokens, vectors)
    write_word2vec(binary, tokens, vectors, binary=True)
    try:
        from gensim.models import KeyedVectors
        logging.getLogger("gensim").setLevel(logging.ERROR)
        keyed = KeyedVectors.load_word2vec_format(str(text))
    except ImportError:
        keyed = None

    def gensim(call):
        return call if keyed is not None else None

    table = {
        "read text": (lambda: read_word2vec(text),
                      gensim(lambda: KeyedVectors.load_word2vec_format(str(text)))),
        "read binary": (lambda: read_word2vec(binary),
                        gensim(lambda: KeyedVectors.load_word2vec_format(str(binary), binary=True))),
        "write text": (lambda: write_word2vec(folder / "w.txt", tokens, vectors),
                       gensim(lambda: keyed.save_word2vec_format(str(folder / "g.txt")))),
        "write binary": (lambda: write_word2vec(folder / "w.bin", tokens, vectors, binary=True),
                         gensim(lambda: keyed.save_word2vec_format(str(folder / "g.bin"), binary=True))),
    }
    if pairs:
        table["word pairs"] = (lambda: evaluate_pairs(embeddings, pairs),
                               gensim(lambda: keyed.evaluate_word_pairs(str(pairs))))
    if analogies:
        table["analogies"] = (lambda: evaluate_analogies(embeddings, analogies),
                              gensim(lambda: keyed.evaluate_word_analogies(str(analogies))))
    params = {"center": vectors.copy(), "context": vectors.copy()}
    optimizer = Adam(params)
    table["checkpoint.npz"] = (lambda: save_checkpoint(folder / "c.npz", meta={"epoch": 1}, tokens=tokens,
                                                       counts=np.ones(len(tokens)), params=params,
                                                       optimizer=optimizer), None)
    epochs = [{"epoch": e, "loss": 0.5 / e} for e in range(1, 6)]
    table["loss.png"] = (lambda: plot_loss(epochs, folder / "loss.png"), None)
    return table, vectors.shape


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vectors", type=Path)
    parser.add_argument("--pairs", type=Path)
    parser.add_argument("--analogies", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table, shape = operations(args.vectors, args.pairs, args.analogies, Path(tmp))
        results = {}
        for name, (ours, theirs) in table.items():
            results[name] = {"w2v_np": timed(ours, args.repeats),
                             "gensim": timed(theirs, args.repeats) if theirs else None}
            print(f"{name}: {results[name]}", flush=True)
    lines = [f"{shape[0]} vectors of dimension {shape[1]}; median of {args.repeats} after one warm-up, seconds.", "",
             "| operation | w2v-np | gensim | gensim / w2v-np |", "| --- | --- | --- | --- |"]
    for name, row in results.items():
        theirs = f"{row['gensim']:.3f}" if row["gensim"] is not None else ""
        ratio = f"{row['gensim'] / row['w2v_np']:.1f}×" if row["gensim"] is not None else ""
        lines.append(f"| {name} | {row['w2v_np']:.3f} | {theirs} | {ratio} |")
    save("vectors", {"shape": list(shape), "repeats": args.repeats, "seconds": results}, lines)


if __name__ == "__main__":
    main()
