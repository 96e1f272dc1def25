"""The seed's whole job on PTB: loss curve, neighbours of 'chip', WordSim-353.

Trains 5 epochs with the seed's defaults (about 25 s on 2 cores) once per data pipeline
(the NumPy reference, and the Numba kernels when Numba is installed); skipped without
``W2V_NP_DATA``.  The reference figures come from the seed's PyTorch pipeline run on
this project's machine: per-epoch losses 0.481, 0.427, 0.403, 0.380, 0.359 (two seeds
agreed to within 0.0005).
"""
import os
from pathlib import Path

import numpy as np
import pytest

import w2v_np.kernels
from w2v_np import TrainConfig, train

SEED_LOSSES = [0.481, 0.427, 0.403, 0.380, 0.359]
# The evaluation sets sit beside the PTB folder in ../shared/data.
EVAL_DIR = Path(os.environ.get("W2V_NP_DATA", "."), "..", "eval").resolve()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("W2V_NP_DATA"), reason="W2V_NP_DATA (PTB folder) is not set"),
]


@pytest.fixture(scope="module", params=[
    "numpy", pytest.param("numba", marks=pytest.mark.skipif(not w2v_np.kernels.numba_available(),
                                                            reason="Numba is not installed"))])
def ptb_run(tmp_path_factory, request):
    out = tmp_path_factory.mktemp("ptb")
    result = train(TrainConfig(corpus="ptb", sampler=request.param), out_dir=out, quiet=True,
                   log=lambda *a: None)
    assert result.metrics["sampler"] == request.param
    return result, out


def test_loss_curve_matches_the_seed(ptb_run):
    """Each epoch's mean loss lies within ±0.005 of the seed's PyTorch pipeline."""
    result, _ = ptb_run
    losses = [epoch["loss"] for epoch in result.metrics["epochs"]]
    assert result.metrics["vocab_size"] == 6719
    assert np.allclose(losses, SEED_LOSSES, atol=0.005), losses


def test_chip_neighbours_are_computing_words(ptb_run):
    """'chip' lands among hardware words: at least two of its 5 neighbours are."""
    result, _ = ptb_run
    hardware = {"microprocessor", "chips", "intel", "desktop", "computers", "computer", "micro",
                "semiconductor", "memory", "processor", "workstations", "mainframe", "ibm",
                "disk", "software", "hardware", "pc", "machines", "personal", "drives"}
    neighbours = [token for token, _ in result.embeddings().most_similar("chip", 5)]
    assert len(hardware.intersection(neighbours)) >= 2, neighbours


def test_wordsim353_spearman(ptb_run):
    """Spearman correlation with WordSim-353 on the covered pairs is at least 0.20."""
    stats = pytest.importorskip("scipy.stats")
    path = EVAL_DIR / "wordsim353.tsv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    embeddings = ptb_run[0].embeddings()
    human, model = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        first, second, score = line.split("\t")[:3]
        first, second = first.lower(), second.lower()
        if first in embeddings and second in embeddings:
            a, b = embeddings.vector(first), embeddings.vector(second)
            human.append(float(score))
            model.append(float(a @ b / np.sqrt((a @ a) * (b @ b))))
    assert len(human) > 150
    assert stats.spearmanr(human, model).statistic >= 0.20


def test_outputs_written(ptb_run):
    """The run directory holds complete metrics and vectors files."""
    result, out = ptb_run
    header = (out / "vectors.txt").open().readline().split()
    assert header == ["6719", "100"]
    assert (out / "metrics.json").stat().st_size > 0
