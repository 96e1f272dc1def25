"""The ``w2v-np`` command: ``train``, ``word2vec`` (word2vec.c's flags, :mod:`w2v_np.word2vec_cli`),
``similar``, ``analogy``, ``eval``, ``plot`` and ``cache``.

Bad input ends with one line ``w2v-np: error: ...`` on stderr and exit status 2.
"""
import argparse
import contextlib
import dataclasses
import gc
import json
import logging
import os
import sys
from pathlib import Path

from . import __version__, kernel_cache, numba_startup, word2vec_cli
from .argtypes import int_at_least, number
from .backend import BACKENDS
from .errors import W2VError
from .evaluate import evaluate_analogies, evaluate_pairs
from .kernels import numba_available
from .model import INITS
from .optim import OPTIMIZERS
from .plan import DEFAULT_LR, DTYPES, ENGINES, METHOD_DEFAULTS, METHODS, NOISE_PER, TrainConfig, make_plan
from .plot import plot_words
from .query import ANALOGY_METHODS, Embeddings
from .streamed_corpus import CHUNK_TOKENS
from .word2vec_dask import COMBINES, ROUND_TOKENS
from .sampling import RESAMPLE, SAMPLERS, SUBSAMPLING
from .train import CHECKPOINT, PLOT_INTERVAL, resume, train

DEFAULTS = TrainConfig()
_positive_int = int_at_least(1, "a positive integer")
_seed = int_at_least(0, "a non-negative integer")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = _Parser(
        prog="w2v-np", description="Framework-free skip-gram word2vec with negative sampling.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    train_parser = commands.add_parser(
        "train", help="train skip-gram vectors on a corpus, or resume a run",
        description="Train skip-gram embeddings with negative sampling.  --method d2l (the default) is the "
                    "d2l chapter 'Pretraining word2vec': padded mini-batches and Adam; --method word2vec is "
                    "word2vec.c's streaming per-pair SGD.  A setting the chosen method does not use is "
                    "refused.  With --out the run checkpoints after every epoch; --resume DIR continues it.")

    def add(flag, help, **kwargs):
        # Defaults stay None so that --resume, and the method, can tell which settings were given.
        train_parser.add_argument(flag, help=help, **kwargs)

    def default(name):
        value = getattr(DEFAULTS, name)
        return f" (default: {value})"

    def per_method(name, methods=METHODS):
        return " (default: " + "; ".join(f"{METHOD_DEFAULTS[m][name]} with {m}" for m in methods) + ")"

    add("--corpus", help="'ptb' (found via $W2V_NP_DATA, the cache, or downloaded) or a text file "
                         "with one whitespace-tokenised sentence per line" + default("corpus"))
    add("--method", choices=METHODS,
        help="what is trained: d2l = the chapter's padded mini-batches, each example's mean masked BCE, one "
             "optimizer step per batch; word2vec = word2vec.c's loop, per-pair SGD streamed over the corpus "
             "by Hogwild threads, the rate decaying linearly (needs Numba)" + default("method"))
    add("--engine", choices=ENGINES,
        help="how it runs, the same mathematics: numpy = the readable reference (NumPy or CuPy arrays); "
             "numba = fused CPU kernels (the GPU kernels with --backend cupy); cuda = the numba.cuda kernels "
             "(with --backend cupy); dask = --method word2vec's kernel on a Dask cluster (see --workers); "
             "auto = the fastest available for the method, dask when --workers or --scheduler is given"
             + default("engine"))
    add("--epochs", type=_positive_int, help="passes over the data" + default("epochs"))
    add("--window", type=_positive_int,
        help="maximum context window; each center draws its size uniformly from 1..WINDOW" + default("window"))
    add("--negative", type=_positive_int,
        help="noise words per context word, drawn from count^0.75" + default("negative"))
    add("--dim", type=_positive_int, help="embedding size" + default("dim"))
    add("--min-count", type=_positive_int,
        help="keep tokens seen at least this often; the rest become <unk>" + default("min_count"))
    add("--vocab-file", metavar="FILE",
        help="take the vocabulary and its counts from FILE ('word count' lines, as word2vec.c's -save-vocab "
             "and w2v-np word2vec -save-vocab write them; </s> and <unk> lines skipped) instead of counting "
             "the corpus; --min-count still applies (default: count the corpus)")
    add("--sample", type=number,
        help="subsampling threshold t (see --subsampling); 0 disables" + default("sample"))
    add("--subsampling", choices=SUBSAMPLING,
        help="keep-probability formula: seed = sqrt(t/f) (the chapter); word2vec = sqrt(t/f) + t/f "
             "(word2vec.c and gensim; keeps more mid-frequency words)" + per_method("subsampling"))
    add("--init", choices=INITS,
        help="starting tables: xavier = both uniform with PyTorch's Xavier bound (the seed); word2vec = "
             "center vectors uniform in +-0.5/dim and context vectors zero (word2vec.c and gensim)"
             + per_method("init"))
    add("--optimizer", choices=tuple(OPTIMIZERS),
        help="adam: torch.optim.Adam, every row moves (the seed); lazy-adam: Adam on the rows a batch "
             "uses only; sgd: SGD with a linearly decaying rate (the only one of --method word2vec)"
             + per_method("optimizer"))
    lr_defaults = "; ".join(f"{lr:g} for {m} {o}" for (m, o), lr in DEFAULT_LR.items())
    add("--lr", type=number, help=f"learning rate (default: the method's and optimizer's: {lr_defaults})")
    add("--seed", type=_seed,
        help="seed of every random choice (same seed, same vocabulary, batches, losses, vectors)" + default("seed"))
    add("--batch-size", type=_positive_int,
        help="--method d2l: centers per mini-batch" + per_method("batch_size", ["d2l"]))
    add("--resample", choices=RESAMPLE,
        help="--method d2l: once = draw windows and noise words before training (the seed); epoch = draw new "
             "ones for every batch, so each epoch sees other context and noise words" + per_method("resample", ["d2l"]))
    add("--sampler", choices=SAMPLERS,
        help="--method d2l: the data pipeline (tokenising, subsampling, windows, noise words, batches): the "
             "Numba kernels, the NumPy reference, or auto = Numba when installed" + per_method("sampler", ["d2l"]))
    add("--noise-per", choices=NOISE_PER,
        help="--method word2vec: draw noise words for every (center, context word) pair as word2vec.c (pair), "
             "or once per window, shared by its context words, each predicting the center (window: HogBatch, "
             "a step reads a third of the rows)" + per_method("noise_per", ["word2vec"]))
    add("--backend", choices=BACKENDS, help="array backend: numpy (CPU) or cupy (GPU)" + default("backend"))
    add("--dtype", choices=DTYPES, help="floating-point type of the tables" + default("dtype"))
    add("--threads", type=_positive_int,
        help="threads of the Numba kernels, exactly this many (default: the CPUs this process may use, by "
             "its affinity and cgroup quota; with --method d2l on the numba engine one thread instead "
             "while that is faster, as when other processes share the CPUs)")
    add("--workers", type=_positive_int,
        help="--method word2vec on a Dask cluster (the dask engine): start a local cluster of this many "
             "single-threaded worker processes, each training a replica on its share of the corpus "
             "(needs pip install 'w2v-np[distributed]')")
    add("--scheduler", metavar="ADDRESS",
        help="the dask engine on an existing Dask cluster: its scheduler's address (tcp://host:8786); the "
             "corpus is cut into one share per worker present when the run connects")
    add("--sync-tokens", type=_positive_int,
        help="the dask engine: tokens each worker trains between two combinations of the replicas, rounded "
             f"up to whole chunks of {CHUNK_TOKENS:,} (default: {ROUND_TOKENS:,} a round divided among the "
             f"workers)")
    add("--combine", choices=COMBINES,
        help="the dask engine: how the replicas are combined each round: average = each replica trains at "
             "workers x --lr and the replicas are averaged (keep that rate one that one process trains at "
             "stably); sum = each trains at --lr and every worker's change is added (2 workers at most: with "
             "more it diverges) (default: average)")
    add("--deterministic", action="store_true", default=None,
        help="the same bits on every run: a no-op for the numpy and numba engines of --method d2l (they "
             "already are); gradients summed in sorted order instead of by atomics on the GPU; with "
             "--method word2vec only together with --threads 1")
    output = train_parser.add_mutually_exclusive_group()
    output.add_argument("--out", metavar="DIR",
                        help="folder for checkpoint.npz and metrics.json (after every epoch), loss.png "
                             f"(at the end, and every {PLOT_INTERVAL:g} s or more) and vectors.txt (at the end; "
                             "vectors.bin with --binary)")
    train_parser.add_argument("--binary", action="store_true", default=None,
                              help="write the vectors in word2vec.c's binary format, vectors.bin, instead of "
                                   "vectors.txt (with --resume: from now on; without it a resumed run keeps its "
                                   "format)")
    output.add_argument("--resume", metavar="DIR",
                        help="continue the run in DIR from its last checkpoint, with its settings; "
                             "only --epochs (to train longer), --backend, --threads, --binary, --probe and "
                             "--quiet may be given")
    train_parser.add_argument(
        "--probe", action="append", metavar="WORD",
        help="print the 3 nearest tokens of WORD after training (repeatable; default: chip, "
             "when the vocabulary has it)")
    train_parser.add_argument("--quiet", action="store_true", help="no progress bar and no per-epoch lines")

    word2vec_cli.add_parser(commands)

    def add_vectors(subparser):
        subparser.add_argument("vectors", metavar="VECTORS",
                               help="word2vec text or binary file (detected), or a training checkpoint.npz")
        subparser.add_argument("--encoding", default="utf-8",
                               help="encoding of the tokens in a word2vec VECTORS file; evaluation files are read "
                                    "as utf-8 (default: utf-8)")

    similar_parser = commands.add_parser(
        "similar", help="nearest tokens of words by cosine similarity",
        description="Print the tokens nearest the mean direction of the WORDs minus the --negative "
                    "words (gensim's most_similar), one 'cosine<TAB>token' line each.")
    add_vectors(similar_parser)
    similar_parser.add_argument("words", metavar="WORD", nargs="+")
    similar_parser.add_argument("--negative", metavar="WORD", nargs="+", default=[],
                                help="words whose direction is subtracted")
    similar_parser.add_argument("-k", "--topn", type=_positive_int, default=10, help="how many tokens")

    analogy_parser = commands.add_parser(
        "analogy", help="A is to B as C is to ?",
        description="Print the best answers to 'A is to B as C is to ?', one 'score<TAB>token' "
                    "line each (3CosAdd: the cosine with B - A + C; 3CosMul: Levy & Goldberg 2014).")
    add_vectors(analogy_parser)
    for name in ("a", "b", "c"):
        analogy_parser.add_argument(name, metavar=name.upper())
    analogy_parser.add_argument("--method", choices=ANALOGY_METHODS, default="add",
                                help="add: 3CosAdd; mul: 3CosMul (default: add)")
    analogy_parser.add_argument("-k", "--topn", type=_positive_int, default=1, help="how many answers")

    eval_parser = commands.add_parser(
        "eval", help="word-pair similarity and analogy accuracy",
        description="Evaluate vectors as gensim's evaluate_word_pairs (Spearman and Pearson "
                    "correlation with human scores) and evaluate_word_analogies (3CosAdd accuracy "
                    "per section and overall).")
    add_vectors(eval_parser)
    eval_parser.add_argument("--pairs", metavar="FILE",
                             help="word pairs with a human score, tab-separated (e.g. wordsim353.tsv)")
    eval_parser.add_argument("--analogies", metavar="FILE",
                             help="analogy questions 'a b c d' under ': section' lines (questions-words.txt)")
    eval_parser.add_argument("--restrict-vocab", type=_positive_int, default=300000,
                             help="use only the first N rows (the most frequent words) (default: 300000)")
    eval_parser.add_argument("--case-sensitive", action="store_true",
                             help="match words as written (default: fold case, as gensim)")
    eval_parser.add_argument("--json", action="store_true", help="print the results as JSON")

    plot_parser = commands.add_parser(
        "plot", help="2-D PCA map of words and their neighbours (PNG)",
        description="Draw the chosen words and their nearest tokens on the first two principal "
                    "axes of their unit vectors (needs matplotlib: pip install 'w2v-np[plot]').")
    add_vectors(plot_parser)
    plot_parser.add_argument("words", metavar="WORD", nargs="+")
    plot_parser.add_argument("-o", "--output", metavar="PNG", default="words.png",
                             help="image to write (default: words.png)")
    plot_parser.add_argument("-k", "--topn", type=_positive_int, default=5,
                             help="neighbours drawn per word (default: 5)")
    cache_parser = commands.add_parser(
        "cache", help="where compiled kernels are cached; clear them",
        description="Numba compiles w2v-np's kernels once and caches them per user (not inside the installed "
                    "package): in $XDG_CACHE_HOME/w2v-np/kernels (~/.cache without the variable), one folder per "
                    "w2v-np version, Python version and content of the kernels' sources, or under NUMBA_CACHE_DIR "
                    "when you set it.")
    action = cache_parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--info", action="store_true", help="print the folder, its files and size")
    action.add_argument("--clear", action="store_true", help="remove every compiled kernel of w2v-np cached there")
    return parser


# The settings --resume may change; the others come from the checkpoint.
RESUMABLE = ("epochs", "backend", "threads", "workers", "scheduler")


def _train(args):
    settings = {field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)
                if getattr(args, field.name) is not None}
    if args.resume is None:
        config = TrainConfig(**settings)
        if args.out is None:
            if args.binary:
                raise W2VError("--binary sets the format of the run folder's vectors: give --out DIR")
            make_plan(config)          # a refused configuration says so, and nothing else
            logging.getLogger(__name__).warning("no --out given: the trained vectors will not be saved")
        train(config, out_dir=args.out, probes=args.probe, quiet=args.quiet, binary=bool(args.binary))
        return
    fixed = sorted(set(settings) - set(RESUMABLE))
    if fixed:
        flags = ", ".join("--" + name.replace("_", "-") for name in fixed)
        allowed = ", ".join("--" + name for name in RESUMABLE[:-1]) + " and --" + RESUMABLE[-1]
        raise W2VError(f"--resume continues a run with the settings of its checkpoint; {flags} "
                       f"cannot be changed (only {allowed})")
    resume(args.resume, epochs=args.epochs, backend=args.backend, threads=args.threads, workers=args.workers,
           scheduler=args.scheduler, probes=args.probe, quiet=args.quiet, binary=args.binary)


def _print_scored(pairs):
    for token, score in pairs:
        print(f"{score:.4f}\t{token}")


def _load(args):
    return Embeddings.load(args.vectors, encoding=args.encoding)


def _similar(args):
    _print_scored(_load(args).most_similar(args.words, negative=args.negative, topn=args.topn))


def _analogy(args):
    _print_scored(_load(args).analogy(args.a, args.b, args.c, method=args.method, topn=args.topn))


def _eval(args):
    if not (args.pairs or args.analogies):
        raise W2VError("name a --pairs file, an --analogies file, or both")
    embeddings = _load(args)
    options = dict(restrict_vocab=args.restrict_vocab, case_insensitive=not args.case_sensitive)
    pairs = evaluate_pairs(embeddings, args.pairs, **options) if args.pairs else None
    analogies = evaluate_analogies(embeddings, args.analogies, **options) if args.analogies else None
    if args.json:
        print(json.dumps({"vectors": args.vectors, "pairs": pairs and pairs.to_dict(),
                          "analogies": analogies and analogies.to_dict()}, indent=2))
        return
    if pairs:
        print(f"word pairs  {args.pairs}\n"
              f"  Spearman {pairs.spearman:.4f}  Pearson {pairs.pearson:.4f}  on {pairs.pairs} pairs, "
              f"{pairs.oov} out of vocabulary ({pairs.oov_ratio:.1f} %)")
    if analogies:
        print(f"analogies   {args.analogies}\n  {'section':<28} {'correct':>8} {'scored':>7} "
              f"{'accuracy':>9} {'oov':>6}")
        for row in (*analogies.sections, analogies):
            name = getattr(row, "name", "overall")
            print(f"  {name:<28} {row.correct:>8} {row.total:>7} {row.accuracy:>9.4f} {row.oov:>6}")


def _plot(args):
    drawn = plot_words(_load(args), args.words, args.output, topn=args.topn)
    print(f"wrote {args.output}: {len(drawn)} tokens")


def _cache(args):
    if not numba_available():
        print("Numba is not installed: no kernels are compiled or cached (pip install 'w2v-np[fast]')")
        return
    folder = kernel_cache.folder_to_clear()
    if args.clear:
        files, size = kernel_cache.clear(folder)
        print(f"removed {folder}: {files} files, {size / 2**20:.1f} MiB")
        return
    files, size = kernel_cache.size(folder)
    chosen = "NUMBA_CACHE_DIR, set by you" if kernel_cache.USER_CHOSEN else "w2v-np's own"
    print(f"{folder} ({chosen}): {files} files, {size / 2**20:.1f} MiB; this process uses "
          f"{os.environ['NUMBA_CACHE_DIR']}")


INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT, as shells report it)."""

COMMANDS = {"train": _train, "word2vec": word2vec_cli.run, "similar": _similar, "analogy": _analogy,
            "eval": _eval, "plot": _plot, "cache": _cache}


class _ConsoleHandler(logging.Handler):
    """Prints the records of w2v_np's loggers as the command's lines: information as the plain
    message on stdout, warnings and worse as ``w2v-np: message`` on stderr.  The streams are
    looked up at each record, so a later redirection of ``sys.stdout`` or ``sys.stderr`` holds."""

    def emit(self, record):
        if record.levelno >= logging.WARNING:
            print(f"w2v-np: {record.getMessage()}", file=sys.stderr)
        else:
            print(record.getMessage())


@contextlib.contextmanager
def _console_logging():
    """While the command runs, w2v_np's INFO records and above are printed by a
    :class:`_ConsoleHandler` and only there (not passed on to the root logger's handlers);
    the ``w2v_np`` logger is left as it was found (main may run inside another program)."""
    logger = logging.getLogger("w2v_np")
    handler, level, propagate = _ConsoleHandler(), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        with _console_logging():
            COMMANDS[args.command](args)
    except W2VError as exc:         # UnknownWordError included
        print(f"w2v-np: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        report_unraisable, sys.unraisablehook = sys.unraisablehook, _ignore_unraisable
    else:
        return 0
    # Leaving the handler released the interrupt's traceback, and with it what the interrupt
    # left half-built (llvmlite's objects, when a kernel was loading), whose finalizers then
    # fail: the run is abandoned, so that was not reported.
    sys.unraisablehook = report_unraisable
    folder = getattr(args, "out", None) or getattr(args, "resume", None)
    resumable = folder is not None and (Path(folder) / CHECKPOINT).exists()
    hint = f"; continue with: w2v-np train --resume {folder}" if resumable else ""
    print(f"w2v-np: interrupted{hint}", file=sys.stderr)
    return INTERRUPTED


def _ignore_unraisable(unraisable):
    """A ``sys.unraisablehook`` that reports nothing."""


def run():
    """The ``w2v-np`` command: :func:`main`, then exit with its status.

    After a handled Ctrl-C, CPython 3.11 sometimes ends the process by SIGINT anyway, at
    finalisation (seen in about one interrupted run in six here), so the status would be
    -2 instead of the documented 130.  An interrupted run has written and closed its
    files by then, so it leaves at once, with 130, once its messages are flushed.

    The process is the command's own, so Numba's start-up may skip its BLAS check
    (:mod:`w2v_np.numba_startup`), and its end need not collect garbage: at finalisation
    CPython collects every object still tracked, and Numba's registries (hundreds of
    thousands of objects) made that collection a noticeable share of a short run's time
    (``bench/startup.py``, stage ``exit``).  ``gc.freeze`` moves them out of its reach; the
    files were written and closed by then.
    """
    numba_startup.skip_blas_check()
    status = main()
    gc.freeze()
    if status == INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    run()
