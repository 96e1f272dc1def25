"""The kernels' random numbers in plain Python: the reference of ``w2v_np.kernels.rng``.

The compiled kernels draw from one SplitMix64 stream per chunk of work, seeded from
``(seed, chunk)``.  :class:`ChunkStream` yields the very same numbers with Python integers
(wrapped to 64 bits by hand), so the NumPy references of the kernels draw what the kernels
draw, and the tests compare their results number for number instead of in distribution.
Slow (a Python call per number): for tests on small corpora only.
"""
_MASK = (1 << 64) - 1
# SplitMix64's increment: 2**64 divided by the golden ratio (kernels/rng.py's GOLDEN_GAMMA).
_GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def splitmix64(z):
    """SplitMix64's output function on an int in ``[0, 2**64)``: 64 well-mixed bits, as an int."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def chunk_seed(seed, chunk):
    """The bits that seed ``chunk``'s generator: SplitMix64 of ``(seed, chunk)``."""
    return splitmix64((seed + (chunk + 1) * _GOLDEN_GAMMA) & _MASK)


class ChunkStream:
    """The SplitMix64 stream of chunk ``chunk`` under ``seed``, as ``kernels.rng.chunk_stream`` starts it."""

    def __init__(self, seed, chunk):
        self.state = chunk_seed(seed, chunk)

    def uniform(self):
        """The next float in [0, 1): the top 53 bits of the next output, as ``kernels.rng.uniform``."""
        self.state = (self.state + _GOLDEN_GAMMA) & _MASK
        return (splitmix64(self.state) >> 11) * (1.0 / 9007199254740992.0)

    def alias_pick(self, keep, alias):
        """The id the next uniform picks from a Walker alias table (keep float64 ``(V,)``, alias int ``(V,)``):
        the uniform gives both the column and the coin, as ``kernels.sampling.alias_pick``."""
        scaled = self.uniform() * keep.shape[0]
        column = min(int(scaled), keep.shape[0] - 1)
        return column if scaled - column < keep[column] else int(alias[column])

    def window(self, max_window):
        """A window size uniform in ``1..max_window``, drawn as the kernels draw it."""
        return 1 + min(int(self.uniform() * max_window), max_window - 1)
