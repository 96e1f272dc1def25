"""A gensim reference run: skip-gram with negative sampling, the seed chapter's settings.

Usage: W2V_NP_DATA=/path/to/ptb python bench/gensim_reference.py [--corpus PATH] [--epochs 5]
           [--workers 2] [--dim 100] [--min-count 10] [--seed 0] [--in-memory] [--json OUT] [--vectors OUT]

Trains gensim's ``Word2Vec`` (C kernels, ``workers`` threads) with the hyper-parameters of
the seed chapter where gensim has them: ``sg=1, hs=0, window=5, negative=5, min_count=10,
sample=1e-4, vector_size=100`` (gensim keeps its own learning rate, linear decay from 0.025,
and SGD rather than Adam).  The literal token ``<unk>`` is removed from every sentence, as
the seed's subsampling drops it.  The corpus (one whitespace-tokenised sentence per line) is
streamed from the file on every pass, so memory does not grow with the corpus;
``--in-memory`` instead keeps the sentences as a list of lists, which saves re-reading and
re-splitting the file, and trains about 20% faster on PTB (gensim's producer thread feeds
the workers faster from a list), at the cost of the whole corpus in memory as Python lists:
use it only for small corpora.  gensim's ``corpus_file=`` mode is not used: it cannot drop
``<unk>``.  With ``workers`` > 1 gensim's results vary from run to run despite ``--seed``.

Timing (``time.perf_counter``): ``build_vocab`` (one pass: counting, vocabulary, the
subsampling and noise tables) is the preparation; each epoch is timed by a
``CallbackAny2Vec`` from ``on_epoch_begin`` to ``on_epoch_end``; the total covers both.

Units.  gensim counts *raw words*: every token of the sentences it is given, before the
``min_count`` filter and subsampling (here: the tokens of the file less the ``<unk>``
tokens); "corpus words" is the number of tokens in the file, ``<unk>`` included, and
"words/s" is corpus words x epochs / training seconds.  gensim's own progress log shows
*effective words*/s: the tokens left after the ``min_count`` filter and subsampling (drawn
again each epoch), i.e. the center words actually trained.  That is the unit closest to
w2v-np's *centers/s* (examples after subsampling, drawn once by default; w2v-np also drops
a center left without context, which gensim counts), so the output also
holds ``effective_words`` (total over the epochs, returned by ``Word2Vec.train``) and
``effective_words_per_second``.  gensim's skip-gram loss report is a running sum, not a mean
comparable with w2v-np's, so every epoch's loss is recorded as ``null``.

Output: a summary on stdout; ``--json OUT`` writes ``{"engine": "gensim", "workers",
"prep_seconds", "train_seconds", "total_seconds", "epochs": [{"epoch", "loss", "seconds"}],
"corpus_words", "unk_removed", "raw_words", "effective_words", "words_per_second",
"effective_words_per_second", "vocab_size", "config", "vectors"}``; ``--vectors OUT`` writes ``model.wv``
as a word2vec text file (``w2v_np.io.write_word2vec``).
"""
import argparse
import json
import logging
import os
import time
from pathlib import Path

from gensim.models import Word2Vec
from gensim.models.callbacks import CallbackAny2Vec

from w2v_np.corpus import DATA_ENV, find_ptb
from w2v_np.io import write_word2vec

UNK = "<unk>"
CONFIG = {"sg": 1, "hs": 0, "window": 5, "negative": 5, "sample": 1e-4}


class Sentences:
    """The file's lines as lists of tokens without ``<unk>``, read anew on every iteration.

    ``file_tokens`` and ``dropped`` are the tokens of the file and the ``<unk>`` tokens
    removed, counted during the last complete pass.
    """

    def __init__(self, path, encoding="utf-8"):
        self.path = Path(path)
        self.encoding = encoding
        self.file_tokens = None
        self.dropped = None

    def __iter__(self):
        tokens = dropped = 0
        with open(self.path, encoding=self.encoding) as lines:
            for line in lines:
                words = line.split()
                tokens += len(words)
                if UNK in line:
                    kept = [word for word in words if word != UNK]
                    dropped += len(words) - len(kept)
                    words = kept
                yield words
        self.file_tokens, self.dropped = tokens, dropped


class EpochTimer(CallbackAny2Vec):
    """Wall seconds of every epoch (``on_epoch_begin`` -> ``on_epoch_end``)."""

    def __init__(self):
        self.seconds = []
        self._start = None

    def on_epoch_begin(self, model):
        self._start = time.perf_counter()

    def on_epoch_end(self, model):
        self.seconds.append(time.perf_counter() - self._start)


def default_corpus():
    """``ptb.train.txt`` through ``$W2V_NP_DATA`` or the cache (never downloads)."""
    return str(find_ptb(download=False))


def run(args):
    """Train once; return the JSON payload and the model."""
    timer = EpochTimer()
    streamed = Sentences(args.corpus)
    config = dict(CONFIG, min_count=args.min_count, vector_size=args.dim, seed=args.seed, workers=args.workers,
                  epochs=args.epochs, window=args.window, negative=args.negative)
    model = Word2Vec(**config)

    start = time.perf_counter()
    sentences = list(streamed) if args.in_memory else streamed
    model.build_vocab(sentences)
    prep_seconds = time.perf_counter() - start   # its complete pass counted the file's tokens
    train_start = time.perf_counter()
    effective_words, raw_words = model.train(sentences, total_examples=model.corpus_count,
                                             epochs=args.epochs, callbacks=[timer])
    train_seconds = time.perf_counter() - train_start
    total_seconds = time.perf_counter() - start

    corpus_words = streamed.file_tokens
    payload = {
        "engine": "gensim",
        "workers": args.workers,
        "prep_seconds": prep_seconds,
        "train_seconds": train_seconds,
        "total_seconds": total_seconds,
        "epochs": [{"epoch": i + 1, "loss": None, "seconds": s} for i, s in enumerate(timer.seconds)],
        "corpus_words": corpus_words,
        "unk_removed": streamed.dropped,
        "raw_words": raw_words,
        "effective_words": effective_words,
        "words_per_second": corpus_words * args.epochs / train_seconds,
        "effective_words_per_second": effective_words / train_seconds,
        "vocab_size": len(model.wv.index_to_key),
        "config": dict(config, corpus=str(args.corpus), in_memory=args.in_memory, unk_removed=True,
                       alpha=model.alpha, min_alpha=model.min_alpha),
        "vectors": str(args.vectors) if args.vectors else None,
    }
    return payload, model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", help=f"text file, one sentence per line (default: ptb.train.txt "
                                         f"via ${DATA_ENV})")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--min-count", type=int, default=10)
    parser.add_argument("--window", type=int, default=CONFIG["window"])
    parser.add_argument("--negative", type=int, default=CONFIG["negative"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--in-memory", action="store_true",
                        help="keep the sentences as a list of lists instead of streaming the file "
                             "(faster on small corpora)")
    parser.add_argument("--json", help="write the timings and settings to this JSON file")
    parser.add_argument("--vectors", help="write model.wv to this word2vec text file")
    args = parser.parse_args()
    args.corpus = args.corpus or default_corpus()
    if not os.path.isfile(args.corpus):
        parser.exit(1, f"corpus {args.corpus} not found\n")
    logging.getLogger("gensim").setLevel(logging.WARNING)

    payload, model = run(args)
    if args.vectors:
        write_word2vec(args.vectors, model.wv.index_to_key, model.wv.vectors)
    epochs = ", ".join(f"{e['seconds']:.2f}" for e in payload["epochs"])
    print(f"gensim {payload['config']['workers']} workers, {args.epochs} epochs on {args.corpus}: "
          f"{payload['corpus_words']:,} corpus words, vocabulary {payload['vocab_size']:,}")
    print(f"prep {payload['prep_seconds']:.2f} s, train {payload['train_seconds']:.2f} s "
          f"(epochs {epochs}), total {payload['total_seconds']:.2f} s")
    print(f"{payload['words_per_second']:,.0f} corpus words/s, "
          f"{payload['effective_words_per_second']:,.0f} effective words/s "
          f"({payload['effective_words']:,} effective words)")
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
