"""``w2v-np word2vec``: word2vec.c's command line, trained by the word2vec method.

word2vec.c's single-dash flags keep their meanings and defaults (``-size 100 -window 5
-sample 1e-3 -negative 5 -iter 5 -min-count 5 -alpha 0.025 -binary 0 -debug 2``) and map to
:class:`~w2v_np.plan.TrainConfig`: ``-size`` dim, ``-window`` window, ``-negative`` negative,
``-sample`` sample, ``-threads`` threads, ``-iter`` epochs, ``-min-count`` min_count,
``-alpha`` lr, ``-read-vocab`` vocab_file; the method is ``word2vec`` with its own defaults
(word2vec.c's subsampling formula and starting tables, noise words per pair).  Like
word2vec.c it writes ``-output`` (and ``-save-vocab`` when asked) and nothing else.

What it cannot do is refused in one line: CBOW (``-cbow 1``), hierarchical softmax
(``-hs 1``), k-means word classes (``-classes N``).  word2vec.c's default is CBOW; an absent
``-cbow`` means skip-gram here, and a note says so.
"""
import os
import sys
import time
from pathlib import Path

from .argtypes import int_at_least, number
from .errors import W2VError
from .io import write_word2vec
from .kernels.schedule import linear_decay
from .plan import TrainConfig, make_plan
from .progress import Progress
from .train import train

_natural = int_at_least(0, "an integer >= 0")
_positive = int_at_least(1, "a positive integer")
_switch = int_at_least(0, "0 or 1")

DESCRIPTION = (
    "word2vec.c's command line: skip-gram with negative sampling by word2vec.c's streaming per-pair SGD "
    "(w2v-np train --method word2vec).  It writes -output (and -save-vocab when asked) and nothing else.  "
    "Meanings as word2vec.c's, except: -cbow 1, -hs 1 and -classes N are refused (skip-gram with negative "
    "sampling only), and an absent -cbow means skip-gram (word2vec.c's default is CBOW; a note says so, "
    "-cbow 0 silences it); -threads defaults to the usable CPUs, not 12; the output's first row is <unk>, "
    "the tokens below -min-count (word2vec.c's is </s>; neither is trained), and text rows carry 9 "
    "significant digits; with -threads 1 the same command gives the same vectors, bit for bit.")


def add_parser(commands):
    """Register the ``word2vec`` subcommand on ``commands`` (the ``w2v-np`` subparsers)."""
    parser = commands.add_parser(
        "word2vec", help="word2vec.c's flags (-train FILE -output FILE ...): skip-gram, negative sampling",
        description=DESCRIPTION, allow_abbrev=False)
    # Python before 3.12 still expands single-dash abbreviations (-siz for -size) with
    # allow_abbrev=False; word2vec.c's flags are matched exactly, anything else is unknown.
    parser._get_option_tuples = lambda option_string: []
    parser.add_argument("-train", metavar="FILE", required=True,
                        help="the corpus: a text file, one whitespace-tokenised sentence per line (windows do not "
                             "cross a line, as word2vec.c's </s>)")
    parser.add_argument("-output", metavar="FILE", required=True,
                        help="the vectors, written when training ends, atomically")
    parser.add_argument("-size", type=_positive, default=100, help="dimension of the vectors (default: 100)")
    parser.add_argument("-window", type=_positive, default=5,
                        help="largest window; each center draws its window from 1..N, as word2vec.c (default: 5)")
    parser.add_argument("-sample", type=number, default=1e-3,
                        help="subsampling threshold t: a word of frequency f is kept with probability "
                             "sqrt(t/f) + t/f, word2vec.c's formula, f counted over the vocabulary's tokens "
                             "(word2vec.c also counts one </s> a line); 0 keeps every word (default: 1e-3; "
                             "w2v-np train's is 1e-4)")
    parser.add_argument("-hs", type=_switch, choices=(0, 1), default=0,
                        help="hierarchical softmax: 0 only (1 is refused) (default: 0)")
    parser.add_argument("-negative", type=int_at_least(1, "a positive integer (w2v-np trains by negative sampling)"),
                        default=5, help="noise words per (center, context word) pair, from count^0.75 (default: 5)")
    parser.add_argument("-threads", type=_positive,
                        help="threads (default: the CPUs this process may use, where word2vec.c's is 12)")
    parser.add_argument("-iter", type=_positive, default=5, help="passes over the corpus (default: 5)")
    parser.add_argument("-min-count", type=_natural, default=5, dest="min_count",
                        help="discard words seen fewer times, as word2vec.c: they are left out of the windows; "
                             "their <unk> row in -output is never trained (default: 5; w2v-np train's is 10)")
    parser.add_argument("-alpha", type=number, default=0.025,
                        help="starting learning rate, decaying linearly to 1e-4 of it over -iter passes, as "
                             "word2vec.c's for skip-gram (default: 0.025)")
    parser.add_argument("-classes", type=_natural, default=0,
                        help="k-means word classes instead of vectors: 0 only (refused otherwise) (default: 0)")
    parser.add_argument("-debug", type=_natural, default=2,
                        help="0: print nothing; 1: the start lines (file, vocabulary size, words); 2 and more: "
                             "also the progress line (alpha, progress, words/thread/sec) (default: 2)")
    parser.add_argument("-binary", type=_switch, choices=(0, 1), default=0,
                        help="1: word2vec.c's binary format; 0: text (default: 0)")
    parser.add_argument("-save-vocab", metavar="FILE", dest="save_vocab",
                        help="write the vocabulary, 'word count' lines in the order of -output's rows: <unk> "
                             "first (the tokens below -min-count) where word2vec.c writes </s>")
    parser.add_argument("-read-vocab", metavar="FILE", dest="read_vocab",
                        help="take the vocabulary and its counts from FILE instead of counting the corpus "
                             "(-min-count applies; </s> and <unk> lines are skipped)")
    parser.add_argument("-cbow", type=_switch, choices=(0, 1),
                        help="0: skip-gram, the only model of w2v-np; 1 (CBOW) is refused (default: skip-gram, "
                             "where word2vec.c's is CBOW)")
    return parser


def _refusals(args):
    """word2vec.c's models that w2v-np lacks, refused in one line each, before any work."""
    if args.cbow == 1:
        raise W2VError("w2v-np trains skip-gram only: -cbow 1 (CBOW) is not available; use -cbow 0")
    if args.hs == 1:
        raise W2VError("w2v-np trains with negative sampling only: -hs 1 (hierarchical softmax) is not available")
    if args.classes > 0:
        raise W2VError(f"-classes {args.classes} (k-means word classes written instead of vectors) is not "
                       f"available: w2v-np writes vectors only")


def config_of(args):
    """The :class:`~w2v_np.plan.TrainConfig` of parsed ``w2v-np word2vec`` arguments."""
    # An absolute path: the corpus 'ptb' would mean PTB, and -train names a file.
    return TrainConfig(corpus=os.path.abspath(args.train), method="word2vec", dim=args.size, window=args.window,
                       negative=args.negative, sample=args.sample, threads=args.threads, epochs=args.iter,
                       # word2vec.c's -min-count 0 keeps every word, as 1 does: counts start at 1.
                       min_count=max(args.min_count, 1), lr=args.alpha, vocab_file=args.read_vocab)


def _check_paths(args):
    """Refuse, before any work, a missing input file or an output whose folder does not exist."""
    for path, what in ((args.train, "training file"), (args.read_vocab, "vocabulary file")):
        if path is not None and not Path(path).is_file():
            raise W2VError(f"{what} not found: {path}")
    for path in (args.output, args.save_vocab):
        if path is not None and not Path(path).resolve().parent.is_dir():
            raise W2VError(f"cannot write {path}: its folder does not exist")


def run(args):
    """Train as word2vec.c would with ``args`` and write ``-output`` (and ``-save-vocab``)."""
    _refusals(args)
    config = config_of(args)
    plan = make_plan(config)
    _check_paths(args)
    if args.debug > 0:
        if args.cbow is None:
            print("w2v-np: note: no -cbow given: training skip-gram (-cbow 0), the only model of w2v-np, "
                  "where word2vec.c's default is CBOW", file=sys.stderr)
        print(f"Starting training using file {args.train}", flush=True)
    result = train(config, probes=(), quiet=True, progress=Report(args.debug, plan.threads))
    if args.save_vocab is not None:
        result.vocab.save(args.save_vocab)
    write_word2vec(args.output, result.vocab.idx_to_token, result.model.center, binary=bool(args.binary))


class Report:
    """word2vec.c's output with ``-debug N``, on stdout: the vocabulary lines when training
    starts (N >= 1), then the progress line of :class:`RateLine` (N >= 2).

    Called by :func:`~w2v_np.train.train` at the start of every epoch: ``(trainer, epoch,
    latch)`` -> the epoch's bar.
    """

    def __init__(self, debug, threads):
        self.debug, self.threads = debug, threads
        self.started, self.done_at_start = None, None

    def __call__(self, trainer, epoch, latch):
        if self.started is None:
            if self.debug > 0:
                print(f"Vocab size: {trainer.model.center.shape[0]}\nWords in train file: {len(trainer.corpus)}",
                      flush=True)
            self.started, self.done_at_start = time.perf_counter(), trainer.optimizer.done
        if self.debug < 2:
            return Progress(trainer.num_batches, "", enabled=False, latch=latch)
        return RateLine(trainer, latch, self)


class RateLine(Progress):
    """word2vec.c's progress line, redrawn with ``\\r`` about 50 times an epoch: the learning
    rate, the share of the run's words done and the words per thread and second (thousands).

    Words are counted as the rate's schedule counts them (every token of the corpus, every
    epoch); within an epoch, as the share of its kernel calls done.
    """

    def __init__(self, trainer, latch, report):
        super().__init__(trainer.num_batches, "", stream=sys.stdout, latch=latch)
        self.optimizer, self.report = trainer.optimizer, report
        self.words, self.done_before = len(trainer.corpus), trainer.optimizer.done

    def update(self, done, loss):
        optimizer, report = self.optimizer, self.report
        words_done = self.done_before + self.words * done / self.total
        alpha = linear_decay(optimizer.lr, optimizer.min_lr_fraction, words_done, optimizer.total_work)
        seconds = max(time.perf_counter() - report.started, 1e-9)
        per_thread = (words_done - report.done_at_start) / seconds / report.threads / 1000
        self.stream.write(f"\rAlpha: {alpha:f}  Progress: {100 * words_done / optimizer.total_work:.2f}%  "
                          f"Words/thread/sec: {per_thread:.2f}k  ")
        self.stream.flush()
        self.drawn_at = self.clock()

    def close(self):
        if self.done_before + self.words >= self.optimizer.total_work:
            self.stream.write("\n")
            self.stream.flush()
