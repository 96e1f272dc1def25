"""The one exception type users see for bad input.

Every check on user input (files, hyper-parameters, words, backends) raises
:class:`W2VError` with a one-line message naming the problem; the CLI prints that
line and exits with status 2 instead of showing a traceback.
"""


class W2VError(ValueError):
    """Bad input or an impossible request, described in one line."""


class UnknownWordError(W2VError, KeyError):
    """A word that is not in the vocabulary; the message names it.

    A :class:`W2VError` like every other bad input, and a ``KeyError`` as a dict lookup
    (or gensim's ``KeyedVectors``) would raise, but printed as its plain message
    (``KeyError`` alone shows the quoted repr).
    """

    def __init__(self, word):
        super().__init__(f"word {word!r} is not in the vocabulary")
        self.word = word

    def __str__(self):
        return self.args[0]
