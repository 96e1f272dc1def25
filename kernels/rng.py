"""Random numbers inside the kernels: SplitMix64 streams seeded per chunk of work.

Every kernel that draws cuts its work into fixed chunks and gives each chunk its own
SplitMix64 stream, seeded from ``(seed, chunk)`` (:func:`chunk_stream`), so its output
depends on the seed only, never on the number of threads.  A stream's state is a
one-element uint64 array that :func:`uniform` advances.
"""
import numpy as np
from numba import njit

# SplitMix64's increment: 2**64 divided by the golden ratio.
GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def splitmix64(z):
    """SplitMix64's output function: 64 well-mixed bits of the uint64 ``z``."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def chunk_seed(seed, chunk):
    """The bits that seed ``chunk``'s generator: SplitMix64 of ``(seed, chunk)``."""
    return splitmix64(np.uint64(seed) + np.uint64(chunk + 1) * GOLDEN_GAMMA)


@njit(cache=True, inline="always")
def chunk_stream(seed, chunk):
    """The state of ``chunk``'s stream: uint64 ``(1,)`` holding :func:`chunk_seed`."""
    return np.full(1, chunk_seed(seed, chunk), dtype=np.uint64)


@njit(cache=True, inline="always")
def uniform(state):
    """A float64 uniform on [0, 1) from the SplitMix64 generator whose state is ``state[0]`` (uint64).

    A few multiplications per number, with its state in the caller's hands (Numba's
    thread-local MT19937 costs several times more per draw and a 2.5 KiB state to seed per
    chunk).  SplitMix64 passes BigCrush; the top 53 bits of its output make the float.
    """
    state[0] += GOLDEN_GAMMA
    return np.float64(splitmix64(state[0]) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
