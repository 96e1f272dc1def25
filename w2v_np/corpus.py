"""Reading text corpora: PTB (found, cached or downloaded) and any text file.

A corpus is a text file with one sentence per line and tokens separated by
whitespace, as PTB ships.  :func:`read_sentences` returns a list of sentences, each
a list of token strings; :func:`read_corpus` returns the same text as flat arrays of
ids into its distinct tokens (:class:`TokenizedCorpus`), which is what training uses.
"""
import hashlib
import os
import re
import shutil
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import W2VError

PTB_URL = "http://d2l-data.s3-accelerate.amazonaws.com/ptb.zip"
PTB_SHA1 = "319d85e578af0cdc590547f26231e4e31cdf1e42"
PTB_FILES = ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt")
DATA_ENV = "W2V_NP_DATA"


def read_sentences(path, encoding="utf-8"):
    """Read a whitespace-tokenised text file, one sentence per line.

    Returns a list of sentences (lists of ``str``); blank lines give empty sentences,
    as the seed's ``read_ptb`` does.  Raises :class:`W2VError` for a missing,
    unreadable, undecodable or token-free file.
    """
    text = _read_text(path, encoding)
    sentences = [line.split() for line in text.split("\n")]
    if not any(sentences):
        raise W2VError(f"corpus {path} is empty: it holds no tokens")
    return sentences


@dataclass
class TokenizedCorpus:
    """A text as flat ids into its own list of distinct tokens (CSR layout, one row per line).

    Attributes:
        types: the ``T`` distinct tokens (str), in first-seen order.
        counts: int64 ``(T,)``, occurrences of each type.
        type_ids: int32 ``(N,)``, every token as an index into ``types``.
        offsets: int64 ``(S+1,)``; line ``s`` is ``type_ids[offsets[s]:offsets[s+1]]``.
    """
    types: list
    counts: np.ndarray
    type_ids: np.ndarray
    offsets: np.ndarray


def tokenize(text, use_kernels=False):
    """Split ``text`` into lines and tokens as :func:`read_sentences` does -> :class:`TokenizedCorpus`.

    With ``use_kernels`` (Numba installed) the compiled byte tokeniser of
    ``w2v_np.kernels.text`` does the work; the result is identical.
    """
    if use_kernels and _bytes_tokenisable(text):
        from .kernels.text import tokenize as tokenize_bytes
        raw = text.encode("utf-8")
        return _from_kernel(raw, tokenize_bytes(np.frombuffer(raw, dtype=np.uint8)))
    table = {}
    intern = table.setdefault
    type_ids, lengths = [], []
    for line in text.split("\n"):
        tokens = line.split()
        # len(table) is read before setdefault inserts, so a new token gets the next id.
        type_ids.extend([intern(token, len(table)) for token in tokens])
        lengths.append(len(tokens))
    type_ids = np.array(type_ids, dtype=np.int32)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return TokenizedCorpus(list(table), np.bincount(type_ids, minlength=len(table)).astype(np.int64),
                           type_ids, offsets)


# The characters beyond ASCII that str.split() treats as whitespace; the byte tokeniser
# knows only the ASCII ones, so a text holding any of these takes the Python path.
_UNICODE_SPACE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def _bytes_tokenisable(text):
    return text.isascii() or not _UNICODE_SPACE.search(text)


def _from_kernel(raw, result, base=0):
    """The :class:`TokenizedCorpus` from the byte tokeniser's ``result`` for the UTF-8 bytes
    ``raw[base:]`` (its type offsets count from ``base``)."""
    type_ids, offsets, type_start, type_stop, counts = result
    types = [raw[base + start:base + stop].decode("utf-8")
             for start, stop in zip(type_start.tolist(), type_stop.tolist())]
    return TokenizedCorpus(types, counts, type_ids, offsets)


# A shorter text is tokenised in one thread: starting threads would cost more than they save.
PARALLEL_MIN_CHARS = 1 << 20


def _tokenized_parts(text, use_kernels, threads):
    """``text`` tokenised as consecutive parts that cut it at line breaks (each cut's break dropped).

    With the kernels, ``threads`` > 1 and a long text of ASCII whitespace, the text is cut
    into ``threads`` parts of about equal size, tokenised at once, one thread each (the byte
    tokeniser releases the GIL); otherwise it is one part.  Merged in order, as
    :func:`read_corpus` merges its pieces, the parts give exactly :func:`tokenize` of the text.
    Returns a list of :class:`TokenizedCorpus`.
    """
    if not (use_kernels and threads > 1 and len(text) >= PARALLEL_MIN_CHARS and _bytes_tokenisable(text)):
        return [tokenize(text, use_kernels)]
    from .kernels.text import tokenize as tokenize_bytes
    raw = text.encode("utf-8")
    starts = [0]
    for part in range(1, threads):
        cut = raw.find(b"\n", max(starts[-1], part * len(raw) // threads))
        if cut < 0:
            break
        starts.append(cut + 1)
    stops = [start - 1 for start in starts[1:]] + [len(raw)]
    data = np.frombuffer(raw, dtype=np.uint8)
    results, failures = [None] * len(starts), []

    def work(part):
        try:
            results[part] = tokenize_bytes(data[starts[part]:stops[part]])
        except BaseException as exc:       # re-raised by the calling thread
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(part,)) for part in range(1, len(starts))]
    for worker in workers:
        worker.start()
    work(0)
    for worker in workers:
        worker.join()
    if failures:
        raise failures[0]
    return [_from_kernel(raw, result, start) for start, result in zip(starts, results)]


# Text is read and tokenised in pieces of about this size, so a large corpus is never
# held in memory as text: only its token ids grow with it.
CHUNK_BYTES = 16 << 20


def read_corpus(path, encoding="utf-8", use_kernels=False, chunk_bytes=CHUNK_BYTES, threads=1, byte_range=None):
    """Read a text file (see :func:`read_sentences`) and :func:`tokenize` it -> :class:`TokenizedCorpus`.

    The file is read in pieces of about ``chunk_bytes`` that end at a line break; each is
    tokenised and its types merged into the corpus's, in first-seen order.  The result is
    the same as tokenising the whole text at once, but memory holds one piece of text at a
    time besides the int32 token ids.  With ``use_kernels``, ``threads`` threads tokenise
    parts of a piece at once; the result does not depend on their number.

    ``byte_range`` ``(start, stop)`` reads only those bytes of the file, as if they were the
    whole text (:func:`line_ranges` cuts a file into such ranges); a range may hold no token.
    """
    merged = MergedTypes()
    lengths = [np.zeros(1, dtype=np.int64)]
    # Sized for the most tokens the file can hold (one byte each, one between two): pages
    # never written are never given memory, so only the ids read stay resident, and they
    # are never copied or held twice.
    start, stop = (0, None) if byte_range is None else byte_range
    type_ids, size = np.empty(((_file_size(path) if stop is None else stop) - start) // 2 + 1, dtype=np.int32), 0
    for piece in (part for text in _read_pieces(path, encoding, chunk_bytes, start, stop)
                  for part in _tokenized_parts(text, use_kernels, threads)):
        if size + piece.type_ids.shape[0] > type_ids.shape[0]:
            raise W2VError(f"corpus {path} grew while it was being read")
        np.take(merged.add(piece.types, piece.counts), piece.type_ids,
                out=type_ids[size:size + piece.type_ids.shape[0]])
        size += piece.type_ids.shape[0]
        lengths.append(np.diff(piece.offsets))
    type_ids = type_ids[:size]
    if type_ids.shape[0] == 0 and byte_range is None:
        raise W2VError(f"corpus {path} is empty: it holds no tokens")
    offsets = np.cumsum(np.concatenate(lengths))
    return TokenizedCorpus(merged.types, merged.counts, type_ids, offsets)


class MergedTypes:
    """The distinct tokens of consecutive parts of a text, merged in first-seen order, with their counts.

    ``types`` (list of ``T`` str) and ``counts`` (int64 ``(T,)``) so far; :meth:`add` merges the
    next part's.  Counted part by part: np.bincount of all the ids would copy them to int64 first.
    """

    def __init__(self):
        self._ids = {}
        self.counts = np.zeros(0, dtype=np.int64)

    @property
    def types(self):
        return list(self._ids)

    def add(self, types, counts):
        """Merge a part's distinct tokens ``types`` (list of str) seen ``counts`` (int ``(t,)``) times;
        returns int32 ``(t,)``: each one's index in the merged ``types``."""
        intern, ids = self._ids.setdefault, self._ids
        # len(ids) is read before setdefault inserts, so a new type gets the next index.
        to_merged = np.fromiter((intern(token, len(ids)) for token in types), dtype=np.int32, count=len(types))
        self.counts = np.concatenate([self.counts, np.zeros(len(ids) - self.counts.shape[0], dtype=np.int64)])
        self.counts[to_merged] += counts
        return to_merged


def _file_size(path):
    try:
        return os.path.getsize(_corpus_file(path))
    except OSError as exc:
        raise W2VError(f"cannot read corpus {path}: {exc.strerror}") from None


def _read_pieces(path, encoding, chunk_bytes, start, stop):
    """Yield the decoded text of bytes ``start..stop - 1`` of ``path`` (``stop`` None: to its end) in pieces
    that split it at line breaks.

    Each break between two pieces is dropped (piece 1 ends before it, piece 2 starts after
    it), so splitting the pieces into lines gives exactly the lines of the whole text.
    Encodings that do not write a line break as the byte ``\\n`` (UTF-16, ...) come in one
    piece.  :class:`W2VError` for a missing, unreadable or undecodable file.
    """
    path = _corpus_file(path)
    if not line_splittable(encoding):
        yield _read_text(path, encoding)
        return
    consumed = start
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            tail = b""
            while True:
                block = handle.read(chunk_bytes if stop is None else min(chunk_bytes, stop - consumed - len(tail)))
                data = tail + block
                cut = data.rfind(b"\n") if block else len(data)
                if cut < 0:                       # no line break yet: read on
                    tail = data
                    continue
                piece, tail = data[:cut], data[cut + 1:]
                try:
                    yield piece.decode(encoding)
                except UnicodeDecodeError as exc:
                    raise W2VError(f"corpus {path} is not valid {encoding}: undecodable byte at offset "
                                   f"{consumed + exc.start}") from None
                consumed += cut + 1
                if not block:
                    return
    except OSError as exc:
        raise W2VError(f"cannot read corpus {path}: {exc.strerror}") from None


def line_splittable(encoding):
    """Whether ``encoding`` writes a line break as the byte ``\\n`` (and no other character holds that byte),
    so that a file can be cut at line breaks without decoding it; W2VError for an unknown encoding."""
    try:
        return "\n".encode(encoding) == b"\n"
    except LookupError:
        raise W2VError(f"unknown text encoding {encoding!r}") from None


def line_ranges(path, parts, encoding="utf-8"):
    """Byte ranges ``[(start, stop), ...]`` cutting the file ``path`` at line breaks into about ``parts`` equal parts.

    The break between two ranges belongs to neither (as :func:`read_corpus` drops the break
    between its pieces), so the lines of the ranges, in order, are the file's lines.  One
    range for an encoding that cannot be cut (:func:`line_splittable`).
    """
    path = _corpus_file(path)
    size = _file_size(path)
    starts = [0]
    if line_splittable(encoding):
        with open(path, "rb") as handle:
            for part in range(1, parts):
                position = max(starts[-1], part * size // parts)
                handle.seek(position)
                cut = _next_break(handle, position)
                if cut is None:
                    break
                starts.append(cut + 1)
    return [(start, next_start - 1) for start, next_start in zip(starts, starts[1:])] + [(starts[-1], size)]


def _next_break(handle, position, block_bytes=1 << 16):
    """The offset of the first ``\\n`` at or after ``position`` (``handle`` is there), or None."""
    while True:
        block = handle.read(block_bytes)
        if not block:
            return None
        found = block.find(b"\n")
        if found >= 0:
            return position + found
        position += len(block)


def _corpus_file(path):
    """``path`` as a Path; :class:`W2VError` unless it names an existing file."""
    path = Path(path)
    if not path.exists():
        raise W2VError(f"corpus file not found: {path}")
    if not path.is_file():
        raise W2VError(f"corpus path is not a file: {path}")
    return path


def _read_text(path, encoding):
    """The decoded text of a corpus file; :class:`W2VError` when that fails."""
    path = _corpus_file(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise W2VError(f"cannot read corpus {path}: {exc.strerror}") from None
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise W2VError(
            f"corpus {path} is not valid {encoding}: undecodable byte at offset {exc.start}"
        ) from None
    except LookupError:
        raise W2VError(f"unknown text encoding {encoding!r}") from None


def default_cache_dir():
    """Folder where downloaded data is cached: ``$XDG_CACHE_HOME/w2v-np`` or ``~/.cache/w2v-np``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "w2v-np"


def _hash_file(path, digest):
    """Feed the bytes of ``path`` to ``digest`` (a hashlib object); returns their number."""
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size


def download_ptb(cache_dir=None, url=PTB_URL, sha1=PTB_SHA1, timeout=60):
    """Download the book's ``ptb.zip``, verify its SHA-1 and unpack it into ``cache_dir/ptb``.

    The folder appears only once every file is complete (unpacked into a temporary
    folder, then renamed), so an interrupted download never leaves a half-written
    cache.  Returns the folder holding ``ptb.train.txt``.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = cache_dir / "ptb"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise W2VError(f"cannot create cache folder {cache_dir}: {exc.strerror}") from None
    import urllib.error       # here, not at the top: most runs never download, and the import costs
    import urllib.request     # a share of w2v_np's own
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".ptb-") as tmp:
        archive = Path(tmp) / "ptb.zip"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(archive, "wb") as out:
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise W2VError(
                f"could not download PTB from {url} ({reason}); offline, set {DATA_ENV} to a "
                f"folder holding ptb.train.txt or pass --corpus PATH/TO/ptb.train.txt"
            ) from None
        digest = hashlib.sha1()
        _hash_file(archive, digest)
        actual = digest.hexdigest()
        if actual != sha1:
            raise W2VError(f"downloaded {url} has SHA-1 {actual}, expected {sha1}; not using it")
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(archive) as zipped:
            for name in PTB_FILES:
                member = f"ptb/{name}"
                if member not in zipped.namelist():
                    raise W2VError(f"downloaded {url} lacks {member}")
                zipped.extract(member, unpacked)
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked / "ptb", target)
    return target


def find_ptb(cache_dir=None, download=True):
    """Return the path of ``ptb.train.txt``.

    Looks in ``$W2V_NP_DATA`` (a folder holding ``ptb.train.txt``), then in the user
    cache, then downloads the book's archive into the cache (when ``download``).
    """
    env = os.environ.get(DATA_ENV)
    if env:
        candidate = Path(env) / "ptb.train.txt"
        if candidate.is_file():
            return candidate
        raise W2VError(f"{DATA_ENV}={env} does not hold ptb.train.txt")
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cached = cache_dir / "ptb" / "ptb.train.txt"
    if cached.is_file():
        return cached
    if not download:
        raise W2VError(f"PTB not found: set {DATA_ENV} to a folder holding ptb.train.txt")
    return download_ptb(cache_dir) / "ptb.train.txt"


def file_fingerprint(path):
    """``"SIZE-HASH"`` of a file's bytes (BLAKE2b, 128 bits): tells whether a corpus changed."""
    path = _corpus_file(path)
    digest = hashlib.blake2b(digest_size=16)
    try:
        size = _hash_file(path, digest)
    except OSError as exc:
        raise W2VError(f"cannot read corpus {path}: {exc.strerror}") from None
    return f"{size}-{digest.hexdigest()}"


def resolve_corpus(spec):
    """Map a ``--corpus`` value to a file path: ``ptb`` means PTB's training split."""
    if str(spec) == "ptb":
        return find_ptb()
    return Path(spec)
