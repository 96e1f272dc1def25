"""Folding replicas' rows into a table in place: the dask engine's combination of a round.

A replica's result is tens of megabytes of rows; NumPy's ``table[rows] += scale * values``
would allocate a gathered copy and a scaled copy of them each round, and touching fresh
pages costs more than the arithmetic.  The reference is that NumPy line
(``w2v_np.word2vec_dask.add_scaled_rows_reference``).
"""
from numba import njit


@njit(cache=True)
def add_scaled_rows(table, rows, values, scale):
    """``table[rows[j]] += scale * values[j]`` for every ``j``, in place, without temporaries.

    ``table`` float ``(V, D)``; ``rows`` int64 ``(R,)``, distinct; ``values`` ``(R, D)`` of the
    table's dtype; ``scale`` a scalar of the table's dtype.
    """
    for j in range(rows.shape[0]):
        row = rows[j]
        for d in range(table.shape[1]):
            table[row, d] += scale * values[j, d]
