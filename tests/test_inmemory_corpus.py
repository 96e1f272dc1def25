"""In-memory corpora (w2v_np.sentences): an iterable of token lists trains exactly as a file of the same text."""
import json

import numpy as np
import pytest

import w2v_np.kernels
from w2v_np import TrainConfig, W2VError, resume, train
from w2v_np.corpus import read_corpus
from w2v_np.plan import make_plan
from w2v_np.sentences import LineSentences, describe_corpus, tokenize_sentences
from w2v_np.train import prepare

needs_numba = pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed")
RUNS = {"d2l-numpy": dict(engine="numpy", sampler="numpy", batch_size=64),
        "d2l-numba": dict(engine="numba", sampler="numba", batch_size=64),
        "word2vec": dict(method="word2vec", threads=1)}


def make_lines(seed=0, count=300):
    """Lines of 0..11 words drawn from 40 with skewed frequencies (many count ties, a few blank lines)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, 41)
    words = rng.choice(40, size=count * 12, p=weights / weights.sum())
    lengths = rng.integers(0, 12, size=count)
    return [" ".join(f"w{w}" for w in words[12 * i:12 * i + n]) for i, n in enumerate(lengths)]


LINES = make_lines()


class Restartable:
    """A corpus that reads its sentences afresh on every pass, as gensim's LineSentence does."""

    def __init__(self, lines):
        self.lines = lines

    def __iter__(self):
        for line in self.lines:
            yield line.split()


def one_shot(lines):
    return (line.split() for line in lines)


KINDS = {"list": lambda lines: [line.split() for line in lines], "restartable": Restartable,
         "generator": one_shot}


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    """LINES as a text file, ending in a newline as text files do (one more, empty, sentence)."""
    path = tmp_path_factory.mktemp("inmem") / "corpus.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def config(corpus, **changes):
    """3 epochs of a 12-dimensional model, subsampling on (its draws must match too)."""
    settings = dict(corpus=corpus, epochs=3, min_count=2, dim=12, window=3, sample=1e-2, seed=5)
    settings.update(changes)
    return TrainConfig(**settings)


def assert_same_corpus(a, b):
    assert a.types == b.types
    for name in ("counts", "type_ids", "offsets"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == getattr(b, name).dtype, name


# --------------------------------------------------------------------------- the same corpus as a file

@pytest.mark.parametrize("use_kernels", [False, pytest.param(True, marks=needs_numba)])
@pytest.mark.parametrize("kind", KINDS)
def test_tokenized_corpus_equals_the_files(tmp_path, kind, use_kernels):
    """Types (first-seen order), counts, int32 ids and int64 offsets equal read_corpus's of the
    same text, blank lines included (a file ending in a newline holds one more, empty, line)."""
    path = tmp_path / "c.txt"
    path.write_text("\n".join(LINES), encoding="utf-8")
    from_file = read_corpus(path, use_kernels=use_kernels)
    assert_same_corpus(tokenize_sentences(KINDS[kind](LINES)), from_file)
    assert np.diff(from_file.offsets).min() == 0            # the blank lines are there


def test_tokens_may_be_any_sequence_of_str(tmp_path):
    """Tuples, NumPy string arrays and iterators of tokens are sentences too; NumPy's str_ tokens
    become plain str types."""
    sentences = [("a", "b"), np.array(["b", "c"]), iter(["c", "a", "a"]), []]
    corpus = tokenize_sentences(sentences)
    assert corpus.types == ["a", "b", "c"] and all(type(t) is str for t in corpus.types)
    assert corpus.type_ids.tolist() == [0, 1, 1, 2, 2, 0, 0] and corpus.offsets.tolist() == [0, 2, 4, 7, 7]
    assert corpus.counts.tolist() == [3, 2, 2]


@pytest.mark.parametrize("run", ["d2l-numpy", pytest.param("d2l-numba", marks=needs_numba),
                                 pytest.param("word2vec", marks=needs_numba)])
def test_training_equals_the_files(corpus_file, run):
    """For each kind of corpus and each trainer (d2l's ReferenceTrainer with the NumPy sampler,
    its NumbaTrainer with the Numba sampler, word2vec's HogwildTrainer on one thread): the same
    vocabulary, per-epoch losses and tables, bit for bit, as the file; the plans differ only in
    the corpus they record."""
    settings = RUNS[run]
    reference = train(config(str(corpus_file), **settings), probes=(), quiet=True)
    losses = [e["loss"] for e in reference.metrics["epochs"]]
    assert len(set(losses)) == 3                             # a real run: the loss moves
    for kind, make in KINDS.items():
        result = train(config(make(LINES), **settings), probes=(), quiet=True)
        assert result.vocab.idx_to_token == reference.vocab.idx_to_token, kind
        np.testing.assert_array_equal(result.vocab.counts, reference.vocab.counts)
        assert [e["loss"] for e in result.metrics["epochs"]] == losses, kind
        assert [e["pairs"] for e in result.metrics["epochs"]] == [e["pairs"] for e in reference.metrics["epochs"]]
        for name in ("center", "context"):
            np.testing.assert_array_equal(result.model.params[name], reference.model.params[name])
        plan, expected = dict(result.metrics["plan"]), dict(reference.metrics["plan"])
        assert plan.pop("corpus").startswith("<in-memory ") and expected.pop("corpus") == str(corpus_file)
        assert plan == expected


def test_restartable_corpus_trains_twice_alike():
    """A restartable corpus is read afresh by each run; the same seed gives the same run."""
    corpus = Restartable(LINES)
    first, second = (train(config(corpus, engine="numpy", sampler="numpy"), probes=(), quiet=True) for _ in "ab")
    assert first.metrics["epochs"][-1]["loss"] == second.metrics["epochs"][-1]["loss"]
    np.testing.assert_array_equal(first.model.center, second.model.center)


# --------------------------------------------------------------------------- records and resume

def test_description_never_holds_the_data():
    """A sized corpus is described by its type and length, any other by its type; paths stay paths."""
    assert describe_corpus([["a"]] * 42068) == "<in-memory list of 42,068 sentences>"
    assert describe_corpus(one_shot(LINES)) == "<in-memory generator>"
    assert describe_corpus(Restartable(LINES)) == "<in-memory Restartable>"
    assert describe_corpus("ptb") == "ptb"
    assert make_plan(config([line.split() for line in LINES])).corpus == f"<in-memory list of {len(LINES)} sentences>"


def test_run_folder_records_a_description_and_resume_is_refused(tmp_path):
    """With out_dir the run writes its files; metrics.json and the checkpoint name the corpus by
    its description and hold no fingerprint; resume refuses in one line."""
    sentences = [line.split() for line in LINES]
    out = tmp_path / "run"
    train(config(sentences, engine="numpy", sampler="numpy"), out_dir=out, probes=(), quiet=True)
    assert {p.name for p in out.iterdir()} >= {"checkpoint.npz", "metrics.json", "vectors.txt"}
    metrics = json.loads((out / "metrics.json").read_text())
    description = f"<in-memory list of {len(LINES)} sentences>"
    assert metrics["plan"]["corpus"] == metrics["config"]["corpus"] == description
    assert (out / "metrics.json").stat().st_size < 4000          # the settings, not the sentences
    with pytest.raises(W2VError, match=r"cannot resume .*in-memory corpus \(<in-memory list") as info:
        resume(out, quiet=True)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("corpus,message", [
    (["the cat sat", "on the mat"], r"sentence 0 \(counting from 0\) is a str, not a sequence of tokens"),
    ([["the", "cat"], b"on the mat"], r"sentence 1 \(counting from 0\) is a bytes, not a sequence"),
    ([["the", "cat"], 7], r"sentence 1 \(counting from 0\) is a int, not a sequence of tokens"),
    ([["the"], ["cat", 3]], r"token 3 in sentence 1 \(counting from 0\) is a int, not a str"),
    ([["the"], ["cat", None]], r"token None in sentence 1 .* is a NoneType, not a str"),
    ([["the", ["cat"]]], r"token \['cat'\] in sentence 0 .* is a list, not a str"),
    ([["the"], [], ["cat", b"sat"]], r"token b'sat' in sentence 2 .* is bytes, not str: decode it"),
    ([["the", "cat"], ["on", ""]], r"sentence 1 \(counting from 0\) holds an empty token ''"),
    ([["the cat"]], r"token 'the cat' in sentence 0 .* holds whitespace"),
    ([["the"], ["cat\n"]], r"token 'cat\\n' in sentence 1 .* holds whitespace"),
    ([["the\u3000cat"]], r"holds whitespace"),
    ([], r"corpus <in-memory list of 0 sentences> is empty: it holds no tokens"),
    ([[], []], r"corpus <in-memory list of 2 sentences> is empty"),
    (iter([]), r"corpus <in-memory list_iterator> is empty: .*can be read only once"),
])
def test_bad_corpora_are_refused_in_one_line(tmp_path, corpus, message):
    """Each fault is one W2VError naming the sentence (and token); a run folder is not left behind."""
    with pytest.raises(W2VError, match=message) as info:
        train(config(corpus, engine="numpy", sampler="numpy"), out_dir=tmp_path / "run", probes=(), quiet=True)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "run").exists()


def test_a_spent_generator_is_refused_as_empty():
    """A generator trains once; a second run on it finds nothing and says why."""
    sentences = one_shot(LINES)
    train(config(sentences, engine="numpy", sampler="numpy", epochs=1), probes=(), quiet=True)
    with pytest.raises(W2VError, match="is empty: it holds no tokens .*read only once"):
        train(config(sentences, engine="numpy", sampler="numpy", epochs=1), probes=(), quiet=True)


@pytest.mark.parametrize("corpus,message", [
    ("the cat sat", "corpus file not found: the cat sat"),       # a str is a path, never its characters
    (b"ptb", "corpus must be 'ptb' or a path to a text file, or an iterable of sentences"),
    (42, "corpus must be 'ptb' or a path to a text file, or an iterable of sentences"),
])
def test_a_corpus_that_is_not_an_iterable_of_sentences(corpus, message):
    with pytest.raises(W2VError, match=message):
        train(config(corpus, engine="numpy", sampler="numpy"), probes=(), quiet=True)


# --------------------------------------------------------------------------- PTB

@pytest.mark.parametrize("method", ["d2l", pytest.param("word2vec", marks=needs_numba)])
def test_ptb_lines_prepare_as_the_file(ptb_train, method):
    """PTB streamed line by line gives the file's corpus (the file's final newline adds one empty
    line, which the line iterator does not yield) and the same prepared vocabulary and ids."""
    streamed = tokenize_sentences(LineSentences(ptb_train))
    from_file = read_corpus(ptb_train)
    assert from_file.offsets.shape[0] == streamed.offsets.shape[0] + 1 == 42068 + 2
    assert from_file.offsets[-1] == from_file.offsets[-2]
    from_file.offsets = from_file.offsets[:-1]
    assert_same_corpus(streamed, from_file)
    plan = make_plan(TrainConfig(corpus=str(ptb_train), method=method, sampler="numpy" if method == "d2l" else None))
    rng = [np.random.default_rng(0) for _ in "ab"]
    vocab, data, _ = prepare(plan, rng[0], probes=[])
    vocab_mem, data_mem, _ = prepare(plan, rng[1], probes=[], sentences=LineSentences(ptb_train))
    assert vocab.idx_to_token == vocab_mem.idx_to_token and len(vocab) == 6719
    np.testing.assert_array_equal(vocab.counts, vocab_mem.counts)
    if method == "d2l":
        np.testing.assert_array_equal(data.centers, data_mem.centers)
        np.testing.assert_array_equal(data.contexts, data_mem.contexts)
        np.testing.assert_array_equal(data.noise, data_mem.noise)
    else:
        np.testing.assert_array_equal(data.ids, data_mem.ids)


def test_line_sentences_reads_the_file_afresh_on_every_pass(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a b\n\n c  d\te\n", encoding="utf-8")
    lines = LineSentences(path)
    assert list(lines) == [["a", "b"], [], ["c", "d", "e"]] == list(lines)
    path.write_text("x y\n\ny x", encoding="utf-8")     # no final newline: the reader's last row is "y x"
    assert list(lines) == [["x", "y"], [], ["y", "x"]]
    assert_same_corpus(tokenize_sentences(LineSentences(path)), read_corpus(path))
