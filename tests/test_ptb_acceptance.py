"""The seed's whole job on PTB: loss curve, neighbours of 'chip', WordSim-353.

Trains 5 epochs with the seed's defaults (about 25 s on 2 cores) once per data pipeline
(the NumPy reference, and the Numba kernels when Numba is installed); skipped without
``W2V_NP_DATA``.  The reference figures come from the seed's PyTorch pipeline run on
this project's machine: per-epoch losses 0.481, 0.427, 0.403, 0.380, 0.359 (two seeds
agreed to within 0.0005).
"""
import json
import os
import subprocess
import sys
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
    result = train(TrainConfig(corpus="ptb", sampler=request.param), out_dir=out, quiet=True)
    assert result.metrics["plan"]["sampler"] == request.param
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
    neighbours = [token for token, _ in result.embeddings().most_similar("chip", topn=5)]
    assert len(hardware.intersection(neighbours)) >= 2, neighbours


def wordsim353_spearman(embeddings):
    """Spearman correlation of the cosines with WordSim-353's scores on the covered pairs."""
    stats = pytest.importorskip("scipy.stats")
    path = EVAL_DIR / "wordsim353.tsv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
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
    return stats.spearmanr(human, model).statistic


def test_wordsim353_spearman(ptb_run):
    """Spearman correlation with WordSim-353 on the covered pairs is at least 0.20."""
    assert wordsim353_spearman(ptb_run[0].embeddings()) >= 0.20


def test_mini_batch_sgd_learns_at_its_default_rate():
    """--optimizer sgd of the d2l method at its default rate, 5 epochs: the vectors are not
    collapsed (no neighbour of 'chip' at cosine 0.95 or more) and WordSim-353 reaches 0.15."""
    result = train(TrainConfig(corpus="ptb", optimizer="sgd"), quiet=True)
    losses = [epoch["loss"] for epoch in result.metrics["epochs"]]
    assert result.metrics["plan"]["lr"] == 2.0 and losses[-1] < losses[0] < 0.7, losses
    neighbours = result.embeddings().most_similar("chip", topn=5)
    assert max(cosine for _, cosine in neighbours) < 0.95, neighbours
    assert wordsim353_spearman(result.embeddings()) >= 0.15


def test_outputs_written(ptb_run):
    """The run directory holds complete metrics and vectors files."""
    result, out = ptb_run
    header = (out / "vectors.txt").open().readline().split()
    assert header == ["6719", "100"]
    assert (out / "metrics.json").stat().st_size > 0


def test_eval_cli_equals_gensim(ptb_run, tmp_path):
    """`w2v-np eval --json` on the run's vectors.txt gives gensim's evaluate_word_pairs
    Spearman and Pearson to 1e-6 and the same OOV ratio, and evaluate_word_analogies' correct
    count, per section and overall, on the same file (gensim reads it itself)."""
    gensim_models = pytest.importorskip("gensim.models")
    pairs, analogies = EVAL_DIR / "wordsim353.tsv", EVAL_DIR / "questions-words.txt"
    if not (pairs.is_file() and analogies.is_file()):
        pytest.skip(f"evaluation files not found in {EVAL_DIR}")
    vectors = ptb_run[1] / "vectors.txt"
    done = subprocess.run([sys.executable, "-m", "w2v_np", "eval", str(vectors), "--pairs", str(pairs),
                           "--analogies", str(analogies), "--json"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ours = json.loads(done.stdout)
    keyed = gensim_models.KeyedVectors.load_word2vec_format(str(vectors))
    pearson, spearman, oov_ratio = keyed.evaluate_word_pairs(str(pairs))
    assert abs(ours["pairs"]["spearman"] - spearman.statistic) < 1e-6
    assert abs(ours["pairs"]["pearson"] - pearson.statistic) < 1e-6
    assert abs(ours["pairs"]["oov_ratio"] - oov_ratio) < 1e-9
    score, sections = keyed.evaluate_word_analogies(str(analogies))
    by_name = {section["section"]: len(section["correct"]) for section in sections}
    assert {s["name"]: s["correct"] for s in ours["analogies"]["sections"]} == \
        {name: count for name, count in by_name.items() if name != "Total accuracy"}
    assert ours["analogies"]["correct"] == by_name["Total accuracy"] > 0
    assert abs(ours["analogies"]["accuracy"] - score) < 1e-12


def readme_example():
    """The Python block of README's 'Python API' section and the output block after it."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    code, after = section.split("```python\n", 1)[1].split("```\n", 1)
    output = after.split("```text\n", 1)[1].split("```", 1)[0]
    return code, output.strip().splitlines()


def test_readme_python_example_runs_and_prints_what_readme_shows(tmp_path):
    """README's example, run as a script beside the evaluation files: it prints as many lines
    as README shows, the same loss curve to ±0.005, the same verdicts (odd one out, the
    binary file round trip), and WordSim / analogy lines of the same form."""
    if not (EVAL_DIR / "wordsim353.tsv").is_file():
        pytest.skip(f"evaluation files not found in {EVAL_DIR}")
    code, shown = readme_example()
    for name in ("wordsim353.tsv", "questions-words.txt"):
        (tmp_path / name).symlink_to(EVAL_DIR / name)
    (tmp_path / "example.py").write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, "example.py"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.strip().splitlines()
    assert len(printed) == len(shown), (printed, shown)
    assert np.allclose(json.loads(printed[0]), json.loads(shown[0]), atol=0.005)
    assert printed[5] == shown[5] and printed[-1] == shown[-1] == "True"
    for ours, theirs in zip(printed[6:8], shown[6:8]):
        assert ours.split()[:2] == theirs.split()[:2]
