"""Atomic writes and the word2vec text and binary formats (w2v_np.io)."""
import os
import re
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from w2v_np import W2VError
from w2v_np.io import atomic_write, read_word2vec, write_word2vec

TOKENS = ["<unk>", "the", "café", "日本", "🙂", "ß"]


def _float32_values(rng, shape):
    """Finite float32 values from random bit patterns, with the format's edge cases in row 0.

    Random bits cover every exponent (subnormals, huge and tiny values), which is what a
    round trip must survive; non-finite patterns are replaced by 1.0.
    """
    bits = rng.integers(0, 2**32, size=shape, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32).copy()
    values[~np.isfinite(values)] = 1.0
    edges = np.array([np.finfo(np.float32).max, -np.finfo(np.float32).max, np.finfo(np.float32).smallest_subnormal,
                      np.finfo(np.float32).tiny, -0.0, np.float32(1) / np.float32(3)], dtype=np.float32)
    values[:1, :min(shape[1], edges.size)] = edges[:shape[1]]
    return values


def _binary_row(token, values, newline=b"\n"):
    """One word2vec.c binary row (gensim's when ``newline`` is empty)."""
    return token.encode() + b" " + np.asarray(values, dtype="<f4").tobytes() + newline


def _assert_same_bits(actual, expected):
    """Bit-for-bit equality of float32 arrays (also tells -0.0 from 0.0)."""
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    np.testing.assert_array_equal(actual.view(np.uint32), expected.astype(np.float32).view(np.uint32))


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    """An exception inside the block leaves the previous file intact and no temporary file."""
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as out:
            out.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_write_respects_umask(tmp_path):
    """Files get 0o666 less the umask, like a plain open(), not mkstemp's 0o600."""
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "f.txt") as out:
            out.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("binary", [False, True])
def test_round_trip_is_bit_exact(tmp_path, binary):
    """Text (%.9g) and binary both bring every finite float32 back with zero differing bits.

    The values are random bit patterns plus FLT_MAX, the smallest subnormal, -0.0 and 1/3,
    with non-ASCII tokens; the header line is exactly ``V D``.
    """
    vectors = _float32_values(np.random.default_rng(0), (len(TOKENS), 7))
    path = tmp_path / "v.bin"
    write_word2vec(path, TOKENS, vectors, binary=binary)
    assert path.read_bytes().split(b"\n", 1)[0] == b"6 7"
    tokens, read_vectors = read_word2vec(path, binary=binary)
    assert tokens == TOKENS
    _assert_same_bits(read_vectors, vectors)


def test_binary_layout_is_word2vec_c(tmp_path):
    """Binary rows are the encoded token, a space, little-endian float32 values and a newline."""
    write_word2vec(tmp_path / "v.bin", ["a", "é"], np.array([[1.0, -2.0], [0.5, 3.0]]), binary=True)
    expected = (b"2 2\na " + struct.pack("<2f", 1.0, -2.0) + b"\n"
                + "é".encode() + b" " + struct.pack("<2f", 0.5, 3.0) + b"\n")
    assert (tmp_path / "v.bin").read_bytes() == expected


@pytest.mark.parametrize("binary", [False, True])
def test_other_encoding_round_trip(tmp_path, binary):
    """latin-1 tokens are stored as latin-1 bytes, read back with latin-1, refused as utf-8."""
    tokens = ["café", "naïve", "ÿ"]
    vectors = np.arange(6, dtype=np.float32).reshape(3, 2)
    path = tmp_path / "v"
    write_word2vec(path, tokens, vectors, binary=binary, encoding="latin-1")
    assert b"caf\xe9 " in path.read_bytes()
    read_tokens, read_vectors = read_word2vec(path, binary=binary, encoding="latin-1")
    assert read_tokens == tokens
    _assert_same_bits(read_vectors, vectors)
    with pytest.raises(W2VError, match="not valid utf-8"):
        read_word2vec(path, binary=binary)


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("dim", [1, 3, 50])
def test_format_detection(tmp_path, binary, dim):
    """``binary=None`` picks the format the file was written in.

    The first binary row's float bytes hold spaces, newlines and digits (when D >= 3), the
    bytes most likely to make a binary row look like a text line.
    """
    vectors = np.random.default_rng(dim).standard_normal((4, dim)).astype(np.float32)
    tricky = np.frombuffer(b"1 2\n \n\n 3\n 4", dtype="<f4")
    vectors[0, :min(dim, 3)] = tricky[:dim]
    path = tmp_path / "v"
    write_word2vec(path, ["w", "x", "y", "z"], vectors, binary=binary)
    tokens, read_vectors = read_word2vec(path)
    assert tokens == ["w", "x", "y", "z"]
    _assert_same_bits(read_vectors, vectors)


@pytest.mark.parametrize("content, problem", [
    (b"2 3\na 1,5 0.5 0.5\nb 0.5 0.5 0.5\n", ":2: non-numeric value '1,5'"),   # reads as 2 binary rows
    (b"1 3\na 1,5 2 3\n", ":2: non-numeric value '1,5'"),
    (b"2 3\na 0.5 0.5 0.5 0.5\nb 0.5 0.5 0.5\n", ":2: expected a token and 3 values, got 5 fields"),
    (b"2 2\ncaf\xe9 1 2\nb 3 4\n", ":2: not valid utf-8 text"),
    (b"1 2\na 1\n", "header promises 1 x 2 text vectors"),
])
def test_detection_reports_damaged_text_as_text(tmp_path, content, problem):
    """A text file whose first row is damaged is not taken for binary, even when its bytes
    happen to add up to binary rows: the "float32 values" would be text bytes, so the text
    reader's error names the real problem."""
    path = tmp_path / "damaged.txt"
    path.write_bytes(content)
    with pytest.raises(W2VError, match=re.escape(problem)):
        read_word2vec(path)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_word2vec_c_text_with_trailing_spaces(tmp_path, newline):
    """word2vec.c's text rows end with a space before the newline (CRLF too); values parse exactly."""
    rows = ["</s> 0.004003 0.004419 -0.003830", "the -0.1 2e-3 7"]
    path = tmp_path / "vectors.txt"
    path.write_bytes(("2 3" + newline + "".join(row + " " + newline for row in rows)).encode())
    tokens, vectors = read_word2vec(path)
    assert tokens == ["</s>", "the"]
    _assert_same_bits(vectors, np.array([row.split()[1:] for row in rows], dtype=np.float32))


@pytest.mark.parametrize("newline", [b"\n", b""], ids=["word2vec.c", "gensim"])
def test_binary_rows_with_or_without_newline(tmp_path, newline):
    """Binary rows read the same whether each ends with a newline (word2vec.c) or not (gensim)."""
    vectors = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    path = tmp_path / "v.bin"
    path.write_bytes(b"3 4\n" + b"".join(_binary_row(t, v, newline) for t, v in zip(["a", "bb", "ç"], vectors)))
    tokens, read_vectors = read_word2vec(path)
    assert tokens == ["a", "bb", "ç"]
    _assert_same_bits(read_vectors, vectors)


@pytest.mark.parametrize("binary", [False, True])
def test_gensim_reads_our_files(tmp_path, binary):
    """gensim's load_word2vec_format gets the same keys in the same order and bit-equal vectors."""
    KeyedVectors = pytest.importorskip("gensim.models").KeyedVectors
    vectors = _float32_values(np.random.default_rng(2), (len(TOKENS), 5))
    write_word2vec(tmp_path / "v", TOKENS, vectors, binary=binary)
    kv = KeyedVectors.load_word2vec_format(tmp_path / "v", binary=binary)
    assert kv.index_to_key == TOKENS
    _assert_same_bits(kv.vectors, vectors)


@pytest.mark.parametrize("binary", [False, True])
def test_we_read_gensim_files(tmp_path, binary):
    """Files from gensim's save_word2vec_format read back with the same keys and bit-equal vectors."""
    KeyedVectors = pytest.importorskip("gensim.models").KeyedVectors
    vectors = _float32_values(np.random.default_rng(3), (len(TOKENS), 5))
    kv = KeyedVectors(vector_size=5)
    kv.add_vectors(TOKENS, vectors)
    kv.save_word2vec_format(tmp_path / "v", binary=binary)
    for flag in (None, binary):
        tokens, read_vectors = read_word2vec(tmp_path / "v", binary=flag)
        assert tokens == TOKENS
        _assert_same_bits(read_vectors, vectors)


# Files from other tools: GloVe (no header line), a UTF-8 byte-order mark, fastText's .bin.

def _glove_and_word2vec(tmp_path, tokens, vectors, newline="\n"):
    """The same vectors as a word2vec text file (ours) and as GloVe's format: no header line."""
    word2vec = tmp_path / "with_header.txt"
    write_word2vec(word2vec, tokens, vectors)
    rows = word2vec.read_bytes().split(b"\n", 1)[1]
    glove = tmp_path / "glove.txt"
    glove.write_bytes(rows.replace(b"\n", newline.encode()))
    return glove, word2vec


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("dim", [1, 2, 7])
def test_glove_file_without_header(tmp_path, newline, dim):
    """A file without a header line reads as the same tokens and bit-equal float32 vectors as
    the file with one, whatever the flag for text (None, False), including D = 1 (two fields
    per line, like a header) and trailing blank lines."""
    vectors = _float32_values(np.random.default_rng(dim), (len(TOKENS), dim))
    glove, word2vec = _glove_and_word2vec(tmp_path, TOKENS, vectors, newline)
    glove.write_bytes(glove.read_bytes() + newline.encode() * 2)
    expected_tokens, expected_vectors = read_word2vec(word2vec)
    for binary in (None, False):
        tokens, read_vectors = read_word2vec(glove, binary=binary)
        assert tokens == expected_tokens == TOKENS
        _assert_same_bits(read_vectors, expected_vectors)


def test_gensim_reads_glove_file_like_us(tmp_path):
    """gensim's ``no_header=True`` reads the GloVe file to the same keys and bit-equal vectors."""
    KeyedVectors = pytest.importorskip("gensim.models").KeyedVectors
    vectors = _float32_values(np.random.default_rng(4), (len(TOKENS), 5))
    glove, _ = _glove_and_word2vec(tmp_path, TOKENS, vectors)
    kv = KeyedVectors.load_word2vec_format(glove, no_header=True)
    tokens, read_vectors = read_word2vec(glove)
    assert kv.index_to_key == tokens == TOKENS
    _assert_same_bits(read_vectors, kv.vectors)


@pytest.mark.parametrize("content, tokens, values", [
    (b"a 0.5\n", ["a"], [[0.5]]),                                   # not two integers: a row
    (b"2 0.5\nb 1\n", ["2", "b"], [[0.5], [1.0]]),
    (b"1 2 3\na 1 2\n", ["1", "a"], [[2, 3], [1, 2]]),            # three fields: never a header
    (b"2 3\na 1 2 3\nb 4 5 6\n", ["a", "b"], [[1, 2, 3], [4, 5, 6]]),   # two integers: a header
], ids=["a 0.5", "2 0.5", "1 2 3", "2 3"])
def test_first_line_header_or_row(tmp_path, content, tokens, values):
    """The first line is a header only when it holds exactly two non-negative integers."""
    path = tmp_path / "v.txt"
    path.write_bytes(content)
    read_tokens, vectors = read_word2vec(path)
    assert read_tokens == tokens
    _assert_same_bits(vectors, np.array(values, dtype=np.float32))


def test_two_integers_are_a_header_even_for_glove(tmp_path):
    """A GloVe file whose only row is ``2 3`` reads as a header (the documented rule), so it is
    refused as promising 2 rows, never read as token '2'."""
    path = tmp_path / "v.txt"
    path.write_bytes(b"2 3\n")
    with pytest.raises(W2VError, match="header promises 2 x 3 "):
        read_word2vec(path)


@pytest.mark.parametrize("header", [True, False])
def test_byte_order_mark_is_skipped(tmp_path, header):
    """A UTF-8 byte-order mark before the first line (header or not) is skipped, with
    ``binary=None`` and ``binary=False``; ``binary=True`` refuses it on one line."""
    vectors = _float32_values(np.random.default_rng(5), (len(TOKENS), 3))
    glove, word2vec = _glove_and_word2vec(tmp_path, TOKENS, vectors)
    path = word2vec if header else glove
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    for binary in (None, False):
        tokens, read_vectors = read_word2vec(path, binary=binary)
        assert tokens == TOKENS
        _assert_same_bits(read_vectors, vectors)
    with pytest.raises(W2VError, match="byte-order mark.*binary=True") as caught:
        read_word2vec(path, binary=True)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("binary", [None, False, True])
def test_fasttext_model_is_refused(tmp_path, binary):
    """A fastText .bin (int32 magic 793712314, then version and arguments) is named as such,
    with a pointer to the .vec file, on one line."""
    path = tmp_path / "model.bin"
    path.write_bytes(struct.pack("<ii", 793712314, 12) + bytes(range(256)))
    with pytest.raises(W2VError, match=r"fastText binary model.*\.vec") as caught:
        read_word2vec(path, binary=binary)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("content, binary, shown", [
    ("Привет мир\n".encode(), None, r"'\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80'"),
    (b"\x16O/\x0c\xff 1 2\n", True, r"'\x16O/\x0c\xff 1 2'"),
    ("é".encode() * 30 + b" x\n", None, "'" + r"\xc3\xa9" * 20 + "'..."),
], ids=["cyrillic", "control bytes", "cut at 40 bytes"])
def test_bad_header_escapes_bytes(tmp_path, content, binary, shown):
    """Quoted header bytes show non-ASCII and control bytes as \\xNN, cut at 40 bytes, never U+FFFD."""
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(W2VError) as caught:
        read_word2vec(path, binary=binary)
    message = str(caught.value)
    assert f"bad header {shown}, expected" in message
    assert "\ufffd" not in message and message.isascii() and str(path) in message


HEADERLESS_REFUSALS = {
    "ragged row": (b"a 1 2\nb 3 4\nc 5\nd 6 7\n",
                   ":3: expected a token and 2 values, got 2 fields, as every row of a file without a header"),
    "wider row": (b"a 1\nb 2\nc 3 4\n", ":3: expected a token and 1 values, got 3 fields"),
    "blank line": (b"a 1\n\nb 2\n", ":2: expected a token and 1 values, got 0 fields"),
    "line 2 differs": ("café 1\nb 1 2\n".encode(),
                       r":2: expected a token and 1 values, got 3 fields, as every row .*; "
                       r"or line 1 is a bad header 'caf\\xc3\\xa9 1', expected 'count dimension'"),
    "too narrow to hold": (b"a " + b"1 " * 50 + b"\nb" + b" 2" * 50 + b"\n" + b"c 3\n" * 1000,
                           ":3: expected a token and 50 values, got 2 fields"),
    "non-numeric": (b"a 1\nb x\n", ":2: non-numeric value 'x'"),
    "duplicate": (b"a 1\nb 2\na 3\n", ": duplicate token 'a' in rows 1 and 3"),
    "nan": (b"a 1\nb nan\n", r": row 2 \('b'\) holds a non-finite value"),
    "empty token": (b" a 1\n", ":1: empty token"),
    "not utf-8": (b"a 1\ncaf\xff 2\n", ":2: not valid utf-8 text"),
}


@pytest.mark.parametrize("content, problem", HEADERLESS_REFUSALS.values(), ids=HEADERLESS_REFUSALS.keys())
def test_headerless_refusals(tmp_path, content, problem):
    """A file without a header is refused on one line naming the file and the first bad line
    (lines count from 1: no header line), never read as vectors of mixed widths."""
    path = tmp_path / "glove.txt"
    path.write_bytes(content)
    with pytest.raises(W2VError, match=re.escape(str(path)) + problem) as caught:
        read_word2vec(path)
    assert "\n" not in str(caught.value)


def test_headerless_narrow_rows_allocate_nothing(tmp_path):
    """One wide first row and many narrow ones (which would make a 400 MB array) are refused
    by the size check, naming the first narrow row, with a tracemalloc peak under 4 MiB."""
    path = tmp_path / "glove.txt"
    path.write_bytes(b"a" + b" 1" * 1000 + b"\n" + b"b 1\n" * 100_000)
    tracemalloc.start()
    try:
        with pytest.raises(W2VError, match=":2: expected a token and 1000 values, got 2 fields"):
            read_word2vec(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


F2 = struct.pack("<2f", 1.0, 2.0)
LONG = "abcdefghijkl"  # long tokens let a file pass the size check yet miss rows

MALFORMED = {
    "not utf-8 text": (b"1 2\ncaf\xff 1 2\n", False, r":2: not valid utf-8 text \(byte 7\)"),
    "not utf-8 token": (b"1 2\ncaf\xff " + F2, True, "binary row 1 .*token is not valid utf-8"),
    "empty file": (b"", None, "bad header"),
    "header words": (b"x y\na 1\n", None, "bad header"),
    "header one number": (b"3\na 1\n", None, "bad header"),
    # A first line of two fields that are not both integers is a row of a file without a header
    # (GloVe); line 2's other width then points at both readings.
    "header negative": (b"-1 2\na 1 2\n", None, ":2: expected a token and 1 values, got 3 fields.*bad header '-1 2'"),
    "header three numbers": (b"1 2 3\na 1 2\n", True, "bad header"),   # as text: a file without a header
    "header float": (b"1.0 2\na 1 2\n", None, ":2: expected a token and 1 values.*bad header '1.0 2'"),
    "header huge digits": (b"9" * 5000 + b" 2\n", None, "bad header"),
    "dimension 0": (b"1 0\na\n", None, "dimension 0"),
    "dimension absurd": (b"0 99999999999999999999\n", None, "too large"),
    "absurd sizes text": (b"1000000000 1000000000\na 1\n", False, "which need at least"),
    "absurd sizes binary": (b"1000000000 1000000000\na 1\n", True, "which need at least"),
    "fewer rows text": (b"3 2\na 10 20\nb 30 40\n\n", False, "promises 3 vectors, file holds 2"),
    "fewer rows binary": (b"3 2\n" + _binary_row(LONG, [1, 2]) + _binary_row(LONG + "x", [1, 2]), True,
                          "promises 3 vectors, file holds 2"),
    "more rows text": (b"1 2\na 1 2\nb 3 4\n", False, "more data follows at byte 10"),
    "more rows binary": (b"1 2\n" + _binary_row("a", [1, 2]) + _binary_row("b", [3, 4]), True,
                         "more data follows at byte 15"),
    "row too short": (b"2 2\na 1\nb 1 2\n", False, ":2: expected a token and 2 values, got 2 fields"),
    "row too long": (b"1 2\na 1 2 3\n", False, ":2: expected a token and 2 values, got 4 fields"),
    "blank line": (b"2 1\n\na 1\nb 2\n", False, ":2: expected a token and 1 values, got 0 fields"),
    "non-numeric": (b"1 2\na 1 zz\n", False, ":2: non-numeric value 'zz'"),
    "nan text": (b"1 2\na 1 nan\n", False, r"row 1 \('a'\) holds a non-finite value"),
    "inf text": (b"2 2\na 1 2\nb -inf 2\n", False, r"row 2 \('b'\) holds a non-finite value"),
    "beyond float32": (b"1 2\na 1 1e39\n", False, "non-finite value"),
    "nan binary": (b"1 2\n" + _binary_row("a", [1, np.nan]), True, "non-finite value"),
    "truncated binary": (b"2 2\n" + _binary_row(LONG, [1, 2]) + LONG.encode() + b" " + F2[:5], True,
                         r"binary row 2 \(byte 26\): truncated"),
    "truncated token": (b"2 2\n" + _binary_row(LONG, [1, 2]) + LONG.encode() * 2, True, "binary row 2.*truncated"),
    "duplicate text": (b"3 1\na 1\nb 2\na 3\n", False, "duplicate token 'a' in rows 1 and 3"),
    "duplicate binary": (b"2 2\n" + _binary_row("a", [1, 2]) + _binary_row("a", [3, 4]), True,
                         "duplicate token 'a' in rows 1 and 2"),
    "empty token text": (b"1 2\n 1 2\n", False, ":2: empty token"),
    "empty token binary": (b"1 2\n " + F2 + b"\n", True, "binary row 1 .*empty token"),
    "whitespace token binary": (b"1 2\na\tb " + F2, True, r"token 'a\\tb' contains whitespace"),
}


@pytest.mark.parametrize("content, binary, problem", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_files(tmp_path, content, binary, problem):
    """Each malformed file raises W2VError with a one-line message naming the file and the problem."""
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(W2VError, match=problem) as caught:
        read_word2vec(path, binary=binary)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("binary", [None, False, True])
def test_absurd_header_allocates_nothing(tmp_path, binary):
    """A 26-byte file claiming 10^9 x 10^9 vectors is refused with a tracemalloc peak under 64 KiB."""
    path = tmp_path / "bad"
    path.write_bytes(b"1000000000 1000000000\na 1\n")
    tracemalloc.start()
    try:
        with pytest.raises(W2VError, match="which need at least"):
            read_word2vec(path, binary=binary)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_missing_or_unreadable_file(tmp_path):
    """A missing file and a directory are reported by name."""
    with pytest.raises(W2VError, match="not found"):
        read_word2vec(tmp_path / "nope.txt")
    with pytest.raises(W2VError, match="cannot read"):
        read_word2vec(tmp_path)


@pytest.mark.parametrize("encoding, problem", [("no-such-codec", "unknown encoding"),
                                               ("utf-16", "not ASCII-compatible")])
def test_unusable_encodings(tmp_path, encoding, problem):
    """Encodings whose ASCII is not plain ASCII bytes would misplace every separator: refused."""
    with pytest.raises(W2VError, match=problem):
        write_word2vec(tmp_path / "v", ["a"], np.ones((1, 2)), encoding=encoding)
    (tmp_path / "v").write_bytes(b"1 2\na 1 2\n")
    with pytest.raises(W2VError, match=problem):
        read_word2vec(tmp_path / "v", encoding=encoding)


WRITE_REFUSALS = {
    "empty token": (["a", ""], np.ones((2, 2)), r"token '' \(row 2\) is not a non-empty string"),
    "space in token": (["a b"], np.ones((1, 2)), "without whitespace"),
    "tab in token": (["a\tb"], np.ones((1, 2)), "without whitespace"),
    "newline in token": (["a\n"], np.ones((1, 2)), "without whitespace"),
    "not a string": ([7], np.ones((1, 2)), "not a non-empty string"),
    "duplicate": (["a", "b", "a"], np.ones((3, 2)), "duplicate token 'a' in rows 1 and 3"),
    "count mismatch": (["a", "b"], np.ones((3, 2)), "2 tokens but 3 vectors"),
    "1-D": (["a", "b"], np.ones(2), "2-D"),
    "3-D": (["a"], np.ones((1, 2, 2)), "2-D"),
    "complex": (["a"], np.ones((1, 2), dtype=complex), "real 2-D"),
    "dimension 0": (["a"], np.ones((1, 0)), "dimension 0"),
    "nan": (["a", "b"], np.array([[1.0, 2.0], [np.nan, 1.0]]), r"'b' \(row 2\) holds nan"),
    "beyond float32": (["a"], np.array([[1e39, 1.0]]), "beyond float32 range"),
    "not encodable": (["日本"], np.ones((1, 2)), "cannot be encoded in latin-1"),
}


@pytest.mark.parametrize("tokens, vectors, problem", WRITE_REFUSALS.values(), ids=WRITE_REFUSALS.keys())
@pytest.mark.parametrize("binary", [False, True])
def test_write_refuses_what_would_corrupt_the_file(tmp_path, tokens, vectors, problem, binary):
    """Inputs that would give a corrupt or unreadable file raise W2VError and write nothing."""
    with pytest.raises(W2VError, match=problem):
        write_word2vec(tmp_path / "v", tokens, vectors, binary=binary, encoding="latin-1")
    assert list(tmp_path.iterdir()) == []


TOKEN_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6).filter(
    lambda token: token.split() == [token])


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A directory for hypothesis tests (function-scoped tmp_path would be shared across examples)."""
    return tmp_path_factory.mktemp("io_property")


@settings(max_examples=100, deadline=None)
@given(tokens=st.lists(TOKEN_TEXT, min_size=0, max_size=8, unique=True), dim=st.integers(1, 6),
       seed=st.integers(0, 2**32 - 1), binary=st.booleans())
def test_round_trip_property(scratch, tokens, dim, seed, binary):
    """Any unique whitespace-free tokens and finite float32 vectors survive a round trip bit for bit."""
    vectors = _float32_values(np.random.default_rng(seed), (len(tokens), dim))
    write_word2vec(scratch / "v", tokens, vectors, binary=binary)
    read_tokens, read_vectors = read_word2vec(scratch / "v", binary=binary)
    assert read_tokens == tokens
    _assert_same_bits(read_vectors, vectors)


@pytest.fixture(scope="module")
def valid_files(scratch):
    """Valid files in each flavour the reader accepts: ours (text, binary), gensim binary, word2vec.c text."""
    tokens = ["the", "of", "café", "日本", "a"]
    vectors = np.random.default_rng(7).standard_normal((5, 3)).astype(np.float32)
    files = []
    for binary in (False, True):
        write_word2vec(scratch / "valid", tokens, vectors, binary=binary)
        files.append((scratch / "valid").read_bytes())
    files.append(b"5 3\n" + b"".join(_binary_row(t, v, b"") for t, v in zip(tokens, vectors)))
    files.append(b"5 3\n" + "".join(f"{t} {' '.join(map(str, v))} \n" for t, v in zip(tokens, vectors)).encode())
    return files


INSERTS = st.one_of(st.binary(min_size=1, max_size=8),
                    st.sampled_from([b" ", b"\n", b"\t", b"0", b"-", b"nan", b"1e39", b"\xff", b"\xc3",
                                     np.float32(np.nan).tobytes(), np.float32(np.inf).tobytes()]))
HEADER_NUMBERS = st.one_of(st.integers(0, 12), st.integers(0, 10**30))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_corrupted_files_give_a_result_or_w2verror(valid_files, scratch, data):
    """Randomly corrupted files either read consistently or raise W2VError, never another exception.

    Memory: the read's tracemalloc peak stays within 64 x file size + 1 MiB.  The file bytes
    count once, the float32 array at most twice (a text row of D values has >= 2D+1 bytes,
    a binary row >= 4D+2), and each row's token str, list slot and set entry about 100 bytes
    for rows of >= 4 bytes: about 30x at worst; 1 MiB covers fixed overheads.
    """
    content = bytearray(data.draw(st.sampled_from(valid_files)))
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["truncate", "flip", "overwrite", "insert", "header"]))
        at = data.draw(st.integers(0, len(content)))
        if kind == "truncate":
            del content[at:]
        elif kind == "flip" and at < len(content):
            content[at] ^= data.draw(st.integers(1, 255))
        elif kind == "overwrite":
            replacement = data.draw(INSERTS)
            content[at:at + len(replacement)] = replacement
        elif kind == "insert":
            content[at:at] = data.draw(INSERTS)
        elif kind == "header":
            header_end = content.find(b"\n")
            content[:len(content) if header_end < 0 else header_end] = (
                f"{data.draw(HEADER_NUMBERS)} {data.draw(HEADER_NUMBERS)}".encode())
    path = scratch / "corrupt"
    path.write_bytes(bytes(content))
    binary = data.draw(st.sampled_from([None, False, True]))
    tracemalloc.start()
    try:
        tokens, vectors = read_word2vec(path, binary=binary)
    except W2VError:
        tokens = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak <= 64 * len(content) + 2**20
    if tokens is not None:
        assert vectors.dtype == np.float32 and vectors.ndim == 2 and len(tokens) == vectors.shape[0]
        assert np.isfinite(vectors).all()
        assert len(set(tokens)) == len(tokens) and all(token.split() == [token] for token in tokens)
