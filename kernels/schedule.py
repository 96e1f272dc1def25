"""The learning-rate schedule of SGD, one pure function for every implementation.

Plain Python, so that ``w2v_np.optim.SGD`` uses it without Numba, and the streaming kernel
compiles the very same function (``numba.njit(linear_decay)``).
"""


def linear_decay(lr, min_fraction, done, total):
    """word2vec.c's rate after ``done`` of ``total`` units of work: ``lr * max(1 - done / total, min_fraction)``.

    Units are whatever the caller counts (examples, corpus tokens); the floor
    ``min_fraction`` (word2vec.c's 1e-4) keeps the last steps from vanishing.
    """
    return lr * max(1 - done / total, min_fraction)
