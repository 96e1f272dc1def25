"""Numba kernel that tokenises a whole corpus in one pass over its bytes.

The twin of ``w2v_np.corpus.tokenize``: lines split on ``\\n``, tokens on the ASCII
whitespace that ``str.split()`` knows (space, ``\\t \\n \\v \\f \\r`` and ``\\x1c``-``\\x1f``).
Only the distinct tokens are ever turned into Python strings; every occurrence becomes an
id through an open-addressing hash table (FNV-1a, linear probing) that compares bytes, so
two tokens share an id exactly when their bytes are equal.
"""
import numpy as np
from numba import njit

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_NEWLINE = 10


@njit(cache=True)
def _is_space(byte):
    return byte == 32 or 9 <= byte <= 13 or 28 <= byte <= 31


@njit(cache=True)
def _hash(data, start, stop):
    value = _FNV_OFFSET
    for i in range(start, stop):
        value = (value ^ np.uint64(data[i])) * _FNV_PRIME
    return value


@njit(cache=True)
def _same_bytes(data, start, stop, other_start, other_stop):
    if stop - start != other_stop - other_start:
        return False
    for i in range(stop - start):
        if data[start + i] != data[other_start + i]:
            return False
    return True


@njit(cache=True)
def _grown(array, size):
    """A copy of ``array`` with room for ``size`` items."""
    bigger = np.empty(size, dtype=array.dtype)
    bigger[:array.shape[0]] = array
    return bigger


@njit(cache=True)
def _table_for(type_hash, num_types, capacity):
    """A hash table of ``capacity`` slots (a power of 2) holding types ``0..num_types-1``."""
    table = np.full(capacity, -1, dtype=np.int64)
    mask = np.uint64(capacity - 1)
    for t in range(num_types):
        slot = np.int64(type_hash[t] & mask)
        while table[slot] >= 0:
            slot = (slot + 1) & (capacity - 1)
        table[slot] = t
    return table


@njit(cache=True, nogil=True)
def tokenize(data):
    """Split ``data`` (uint8 ``(n,)``, UTF-8 text) into lines and whitespace-separated tokens.

    Runs without the GIL, so parts of a corpus are tokenised in threads at once.

    Returns:
        type_ids: int32 ``(N,)``, per token the index of its type (types in first-seen order).
        offsets: int64 ``(S+1,)`` with ``S`` = number of ``\\n`` + 1; line ``s`` is
            ``type_ids[offsets[s]:offsets[s+1]]``.
        type_start, type_stop: int64 ``(T,)``, the bytes of type ``t``'s first occurrence.
        counts: int64 ``(T,)``, occurrences per type.
    """
    size = data.shape[0]
    num_lines = 1
    for i in range(size):
        if data[i] == _NEWLINE:
            num_lines += 1
    offsets = np.empty(num_lines + 1, dtype=np.int64)
    offsets[0] = 0
    type_ids = np.empty(size // 2 + 1, dtype=np.int32)
    type_start = np.empty(1024, dtype=np.int64)
    type_stop = np.empty(1024, dtype=np.int64)
    type_hash = np.empty(1024, dtype=np.uint64)
    counts = np.empty(1024, dtype=np.int64)
    capacity = 2048
    table = np.full(capacity, -1, dtype=np.int64)
    num_types = 0
    num_tokens = 0
    line = 0
    i = 0
    while i < size:
        byte = data[i]
        if byte == _NEWLINE:
            line += 1
            offsets[line] = num_tokens
            i += 1
            continue
        if _is_space(byte):
            i += 1
            continue
        start = i
        while i < size and not _is_space(data[i]):
            i += 1
        value = _hash(data, start, i)
        slot = np.int64(value & np.uint64(capacity - 1))
        while True:
            found = table[slot]
            if found < 0:
                if num_types == type_start.shape[0]:
                    type_start = _grown(type_start, 2 * num_types)
                    type_stop = _grown(type_stop, 2 * num_types)
                    type_hash = _grown(type_hash, 2 * num_types)
                    counts = _grown(counts, 2 * num_types)
                found = num_types
                type_start[found], type_stop[found] = start, i
                type_hash[found], counts[found] = value, 0
                table[slot] = found
                num_types += 1
                # Keep the load at most 1/2 so probe runs stay short.
                if 2 * num_types > capacity:
                    capacity *= 2
                    table = _table_for(type_hash, num_types, capacity)
                break
            if type_hash[found] == value and _same_bytes(data, start, i, type_start[found], type_stop[found]):
                break
            slot = (slot + 1) & (capacity - 1)
        counts[found] += 1
        type_ids[num_tokens] = found
        num_tokens += 1
    offsets[line + 1] = num_tokens
    return (type_ids[:num_tokens].copy(), offsets, type_start[:num_types].copy(),
            type_stop[:num_types].copy(), counts[:num_types].copy())
