"""w2v-np: framework-free skip-gram word2vec with hand-written gradients.

Quick use::

    from w2v_np import TrainConfig, train
    result = train(TrainConfig(corpus="ptb", epochs=5))
    result.embeddings().most_similar("chip")
"""
from .backend import get_array_module, get_backend
from .errors import W2VError
from .model import SkipGram
from .optim import Adam
from .query import Embeddings
from .train import TrainConfig, TrainResult, train
from .vocab import Vocab

__version__ = "0.1.0"

__all__ = ["Adam", "Embeddings", "SkipGram", "TrainConfig", "TrainResult", "Vocab", "W2VError",
           "get_array_module", "get_backend", "train", "__version__"]
