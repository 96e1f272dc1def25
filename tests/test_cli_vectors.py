"""The ``w2v-np`` vector commands (``similar``, ``analogy``, ``eval``, ``plot``) on planted vectors.

The vectors are hand-made so that every answer is known exactly (cosines of chosen angles,
an analogy that holds exactly); the commands run in a subprocess with ``cwd=tmp_path`` so the
*installed* package is used, as a user runs it.  Each answer is also compared with the same
query made in-process.
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from w2v_np import Embeddings, TrainConfig, evaluate_analogies, evaluate_pairs, train
from w2v_np.io import read_word2vec, write_word2vec
from w2v_np.plot import neighbourhoods

DIM = 8
# Axes of the planted space: the fruit plane (0, 1), man (2), woman (3), person (4),
# royal (5) and the vehicle plane (6, 7).  Tokens of different groups are orthogonal.
FRUIT_DEGREES = {"apple": 0, "pear": 10, "banana": 25, "plum": 45}
VEHICLE_DEGREES = {"car": 0, "bus": 20, "truck": 50}
MALE, FEMALE, PERSON, ROYAL = 2, 3, 4, 5
ROYALS = {"man": {MALE: 1, PERSON: 1}, "woman": {FEMALE: 1, PERSON: 1},
          "king": {MALE: 1, ROYAL: 1}, "queen": {FEMALE: 1, ROYAL: 1},
          "prince": {MALE: 2, ROYAL: 1}, "princess": {FEMALE: 2, ROYAL: 1}}
EXACT_COSINES = {"cos10": math.cos(math.radians(10)), "cos15": math.cos(math.radians(15)),
                 "cos35": math.cos(math.radians(35))}


def planted_vectors():
    """Tokens and float32 ``(V, 8)`` vectors with known geometry.

    - Fruits lie on a circle arc at FRUIT_DEGREES, so ``cos(x, y) = cos(angle difference)``.
    - ``king - man + woman = queen`` exactly (all four have norm sqrt(2)); prince and princess
      are nearer to king and queen than the other royals.
    - Vehicles on another arc: the odd ones out beside fruit.
    """
    tokens, rows = [], []
    for group, axes in ((FRUIT_DEGREES, (0, 1)), (VEHICLE_DEGREES, (6, 7))):
        for token, degrees in group.items():
            row = np.zeros(DIM)
            row[axes[0]], row[axes[1]] = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
            tokens.append(token)
            rows.append(row)
    for token, parts in ROYALS.items():
        row = np.zeros(DIM)
        for axis, value in parts.items():
            row[axis] = value
        tokens.append(token)
        rows.append(row)
    return tokens, np.array(rows, dtype=np.float32)


def w2v(args, cwd, timeout=600):
    """Run ``python -m w2v_np ARGS`` in ``cwd`` (the installed package, not the source tree)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "w2v_np", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def ok(done):
    """stdout of a successful run (exit 0, nothing on stderr)."""
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert done.stderr == "", done.stderr
    return done.stdout


def scored(stdout):
    """``[(token, score), ...]`` from 'score<TAB>token' lines."""
    rows = []
    for line in stdout.splitlines():
        score, token = line.split("\t")
        rows.append((token, float(score)))
    return rows


def printed(pairs):
    """What the CLI prints for ``[(token, score), ...]``."""
    return "".join(f"{score:.4f}\t{token}\n" for token, score in pairs)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The planted vectors as word2vec text and binary, and a checkpoint of a tiny training run
    with its center table also written as text and binary."""
    folder = tmp_path_factory.mktemp("vectors")
    tokens, vectors = planted_vectors()
    paths = {"text": folder / "planted.txt", "binary": folder / "planted.bin"}
    write_word2vec(paths["text"], tokens, vectors)
    write_word2vec(paths["binary"], tokens, vectors, binary=True)

    rng = np.random.default_rng(0)
    topics = [[f"t{t}w{i}" for i in range(4)] for t in range(6)]
    corpus = folder / "topics.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(topics[rng.integers(6)], size=8)) for _ in range(150)) + "\n",
                      encoding="utf-8")
    run = folder / "run"
    result = train(TrainConfig(corpus=str(corpus), epochs=1, min_count=1, dim=8, batch_size=64, sample=0.0,
                               seed=0, sampler="numpy"), out_dir=run, probes=(), quiet=True)
    paths["checkpoint"] = run / "checkpoint.npz"
    # the run's center table, taken from the training result (not by reading the checkpoint back)
    paths["checkpoint_text"] = folder / "trained.txt"
    paths["checkpoint_binary"] = folder / "trained.bin"
    write_word2vec(paths["checkpoint_text"], result.vocab.idx_to_token, result.model.center)
    write_word2vec(paths["checkpoint_binary"], result.vocab.idx_to_token, result.model.center, binary=True)
    return paths


@pytest.fixture(scope="module")
def planted():
    return Embeddings(*planted_vectors())


# --------------------------------------------------------------------------- similar

def test_similar_exact_order_and_scores(files, planted, tmp_path):
    """pear's neighbours are apple (10 degrees), banana (15), plum (35), by exact cosine; the
    printed lines equal Embeddings.most_similar in-process, also for -k 10 (all groups)."""
    out = ok(w2v(["similar", files["text"], "pear", "-k", 3], tmp_path))
    assert out == (f"{EXACT_COSINES['cos10']:.4f}\tapple\n{EXACT_COSINES['cos15']:.4f}\tbanana\n"
                   f"{EXACT_COSINES['cos35']:.4f}\tplum\n")
    assert out == printed(planted.most_similar("pear", topn=3))
    full = ok(w2v(["similar", files["text"], "pear"], tmp_path))
    assert full == printed(planted.most_similar("pear", topn=10))
    assert len(full.splitlines()) == 10 and "pear" not in [t for t, _ in scored(full)]


def test_similar_negative_changes_the_answer(files, planted, tmp_path):
    """pear - apple points at 95 degrees: plum (cos 50 degrees) then banana (cos 70 degrees),
    while pear alone is nearest apple; king alone is nearest prince, king - man is nearest queen;
    several positive words average their directions."""
    out = ok(w2v(["similar", files["text"], "pear", "--negative", "apple", "-k", 2], tmp_path))
    assert out == f"{math.cos(math.radians(50)):.4f}\tplum\n{math.cos(math.radians(70)):.4f}\tbanana\n"
    assert out == printed(planted.most_similar("pear", negative="apple", topn=2))

    assert scored(ok(w2v(["similar", files["text"], "king", "-k", 1], tmp_path)))[0][0] == "prince"
    queen = ok(w2v(["similar", files["text"], "king", "--negative", "man", "-k", 1], tmp_path))
    assert queen == "0.5000\tqueen\n"
    assert queen == printed(planted.most_similar("king", negative=["man"], topn=1))

    both = ok(w2v(["similar", files["text"], "apple", "plum", "-k", 2], tmp_path))
    assert both == printed(planted.most_similar(["apple", "plum"], topn=2))
    # their mean points at 22.5 degrees: banana is 2.5 degrees away, pear 12.5
    assert both == f"{math.cos(math.radians(2.5)):.4f}\tbanana\n{math.cos(math.radians(12.5)):.4f}\tpear\n"


def test_similar_same_output_for_text_binary_and_checkpoint(files, tmp_path):
    """The same vectors as text, binary (detected) or checkpoint print the same lines; for the
    checkpoint they equal the in-process query on the run's center table (the checkpoint's
    context table would give other neighbours)."""
    text = ok(w2v(["similar", files["text"], "plum", "--negative", "car", "-k", 5], tmp_path))
    binary = ok(w2v(["similar", files["binary"], "plum", "--negative", "car", "-k", 5], tmp_path))
    assert text == binary and len(text.splitlines()) == 5

    tokens, vectors = read_word2vec(files["checkpoint_text"])
    trained = Embeddings(tokens, vectors)
    outputs = [ok(w2v(["similar", files[kind], "t2w1", "t3w0", "-k", 6], tmp_path))
               for kind in ("checkpoint", "checkpoint_text", "checkpoint_binary")]
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0] == printed(trained.most_similar(["t2w1", "t3w0"], topn=6))
    assert len(outputs[0].splitlines()) == 6


# --------------------------------------------------------------------------- analogy

@pytest.mark.parametrize("method, expected", [
    # add: cosines with the exact answer queen (1), princess 3/sqrt(10), prince 1/sqrt(10)
    ("add", [("queen", 1.0), ("princess", 3 / math.sqrt(10)), ("prince", 1 / math.sqrt(10))]),
    # mul: s(b) s(c) / (s(a) + 1e-6) with s = (1 + cos) / 2
    ("mul", [("queen", 0.75 * 0.75 / (0.5 + 1e-6)),
             ("princess", (1 + 1 / math.sqrt(10)) / 2 * (1 + 2 / math.sqrt(10)) / 2 / (0.5 + 1e-6)),
             ("prince", (1 + 3 / math.sqrt(10)) / 2 * 0.5 / ((1 + 2 / math.sqrt(10)) / 2 + 1e-6))]),
])
def test_analogy_planted_answer(files, planted, tmp_path, method, expected):
    """man : king :: woman : queen is first for both methods; -k 3 prints 3 lines with none
    of man, king, woman, in the planted order and with the in-process scores."""
    top = ok(w2v(["analogy", files["text"], "man", "king", "woman", "--method", method], tmp_path))
    assert top == printed(expected[:1])
    three = ok(w2v(["analogy", files["binary"], "man", "king", "woman", "--method", method, "-k", 3], tmp_path))
    assert three == printed(expected)
    assert not {"man", "king", "woman"} & {t for t, _ in scored(three)}
    assert three == printed(planted.analogy("man", "king", "woman", method=method, topn=3))


def test_analogy_default_method_is_add(files, tmp_path):
    """Without --method the answer is 3CosAdd's (cosine 1.0000), not 3CosMul's (1.1250)."""
    assert ok(w2v(["analogy", files["text"], "woman", "queen", "man"], tmp_path)) == "1.0000\tking\n"


# --------------------------------------------------------------------------- eval

PAIRS = ("# word1\tword2\tscore\n"
         "apple\tpear\t9.0\n"
         "apple\tbanana\t7.5\n"
         "apple\tplum\t6.0\n"
         "king\tqueen\t5.5\n"
         "car\tbus\t8.0\n"
         "apple\tcar\t1.0\n"
         "King\tPrince\t8.5\n"
         "apple\tdragonfruit\t7.0\n"
         "this line is not a pair\n")
ANALOGIES = (": royal\n"
             "man king woman queen\n"
             "woman queen man king\n"
             "king man queen woman\n"
             "man king woman princess\n"
             "man king dog cat\n"
             ": fruit\n"
             "apple pear banana plum\n"
             ": capitals\n"
             "Man King Woman Queen\n")
# (name, correct, scored, oov) folding case, then case-sensitive
SECTIONS = [("royal", 3, 4, 1), ("fruit", 1, 1, 0), ("capitals", 1, 1, 0)]
SECTIONS_CASE_SENSITIVE = [("royal", 3, 4, 1), ("fruit", 1, 1, 0), ("capitals", 0, 0, 1)]


@pytest.fixture
def eval_files(tmp_path):
    pairs, analogies = tmp_path / "pairs.tsv", tmp_path / "questions.txt"
    pairs.write_text(PAIRS, encoding="utf-8")
    analogies.write_text(ANALOGIES, encoding="utf-8")
    return pairs, analogies


def table_rows(stdout):
    """``{name: (correct, scored, accuracy, oov)}`` of the analogy table."""
    rows = {}
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == ["section"])
    for line in lines[start + 1:]:
        name, correct, total, accuracy, oov = line.split()
        rows[name] = (int(correct), int(total), float(accuracy), int(oov))
    return rows


def test_eval_table(files, planted, eval_files, tmp_path):
    """The table names both files, gives Spearman and Pearson with pair and OOV counts, and one
    row per section plus 'overall' with evaluate_analogies' counts."""
    pairs, analogies = eval_files
    out = ok(w2v(["eval", files["text"], "--pairs", pairs, "--analogies", analogies], tmp_path))
    pair_result = evaluate_pairs(planted, pairs)
    analogy_result = evaluate_analogies(planted, analogies)
    assert f"word pairs  {pairs}" in out and f"analogies   {analogies}" in out
    assert (f"Spearman {pair_result.spearman:.4f}  Pearson {pair_result.pearson:.4f}  on 7 pairs, "
            f"1 out of vocabulary ({100 / 8:.1f} %)") in out
    assert (pair_result.pairs, pair_result.oov, pair_result.skipped_lines) == (7, 1, 1)
    rows = table_rows(out)
    assert list(rows) == ["royal", "fruit", "capitals", "overall"]
    for name, correct, total, oov in SECTIONS:
        assert rows[name] == (correct, total, round(correct / total, 4), oov), name
    assert rows["overall"] == (5, 6, round(5 / 6, 4), 1)
    assert [(s.name, s.correct, s.total, s.oov) for s in analogy_result.sections] == SECTIONS
    assert rows["overall"] == (analogy_result.correct, analogy_result.total,
                               round(analogy_result.accuracy, 4), analogy_result.oov)


def test_eval_json_equals_in_process(files, planted, eval_files, tmp_path):
    """--json parses and equals the to_dict() of the in-process results; each option alone
    gives null for the other section."""
    pairs, analogies = eval_files
    both = json.loads(ok(w2v(["eval", files["binary"], "--pairs", pairs, "--analogies", analogies, "--json"],
                             tmp_path)))
    expected_pairs = evaluate_pairs(planted, pairs).to_dict()
    expected_analogies = evaluate_analogies(planted, analogies).to_dict()
    assert both == {"vectors": str(files["binary"]), "pairs": expected_pairs, "analogies": expected_analogies}
    assert both["pairs"]["oov"] == 1 and both["analogies"]["oov"] == 1
    assert both["pairs"]["oov_ratio"] == pytest.approx(12.5)

    only_pairs = json.loads(ok(w2v(["eval", files["text"], "--pairs", pairs, "--json"], tmp_path)))
    assert only_pairs == {"vectors": str(files["text"]), "pairs": expected_pairs, "analogies": None}
    only_analogies = json.loads(ok(w2v(["eval", files["text"], "--analogies", analogies, "--json"], tmp_path)))
    assert only_analogies == {"vectors": str(files["text"]), "pairs": None, "analogies": expected_analogies}


def test_eval_case_sensitive_counts_capitalised_words_as_oov(files, planted, eval_files, tmp_path):
    """Folding case (the default) finds 'King'/'Prince' and 'Man King Woman Queen';
    --case-sensitive counts them out of vocabulary."""
    pairs, analogies = eval_files
    args = ["eval", files["text"], "--pairs", pairs, "--analogies", analogies, "--json"]
    folded = json.loads(ok(w2v(args, tmp_path)))
    exact = json.loads(ok(w2v([*args, "--case-sensitive"], tmp_path)))
    assert (folded["pairs"]["oov"], exact["pairs"]["oov"]) == (1, 2)
    assert (folded["pairs"]["pairs"], exact["pairs"]["pairs"]) == (7, 6)
    assert (folded["analogies"]["oov"], exact["analogies"]["oov"]) == (1, 2)
    sections = [(s["name"], s["correct"], s["total"], s["oov"]) for s in exact["analogies"]["sections"]]
    assert sections == SECTIONS_CASE_SENSITIVE
    assert exact["pairs"] == evaluate_pairs(planted, pairs, case_insensitive=False).to_dict()
    assert exact["analogies"] == evaluate_analogies(planted, analogies, case_insensitive=False).to_dict()

    table = table_rows(ok(w2v(["eval", files["text"], "--analogies", analogies, "--case-sensitive"], tmp_path)))
    assert table["capitals"] == (0, 0, 0.0, 1) and table["overall"] == (4, 5, round(4 / 5, 4), 2)


def test_eval_restrict_vocab(files, eval_files, tmp_path):
    """--restrict-vocab 4 keeps only the four fruits: every pair and question with another
    word becomes out of vocabulary."""
    pairs, analogies = eval_files
    result = json.loads(ok(w2v(["eval", files["text"], "--pairs", pairs, "--analogies", analogies,
                                "--restrict-vocab", 4, "--json"], tmp_path)))
    assert (result["pairs"]["pairs"], result["pairs"]["oov"]) == (3, 5)
    assert (result["analogies"]["correct"], result["analogies"]["total"], result["analogies"]["oov"]) == (1, 1, 6)


def test_eval_agrees_with_gensim(files, eval_files, tmp_path):
    """On the same vectors file, gensim's evaluate_word_pairs gives the same Spearman and
    evaluate_word_analogies the same number of correct answers."""
    gensim_models = pytest.importorskip("gensim.models")
    pairs, analogies = eval_files
    ours = json.loads(ok(w2v(["eval", files["text"], "--pairs", pairs, "--analogies", analogies, "--json"],
                             tmp_path)))
    vectors = gensim_models.KeyedVectors.load_word2vec_format(str(files["text"]), binary=False)
    pearson, spearman, oov_ratio = vectors.evaluate_word_pairs(str(pairs))
    assert ours["pairs"]["spearman"] == pytest.approx(float(spearman[0]), abs=1e-6)
    assert ours["pairs"]["pearson"] == pytest.approx(float(pearson[0]), abs=1e-6)
    assert ours["pairs"]["oov_ratio"] == pytest.approx(oov_ratio)
    _, sections = vectors.evaluate_word_analogies(str(analogies))
    total = sections[-1]
    assert total["section"] == "Total accuracy"
    assert ours["analogies"]["correct"] == len(total["correct"]) == 5
    assert ours["analogies"]["total"] == len(total["correct"]) + len(total["incorrect"])


# --------------------------------------------------------------------------- plot

def test_plot_writes_png(files, tmp_path):
    """plot writes a PNG and reports the number of tokens drawn: pear plus 2 neighbours and
    king plus 2 neighbours, none shared (6); on a checkpoint, as many as neighbourhoods() finds."""
    pytest.importorskip("matplotlib")
    done = ok(w2v(["plot", files["text"], "pear", "king", "-k", 2, "-o", "map.png"], tmp_path))
    assert done == "wrote map.png: 6 tokens\n"
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # default output words.png; a neighbour shared by both words is drawn once
    shared = ok(w2v(["plot", files["checkpoint"], "t0w0", "t0w1", "-k", 3], tmp_path))
    trained = Embeddings(*read_word2vec(files["checkpoint_text"]))
    tokens, _ = neighbourhoods(trained, ["t0w0", "t0w1"], 3)
    assert shared == f"wrote words.png: {len(tokens)} tokens\n"
    assert (tmp_path / "words.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- errors

def assert_one_error_line(done, *fragments, prefix="w2v-np: error:"):
    """Exit 2, no traceback, nothing on stdout, exactly one stderr line naming the problem."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(prefix), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def _malformed(tmp_path, kind):
    path = tmp_path / f"{kind}.vec"
    path.write_bytes({"header": b"three 2\nabc 1 2\n",
                      "short_row": b"2 3\nabc 1 2 3\ndef 1 2\n",
                      "non_numeric": b"2 2\nabc 1 2\ndef 1 x\n",
                      "fake_checkpoint": b"PK\x05\x06" + b"\x00" * 18}[kind])
    return path


@pytest.mark.parametrize("kind, fragments", [
    ("header", ["bad header", "header.vec"]),
    ("short_row", ["short_row.vec:3"]),
    ("non_numeric", ["non_numeric.vec:3", "non-numeric value 'x'"]),
    ("fake_checkpoint", ["fake_checkpoint.vec", "checkpoint"]),
])
def test_error_malformed_vectors(tmp_path, kind, fragments):
    assert_one_error_line(w2v(["similar", _malformed(tmp_path, kind), "abc"], tmp_path), *fragments)


@pytest.mark.parametrize("command", [
    ["similar", "{v}", "pear", "-k", "2"],
    ["analogy", "{v}", "man", "king", "woman"],
    ["eval", "{v}", "--analogies", "{q}"],
    ["plot", "{v}", "pear"],
])
def test_error_missing_vectors_file(tmp_path, command):
    """Every command names the missing vectors file."""
    questions = tmp_path / "q.txt"
    questions.write_text(": s\na b c d\n")
    missing = tmp_path / "nowhere" / "vectors.txt"
    args = [part.format(v=missing, q=questions) for part in command]
    assert_one_error_line(w2v(args, tmp_path), "not found", str(missing))
    assert not (tmp_path / "words.png").exists()


@pytest.mark.parametrize("command, word", [
    (["similar", "{v}", "pear", "zebra"], "zebra"),
    (["similar", "{v}", "pear", "--negative", "okapi"], "okapi"),
    (["analogy", "{v}", "man", "king", "empress"], "empress"),
    (["analogy", "{v}", "duke", "king", "woman", "--method", "mul"], "duke"),
])
def test_error_unknown_word(files, tmp_path, command, word):
    args = [part.format(v=files["text"]) for part in command]
    line = assert_one_error_line(w2v(args, tmp_path), repr(word), "not in the vocabulary")
    assert "KeyError" not in line


def test_error_plot_unknown_word_writes_nothing(files, tmp_path):
    pytest.importorskip("matplotlib")
    assert_one_error_line(w2v(["plot", files["text"], "pear", "unicorn", "-o", "out.png"], tmp_path),
                          "'unicorn'", "not in the vocabulary")
    assert list(tmp_path.iterdir()) == []


def test_error_eval_needs_a_file(files, tmp_path):
    assert_one_error_line(w2v(["eval", files["text"], "--json"], tmp_path), "--pairs", "--analogies")


def test_error_eval_missing_pairs_file(files, tmp_path):
    missing = tmp_path / "wordsim.tsv"
    assert_one_error_line(w2v(["eval", files["text"], "--pairs", missing], tmp_path),
                          "cannot read", str(missing), "No such file")


def test_error_bad_method(files, tmp_path):
    """An unknown --method is refused by the argument parser (its prefix names the subcommand),
    on one line, listing the valid choices."""
    done = w2v(["analogy", files["text"], "man", "king", "woman", "--method", "cosine"], tmp_path)
    assert_one_error_line(done, "--method", "'cosine'", "add", "mul", prefix="w2v-np analogy: error:")


@pytest.mark.parametrize("target", ["no_such_folder/map.png", ".", "a_folder"])
def test_error_plot_output_unwritable(files, tmp_path, target):
    """A missing folder, an empty file name and an existing folder as -o: one error line naming
    the path, and no temporary file left behind."""
    pytest.importorskip("matplotlib")
    (tmp_path / "a_folder").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    assert_one_error_line(w2v(["plot", files["text"], "pear", "-o", target], tmp_path), "cannot write")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_encoding_option_reads_latin1_vectors(tmp_path):
    """--encoding latin-1 reads a latin-1 word2vec file; without it the error names the encoding."""
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32)
    path = tmp_path / "latin1.txt"
    write_word2vec(path, ["café", "thé", "eau"], vectors, encoding="latin-1")
    rows = [line.split("\t") for line in ok(w2v(["similar", path, "café", "-k", "1", "--encoding", "latin-1"],
                                                tmp_path)).splitlines()]
    assert rows == [["0.9939", "thé"]]
    assert_one_error_line(w2v(["similar", path, "café"], tmp_path), "not valid utf-8")


def test_truncated_checkpoint_is_reported_as_a_checkpoint(files, tmp_path):
    """A cut-off checkpoint.npz gives the checkpoint error, not a word2vec 'bad header'."""
    broken = tmp_path / "checkpoint.npz"
    broken.write_bytes(files["checkpoint"].read_bytes()[:5000])
    assert_one_error_line(w2v(["similar", broken, "pear"], tmp_path), "not a readable checkpoint")
