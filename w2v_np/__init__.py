"""w2v-np: framework-free skip-gram word2vec with hand-written gradients.

Quick use::

    from w2v_np import TrainConfig, train, evaluate_pairs
    result = train(TrainConfig(corpus="ptb", epochs=5), out_dir="run")
    vectors = result.embeddings()
    vectors.most_similar("chip", topn=3)
    evaluate_pairs(vectors, "wordsim353.tsv").spearman
"""
# ruff: noqa: E402  (Numba's cache folder and threading library are set up before any module
# that may import Numba)
__version__ = "0.1.0"

from . import kernel_cache, threads

kernel_cache.configure(__version__)
threads.preload_tbb()

from .backend import get_array_module, get_backend
from .errors import UnknownWordError, W2VError
from .evaluate import evaluate_analogies, evaluate_pairs
from .model import SkipGram
from .optim import Adam
from .query import Embeddings
from .plan import Plan, TrainConfig, make_plan
from .train import TrainResult, resume, train
from .vocab import Vocab

__all__ = ["Adam", "Embeddings", "Plan", "SkipGram", "TrainConfig", "TrainResult", "UnknownWordError", "Vocab",
           "W2VError", "evaluate_analogies", "evaluate_pairs", "get_array_module", "get_backend", "make_plan",
           "resume", "train", "__version__"]
