"""Shared fixtures: the PTB folder, found only through ``$W2V_NP_DATA``.

On a machine without an NVIDIA GPU the numba.cuda kernels run under Numba's CUDA
simulator: the variable has to be set before Numba is first imported, hence here.
"""
import os
import shutil
from pathlib import Path

import pytest

DATA_ENV = "W2V_NP_DATA"
if not (Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi")):
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")


@pytest.fixture(scope="session")
def ptb_dir():
    """The folder holding ``ptb.train.txt``; skips the test when ``$W2V_NP_DATA`` is unset.

    A variable that is set but points at a folder without ``ptb.train.txt`` is a
    mistake in the test setup, so it fails instead of silently skipping.
    """
    value = os.environ.get(DATA_ENV)
    if not value:
        pytest.skip(f"PTB data test: set {DATA_ENV} to a folder holding ptb.train.txt to run it")
    folder = Path(value)
    if not (folder / "ptb.train.txt").is_file():
        pytest.fail(f"{DATA_ENV}={value} does not hold ptb.train.txt")
    return folder


@pytest.fixture(scope="session")
def ptb_train(ptb_dir):
    """Path of PTB's training split."""
    return ptb_dir / "ptb.train.txt"
