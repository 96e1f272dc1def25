"""``w2v-np word2vec`` (word2vec.c's flags) and ``w2v-np train --binary``.

The command runs in this process (``w2v_np.cli.main``), its output captured: the same code
path as the installed script, without a fresh interpreter per case.
"""
import re

import numpy as np
import pytest

import w2v_np.kernels
from w2v_np import TrainConfig, W2VError, resume, train
from w2v_np.cli import main
from w2v_np.io import read_word2vec

pytestmark = pytest.mark.skipif(not w2v_np.kernels.numba_available(),
                                reason="the word2vec method needs Numba, which is not installed")

NUM_TOPICS, WORDS_PER_TOPIC = 20, 5
TOPICS = [[f"t{t}w{i}" for i in range(WORDS_PER_TOPIC)] for t in range(NUM_TOPICS)]
SMALL = ["-size", 8, "-iter", 2, "-threads", 1, "-cbow", 0]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """500 sentences of 8 words, each sentence from one of 20 topics of 5 words (4000 tokens,
    100 types, each seen about 40 times), and a line holding 3 rare words (seen once)."""
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(TOPICS[rng.integers(NUM_TOPICS)], size=8)) for _ in range(500)]
    path = tmp_path_factory.mktemp("corpus") / "topics.txt"
    path.write_text("\n".join(lines + ["rare1 rare2 rare3"]) + "\n", encoding="utf-8")
    return path


def w2v(capsys, *args):
    """``(status, stdout, stderr)`` of ``w2v-np ARGS``."""
    try:
        status = main([str(arg) for arg in args])
    except SystemExit as exc:           # argparse's refusals
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def counts_of(path):
    counts = {}
    for token in path.read_text(encoding="utf-8").split():
        counts[token] = counts.get(token, 0) + 1
    return counts


# --------------------------------------------------------------------------- PTB and gensim

def test_ptb_binary_output_loads_in_gensim_with_the_same_tokens_and_vectors(ptb_train, tmp_path, capsys):
    """word2vec.c's README command, one pass: gensim reads the binary file as w2v-np does
    (same tokens in the same order, the same float32 bits); with one thread the same run
    written as text holds exactly the vectors of the binary file."""
    gensim_models = pytest.importorskip("gensim.models")
    command = ["word2vec", "-train", ptb_train, "-size", 100, "-iter", 1, "-debug", 0]
    assert w2v(capsys, *command, "-output", tmp_path / "v.bin", "-binary", 1, "-threads", 2) == (0, "", "")
    tokens, vectors = read_word2vec(tmp_path / "v.bin", binary=True)
    loaded = gensim_models.KeyedVectors.load_word2vec_format(tmp_path / "v.bin", binary=True)
    assert loaded.index_to_key == tokens and tokens[0] == "<unk>" and len(tokens) == 9858
    assert loaded.vectors.dtype == np.float32 and np.array_equal(loaded.vectors, vectors)

    for binary, name in ((1, "one.bin"), (0, "one.txt")):
        assert w2v(capsys, *command, "-output", tmp_path / name, "-binary", binary, "-threads", 1)[0] == 0
    text_tokens, text_vectors = read_word2vec(tmp_path / "one.txt", binary=False)
    loaded = gensim_models.KeyedVectors.load_word2vec_format(tmp_path / "one.bin", binary=True)
    assert loaded.index_to_key == text_tokens == tokens
    assert np.array_equal(loaded.vectors, text_vectors)
    assert not np.array_equal(text_vectors, vectors)        # two Hogwild threads ran another order


# --------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("flags, says", [
    (["-cbow", 1], "skip-gram only"),
    (["-hs", 1], "negative sampling only"),
    (["-classes", 10], "-classes 10"),
    (["-unknown", 3], "unrecognized arguments: -unknown 3"),
    (["--size", 3], "unrecognized arguments: --size 3"),
    (["-siz", 3], "unrecognized arguments: -siz 3"),
    (["-size", "abc"], "argument -size: expected a positive integer, got 'abc'"),
    (["-size", 0], "argument -size: must be a positive integer, got 0"),
    (["-alpha", "fast"], "argument -alpha: expected a number, got 'fast'"),
    (["-alpha", 0], "learning rate must be a positive number"),
    (["-sample", -1], "sample must be a number >= 0"),
    (["-negative", 0], "negative sampling"),
    (["-binary", 2], "argument -binary: invalid choice: 2"),
    (["-min-count", -1], "argument -min-count: must be an integer >= 0"),
    (["-debug", "x"], "argument -debug: expected an integer >= 0"),
    (["-read-vocab", "missing.vocab"], "vocabulary file not found: missing.vocab"),
    (["-train", "missing.txt"], "training file not found: missing.txt"),
])
def test_refused_in_one_line_and_nothing_written(corpus, tmp_path, capsys, monkeypatch, flags, says):
    monkeypatch.chdir(tmp_path)
    status, out, err = w2v(capsys, "word2vec", "-train", corpus, "-output", "v.txt", "-save-vocab", "vocab.txt",
                           *SMALL[:-2], *flags)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("w2v-np") and "error: " in err and says in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("missing", ["-train", "-output"])
def test_train_and_output_are_required(corpus, tmp_path, capsys, missing):
    given = {"-train": corpus, "-output": tmp_path / "v.txt"}
    del given[missing]
    status, out, err = w2v(capsys, "word2vec", *[x for pair in given.items() for x in pair])
    assert status == 2 and out == "" and err.count("\n") == 1
    assert f"the following arguments are required: {missing}" in err
    assert list(tmp_path.iterdir()) == []


def test_missing_output_folder_is_refused_before_training(corpus, tmp_path, capsys):
    status, out, err = w2v(capsys, "word2vec", "-train", corpus, "-output", tmp_path / "no" / "v.txt", *SMALL)
    assert (status, out) == (2, "") and err == f"w2v-np: error: cannot write {tmp_path / 'no' / 'v.txt'}: " \
                                               f"its folder does not exist\n"


# --------------------------------------------------------------------------- output and progress

def test_progress_like_word2vec_c(corpus, tmp_path, capsys):
    """-debug 2 (the default): the start lines, then 'Alpha ... Progress ... Words/thread/sec'
    redrawn with \\r, the rate falling from 0.025 to 1e-4 of it and the progress reaching 100 %;
    no -cbow: one note on stderr."""
    status, out, err = w2v(capsys, "word2vec", "-train", corpus, "-output", tmp_path / "v.txt", *SMALL[:-2])
    assert status == 0
    assert err.count("\n") == 1 and err.startswith("w2v-np: note: no -cbow given: training skip-gram")
    lines = out.split("\n")
    assert lines[:3] == [f"Starting training using file {corpus}", "Vocab size: 101",
                         f"Words in train file: {500 * 8 + 3}"]
    redrawn = re.findall(r"\rAlpha: (\d+\.\d{6})  Progress: (\d+\.\d\d)%  Words/thread/sec: (\d+\.\d\d)k  ", out)
    assert len(redrawn) >= 2 and out.endswith("\n")
    alphas, progress = [float(a) for a, _, _ in redrawn], [float(p) for _, p, _ in redrawn]
    assert alphas == sorted(alphas, reverse=True) and alphas[0] < 0.025 and alphas[-1] == 0.000003
    assert progress == sorted(progress) and progress[-1] == 100.0
    assert all(float(rate) > 0 for _, _, rate in redrawn)


def test_debug_levels(corpus, tmp_path, capsys):
    """-debug 1: the start lines only; -debug 0: nothing at all (the -cbow note included)."""
    status, out, err = w2v(capsys, "word2vec", "-train", corpus, "-output", tmp_path / "a.txt", *SMALL, "-debug", 1)
    assert status == 0 and err == "" and "Alpha" not in out and out.count("\n") == 3
    status, out, err = w2v(capsys, "word2vec", "-train", corpus, "-output", tmp_path / "b.txt", *SMALL[:-2],
                           "-debug", 0)
    assert (status, out, err) == (0, "", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]      # no run folder
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()  # one thread: same bits


def test_flags_map_to_the_word2vec_method(corpus, tmp_path, capsys):
    """-size, -min-count and -binary reach the output: 8 values, the 3 rare words (seen once)
    kept by -min-count 1 (and by word2vec.c's -min-count 0) but not by the default 5."""
    for min_count, size in ((5, 8), (1, 8), (0, 3)):
        out = tmp_path / f"{min_count}.bin"
        assert w2v(capsys, "word2vec", "-train", corpus, "-output", out, *SMALL, "-binary", 1, "-size", size,
                   "-min-count", min_count, "-debug", 0)[0] == 0
        tokens, vectors = read_word2vec(out, binary=True)
        assert vectors.shape == (101 + 3 * (min_count < 2), size)
        assert ("rare1" in tokens) == (min_count < 2)


# --------------------------------------------------------------------------- vocabulary files

def test_save_vocab_then_read_vocab_round_trip(corpus, tmp_path, capsys):
    """-save-vocab writes 'word count' in -output's row order (<unk> first: the 3 rare tokens);
    -read-vocab of that file trains the same vocabulary, hence (one thread) the same bits."""
    first = ("word2vec", "-train", corpus, *SMALL, "-debug", 0)
    assert w2v(capsys, *first, "-output", tmp_path / "a.txt", "-save-vocab", tmp_path / "a.vocab")[0] == 0
    tokens, _ = read_word2vec(tmp_path / "a.txt")
    rows = [line.split() for line in (tmp_path / "a.vocab").read_text().splitlines()]
    assert [token for token, _ in rows] == tokens
    counts = counts_of(corpus)
    assert rows[0] == ["<unk>", "3"] and all(int(count) == counts[token] for token, count in rows[1:])
    assert [int(count) for _, count in rows[1:]] == sorted((int(count) for _, count in rows[1:]), reverse=True)

    assert w2v(capsys, *first, "-output", tmp_path / "b.txt", "-read-vocab", tmp_path / "a.vocab",
               "-save-vocab", tmp_path / "b.vocab")[0] == 0
    assert (tmp_path / "b.vocab").read_bytes() == (tmp_path / "a.vocab").read_bytes()
    assert (tmp_path / "b.txt").read_bytes() == (tmp_path / "a.txt").read_bytes()


def test_read_vocab_takes_the_words_and_counts_of_the_file(corpus, tmp_path, capsys):
    """A word2vec.c vocabulary file: its </s> line is skipped, its words are ordered by its
    own counts (not the corpus's), -min-count applies to them, and the corpus's other tokens
    count as <unk>; 'Vocab size' reports the vocabulary read."""
    (tmp_path / "c.vocab").write_text("</s> 501\nt3w1 7\nt0w0 90\nt5w2 12\nt9w4 2\nrare1 40\n", encoding="utf-8")
    status, out, _ = w2v(capsys, "word2vec", "-train", corpus, "-output", tmp_path / "v.txt", *SMALL, "-debug", 1,
                         "-read-vocab", tmp_path / "c.vocab", "-min-count", 5, "-save-vocab", tmp_path / "saved.vocab")
    assert status == 0 and "Vocab size: 5\n" in out
    tokens, vectors = read_word2vec(tmp_path / "v.txt")
    assert tokens == ["<unk>", "t0w0", "rare1", "t5w2", "t3w1"] and vectors.shape == (5, 8)
    counts = counts_of(corpus)
    outside = sum(n for token, n in counts.items() if token not in tokens)
    assert (tmp_path / "saved.vocab").read_text() == f"<unk> {outside}\nt0w0 90\nrare1 40\nt5w2 12\nt3w1 7\n"


@pytest.mark.parametrize("text, says", [
    ("the 3\nof\n", ":2: expected 'word count'"),
    ("the 3\nof x\n", ":2: expected 'word count'"),
    ("the 3\nof -2\n", ":2: expected 'word count'"),
    ("the 3\nof 2\nthe 1\n", ":3: 'the' is listed twice (first on line 1)"),
    ("</s> 4\n", "lists no word"),
])
def test_bad_vocab_file_refused(corpus, tmp_path, capsys, text, says):
    (tmp_path / "bad.vocab").write_text(text, encoding="utf-8")
    status, out, err = w2v(capsys, "word2vec", "-train", corpus, "-output", tmp_path / "v.txt", *SMALL,
                           "-read-vocab", tmp_path / "bad.vocab")
    assert status == 2 and err.count("\n") == 1 and err.startswith("w2v-np: error: ") and says in err, err
    assert not (tmp_path / "v.txt").exists()


# --------------------------------------------------------------------------- train --binary

def test_train_binary_writes_vectors_bin(corpus, tmp_path, capsys):
    """--binary: vectors.bin (word2vec binary) instead of vectors.txt, the center table exactly;
    a resumed run keeps the format."""
    run = tmp_path / "run"
    status, _, err = w2v(capsys, "train", "--corpus", corpus, "--out", run, "--binary", "--epochs", 1, "--dim", 8,
                         "--min-count", 1, "--quiet")
    assert status == 0, err
    assert not (run / "vectors.txt").exists()
    tokens, vectors = read_word2vec(run / "vectors.bin", binary=True)
    assert len(tokens) == 104 and vectors.shape == (104, 8)
    gensim_models = pytest.importorskip("gensim.models")
    loaded = gensim_models.KeyedVectors.load_word2vec_format(run / "vectors.bin", binary=True)
    assert loaded.index_to_key == tokens and np.array_equal(loaded.vectors, vectors)


def test_resume_keeps_the_vectors_format(corpus, tmp_path):
    config = TrainConfig(corpus=str(corpus), epochs=1, dim=8, min_count=1, seed=0)
    train(config, out_dir=tmp_path / "run", binary=True, quiet=True, probes=())
    (tmp_path / "run" / "vectors.bin").unlink()
    result = resume(tmp_path / "run", epochs=2, quiet=True, probes=())
    assert not (tmp_path / "run" / "vectors.txt").exists()
    tokens, vectors = read_word2vec(tmp_path / "run" / "vectors.bin", binary=True)
    assert tokens == result.vocab.idx_to_token and np.array_equal(vectors, result.model.center)


def test_binary_without_out_is_refused(corpus, capsys):
    status, out, err = w2v(capsys, "train", "--corpus", corpus, "--binary")
    assert (status, out) == (2, "") and err == "w2v-np: error: --binary sets the format of the run folder's " \
                                              "vectors: give --out DIR\n"
    with pytest.raises(W2VError, match="give out_dir"):
        train(TrainConfig(corpus=corpus, epochs=1), binary=True, quiet=True)
