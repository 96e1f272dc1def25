"""Using trained vectors: cosine nearest neighbours."""
from .backend import get_array_module, to_host


class Embeddings:
    """Tokens and their vectors, with cosine-similarity queries.

    Attributes:
        tokens: list of ``V`` strings; vectors: float ``(V, D)`` (NumPy or CuPy).
    """

    def __init__(self, tokens, vectors):
        self.tokens = list(tokens)
        self.vectors = vectors
        self.index = {token: i for i, token in enumerate(self.tokens)}
        xp = get_array_module(vectors)
        norms = xp.sqrt((vectors * vectors).sum(axis=1, keepdims=True))
        # All-zero rows (e.g. <unk>, never trained) get norm 1 so their cosine is 0, not NaN.
        self.unit = vectors / xp.where(norms > 0, norms, 1)

    def __contains__(self, word):
        return word in self.index

    def _row(self, word):
        """Row of ``word``; ``KeyError`` naming the word when it is unknown."""
        if word not in self.index:
            raise KeyError(f"word {word!r} is not in the vocabulary")
        return self.index[word]

    def vector(self, word):
        """The vector of ``word``; ``KeyError`` naming the word when it is unknown."""
        return self.vectors[self._row(word)]

    def most_similar(self, word, topn=3):
        """The ``topn`` tokens nearest ``word`` by cosine, as ``[(token, cosine), ...]``.

        ``word`` itself is excluded (the seed drops the first hit instead, which is
        the same unless two tokens share a direction).
        """
        xp = get_array_module(self.unit)
        query = self._row(word)
        cosine = self.unit @ self.unit[query]                        # (V,)
        cosine[query] = -xp.inf
        topn = min(topn, len(self.tokens) - 1)
        best = xp.argpartition(-cosine, topn - 1)[:topn] if topn > 0 else xp.zeros(0, dtype=int)
        best = best[xp.argsort(-cosine[best], kind="stable")]
        values = to_host(cosine[best])
        return [(self.tokens[int(i)], float(c)) for i, c in zip(to_host(best), values)]
