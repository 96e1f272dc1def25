"""The checkpoint of a training run: one ``.npz`` file that loads without pickle.

A checkpoint holds everything needed to continue a run exactly where it stopped:

================  ==========================================================
``format``        ``"w2v-np checkpoint"`` and :data:`VERSION`
``meta``          JSON: config, the corpus's absolute path and fingerprint,
                  the sampler that ran, epochs done and their metrics, Adam's
                  scalars and step count, the bit generator states of the data
                  and shuffle streams (:data:`META_FIELDS`)
``tokens``        uint8: the UTF-8 bytes of the tokens joined by ``\\n``
                  (tokens never hold whitespace; no fixed-width string padding)
``counts``        int64 ``(V,)``: corpus counts
``center``,       float ``(V, D)``: both tables, in the run's dtype
``context``
``adam_m_*``,     float ``(V, D)``: Adam's moments of each table
``adam_v_*``
================  ==========================================================

JSON and plain arrays only, so :func:`load_checkpoint` uses ``allow_pickle=False``.
"""
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .backend import to_host
from .errors import W2VError
from .io import atomic_write

FORMAT = "w2v-np checkpoint"
VERSION = 1
TABLES = ("center", "context")
# What a run needs from ``meta`` to continue, with the JSON type of each entry.
META_FIELDS = {"config": dict, "epoch": int, "epochs": list, "resumed_at": list, "sampler": str,
               "corpus_path": str, "corpus_fingerprint": str, "rng": dict, "adam": dict}
ADAM_FIELDS = {"lr": (int, float), "betas": list, "eps": (int, float), "step": int}


@dataclass
class Checkpoint:
    """A loaded checkpoint; arrays are NumPy.

    Attributes:
        meta: dict (see the module docstring); tokens: list of ``V`` str;
        counts: int64 ``(V,)``; params: ``{"center", "context"}`` float ``(V, D)``;
        adam_m, adam_v: the same keys and shapes.
    """
    meta: dict
    tokens: list
    counts: np.ndarray
    params: dict
    adam_m: dict
    adam_v: dict

    @property
    def epoch(self):
        """Number of epochs finished when the checkpoint was written."""
        return self.meta["epoch"]


def save_checkpoint(path, *, meta, tokens, counts, params, optimizer):
    """Write a checkpoint to ``path`` atomically.

    Args:
        meta: JSON-serialisable dict (config, epoch, metrics, RNG states, ...);
        tokens: ``V`` str; counts: int ``(V,)``; params: ``{"center", "context"}``
        float ``(V, D)`` (NumPy or CuPy); optimizer: an :class:`~w2v_np.optim.Adam`
        over ``params``, whose scalars are stored in ``meta["adam"]``.
    """
    meta = dict(meta, adam={"lr": optimizer.lr, "betas": list(optimizer.betas),
                            "eps": optimizer.eps, "step": optimizer.step_count})
    arrays = {"format": np.array(f"{FORMAT} {VERSION}"),
              "meta": np.array(json.dumps(meta)),
              "tokens": np.frombuffer("\n".join(tokens).encode("utf-8"), dtype=np.uint8),
              "counts": np.asarray(counts, dtype=np.int64)}
    for name in TABLES:
        arrays[name] = to_host(params[name])
        arrays[f"adam_m_{name}"] = to_host(optimizer.m[name])
        arrays[f"adam_v_{name}"] = to_host(optimizer.v[name])
    with atomic_write(path, "wb") as out:
        np.savez(out, **arrays)


def load_checkpoint(path):
    """Read a checkpoint written by :func:`save_checkpoint`; :class:`W2VError` if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise W2VError(f"checkpoint not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise W2VError(f"{path} is not a readable checkpoint ({exc})".splitlines()[0]) from None
    if str(arrays.get("format", "")) != f"{FORMAT} {VERSION}":
        raise W2VError(f"{path} is not a {FORMAT} (version {VERSION})")
    try:
        meta = json.loads(str(arrays["meta"]))
        tokens = bytes(arrays["tokens"]).decode("utf-8").split("\n")
        counts = arrays["counts"]
        params = {name: arrays[name] for name in TABLES}
        adam_m = {name: arrays[f"adam_m_{name}"] for name in TABLES}
        adam_v = {name: arrays[f"adam_v_{name}"] for name in TABLES}
        shape = params["center"].shape
        consistent = (len(shape) == 2 and counts.shape == (len(tokens),) == shape[:1]
                      and all(a.shape == shape for a in (*params.values(), *adam_m.values(),
                                                          *adam_v.values()))
                      and _has_fields(meta, META_FIELDS) and _has_fields(meta["adam"], ADAM_FIELDS)
                      and meta["epoch"] == len(meta["epochs"]))
    except (KeyError, ValueError, UnicodeDecodeError, AttributeError) as exc:
        raise W2VError(f"{path} is a damaged checkpoint ({type(exc).__name__}: {exc})") from None
    if not consistent:
        raise W2VError(f"{path} is a damaged checkpoint (inconsistent shapes or metadata)")
    return Checkpoint(meta, tokens, counts, params, adam_m, adam_v)


def _has_fields(record, fields):
    """Whether the dict ``record`` holds every name of ``fields`` with a value of its type."""
    return isinstance(record, dict) and all(
        isinstance(record.get(name), kind) and not isinstance(record.get(name), bool)
        for name, kind in fields.items())
