"""The ``w2v-np`` command: ``train`` and ``similar``.

Bad input ends with one line ``w2v-np: error: ...`` on stderr and exit status 2.
"""
import argparse
import sys

from .backend import BACKENDS
from .errors import W2VError
from .io import read_word2vec_text
from .query import Embeddings
from .sampling import RESAMPLE, SAMPLERS
from .train import DTYPES, TrainConfig, train

DEFAULTS = TrainConfig()


def _int_at_least(minimum, description):
    """An argparse type: an integer ``>= minimum``, described as ``description`` in errors."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {description}, got {value}")
        return value
    return parse


_positive_int = _int_at_least(1, "a positive integer")
_seed = _int_at_least(0, "a non-negative integer")


def _float(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = _Parser(
        prog="w2v-np", description="Framework-free skip-gram word2vec with negative sampling.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)

    train_parser = commands.add_parser(
        "train", help="train skip-gram vectors on a corpus",
        description="Train skip-gram embeddings with negative sampling and Adam "
                    "(defaults: the d2l chapter 'Pretraining word2vec').",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add = train_parser.add_argument
    add("--corpus", default=DEFAULTS.corpus,
        help="'ptb' (found via $W2V_NP_DATA, the cache, or downloaded) or a text file "
             "with one whitespace-tokenised sentence per line")
    add("--out", metavar="DIR", help="folder for metrics.json, vectors.txt and loss.png")
    add("--epochs", type=_positive_int, default=DEFAULTS.epochs, help="passes over the data")
    add("--batch-size", type=_positive_int, default=DEFAULTS.batch_size, help="centers per minibatch")
    add("--window", type=_positive_int, default=DEFAULTS.window,
        help="maximum context window; each center draws its size uniformly from 1..WINDOW")
    add("--negative", type=_positive_int, default=DEFAULTS.negative,
        help="noise words per context word, drawn from count^0.75")
    add("--dim", type=_positive_int, default=DEFAULTS.dim, help="embedding size")
    add("--lr", type=_float, default=DEFAULTS.lr, help="Adam learning rate")
    add("--min-count", type=_positive_int, default=DEFAULTS.min_count,
        help="keep tokens seen at least this often; the rest become <unk>")
    add("--sample", type=_float, default=DEFAULTS.sample,
        help="subsampling threshold t: keep a token with probability sqrt(t/f); 0 disables")
    add("--seed", type=_seed, default=DEFAULTS.seed,
        help="seed of every random choice (same seed, same vocabulary, batches, losses, vectors)")
    add("--backend", choices=BACKENDS, default=DEFAULTS.backend, help="array backend")
    add("--dtype", choices=DTYPES, default=DEFAULTS.dtype, help="floating-point type of the tables")
    add("--sampler", choices=SAMPLERS, default=DEFAULTS.sampler,
        help="data pipeline (tokenising, subsampling, windows, noise words, batches): the Numba "
             "kernels, the NumPy reference, or auto = Numba when installed")
    add("--resample", choices=RESAMPLE, default=DEFAULTS.resample,
        help="once: draw windows and noise words before training (the seed); epoch: draw new "
             "ones for every batch, so each epoch sees other context and noise words")
    add("--probe", action="append", metavar="WORD",
        help="print the 3 nearest tokens of WORD after training (repeatable; default: chip, "
             "when the vocabulary has it)")
    add("--quiet", action="store_true", help="no progress bar and no per-epoch lines")

    similar_parser = commands.add_parser(
        "similar", help="nearest tokens of a word by cosine similarity",
        description="Print the tokens nearest WORD by cosine similarity.")
    similar_parser.add_argument("vectors", metavar="VECTORS", help="word2vec text file")
    similar_parser.add_argument("word", metavar="WORD")
    similar_parser.add_argument("-k", type=_positive_int, default=3, help="how many neighbours")
    return parser


def _train(args):
    config = TrainConfig(corpus=args.corpus, epochs=args.epochs, batch_size=args.batch_size,
                         window=args.window, negative=args.negative, dim=args.dim, lr=args.lr,
                         min_count=args.min_count, sample=args.sample, seed=args.seed,
                         backend=args.backend, dtype=args.dtype, sampler=args.sampler,
                         resample=args.resample)
    train(config, out_dir=args.out, probes=args.probe, quiet=args.quiet)


def _similar(args):
    tokens, vectors = read_word2vec_text(args.vectors)
    embeddings = Embeddings(tokens, vectors)
    if args.word not in embeddings:
        raise W2VError(f"word {args.word!r} is not in {args.vectors}")
    for token, cosine in embeddings.most_similar(args.word, args.k):
        print(f"{cosine:.3f}\t{token}")


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        {"train": _train, "similar": _similar}[args.command](args)
    except W2VError as exc:
        print(f"w2v-np: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("w2v-np: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
