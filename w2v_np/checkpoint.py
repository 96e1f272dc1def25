"""The checkpoint of a training run: one ``.npz`` file that loads without pickle.

A checkpoint holds everything needed to continue a run exactly where it stopped:

================  ==========================================================
``format``        ``"w2v-np checkpoint"`` and :data:`VERSION`
``meta``          JSON: the resolved plan and the config as given, the corpus's
                  absolute path and fingerprint (an in-memory corpus's description
                  and ``null``: there is no file to hash), epochs done and their metrics, the
                  optimizer's name and scalars (Adam's step count, SGD's work
                  done), the bit generator states of the data and shuffle
                  streams (:data:`META_FIELDS`)
``tokens``        uint8: the UTF-8 bytes of the tokens joined by ``\\n``
                  (tokens never hold whitespace; no fixed-width string padding)
``counts``        int64 ``(V,)``: corpus counts
``center``,       float ``(V, D)``: both tables, in the run's dtype
``context``
``state_m_*``,    float ``(V, D)``: the optimizer's arrays for each table
``state_v_*``     (``ARRAYS`` of its class: Adam's moments; none for SGD)
================  ==========================================================

JSON and plain arrays only, so :func:`load_checkpoint` uses ``allow_pickle=False``.
"""
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .backend import get_array_module, to_host
from .errors import W2VError
from .io import atomic_write
from .optim import OPTIMIZERS

FORMAT = "w2v-np checkpoint"
VERSION = 3
TABLES = ("center", "context")
# What a run needs from ``meta`` to continue, with the JSON type(s) of each entry.
META_FIELDS = {"config": dict, "plan": dict, "epoch": int, "epochs": list, "resumed_at": list,
               "corpus_path": str, "corpus_fingerprint": (str, type(None)), "rng": dict, "optimizer": dict}



@dataclass
class Checkpoint:
    """A loaded checkpoint; arrays are NumPy.

    Attributes:
        meta: dict (see the module docstring); tokens: list of ``V`` str;
        counts: int64 ``(V,)``; params: ``{"center", "context"}`` float ``(V, D)``;
        optimizer_arrays: ``{array name: {"center", "context"}}`` of the same shapes
        (``{"m": ..., "v": ...}`` for Adam, ``{}`` for SGD).
    """
    meta: dict
    tokens: list
    counts: np.ndarray
    params: dict
    optimizer_arrays: dict

    @property
    def epoch(self):
        """Number of epochs finished when the checkpoint was written."""
        return self.meta["epoch"]


def save_checkpoint(path, *, meta, tokens, counts, params, optimizer):
    """Write a checkpoint to ``path`` atomically: :func:`write_checkpoint` of :func:`checkpoint_arrays`."""
    write_checkpoint(path, checkpoint_arrays(meta=meta, tokens=tokens, counts=counts, params=params,
                                             optimizer=optimizer))


def checkpoint_arrays(*, meta, tokens, counts, params, optimizer):
    """The arrays of a checkpoint, copied to the host now: training may go on while they are written.

    Args:
        meta: JSON-serialisable dict (config, epoch, metrics, RNG states, ...);
        tokens: ``V`` str; counts: int ``(V,)``; params: ``{"center", "context"}``
        float ``(V, D)`` (NumPy or CuPy); optimizer: one of :mod:`w2v_np.optim` over
        ``params``: its name and scalars go to ``meta["optimizer"]``, its arrays to
        ``state_<array>_<table>``.

    Returns ``{name: NumPy array}``, none of them shared with ``params`` or ``optimizer``.
    """
    state = optimizer.state_dict()
    scalars = {key: list(value) if isinstance(value, tuple) else value
               for key, value in state.items() if key not in optimizer.ARRAYS}
    meta = dict(meta, optimizer=dict(scalars, name=optimizer.name))
    arrays = {"format": np.array(f"{FORMAT} {VERSION}"),
              "meta": np.array(json.dumps(meta)),
              "tokens": np.frombuffer("\n".join(tokens).encode("utf-8"), dtype=np.uint8),
              "counts": np.array(counts, dtype=np.int64)}
    for name in TABLES:
        arrays[name] = _host_copy(params[name])
        for key in optimizer.ARRAYS:
            arrays[f"state_{key}_{name}"] = _host_copy(state[key][name])
    return arrays


def write_checkpoint(path, arrays):
    """Write :func:`checkpoint_arrays`'s ``arrays`` to ``path`` atomically (``.npz``, fsynced)."""
    with atomic_write(path, "wb") as out:
        np.savez(out, **arrays)


def _host_copy(array):
    """A NumPy copy of ``array`` (NumPy or CuPy) that later changes to ``array`` leave alone."""
    return np.array(array) if get_array_module(array) is np else to_host(array)


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
    written = str(arrays.get("format", ""))
    if written != f"{FORMAT} {VERSION}":
        if written.startswith(FORMAT):
            raise W2VError(f"{path} is a {FORMAT} of format {written[len(FORMAT):].strip()!r}; this version of "
                           f"w2v-np reads format {VERSION} only (train the run anew)")
        raise W2VError(f"{path} is not a {FORMAT} (version {VERSION})")
    try:
        meta = json.loads(str(arrays["meta"]))
        tokens = bytes(arrays["tokens"]).decode("utf-8").split("\n")
        counts = arrays["counts"]
        params = {name: arrays[name] for name in TABLES}
        consistent = _has_fields(meta, META_FIELDS) and meta["optimizer"].get("name") in OPTIMIZERS
        keys = OPTIMIZERS[meta["optimizer"]["name"]].ARRAYS if consistent else ()
        optimizer_arrays = {key: {name: arrays[f"state_{key}_{name}"] for name in TABLES} for key in keys}
        tables = [*params.values(), *(a for by_table in optimizer_arrays.values() for a in by_table.values())]
        shape = params["center"].shape
        consistent = (consistent and len(shape) == 2 and counts.shape == (len(tokens),) == shape[:1]
                      and all(a.shape == shape for a in tables) and meta["epoch"] == len(meta["epochs"]))
    except (KeyError, ValueError, UnicodeDecodeError, AttributeError) as exc:
        raise W2VError(f"{path} is a damaged checkpoint ({type(exc).__name__}: {exc})") from None
    if not consistent:
        raise W2VError(f"{path} is a damaged checkpoint (inconsistent shapes or metadata)")
    return Checkpoint(meta, tokens, counts, params, optimizer_arrays)


def _has_fields(record, fields):
    """Whether the dict ``record`` holds every name of ``fields`` with a value of its type (or types)."""
    return isinstance(record, dict) and all(
        name in record and isinstance(record[name], kind) and not isinstance(record[name], bool)
        for name, kind in fields.items())
