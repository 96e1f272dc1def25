"""Reading corpora, finding/downloading PTB, and the vocabulary (w2v_np.corpus, w2v_np.vocab)."""
import collections
import functools
import hashlib
import http.server
import os
import socket
import threading
import zipfile

import numpy as np
import pytest

import w2v_np.corpus
import w2v_np.kernels

from w2v_np import W2VError
from w2v_np.corpus import (download_ptb, find_ptb, line_ranges, read_corpus, read_sentences, resolve_corpus,
                           tokenize)
from w2v_np.vocab import UNK, Vocab


# --------------------------------------------------------------------------- read_sentences

def test_read_sentences_splits_lines_and_whitespace(tmp_path):
    """One sentence per line, tokens split on any whitespace; blank lines give empty
    sentences and the text after the last newline is one more (empty) sentence, as the
    seed's ``[line.split() for line in raw_text.split('\\n')]`` does."""
    path = tmp_path / "c.txt"
    path.write_text("the cat  sat\n\n\ton the\tmat \ncafé naïve\n", encoding="utf-8")
    assert read_sentences(path) == [["the", "cat", "sat"], [], ["on", "the", "mat"],
                                     ["café", "naïve"], []]


def test_read_sentences_crlf_and_no_final_newline(tmp_path):
    """Windows line ends leave no stray '\\r' in tokens; a last line without newline is kept."""
    path = tmp_path / "c.txt"
    path.write_bytes(b"a b\r\nc d e\r\nf")
    assert read_sentences(path) == [["a", "b"], ["c", "d", "e"], ["f"]]


def test_read_sentences_accepts_str_path(tmp_path):
    """A plain string path works as well as a ``Path``."""
    path = tmp_path / "c.txt"
    path.write_text("x y\n")
    assert read_sentences(str(path))[0] == ["x", "y"]


def _assert_error(path, *fragments):
    with pytest.raises(W2VError) as info:
        read_sentences(path)
    message = str(info.value)
    assert "\n" not in message, "W2VError messages are one line"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def test_missing_file(tmp_path):
    """A missing file names the path and says it was not found."""
    _assert_error(tmp_path / "nope.txt", "not found", "nope.txt")


def test_directory(tmp_path):
    """A folder is not a corpus."""
    _assert_error(tmp_path, "not a file", str(tmp_path))


def test_empty_file(tmp_path):
    """A zero-byte file holds no tokens."""
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    _assert_error(path, "empty", "empty.txt")


def test_whitespace_only_file(tmp_path):
    """Blank lines and spaces only: still no tokens."""
    path = tmp_path / "blank.txt"
    path.write_text(" \n\t\n\n   \r\n")
    _assert_error(path, "empty", "blank.txt")


def test_undecodable_bytes(tmp_path):
    """Bytes that are not UTF-8 give an error naming the encoding and the byte offset."""
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok words\n" + b"\xff\xfe\xfa")
    message = _assert_error(path, "utf-8", "bad.txt")
    assert "offset 9" in message


def test_unknown_encoding(tmp_path):
    """A misspelt encoding name is reported, not a LookupError traceback."""
    path = tmp_path / "c.txt"
    path.write_text("a b\n")
    with pytest.raises(W2VError, match="encoding"):
        read_sentences(path, encoding="no-such-codec")


@pytest.mark.skipif(os.name != "posix", reason="file permission bits are POSIX")
def test_unreadable_file(tmp_path):
    """A file without read permission gives 'cannot read'. Root reads anything, so skip as root."""
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading the file")
    path = tmp_path / "locked.txt"
    path.write_text("a b c\n")
    path.chmod(0)
    try:
        _assert_error(path, "cannot read", "locked.txt")
    finally:
        path.chmod(0o600)


# --------------------------------------------------------------------------- Vocab

def test_vocab_order_unk_first_descending_counts_ties_first_seen():
    """<unk> is 0; then descending count; equal counts keep first-seen order."""
    sentences = [["b", "a", "c", "a"], ["c", "b", "d"], ["e", "e", "e"]]
    vocab = Vocab.build(sentences, min_freq=1)
    assert vocab.idx_to_token == [UNK, "e", "b", "a", "c", "d"]
    assert vocab.counts.tolist() == [0, 3, 2, 2, 2, 1]
    assert vocab.counts.dtype == np.int64
    assert len(vocab) == 6
    assert vocab.token_to_idx == {t: i for i, t in enumerate(vocab.idx_to_token)}


def test_vocab_min_freq_filters_and_counts_dropped_tokens_as_unk():
    """Tokens below min_freq are left out and their occurrences counted under <unk>."""
    sentences = [["b", "a", "c", "a"], ["c", "b", "d"], ["e", "e", "e"]]
    vocab = Vocab.build(sentences, min_freq=3)
    assert vocab.idx_to_token == [UNK, "e"]
    assert vocab.counts.tolist() == [7, 3]        # 10 tokens, 3 of them 'e'
    assert "a" not in vocab and "e" in vocab
    assert vocab["a"] == 0 and vocab["e"] == 1


def test_vocab_literal_unk_not_duplicated():
    """A literal '<unk>' in the text (PTB has many) stays index 0 and adds to counts[0]."""
    sentences = [[UNK, "x", UNK, "y", "x"], [UNK]]
    vocab = Vocab.build(sentences, min_freq=1)
    assert vocab.idx_to_token == [UNK, "x", "y"]
    assert vocab.counts.tolist() == [3, 2, 1]
    ids, _ = vocab.encode(sentences)
    assert ids.tolist() == [0, 1, 0, 2, 1, 0]


def test_vocab_empty_after_min_freq_raises():
    """No token reaching min_freq is an error that says how to fix it."""
    with pytest.raises(W2VError, match="empty") as info:
        Vocab.build([["a", "b"], ["a"]], min_freq=3)
    assert "min" in str(info.value)


def test_vocab_only_unk_tokens_is_empty():
    """A corpus of literal '<unk>' tokens has no real vocabulary."""
    with pytest.raises(W2VError, match="empty"):
        Vocab.build([[UNK, UNK, UNK]], min_freq=1)


def test_vocab_min_freq_below_one_raises():
    """min_freq 0 (or less) is rejected."""
    with pytest.raises(W2VError, match="min_freq"):
        Vocab.build([["a"]], min_freq=0)


def test_vocab_constructor_checks_invariants():
    """A hand-built vocabulary must start with <unk>, hold unique tokens and one count each."""
    with pytest.raises(W2VError):
        Vocab(["a", UNK], [1, 1])
    with pytest.raises(W2VError):
        Vocab([UNK, "a", "a"], [0, 1, 1])
    with pytest.raises(W2VError):
        Vocab([UNK, "a"], [0, 1, 2])


def test_vocab_lookup_helpers():
    """__getitem__ maps unknown words to 0; index() raises a KeyError naming the word."""
    vocab = Vocab.build([["a", "b", "a"]], min_freq=1)
    assert vocab["zzz"] == 0
    assert vocab.index("b") == 2
    with pytest.raises(KeyError, match="zzz"):
        vocab.index("zzz")
    assert vocab.to_tokens(np.array([2, 1, 0])) == ["b", "a", UNK]


def test_encode_csr_layout_reproduces_sentences():
    """encode gives int32 ids and int64 offsets; slicing by offsets gives back every sentence
    (rare words as <unk>), including empty sentences."""
    sentences = [["a", "b", "rare"], [], ["b"], ["a", "a", "c", "b"], []]
    vocab = Vocab.build(sentences, min_freq=2)
    ids, offsets = vocab.encode(sentences)
    assert ids.dtype == np.int32 and offsets.dtype == np.int64
    assert offsets.shape == (len(sentences) + 1,)
    assert offsets[0] == 0 and offsets[-1] == ids.shape[0] == 8
    for s, sentence in enumerate(sentences):
        decoded = vocab.to_tokens(ids[offsets[s]:offsets[s + 1]])
        assert decoded == [t if t in vocab else UNK for t in sentence]


# --------------------------------------------------------------------------- PTB (needs W2V_NP_DATA)

@pytest.fixture(scope="module")
def ptb_sentences(ptb_train):
    return read_sentences(ptb_train)


def test_ptb_vocab_size_and_counts(ptb_train, ptb_sentences):
    """The book's PTB vocabulary (min_freq 10) has 6719 entries; counts[1:] are the raw
    counts of the file and counts[0] holds everything else (literal <unk> and rare words)."""
    vocab = Vocab.build(ptb_sentences, min_freq=10)
    assert len(vocab) == 6719
    counter = collections.Counter(ptb_train.read_text(encoding="utf-8").split())
    for token, count in zip(vocab.idx_to_token[1:], vocab.counts[1:].tolist()):
        assert counter[token] == count, token
        assert count >= 10
    assert np.all(np.diff(vocab.counts[1:]) <= 0)
    assert int(vocab.counts.sum()) == sum(counter.values()) == 887521
    kept = {t for t, c in counter.items() if c >= 10 and t != UNK}
    assert set(vocab.idx_to_token[1:]) == kept


def test_ptb_sentences_and_encoding(ptb_train, ptb_sentences):
    """42068 lines (plus the empty sentence after the final newline), no empty line,
    and the encoded ids cover every token."""
    assert len(ptb_sentences) == 42068 + 1 and ptb_sentences[-1] == []
    assert all(ptb_sentences[:-1])
    vocab = Vocab.build(ptb_sentences, min_freq=10)
    ids, offsets = vocab.encode(ptb_sentences)
    assert ids.shape == (887521,) and offsets[-1] == 887521
    assert np.bincount(ids, minlength=len(vocab)).tolist() == vocab.counts.tolist()


# --------------------------------------------------------------------------- tokenize / read_corpus

TOKENIZERS = [pytest.param(False, id="python"),
              pytest.param(True, id="numba", marks=pytest.mark.skipif(
                  not w2v_np.kernels.numba_available(), reason="Numba is not installed"))]


def assert_matches_sentences(corpus, sentences):
    """``corpus`` (a TokenizedCorpus) spells out exactly ``sentences`` (lists of str)."""
    assert corpus.type_ids.dtype == np.int32 and corpus.offsets.dtype == np.int64
    assert corpus.counts.dtype == np.int64
    assert corpus.offsets.shape == (len(sentences) + 1,)
    assert corpus.offsets[-1] == corpus.type_ids.shape[0]
    rebuilt = [[corpus.types[i] for i in corpus.type_ids[a:b]]
               for a, b in zip(corpus.offsets[:-1], corpus.offsets[1:])]
    assert rebuilt == sentences
    first_seen = list(dict.fromkeys(token for sentence in sentences for token in sentence))
    assert corpus.types == first_seen
    counter = collections.Counter(token for sentence in sentences for token in sentence)
    assert corpus.counts.tolist() == [counter[token] for token in corpus.types]


# Every ASCII whitespace of str.split() (\t \n \v \f \r, space, \x1c-\x1f), runs of it,
# blank lines, CRLF, a BOM, non-ASCII letters and tokens that differ only at the end.
TRICKY_TEXTS = [
    "the cat  sat\n\n\ton the\tmat \ncafé naïve\n",
    "a b\r\nc d e\r\nf",
    "x\x0by\x0cz\x1cw\x1dv\x1eu\x1ft\rs \n\n\n",
    "\ufeffstart of file\nab abc abcd ab a\n  lead and trail  ",
    "\n",
    "日本語 テキスト 日本語\nñ ñ n",
]


@pytest.mark.parametrize("use_kernels", TOKENIZERS)
@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_tokenize_matches_line_split(text, use_kernels):
    """tokenize(text) holds exactly ``[line.split() for line in text.split('\\n')]``: types in
    first-seen order, their counts, ids and line offsets, for the Python path and the Numba
    byte tokeniser alike."""
    assert_matches_sentences(tokenize(text, use_kernels), [line.split() for line in text.split("\n")])


@pytest.mark.parametrize("use_kernels", TOKENIZERS)
def test_tokenize_unicode_whitespace(use_kernels):
    """Whitespace beyond ASCII (NBSP, em space, ideographic space...) splits tokens as
    str.split() does: the byte tokeniser hands such texts to the Python path."""
    text = "a\xa0b\u2003c\u3000d\x85e f\u2028g\n"
    assert_matches_sentences(tokenize(text, use_kernels), [line.split() for line in text.split("\n")])


def test_unicode_space_pattern_is_every_non_ascii_space():
    """The pattern that sends a text to the Python path knows every non-ASCII character for
    which str.isspace() holds (so the byte tokeniser never misses a separator)."""
    spaces = [chr(c) for c in range(0x80, 0x110000) if chr(c).isspace()]
    assert all(w2v_np.corpus._UNICODE_SPACE.fullmatch(c) for c in spaces)
    assert sum(1 for c in range(0x80, 0x3001) if w2v_np.corpus._UNICODE_SPACE.fullmatch(chr(c))) == len(spaces)


@pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed")
def test_byte_tokenizer_many_types_and_long_tokens():
    """Tens of thousands of distinct tokens (the hash table grows many times) and long
    tokens sharing prefixes: identical to the Python path."""
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(30_000)] + ["x" * 300, "x" * 301, "x" * 299 + "y"])
    lines = [" ".join(rng.choice(words, size=rng.integers(0, 40)).tolist()) for _ in range(3000)]
    text = "\n".join(lines)
    fast, slow = tokenize(text, use_kernels=True), tokenize(text)
    assert fast.types == slow.types
    for name in ("counts", "type_ids", "offsets"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
    assert_matches_sentences(fast, [line.split() for line in lines])


@pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed")
@pytest.mark.parametrize("text", [*TRICKY_TEXTS[:4], "one line without a break", "a\n\n\n\nb\n\n"])
@pytest.mark.parametrize("threads", [2, 3, 7])
def test_read_corpus_in_threads_equals_one_thread(tmp_path, monkeypatch, text, threads):
    """Parts of a piece tokenised in threads at once, cut at line breaks (even where the cuts
    fall on blank lines, or no break remains), merge into exactly the corpus one thread reads."""
    monkeypatch.setattr(w2v_np.corpus, "PARALLEL_MIN_CHARS", 1)
    path = tmp_path / "corpus.txt"
    path.write_text(text * 5, encoding="utf-8")
    parts = w2v_np.corpus._tokenized_parts(text * 5, True, threads)
    assert 1 < len(parts) <= threads if "\n" in (text * 5)[:-1] else len(parts) == 1
    together = read_corpus(path, use_kernels=True, threads=threads)
    assert_matches_sentences(together, [line.split() for line in (text * 5).split("\n")])
    alone = read_corpus(path, use_kernels=True)
    assert together.types == alone.types
    for name in ("counts", "type_ids", "offsets"):
        np.testing.assert_array_equal(getattr(together, name), getattr(alone, name))


@pytest.mark.parametrize("use_kernels", TOKENIZERS)
def test_read_corpus_errors_and_empty(tmp_path, use_kernels):
    """read_corpus gives read_sentences' one-line errors: missing file, token-free file."""
    with pytest.raises(W2VError, match="not found"):
        read_corpus(tmp_path / "missing.txt", use_kernels=use_kernels)
    blank = tmp_path / "blank.txt"
    blank.write_text(" \n\t\n")
    with pytest.raises(W2VError, match="empty"):
        read_corpus(blank, use_kernels=use_kernels)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(W2VError, match="not valid utf-8"):
        read_corpus(latin, use_kernels=use_kernels)
    assert read_corpus(latin, encoding="latin-1", use_kernels=use_kernels).types == ["café", "au", "lait"]
    wide = tmp_path / "wide.txt"
    wide.write_text("a b\nc a\n", encoding="utf-16")     # no byte-level line breaks: read whole
    corpus = read_corpus(wide, encoding="utf-16", use_kernels=use_kernels, chunk_bytes=2)
    assert corpus.types == ["a", "b", "c"] and corpus.offsets.tolist() == [0, 2, 4, 4]


@pytest.mark.parametrize("use_kernels", TOKENIZERS)
def test_read_corpus_fits_the_densest_text_and_refuses_a_growing_file(tmp_path, use_kernels, monkeypatch):
    """The ids buffer is sized for one token per two bytes (plus one): one-character tokens
    with one separator fill it exactly; a file that outgrows its measured size is refused."""
    import w2v_np.corpus

    for text in ("a", "a b", "a b\nc", "a b c d\n", "a\nb\nc\nd\ne"):
        path = tmp_path / "dense.txt"
        path.write_text(text)
        corpus = read_corpus(path, use_kernels=use_kernels, chunk_bytes=2)
        assert corpus.type_ids.shape[0] == len(text.split()) == len(text.encode()) // 2 + len(text.encode()) % 2
    monkeypatch.setattr(w2v_np.corpus, "_file_size", lambda path: 2)
    with pytest.raises(W2VError, match="grew while it was being read"):
        read_corpus(path, use_kernels=use_kernels)


@pytest.mark.parametrize("use_kernels", TOKENIZERS)
@pytest.mark.parametrize("chunk_bytes", [1, 3, 8, 64, 1 << 26])
def test_read_corpus_in_pieces_equals_whole_text(tmp_path, use_kernels, chunk_bytes):
    """Reading in pieces of any size (1 byte: every line its own piece, cut mid-character
    while reading) gives exactly the lines, types, counts and ids of the whole text, and an
    undecodable byte is reported at its offset in the file, not in the piece."""
    for number, text in enumerate(TRICKY_TEXTS):
        path = tmp_path / f"text{number}.txt"
        path.write_bytes(text.encode("utf-8"))
        if not text.split():
            continue
        assert_matches_sentences(read_corpus(path, use_kernels=use_kernels, chunk_bytes=chunk_bytes),
                                 [line.split() for line in text.split("\n")])
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"good line\nsecond good line\nbad \xff here\n")
    with pytest.raises(W2VError, match="undecodable byte at offset 31$"):
        read_corpus(bad, use_kernels=use_kernels, chunk_bytes=chunk_bytes)


@pytest.mark.parametrize("use_kernels", TOKENIZERS)
def test_line_ranges_read_one_by_one_are_the_files_lines(tmp_path, use_kernels):
    """The dask engine's first pass: a file cut by line_ranges into any number of parts, each
    range read on its own (read_corpus's byte_range), gives the file's lines in order; the
    breaks between ranges are line breaks; an undecodable byte is reported at its offset in
    the file; an encoding without byte-level line breaks is one range."""
    for number, text in enumerate(TRICKY_TEXTS + ["one line, no break", "a\n" * 40]):
        path = tmp_path / f"text{number}.txt"
        raw = text.encode("utf-8")
        path.write_bytes(raw)
        for parts in (1, 2, 3, 7, 100):
            ranges = line_ranges(path, parts)
            assert ranges[0][0] == 0 and ranges[-1][1] == len(raw) and len(ranges) <= parts
            assert all(raw[stop:start] == b"\n" for (_, stop), (start, _) in zip(ranges, ranges[1:]))
            lines = []
            for start, stop in ranges:
                part = read_corpus(path, use_kernels=use_kernels, chunk_bytes=3, byte_range=(start, stop))
                assert_matches_sentences(part, [line.split() for line in raw[start:stop].decode().split("\n")])
                lines += [[part.types[i] for i in part.type_ids[a:b]]
                          for a, b in zip(part.offsets[:-1], part.offsets[1:])]
            assert lines == [line.split() for line in text.split("\n")]
    assert len(line_ranges(path, 4)) == 4
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"good line\nsecond good line\nbad \xff here\n")
    (_, _), second = line_ranges(bad, 2)
    with pytest.raises(W2VError, match="undecodable byte at offset 31$"):
        read_corpus(bad, use_kernels=use_kernels, byte_range=second)
    wide = tmp_path / "wide.txt"
    wide.write_text("a b\nc a\n", encoding="utf-16")
    assert line_ranges(wide, 3, encoding="utf-16") == [(0, wide.stat().st_size)]


def test_vocab_from_counts_equals_build():
    """Vocab.from_counts(types, counts) is Vocab.build on the same text: same order (ties in
    first-seen order), counts and <unk> total; ids_of maps unknown types to 0."""
    sentences = [["b", "a", "c", "a", UNK], ["c", "b", "d"], ["e", "e", "e", "f"]]
    corpus = tokenize("\n".join(" ".join(s) for s in sentences))
    for min_freq in (1, 2, 3):
        built = Vocab.build(sentences, min_freq)
        counted = Vocab.from_counts(corpus.types, corpus.counts, min_freq)
        assert counted.idx_to_token == built.idx_to_token
        assert counted.counts.tolist() == built.counts.tolist()
        ids = counted.ids_of(corpus.types)[corpus.type_ids]
        np.testing.assert_array_equal(ids, built.encode(sentences)[0])
    assert Vocab.from_counts(corpus.types, corpus.counts, 3).ids_of(["zz", "e"]).tolist() == [0, 1]


@pytest.mark.parametrize("use_kernels", TOKENIZERS)
def test_ptb_read_corpus_equals_sentences(ptb_train, ptb_sentences, use_kernels):
    """On PTB, read_corpus + from_counts + ids_of give the vocabulary and ids of
    read_sentences + build + encode."""
    corpus = read_corpus(ptb_train, use_kernels=use_kernels)
    vocab = Vocab.from_counts(corpus.types, corpus.counts, 10)
    reference = Vocab.build(ptb_sentences, 10)
    assert vocab.idx_to_token == reference.idx_to_token and len(vocab) == 6719
    np.testing.assert_array_equal(vocab.counts, reference.counts)
    ids, offsets = reference.encode(ptb_sentences)
    np.testing.assert_array_equal(vocab.ids_of(corpus.types)[corpus.type_ids], ids)
    np.testing.assert_array_equal(corpus.offsets, offsets)


# --------------------------------------------------------------------------- finding / downloading PTB

PTB_CONTENT = {
    "ptb.train.txt": "a b c\nb c d\n",
    "ptb.valid.txt": "a b\n",
    "ptb.test.txt": "c d\n",
}


def _make_zip(path, members):
    with zipfile.ZipFile(path, "w") as zipped:
        for name, text in members.items():
            zipped.writestr(name, text)
    return hashlib.sha1(path.read_bytes()).hexdigest()


class _Server:
    """A local HTTP server over a folder that counts the requests it answered."""

    def __init__(self, folder):
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                super().do_GET()

            def log_message(self, *args):
                pass

        self.requests = 0
        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def served(tmp_path):
    """Serve a folder with a good ``ptb.zip`` (and its SHA-1) and a broken one lacking a file."""
    folder = tmp_path / "www"
    folder.mkdir()
    good_sha1 = _make_zip(folder / "ptb.zip", {f"ptb/{n}": t for n, t in PTB_CONTENT.items()})
    partial = {f"ptb/{n}": t for n, t in PTB_CONTENT.items() if n != "ptb.test.txt"}
    partial_sha1 = _make_zip(folder / "partial.zip", partial)
    server = _Server(folder)
    yield server, good_sha1, partial_sha1
    server.close()


def _closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _no_temp_left(cache):
    return [p.name for p in cache.iterdir() if p.name.startswith(".ptb-")] == []


def test_download_ptb_success_and_cache_reuse(tmp_path, served, monkeypatch):
    """Download, verify and unpack into cache/ptb; find_ptb then uses the cache without
    another request, even with download allowed."""
    server, sha1, _ = served
    monkeypatch.delenv("W2V_NP_DATA", raising=False)
    cache = tmp_path / "cache"
    target = download_ptb(cache, url=f"{server.base}/ptb.zip", sha1=sha1, timeout=10)
    assert target == cache / "ptb"
    for name, text in PTB_CONTENT.items():
        assert (target / name).read_text() == text
    assert server.requests == 1
    assert _no_temp_left(cache)

    found = find_ptb(cache_dir=cache)
    assert found == cache / "ptb" / "ptb.train.txt"
    assert find_ptb(cache_dir=cache, download=False) == found
    assert server.requests == 1, "find_ptb downloaded again although the cache was complete"
    assert read_sentences(found)[:2] == [["a", "b", "c"], ["b", "c", "d"]]


def test_download_ptb_replaces_existing_cache(tmp_path, served):
    """A second download over an existing cache leaves the fresh files, nothing stale."""
    server, sha1, _ = served
    cache = tmp_path / "cache"
    (cache / "ptb").mkdir(parents=True)
    (cache / "ptb" / "stale.txt").write_text("old")
    target = download_ptb(cache, url=f"{server.base}/ptb.zip", sha1=sha1, timeout=10)
    assert sorted(p.name for p in target.iterdir()) == sorted(PTB_CONTENT)


def test_download_ptb_wrong_sha1(tmp_path, served):
    """A checksum mismatch is an error and leaves neither a ptb folder nor temporary files."""
    server, sha1, _ = served
    cache = tmp_path / "cache"
    with pytest.raises(W2VError, match="SHA-1") as info:
        download_ptb(cache, url=f"{server.base}/ptb.zip", sha1="0" * 40, timeout=10)
    assert sha1 in str(info.value)
    assert not (cache / "ptb").exists()
    assert _no_temp_left(cache)


def test_download_ptb_archive_lacking_a_file(tmp_path, served):
    """An archive without ptb/ptb.test.txt is rejected, leaving no ptb folder."""
    server, _, partial_sha1 = served
    cache = tmp_path / "cache"
    with pytest.raises(W2VError, match="ptb.test.txt"):
        download_ptb(cache, url=f"{server.base}/partial.zip", sha1=partial_sha1, timeout=10)
    assert not (cache / "ptb").exists()
    assert _no_temp_left(cache)


def test_download_ptb_http_404(tmp_path, served):
    """A 404 is a W2VError, not an HTTPError traceback."""
    server, sha1, _ = served
    with pytest.raises(W2VError, match="could not download"):
        download_ptb(tmp_path / "cache", url=f"{server.base}/missing.zip", sha1=sha1, timeout=10)
    assert not (tmp_path / "cache" / "ptb").exists()


def test_download_ptb_unreachable_tells_how_to_use_local_copy(tmp_path):
    """Offline: the message names the URL and both ways to point at a local copy."""
    url = f"http://127.0.0.1:{_closed_port()}/ptb.zip"
    with pytest.raises(W2VError) as info:
        download_ptb(tmp_path / "cache", url=url, sha1="0" * 40, timeout=5)
    message = str(info.value)
    assert url in message
    assert "W2V_NP_DATA" in message and "--corpus" in message
    assert not (tmp_path / "cache" / "ptb").exists()


def test_find_ptb_without_data_or_cache_and_download_disabled(tmp_path, monkeypatch):
    """Nothing found and downloading disabled: the error tells to set W2V_NP_DATA."""
    monkeypatch.delenv("W2V_NP_DATA", raising=False)
    with pytest.raises(W2VError, match="W2V_NP_DATA"):
        find_ptb(cache_dir=tmp_path / "empty-cache", download=False)


def test_find_ptb_uses_env_folder(tmp_path, monkeypatch):
    """$W2V_NP_DATA wins over the cache; a folder without ptb.train.txt is an error."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "ptb.train.txt").write_text("x y\n")
    monkeypatch.setenv("W2V_NP_DATA", str(data))
    assert find_ptb(cache_dir=tmp_path / "cache", download=False) == data / "ptb.train.txt"
    assert resolve_corpus("ptb") == data / "ptb.train.txt"
    monkeypatch.setenv("W2V_NP_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(W2VError, match="ptb.train.txt"):
        find_ptb(cache_dir=tmp_path / "cache", download=False)


def test_resolve_corpus_plain_path(tmp_path):
    """Anything but 'ptb' is taken as a file path, unchecked until read."""
    assert resolve_corpus(tmp_path / "c.txt") == tmp_path / "c.txt"
    assert resolve_corpus("some/file.txt") == type(tmp_path)("some/file.txt")
