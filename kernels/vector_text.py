"""Numba kernel that writes vectors as word2vec text lines, each value as Python's ``"%.9g"`` writes it.

The twin of the row formatting in ``w2v_np.io.write_word2vec`` (``"%.9g" % value`` on each
float32 value, nine significant digits: enough to read back every float32 exactly).  The
bytes are the same, and this test pins them: ``tests/test_vector_text.py``.

Why the digits are exact.  A finite float32 ``a = m * 2**e`` has ``m < 2**24``.  For
``1e-4 <= |a| < 1e9`` the decimal exponent ``k = floor(log10(|a|))`` lies in ``[-4, 8]`` and
``n = 8 - k`` in ``[0, 12]``; then ``|a| * 10**n = m * 5**n * 2**(e + n)`` has an integer part
below ``2**53`` over a power of two, so the float64 product is exact, and ``rint`` rounds
it half to even, as Python's correctly rounded formatting does.  In that range ``%.9g``
uses fixed notation: the nine digits, the point placed by ``k``, trailing zeros (and a
bare point) dropped.  Values outside it (below ``1e-4``, where ``%g`` switches to an
exponent, or from ``1e9`` up) are rare in embeddings: their rows are left to the
Python formatting, flagged by the kernel.
"""
import numpy as np
from numba import njit

MAX_VALUE_BYTES = 16
"""The most bytes a value in the kernel's range takes with its separator (``" -0.000123456789"``)."""

_POWERS = np.array([10.0 ** n for n in range(13)])     # exact in float64
_ZERO, _MINUS, _POINT, _SPACE, _NEWLINE = 48, 45, 46, 32, 10


@njit(cache=True, nogil=True)
def _digits(a):
    """``(D, k)`` with ``1e8 <= D < 1e9`` and ``|a|`` = ``D * 10**(k - 8)`` rounded half to even,
    for float64 ``a`` (from a float32) with ``1e-4 <= |a| < 1e9``; ``(0, 99)`` outside that range."""
    a = abs(a)
    if not (1e-4 <= a < 1e9):
        return np.int64(0), 99
    # A float32 other than a power of ten lies at least 2e-8 (relative) from one, so
    # its float64 log10 is on the right side of the integer; the guard says so.
    k = int(np.floor(np.log10(a)))
    if k < -4 or k > 8 or not (1e8 <= a * _POWERS[8 - k] < 1e9):
        return np.int64(0), 99
    digits = np.rint(a * _POWERS[8 - k])
    if digits >= 1e9:              # 9.999999999 -> 10.0000000
        digits, k = 1e8, k + 1
        if k > 8:
            return np.int64(0), 99
    return np.int64(digits), k


@njit(cache=True, nogil=True)
def _write_value(value, out, at):
    """Write ``"%.9g" % value`` at ``out[at:]``; returns the end, or -1 outside the kernel's range."""
    if value == 0:
        if np.signbit(value):
            out[at] = _MINUS
            at += 1
        out[at] = _ZERO
        return at + 1
    digits, k = _digits(value)
    if k == 99:
        return -1
    if value < 0:
        out[at] = _MINUS
        at += 1
    last = 8                       # the last significant digit, trailing zeros dropped
    while digits % 10 == 0 and last > 0:
        digits //= 10
        last -= 1
    # Written from the end backwards, taking the digits off ``digits``.
    if k < 0:                      # "0." then -k-1 zeros then the digits
        end = at + 2 - k + last
        pos = end - 1
        for _ in range(last + 1):
            out[pos] = _ZERO + digits % 10
            digits //= 10
            pos -= 1
        for p in range(at + 2, pos + 1):
            out[p] = _ZERO
        out[at] = _ZERO
        out[at + 1] = _POINT
        return end
    if last > k:                   # k + 1 digits, the point, the rest
        end = at + last + 2
        pos = end - 1
        for _ in range(last - k):
            out[pos] = _ZERO + digits % 10
            digits //= 10
            pos -= 1
        out[pos] = _POINT
        pos -= 1
    else:                          # an integer: k - last zeros after the digits
        end = at + k + 1
        pos = end - 1
        for _ in range(k - last):
            out[pos] = _ZERO
            pos -= 1
    while pos >= at:
        out[pos] = _ZERO + digits % 10
        digits //= 10
        pos -= 1
    return end


@njit(cache=True, nogil=True)
def format_lines(vectors, first, stop, tokens, token_starts, out, line_ends, left_out):
    """Lines ``first..stop-1`` of a word2vec text file, one after another in ``out``.

    Line ``r`` is token ``r``'s bytes, a space, the values of ``vectors[r]`` as ``"%.9g"``
    writes them, separated by spaces, and ``"\\n"``.  A line holding a value outside the
    kernel's range is left out, for the caller to write in its place.

    Inputs: vectors float32 ``(V, D)``, finite; tokens uint8: the tokens' bytes one after
    another, token ``r`` in ``tokens[token_starts[r]:token_starts[r + 1]]`` (int64
    ``(V + 1,)``); out uint8, at least the sum over the lines of the token's length plus
    ``D * MAX_VALUE_BYTES + 1``.  Writes, for line ``first + i``, ``line_ends[i]`` (int64):
    where it ends in ``out`` (a line left out ends where it starts), and ``left_out[i]``
    (bool).  Returns the number of bytes written.
    """
    at = 0
    dim = vectors.shape[1]
    for r in range(first, stop):
        start = at
        for i in range(token_starts[r], token_starts[r + 1]):
            out[at] = tokens[i]
            at += 1
        for d in range(dim):
            out[at] = _SPACE
            at = _write_value(np.float64(vectors[r, d]), out, at + 1)
            if at < 0:
                break
        left_out[r - first] = at < 0
        if at < 0:
            at = start
        else:
            out[at] = _NEWLINE
            at += 1
        line_ends[r - first] = at
    return at
