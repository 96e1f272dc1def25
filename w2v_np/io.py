"""Writing and reading trained vectors: atomic files and the word2vec text format."""
import contextlib
import os
import secrets
from pathlib import Path

import numpy as np

from .backend import to_host
from .errors import W2VError


@contextlib.contextmanager
def atomic_write(path, mode="w", encoding="utf-8"):
    """Open a temporary file beside ``path`` and rename it over ``path`` on success.

    Readers see either the old file or the complete new one, never a partial write;
    on an exception the temporary file is removed and ``path`` is untouched.  The
    file gets the usual permissions (``0o666`` less the umask).
    """
    path = Path(path)
    tmp_path = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp_path, mode.replace("w", "x"), **({} if "b" in mode else {"encoding": encoding})) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_path)
        raise


def write_word2vec_text(path, tokens, vectors, encoding="utf-8"):
    """Write ``vectors`` (float ``(V, D)``, NumPy or CuPy) in word2vec text format, atomically.

    The first line is ``V D``; each following line is a token and its ``D`` values.
    """
    vectors = to_host(vectors)
    if len(tokens) != vectors.shape[0]:
        raise W2VError(f"{len(tokens)} tokens but {vectors.shape[0]} vectors")
    with atomic_write(path, "w", encoding=encoding) as out:
        out.write(f"{vectors.shape[0]} {vectors.shape[1]}\n")
        for token, row in zip(tokens, vectors):
            out.write(token + " " + " ".join(f"{value:.6g}" for value in row.tolist()) + "\n")


def read_word2vec_text(path, encoding="utf-8"):
    """Read a word2vec text file: returns ``(tokens, vectors)`` with float32 ``(V, D)`` vectors."""
    path = Path(path)
    try:
        with open(path, encoding=encoding) as handle:
            header = handle.readline().split()
            if len(header) != 2 or not all(part.isdigit() for part in header):
                raise W2VError(f"{path}: bad header, expected 'count dimension'")
            count, dim = int(header[0]), int(header[1])
            tokens, rows = [], []
            for line_number, line in enumerate(handle, start=2):
                parts = line.rstrip("\n").split(" ")
                if len(parts) != dim + 1:
                    raise W2VError(f"{path}:{line_number}: expected a token and {dim} values, "
                                   f"got {len(parts)} fields")
                tokens.append(parts[0])
                rows.append(parts[1:])
    except FileNotFoundError:
        raise W2VError(f"vectors file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise W2VError(f"{path} is not valid {encoding} (byte offset {exc.start})") from None
    except OSError as exc:
        raise W2VError(f"cannot read {path}: {exc.strerror}") from None
    if len(tokens) != count:
        raise W2VError(f"{path}: header promises {count} vectors, file holds {len(tokens)}")
    try:
        vectors = np.array(rows, dtype=np.float32).reshape(count, dim)
    except ValueError:
        raise W2VError(f"{path}: non-numeric vector value") from None
    return tokens, vectors
