"""Word-pair and analogy evaluation: rank statistics against scipy, results against gensim."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from w2v_np.errors import W2VError
from w2v_np.evaluate import (evaluate_analogies, evaluate_pairs, pearson, rankdata_average, spearman)
from w2v_np.query import Embeddings

EVAL_DIR = Path(os.environ.get("W2V_NP_DATA", "/work/shared/data/ptb")).parent / "eval"
QUESTIONS_PER_SECTION = 40    # of the real file's ~19.5k questions, to keep gensim's loop fast


def eval_file(name):
    path = EVAL_DIR / name
    if not path.is_file():
        pytest.skip(f"evaluation file {path} is absent")
    return path


def with_case_variants(words, rng):
    """The words shuffled, some lower-cased, some upper-cased, a few followed by an upper-case twin."""
    tokens = []
    for word in rng.permutation(sorted(words)).tolist():
        draw = rng.random()
        tokens.append(word.lower() if draw < 0.2 else word.upper() if draw < 0.3 else word)
        if draw > 0.9 and word.upper() != word:
            tokens.append(word.upper())
    return list(dict.fromkeys(tokens))


def ties_and_no_ties(rng):
    yield rng.integers(0, 5, 200), rng.integers(0, 3, 200)
    yield rng.standard_normal(150), rng.standard_normal(150)
    yield rng.integers(0, 4, 50).astype(float), rng.standard_normal(50)


def test_rankdata_average_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for x, y in ties_and_no_ties(rng):
        for sample in (x, y):
            np.testing.assert_array_equal(rankdata_average(sample), stats.rankdata(sample))
    assert rankdata_average([7.0]).tolist() == [1.0]
    assert rankdata_average([]).shape == (0,)


def test_spearman_and_pearson_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    for x, y in ties_and_no_ties(rng):
        assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
        assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)
    correlated = rng.standard_normal(100)
    assert spearman(correlated, correlated * 3 + 1) == pytest.approx(1, abs=1e-12)
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))
    with pytest.raises(W2VError, match="equal length"):
        pearson([1, 2], [1, 2, 3])


def pair_words(path):
    words = set()
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            words.update(line.split("\t")[:2])
    return words


@pytest.mark.parametrize("case_insensitive", [True, False])
def test_evaluate_pairs_matches_gensim(case_insensitive):
    path = eval_file("wordsim353.tsv")
    rng = np.random.default_rng(2)
    words = sorted(pair_words(path))
    kept = [w for w in words if rng.random() > 0.1]                   # the rest are OOV
    tokens = with_case_variants(kept, rng)
    vectors = rng.standard_normal((len(tokens), 32)).astype(np.float32)
    embeddings = Embeddings(tokens, vectors)
    kv = pytest.importorskip("gensim.models").KeyedVectors(32)
    kv.add_vectors(tokens, vectors)
    for restrict in (300000, len(tokens) * 3 // 4):
        ours = evaluate_pairs(embeddings, path, case_insensitive=case_insensitive, restrict_vocab=restrict)
        (their_pearson, _), (their_spearman, _), their_oov = kv.evaluate_word_pairs(
            str(path), case_insensitive=case_insensitive, restrict_vocab=restrict)
        assert ours.spearman == pytest.approx(their_spearman, abs=1e-6)
        assert ours.pearson == pytest.approx(their_pearson, abs=1e-6)
        assert ours.oov_ratio == pytest.approx(their_oov, abs=1e-12)
        assert ours.oov > 0 and ours.pairs + ours.oov == 353 and ours.skipped_lines == 0
        json.dumps(ours.to_dict())


def small_question_file(tmp_path):
    """The first questions of each section of the real file; returns the path and its questions."""
    sections, lines = {}, []
    for line in eval_file("questions-words.txt").read_text().splitlines():
        if line.startswith(":"):
            name = line
            sections[name] = []
            lines.append(line)
        elif len(sections[name]) < QUESTIONS_PER_SECTION:
            sections[name].append(line.split())
            lines.append(line)
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(lines) + "\n")
    return path, sections


def planted_vectors(tokens, sections, rng, dim=32, noise=1.2):
    """Random vectors where, per section, every second word = first word + that section's offset + noise.

    Pairs (a, b) and (c, d) of a question then nearly satisfy b - a + c = d, so many questions
    (not all: the noise, differing norms, words recurring across sections) are answered right.
    """
    row = {token.upper(): i for i, token in reversed(list(enumerate(tokens)))}
    vectors = rng.standard_normal((len(tokens), dim))
    assigned = set()
    for questions in sections.values():
        offset = rng.standard_normal(dim) * 2
        for question in questions:
            for first, second in (question[:2], question[2:]):
                i, j = row.get(first.upper()), row.get(second.upper())
                if i is not None and j is not None and j not in assigned and i not in assigned:
                    vectors[j] = vectors[i] + offset + rng.standard_normal(dim) * noise
                    assigned.add(j)
    # Case twins sit close to their word, so they compete as answers (and must be excluded as inputs).
    for i, token in enumerate(tokens):
        twin = row[token.upper()]
        if twin != i:
            vectors[i] = vectors[twin] + rng.standard_normal(dim) * 0.1
    return vectors.astype(np.float32)


@pytest.mark.parametrize("case_insensitive", [True, False])
def test_evaluate_analogies_matches_gensim(tmp_path, case_insensitive):
    path, sections = small_question_file(tmp_path)
    rng = np.random.default_rng(3)
    words = {word for questions in sections.values() for question in questions for word in question}
    tokens = with_case_variants([w for w in words if rng.random() > 0.02], rng)
    vectors = planted_vectors(tokens, sections, rng)
    embeddings = Embeddings(tokens, vectors)
    kv = pytest.importorskip("gensim.models").KeyedVectors(vectors.shape[1])
    kv.add_vectors(tokens, vectors)
    restrict = len(tokens) * 19 // 20
    ours = evaluate_analogies(embeddings, path, restrict_vocab=restrict, case_insensitive=case_insensitive,
                              batch_size=64)
    _, theirs = kv.evaluate_word_analogies(str(path), restrict_vocab=restrict, case_insensitive=case_insensitive)
    assert [s.name for s in ours.sections] == [s["section"] for s in theirs[:-1]]
    for section, their in zip(ours.sections, theirs):
        assert (section.correct, section.total) == (len(their["correct"]), len(their["correct"]) +
                                                    len(their["incorrect"])), section.name
        assert section.total + section.oov == len(sections[": " + section.name])
    assert ours.correct == len(theirs[-1]["correct"]) > 20
    assert ours.total == ours.correct + len(theirs[-1]["incorrect"])
    assert ours.oov > 0 and ours.accuracy == pytest.approx(ours.correct / ours.total)
    # The chunking does not change the answers.
    assert evaluate_analogies(embeddings, path, restrict_vocab=restrict,
                              case_insensitive=case_insensitive) == ours
    json.dumps(ours.to_dict())


def test_evaluate_analogies_mul_agrees_with_embeddings_analogy(tmp_path):
    """Without case folding the vectorised 3CosMul answer is Embeddings.analogy's top answer."""
    rng = np.random.default_rng(4)
    tokens = [f"w{i}" for i in range(60)]
    embeddings = Embeddings(tokens, rng.standard_normal((60, 8)).astype(np.float32))
    questions = rng.choice(tokens, (30, 3)).tolist()
    answers = [embeddings.analogy(a, b, c, method="mul")[0][0] for a, b, c in questions]
    wrong = [tokens[(tokens.index(answer) + 1) % 60] for answer in answers[15:]]
    path = tmp_path / "q.txt"
    path.write_text(": made-up\n" + "".join(" ".join(q + [d]) + "\n" for q, d in zip(questions, answers[:15] + wrong)))
    result = evaluate_analogies(embeddings, path, method="mul", case_insensitive=False, batch_size=4)
    expected_correct = 15 + sum(w == a for w, a in zip(wrong, answers[15:]))
    assert (result.correct, result.total, result.oov) == (expected_correct, 30, 0)


def test_malformed_and_missing_files(tmp_path):
    embeddings = Embeddings(["a", "b", "c", "d"], np.eye(4, dtype=np.float32))

    def write(name, text, encoding="utf-8"):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    cases = [
        (write("three.txt", ": s\na b c d\na b c\n"), "three.txt line 3: expected 4 words"),
        (write("orphan.txt", "\na b c d\n: s\n"), "orphan.txt line 2: question before any ': section' line"),
        (write("empty.txt", "\n  \n"), "empty.txt is empty"),
        (write("latin.txt", ": s\nå b c d\n", "latin-1"), "cannot decode .*latin.txt as utf-8"),
        (write("headers.txt", ": s\n: t\n"), "no analogy questions"),
        (tmp_path / "missing.txt", "cannot read .*missing.txt"),
    ]
    for path, message in cases:
        with pytest.raises(W2VError, match=message):
            evaluate_analogies(embeddings, path)
    with pytest.raises(W2VError, match="unknown analogy method"):
        evaluate_analogies(embeddings, cases[0][0], method="div")
    with pytest.raises(W2VError, match="batch_size must be at least 1"):
        evaluate_analogies(embeddings, write("ok.txt", ": s\na b c d\n"), batch_size=0)
    for path, message in [(tmp_path / "missing.tsv", "cannot read"), (write("e.tsv", ""), "is empty"),
                          (write("oov.tsv", "# c\nx\ty\t1\nbad line\n"),
                           "no usable word pair .* 1 pairs with unknown words, 1 invalid lines")]:
        with pytest.raises(W2VError, match=message):
            evaluate_pairs(embeddings, path)
    result = evaluate_pairs(embeddings, write("p.tsv", "a\tb\t1\nA\tc\t2\nc\td\tx\nd\ta\t3\nq\ta\t1\n"))
    assert (result.pairs, result.oov, result.skipped_lines) == (3, 1, 1)
    assert result.oov_ratio == pytest.approx(25.0)


def test_non_finite_scores_are_skipped_and_empty_vectors_refused(tmp_path):
    """A nan or inf human score is a skipped line, not a rank; no vectors at all is an error."""
    rng = np.random.default_rng(5)
    embeddings = Embeddings(["a", "b", "c", "d"], rng.standard_normal((4, 3)).astype(np.float32))
    path = tmp_path / "pairs.tsv"
    path.write_text("a\tb\t1\nc\td\tnan\na\tc\t3\nb\td\tinf\na\td\t2\n", encoding="utf-8")
    result = evaluate_pairs(embeddings, path)
    assert (result.pairs, result.skipped_lines) == (3, 2)
    cosines = [embeddings.similarity(x, y) for x, y in (("a", "b"), ("a", "c"), ("a", "d"))]
    assert result.spearman == pytest.approx(spearman([1, 3, 2], cosines), abs=1e-12)
    empty = Embeddings([], np.zeros((0, 3), dtype=np.float32))
    for evaluate in (evaluate_pairs, evaluate_analogies):
        with pytest.raises(W2VError, match="no vectors to evaluate"):
            evaluate(empty, path)


def test_constant_scores_give_nan_and_json_null(tmp_path):
    """Equal human scores make the correlations undefined: NaN in the result, null (not the
    non-standard NaN token) in to_dict, so strict JSON parsers accept the output."""
    rng = np.random.default_rng(4)
    embeddings = Embeddings(["a", "b", "c", "d"], rng.standard_normal((4, 3)).astype(np.float32))
    path = tmp_path / "pairs.tsv"
    path.write_text("a\tb\t5\nc\td\t5\na\td\t5\n", encoding="utf-8")
    result = evaluate_pairs(embeddings, path)
    assert np.isnan(result.spearman) and np.isnan(result.pearson) and result.pairs == 3
    assert json.loads(json.dumps(result.to_dict(), allow_nan=False))["spearman"] is None
