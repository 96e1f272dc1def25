"""Writing and reading trained vectors: atomic files and the word2vec text and binary formats.

Both formats start with an ASCII header line ``V D\\n`` (vector count, dimension) and hold
one row per token:

- text: ``token v1 ... vD\\n``, fields separated by whitespace.  word2vec.c leaves a
  trailing space, gensim writes ``repr`` values; both read fine.  We write ``%.9g``: nine
  significant digits bring every float32 back bit for bit.  Large files are formatted by a
  Numba kernel that writes the same bytes (``w2v_np.kernels.vector_text``).
- binary (word2vec.c ``-binary 1``): the encoded token, a space, ``D`` little-endian
  float32 values and ``\\n``.  gensim writes no ``\\n``; the reader accepts both.

Tokens are non-empty and hold no whitespace (it separates the fields).  The encoding must be
ASCII-compatible (utf-8, latin-1, ...) because the header, separators and numbers are ASCII.

Detecting the format (``read_word2vec(path)`` without ``binary``): the file is text when the
first row after the header is one line that decodes in the encoding and splits into a token
and exactly ``D`` numbers.  Otherwise it is read as binary, and accepted as binary only when
the bytes taken as float32 values include one that no text row holds (outside printable
ASCII, tab, CR, LF); a file whose "values" are all text bytes is a damaged text file and
gets the text reader's error (a non-numeric value, a missing field, ...), never vectors
made of text.  A binary file would pass for text only if all ``4 * D`` float bytes of its
first row were ASCII digits, signs, dots or spaces spelling ``D`` numbers, or for damaged
text only if every one of its float bytes were printable; trained vectors produce neither.
Pass ``binary=`` to rule the guess out.

Files from other tools:

- No header line (GloVe's text format, gensim's ``no_header=True``): when the first line is
  not a header but one text row (a token and D >= 1 numbers), the file is text without a
  header; D is that row's width, every row must have it, and V is the number of lines.  Two
  fields are ambiguous: ``2 3`` (two non-negative integers) is a header, ``a 0.5`` is a row.
- A UTF-8 byte-order mark (Windows editors add one) marks a text file: it is skipped.
- A fastText ``.bin`` model is recognised by its magic number and refused with a pointer to
  the ``.vec`` text file fastText writes beside it, which is word2vec text.
"""
import contextlib
import glob
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from .backend import to_host
from .errors import W2VError

_NON_SPACE = re.compile(rb"\S")
_UTF8_BOM = b"\xef\xbb\xbf"
# fastText's binary models start with the int32 793712314; word2vec files start with ASCII digits.
_FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")
# The file-size check bounds D only when V >= 1; this cap keeps a header such as
# "0 99999999999999999999" from producing an absurd (0, D) array.
_MAX_DIMENSION = 2**31 - 1


TEXT_BLOCK_BYTES = 1 << 24
"""At most this many bytes of text rows are formatted at a time by the Numba kernel."""
TEXT_KERNEL_MIN_VALUES = 100_000
"""Numbers from which a text file is written by the Numba kernel when Numba is loaded already."""
TEXT_KERNEL_COLD_MIN_VALUES = 5_000_000
"""Numbers from which a text file is written by the Numba kernel even when Numba must be loaded for it."""


@contextlib.contextmanager
def atomic_write(path, mode="w", encoding="utf-8"):
    """Open a temporary file beside ``path`` and rename it over ``path`` on success.

    Readers see either the old file or the complete new one, never a partial write;
    on an exception the temporary file is removed and ``path`` is untouched.  The
    file gets the usual permissions (``0o666`` less the umask).  An ``OSError`` while
    writing (missing folder, no permission, full disk, ``path`` is a folder) becomes
    a :class:`W2VError` naming ``path``.
    """
    path = Path(path)
    if not path.name or path.name == "..":
        raise W2VError(f"cannot write {path}: not a file name")
    tmp_path = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp_path, mode.replace("w", "x"), **({} if "b" in mode else {"encoding": encoding})) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_path, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_path)
        if isinstance(exc, OSError):    # a missing folder, no permission, a full disk, ...
            raise W2VError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def remove_stale_temporaries(folder, names):
    """Delete the temporary files :func:`atomic_write` left in ``folder`` for ``names``.

    A process killed while writing (SIGKILL, power loss) cannot remove its temporary file;
    call this before writing those files again in a folder no other process writes to.
    Returns the number of files removed.
    """
    removed = 0
    for name in names:
        for stale in Path(folder).glob(f".{glob.escape(name)}.*.tmp"):
            if re.fullmatch(rf"\.{re.escape(name)}\.\d+\.[0-9a-f]{{8}}\.tmp", stale.name):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
                    removed += 1
    return removed


def write_word2vec(path: Union[str, os.PathLike], tokens: Sequence[str], vectors: Any, binary: bool = False,
                   encoding: str = "utf-8") -> None:
    """Write ``tokens`` and their ``vectors`` in word2vec text or binary format, atomically.

    Inputs:
    - tokens: sequence of V str, unique, non-empty, without whitespace
    - vectors: real array (V, D), NumPy or CuPy, D >= 1; stored as float32
    - binary: False for text (``%.9g`` values), True for word2vec.c's binary rows
    - encoding: ASCII-compatible encoding of the tokens

    Raises W2VError, writing nothing, for whatever ``read_word2vec`` would refuse: a
    token/vector count mismatch, an array that is not 2-D or has D = 0, an empty, duplicate,
    whitespace-holding or unencodable token, and nan, inf or values beyond float32 range.
    """
    _check_encoding(encoding)
    vectors = to_host(vectors)
    if vectors.ndim != 2 or vectors.dtype.kind not in "fiu":
        raise W2VError(f"cannot write {path}: vectors must be a real 2-D (V, D) array, "
                       f"got shape {vectors.shape} of {vectors.dtype}")
    count, dim = vectors.shape
    if dim == 0:
        raise W2VError(f"cannot write {path}: vectors have dimension 0")
    if len(tokens) != count:
        raise W2VError(f"cannot write {path}: {len(tokens)} tokens but {count} vectors")
    encoded_tokens = _encode_tokens(path, tokens, encoding)
    with np.errstate(over="ignore"):  # values beyond float32 range become inf, refused just below
        vectors = vectors.astype("<f4", copy=False)
    finite_rows = np.isfinite(vectors).all(axis=1)
    if not finite_rows.all():
        row = int(np.argmin(finite_rows))
        raise W2VError(f"cannot write {path}: the vector of {_shorten(tokens[row])} (row {row + 1}) "
                       f"holds nan, inf or a value beyond float32 range")
    with atomic_write(path, "wb") as out:
        out.write(f"{count} {dim}\n".encode("ascii"))
        if binary:
            for token, vector in zip(encoded_tokens, vectors):
                out.write(token + b" " + vector.tobytes() + b"\n")
        else:
            for chunk in _text_lines(encoded_tokens, vectors):
                out.write(chunk)


def _text_line(token, vector, row_format):
    """One text row: ``token``'s bytes and the float32 values of ``vector`` (``(D,)``) formatted by
    ``row_format`` (``D`` times ``%.9g``, one formatting call a row, not one a value)."""
    return token + b" " + (row_format % tuple(vector.tolist())).encode("ascii") + b"\n"


def _text_lines(encoded_tokens, vectors):
    """The text rows of ``encoded_tokens`` (V bytes) and ``vectors`` (float32 ``(V, D)``, finite), as
    byte chunks: :func:`_text_line` of each row, or the same bytes from the Numba kernel
    (``w2v_np.kernels.vector_text``), several rows a chunk, when it is worth its start-up."""
    row_format = " ".join(["%.9g"] * vectors.shape[1])
    if not _text_kernel_pays(vectors.size):
        for token, vector in zip(encoded_tokens, vectors):
            yield _text_line(token, vector, row_format)
        return
    from .kernels.vector_text import MAX_VALUE_BYTES, format_lines
    vectors = np.ascontiguousarray(vectors)
    tokens = np.frombuffer(b"".join(encoded_tokens), dtype=np.uint8)
    token_starts = np.zeros(len(encoded_tokens) + 1, dtype=np.int64)
    np.cumsum([len(token) for token in encoded_tokens], out=token_starts[1:])
    line_bytes = int(np.diff(token_starts).max()) + vectors.shape[1] * MAX_VALUE_BYTES + 1
    rows = max(1, TEXT_BLOCK_BYTES // line_bytes)
    buffer = np.empty(rows * line_bytes, dtype=np.uint8)
    line_ends, left_out = np.empty(rows, dtype=np.int64), np.empty(rows, dtype=np.bool_)
    for first in range(0, vectors.shape[0], rows):
        stop = min(first + rows, vectors.shape[0])
        size = format_lines(vectors, first, stop, tokens, token_starts, buffer, line_ends, left_out)
        done = 0
        for i in np.flatnonzero(left_out[:stop - first]):
            yield buffer[done:line_ends[i]].tobytes()
            yield _text_line(encoded_tokens[first + i], vectors[first + i], row_format)
            done = line_ends[i]
        yield buffer[done:size].tobytes()


def _text_kernel_pays(values):
    """Whether writing ``values`` numbers with the Numba kernel saves time: with Numba loaded already
    (a training run), from :data:`TEXT_KERNEL_MIN_VALUES`; otherwise only when the file is
    large enough to pay for Numba's start-up too."""
    if values >= TEXT_KERNEL_COLD_MIN_VALUES or ("numba" in sys.modules and values >= TEXT_KERNEL_MIN_VALUES):
        from .kernels import numba_available
        return numba_available()
    return False


def read_word2vec(path: Union[str, os.PathLike], binary: Optional[bool] = None,
                  encoding: str = "utf-8") -> tuple[list[str], np.ndarray]:
    """Read a word2vec text or binary file written by word2vec.c, gensim, fastText (``.vec``),
    GloVe or w2v-np.

    Inputs:
    - path: the file
    - binary: True, False, or None to detect the format (rule in the module docstring)
    - encoding: ASCII-compatible encoding of the tokens

    Returns ``(tokens, vectors)``: a list of V str and a float32 ndarray (V, D).

    Text files may lack the header line (GloVe): the first line is then a row, D is its
    number of values and V the number of lines (blank lines at the end do not count).  A
    first line of exactly two fields is a header when both are non-negative integers
    (``2 3``) and a row otherwise (``a 0.5``).  A UTF-8 byte-order mark before the first
    line is skipped; it marks a text file.

    Raises W2VError with a one-line message naming the file, the problem and, where it
    applies, the line (text) or row and byte (binary): file missing or unreadable, a fastText
    ``.bin`` model, text not valid in ``encoding``, a first line that is neither a header of
    two non-negative integers nor (text only) a row, a header with D = 0, a header promising
    more rows than the file's size can hold (checked before allocating), fewer or more rows
    than promised, a text row without exactly D values (in a file without a header: without
    the first row's D), a non-numeric or non-finite value, a binary row cut short, an empty,
    whitespace-holding or duplicate token, a byte-order mark with ``binary=True``.  Quoted
    file bytes show non-ASCII and control bytes escaped (``\\xd0``).
    """
    _check_encoding(encoding)
    path = Path(path)
    data = _read_bytes(path)
    if data.startswith(_FASTTEXT_MAGIC):
        raise W2VError(f"{path}: a fastText binary model, not word2vec vectors; read the .vec text file "
                       f"fastText writes beside it instead")
    start = 0
    if data.startswith(_UTF8_BOM):
        if binary:
            raise W2VError(f"{path}: starts with a UTF-8 byte-order mark, which marks a text file, "
                           f"but binary=True was given")
        binary, start = False, len(_UTF8_BOM)
    header = _parse_header(path, data, start, encoding, text_allowed=not binary)
    if header is None:
        return _read_headerless(path, data, start, encoding)
    count, dim, start = header
    if binary is not None or count == 0:
        return _read_rows(path, data, count, dim, start, bool(binary), encoding)
    if _first_row_is_text(data, start, dim, encoding):
        return _read_rows(path, data, count, dim, start, False, encoding)
    # Binary, or a damaged text file: only real float32 bytes settle it for binary.
    try:
        tokens, vectors = _read_rows(path, data, count, dim, start, True, encoding)
    except W2VError:
        space = data.find(b" ", start)
        if space < 0 or _holds_binary_bytes(data[space + 1:space + 1 + 4 * dim]):
            raise
    else:
        if _holds_binary_bytes(vectors):
            return tokens, vectors
    return _read_rows(path, data, count, dim, start, False, encoding)   # raises the text error


def _read_headerless(path, data, start, encoding):
    """Read a text file without a header line (GloVe) whose first line, at ``start``, is a row."""
    end = len(data)
    while end > start and data[end - 1:end].isspace():   # trailing blank lines hold no rows
        end -= 1
    count = data.count(b"\n", start, end) + 1
    dim = _text_row_width(data[start:_line_end(data, start)], encoding)
    # Before allocating (V, D): a row of D values takes at least 2D + 1 bytes, so a file too
    # small for V of them holds a narrower row; naming it beats allocating for rows that are not there.
    if count * (2 * dim + 1) > end - start:
        raise _first_narrow_row_error(path, data, start, dim, encoding)
    return _read_rows(path, data, count, dim, start, False, encoding, header=False)


def _read_rows(path, data, count, dim, start, binary, encoding, header=True):
    """Parse the ``count`` rows from byte ``start`` in one format; see :func:`read_word2vec`.

    ``header=False`` (text only): the rows start on line 1 and set D themselves.
    """
    # Smallest possible row: a 1-byte token, then a space and 4 bytes per value (binary)
    # or one separator and one digit per value (text).
    min_row_bytes = 4 * dim + 2 if binary else 2 * dim + 1
    if count * min_row_bytes > len(data) - start:
        raise W2VError(f"{path}: header promises {count} x {dim} {'binary' if binary else 'text'} vectors, "
                       f"which need at least {count * min_row_bytes} bytes, but {len(data) - start} follow it")
    vectors = np.empty((count, dim), dtype=np.float32)
    if binary:
        tokens, end = _read_binary_rows(path, data, start, vectors, encoding)
    else:
        tokens, end = _read_text_rows(path, data, start, vectors, encoding, header)
    trailing = _NON_SPACE.search(data, end)
    if trailing:
        raise W2VError(f"{path}: header promises {count} vectors, but more data follows at byte {trailing.start()}")
    finite_rows = np.isfinite(vectors).all(axis=1)
    if not finite_rows.all():
        row = int(np.argmin(finite_rows))
        raise W2VError(f"{path}: row {row + 1} ({_shorten(tokens[row])}) holds a non-finite value "
                       f"(nan, inf or beyond float32 range)")
    return tokens, vectors


# Bytes a text row's values can consist of: printable ASCII, tab, CR and LF.
_TEXT_BYTE = np.zeros(256, dtype=bool)
_TEXT_BYTE[[9, 10, 13, *range(32, 127)]] = True


def _holds_binary_bytes(raw):
    """Whether ``raw`` (bytes or an array, read as its bytes without a copy) holds a byte
    no text row has: evidence of float32 values."""
    return not _TEXT_BYTE[np.frombuffer(raw, dtype=np.uint8)].all()


def _check_encoding(encoding):
    """Refuse an unknown encoding or one that does not write ASCII as plain ASCII bytes (utf-16, utf-7)."""
    ascii_text = " \n0123456789.+-e"
    try:
        encoded = ascii_text.encode(encoding)
    except LookupError:
        raise W2VError(f"unknown encoding {encoding!r}") from None
    if encoded != ascii_text.encode("ascii"):
        raise W2VError(f"encoding {encoding!r} is not ASCII-compatible, as the word2vec formats need")


def _shorten(token, limit=40):
    """``repr`` of ``token`` cut to ``limit`` characters: corrupt files can hold huge 'tokens'."""
    return repr(token) if len(token) <= limit else repr(token[:limit]) + "..."


def _show_bytes(data, start, end, limit=40):
    """Bytes ``data[start:end]`` quoted for a message, cut to ``limit`` bytes.

    Non-ASCII and control bytes appear as ``\\xd0``, ``\\t`` (as in a bytes repr): decoding
    bytes that failed to parse would print U+FFFD or raw control characters instead.
    """
    raw = data[start:min(end, start + limit)]
    shown = "'" + raw.decode("latin-1").encode("unicode_escape").decode("ascii") + "'"
    return shown + "..." if end - start > limit else shown


def _encode_tokens(path, tokens, encoding):
    """Return the tokens as ``encoding`` bytes, refusing any the reader would reject."""
    encoded, seen = [], set()
    for row, token in enumerate(tokens, start=1):
        if not isinstance(token, str) or token.split() != [token]:
            raise W2VError(f"cannot write {path}: token {token!r} (row {row}) is not a non-empty string "
                           f"without whitespace")
        if token in seen:
            raise W2VError(f"cannot write {path}: duplicate token {_shorten(token)} "
                           f"in rows {list(tokens).index(token) + 1} and {row}")
        seen.add(token)
        try:
            encoded.append(token.encode(encoding))
        except UnicodeEncodeError:
            raise W2VError(f"cannot write {path}: token {_shorten(token)} (row {row}) "
                           f"cannot be encoded in {encoding}") from None
    return encoded


def _read_bytes(path):
    """The whole file as bytes, with a W2VError when it is missing or unreadable."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise W2VError(f"vectors file not found: {path}") from None
    except OSError as exc:
        raise W2VError(f"cannot read {path}: {exc.strerror or exc}") from None


def _line_end(data, start):
    """Offset of the newline ending the line at ``start``, or the file's end."""
    end = data.find(b"\n", start)
    return len(data) if end < 0 else end


def _parse_header(path, data, start, encoding, text_allowed):
    """Return ``(count, dim, offset of the first row)`` from the ``V D`` line at ``start``, or
    None when that line is instead the first row of a text file without a header.

    ``text_allowed``: whether the file may be text (False when binary=True).
    """
    end = _line_end(data, start)
    fields = data[start:end].split()
    # bytes.isdigit accepts ASCII digits only; only two of them make a header (``2 3``, not ``a 0.5``).
    if len(fields) == 2 and all(field.isdigit() for field in fields):
        try:
            count, dim = int(fields[0]), int(fields[1])
        except ValueError:              # int() refuses absurdly long digit strings
            raise _bad_header(path, data, start, end, text_allowed) from None
        if dim == 0:
            raise W2VError(f"{path}:1: header gives dimension 0, expected at least 1")
        if dim > _MAX_DIMENSION:
            raise W2VError(f"{path}:1: header dimension {dim} is too large (at most {_MAX_DIMENSION})")
        return count, dim, end + 1
    if text_allowed and _text_row_width(data[start:end], encoding):
        return None
    raise _bad_header(path, data, start, end, text_allowed)


def _bad_header(path, data, start, end, text_allowed):
    """The error for a first line that is neither a header nor (when ``text_allowed``) a text row."""
    row = " or, in a text file without a header, a first row 'token v1 ... vD'" if text_allowed else ""
    return W2VError(f"{path}:1: bad header {_show_bytes(data, start, end)}, expected 'count dimension' "
                    f"(two non-negative integers){row}")


def _text_row_width(line, encoding):
    """D when ``line`` (bytes) is text that splits into a token and D >= 1 numbers, else None."""
    try:
        fields = line.decode(encoding).split()
    except UnicodeDecodeError:
        return None
    if len(fields) < 2 or not all(_parses_as_float(field) for field in fields[1:]):
        return None
    return len(fields) - 1


def _first_row_is_text(data, start, dim, encoding):
    """The detection rule: the first row is one line holding a token and exactly ``dim`` numbers."""
    return _text_row_width(data[start:_line_end(data, start)], encoding) == dim


def _width_error(path, data, first, line, dim, num_fields):
    """The error for text line ``line`` holding ``num_fields`` fields instead of a token and ``dim`` values.

    ``first``: None when the file has a header, else the offset of line 1, whose width set ``dim``.
    """
    problem = f"{path}:{line}: expected a token and {dim} values, got {num_fields} fields"
    if first is None:
        return W2VError(problem)
    problem += ", as every row of a file without a header needs line 1's width"
    if line == 2:       # line 1 alone sets the width: it may as well be a damaged header
        problem += (f"; or line 1 is a bad header {_show_bytes(data, first, _line_end(data, first))}, "
                    f"expected 'count dimension' (two non-negative integers)")
    return W2VError(problem)


def _first_narrow_row_error(path, data, start, dim, encoding):
    """The width error for the first line from ``start`` without a token and ``dim`` values.

    Called when the file is too small for its lines to hold ``dim`` values each, so such a
    line exists: ``dim + 1`` fields take at least ``2 * dim + 1`` bytes.
    """
    pos, line = start, 1
    while pos <= len(data):
        end = _line_end(data, pos)
        num_fields = len(data[pos:end].decode(encoding, "replace").split())
        if num_fields != dim + 1:
            return _width_error(path, data, start, line, dim, num_fields)
        pos, line = end + 1, line + 1
    return W2VError(f"{path}: rows too short for line 1's {dim} values")   # unreachable, see above


def _add_token(path, tokens, seen, token):
    """Append ``token`` to ``tokens``, refusing a repeat: a lookup by token would pick one row silently."""
    if token in seen:
        raise W2VError(f"{path}: duplicate token {_shorten(token)} in rows {tokens.index(token) + 1} "
                       f"and {len(tokens) + 1}")
    seen.add(token)
    tokens.append(token)


def _read_text_rows(path, data, pos, vectors, encoding, header=True):
    """Fill ``vectors`` (float32 (V, D)) from text rows starting at byte ``pos``.

    Returns ``(tokens, offset just past the last row)``; the line number in messages is the
    row number, plus one for the header line when ``header``.
    """
    count, dim = vectors.shape
    tokens, seen = [], set()
    first = None if header else pos
    for row in range(count):
        line = row + 2 if header else row + 1
        if not _NON_SPACE.search(data, pos):
            raise W2VError(f"{path}: header promises {count} vectors, file holds {row}")
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        try:
            text = data[pos:end].decode(encoding)
        except UnicodeDecodeError as exc:
            raise W2VError(f"{path}:{line}: not valid {encoding} text (byte {pos + exc.start})") from None
        fields = text.split()
        if fields and text[0].isspace():
            raise W2VError(f"{path}:{line}: empty token (the line starts with whitespace)")
        if len(fields) != dim + 1:
            raise _width_error(path, data, first, line, dim, len(fields))
        try:
            values = [float(field) for field in fields[1:]]
        except ValueError:
            bad = next(field for field in fields[1:] if not _parses_as_float(field))
            raise W2VError(f"{path}:{line}: non-numeric value {_shorten(bad)}") from None
        with np.errstate(over="ignore"):  # beyond float32 range becomes inf, refused by the caller
            vectors[row] = values
        _add_token(path, tokens, seen, fields[0])
        pos = end + 1
    return tokens, pos


def _parses_as_float(field):
    """Whether ``float(field)`` succeeds."""
    try:
        float(field)
    except ValueError:
        return False
    return True


def _read_binary_rows(path, data, pos, vectors, encoding):
    """Fill ``vectors`` (float32 (V, D)) from binary rows starting at byte ``pos``.

    Returns ``(tokens, offset just past the last row)``.  Each row is parsed with one
    ``find`` for the token's space and one ``np.frombuffer``, never byte by byte.
    """
    count, dim = vectors.shape
    tokens, seen = [], set()
    for row in range(count):
        if not _NON_SPACE.search(data, pos):
            raise W2VError(f"{path}: header promises {count} vectors, file holds {row}")
        if data[pos:pos + 1] == b"\n":  # word2vec.c ends each row with a newline, gensim does not
            pos += 1
        where = f"{path}: binary row {row + 1} (byte {pos})"
        space = data.find(b" ", pos)
        if space < 0 or space + 1 + 4 * dim > len(data):
            raise W2VError(f"{where}: truncated, the file ends before the row's {dim} values")
        try:
            token = data[pos:space].decode(encoding)
        except UnicodeDecodeError:
            raise W2VError(f"{where}: token is not valid {encoding} text") from None
        if not token:
            raise W2VError(f"{where}: empty token")
        if token.split() != [token]:
            raise W2VError(f"{where}: token {_shorten(token)} contains whitespace")
        vectors[row] = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
        _add_token(path, tokens, seen, token)
        pos = space + 1 + 4 * dim
    return tokens, pos
