"""Embeddings queries: known answers on hand-made vectors, equality with gensim on random ones."""
import re

import numpy as np
import pytest

from w2v_np.backend import get_backend, to_host
from w2v_np.errors import UnknownWordError, W2VError
from w2v_np.query import Embeddings, analogy_scores, normalize_rows

AXES = Embeddings(["x", "y", "z", "xy", "zero"],
                  np.array([[2, 0, 0], [0, 3, 0], [0, 0, 1], [1, 1, 0], [0, 0, 0]], dtype=np.float32))


def planted():
    """king = royal + male, queen = royal + female, man = male, woman = female, plus distractors."""
    rng = np.random.default_rng(0)
    royal, male, female = np.eye(16, dtype=np.float32)[:3] * 3
    named = {"man": male, "woman": female, "king": royal + male, "queen": royal + female}
    noise = rng.standard_normal((20, 16)).astype(np.float32)
    noise[:, :3] = 0     # distractors share no direction with the planted ones
    tokens = list(named) + [f"w{i}" for i in range(len(noise))]
    return Embeddings(tokens, np.vstack([np.stack(list(named.values())), noise]))


def random_embeddings(seed=0, size=200, dim=24):
    rng = np.random.default_rng(seed)
    tokens = [f"t{i}" for i in range(size)]
    return tokens, rng.standard_normal((size, dim)).astype(np.float32)


def gensim_vectors(tokens, vectors):
    models = pytest.importorskip("gensim.models")
    kv = models.KeyedVectors(vectors.shape[1])
    kv.add_vectors(tokens, vectors)
    return kv


def assert_same_ranking(ours, theirs):
    assert [token for token, _ in ours] == [token for token, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5, atol=1e-6)


def test_most_similar_excludes_the_word_and_orders_by_cosine():
    result = AXES.most_similar("x", topn=10)
    assert [token for token, _ in result] == ["xy", "y", "z", "zero"]   # ties at 0 in row order
    np.testing.assert_allclose([c for _, c in result], [2 ** -0.5, 0, 0, 0], atol=1e-7)
    assert AXES.most_similar("x", topn=1) == result[:1]
    assert len(AXES) == 5


def test_most_similar_with_negative_words_and_several_positives():
    # unit(xy) - unit(y) points mostly along x: x first, y (the negative word) never returned.
    assert AXES.most_similar("xy", negative="y", topn=1)[0][0] == "x"
    assert "y" not in [t for t, _ in AXES.most_similar("xy", negative=["y"], topn=10)]
    # the mean of x and y is xy's direction: cosine 1.
    token, cosine = AXES.most_similar(["x", "y"], topn=1)[0]
    assert token == "xy" and cosine == pytest.approx(1, abs=1e-6)
    assert AXES.most_similar([], negative="z", topn=1)[0][1] == pytest.approx(0, abs=1e-7)


def test_most_similar_restrict_vocab_and_raw_cosines():
    assert [t for t, _ in AXES.most_similar("xy", topn=10, restrict_vocab=3)] == ["x", "y", "z"]
    assert AXES.most_similar("x", topn=10, restrict_vocab=1) == []      # the only candidate is the input
    cosine = AXES.most_similar("x", topn=None, restrict_vocab=4)
    np.testing.assert_allclose(cosine, [1, 0, 0, 2 ** -0.5], atol=1e-7)  # input words not masked
    with pytest.raises(W2VError, match="restrict_vocab"):
        AXES.most_similar("x", restrict_vocab=0)


def test_similarity_is_the_symmetric_cosine():
    tokens, vectors = random_embeddings()
    embeddings = Embeddings(tokens, vectors)
    a, b = vectors[3], vectors[17]
    expected = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    assert embeddings.similarity("t3", "t17") == pytest.approx(expected, abs=1e-6)
    assert embeddings.similarity("t17", "t3") == embeddings.similarity("t3", "t17")
    assert isinstance(embeddings.similarity("t3", "t17"), float)


def test_planted_analogy_both_methods():
    embeddings = planted()
    for method in ("add", "mul"):
        (token, score), = embeddings.analogy("man", "king", "woman", method=method)
        assert token == "queen", method
        assert isinstance(score, float)
    # 3CosAdd scores are most_similar's cosines.
    assert_same_ranking(embeddings.analogy("man", "king", "woman", topn=5),
                        embeddings.most_similar(["king", "woman"], negative="man", topn=5))
    assert len(embeddings.analogy("man", "king", "woman", method="mul", topn=None)) == len(embeddings)
    with pytest.raises(W2VError, match="unknown analogy method 'div'"):
        embeddings.analogy("man", "king", "woman", method="div")


def test_analogy_scores_batches_questions():
    """Rows of a batched analogy_scores equal one-question calls."""
    tokens, vectors = random_embeddings()
    unit = normalize_rows(vectors)
    a, b, c = unit[[1, 2, 3]], unit[[4, 5, 6]], unit[[7, 8, 9]]
    for method in ("add", "mul"):
        batch = analogy_scores(unit, a, b, c, method)
        assert batch.shape == (3, len(tokens))
        for i in range(3):
            single = analogy_scores(unit, a[i:i + 1], b[i:i + 1], c[i:i + 1], method)[0]
            np.testing.assert_allclose(batch[i], single, rtol=1e-6, atol=1e-6)


def test_doesnt_match():
    embeddings = planted()
    assert embeddings.doesnt_match(["king", "queen", "man", "w3"]) == "w3"
    with pytest.raises(W2VError, match="at least two words"):
        embeddings.doesnt_match(["king"])
    with pytest.raises(W2VError, match="at least two words"):
        embeddings.doesnt_match("king")


def test_unknown_words_and_bad_input():
    for call in (lambda: AXES.most_similar("nope"), lambda: AXES.most_similar("x", negative=["nope"]),
                 lambda: AXES.similarity("x", "nope"), lambda: AXES.analogy("x", "y", "nope"),
                 lambda: AXES.doesnt_match(["x", "nope"]), lambda: AXES.vector("nope")):
        with pytest.raises(KeyError, match="word 'nope' is not in the vocabulary"):
            call()
    with pytest.raises(W2VError, match="at least one positive or negative"):
        AXES.most_similar([])
    with pytest.raises(W2VError, match="token 'a' appears twice"):
        Embeddings(["a", "b", "a"], np.zeros((3, 2)))
    with pytest.raises(W2VError, match="do not match 2 tokens"):
        Embeddings(["a", "b"], np.zeros((3, 2)))


def test_array_like_vectors_give_the_same_answers():
    """Nested lists of numbers (vectors and query vectors) answer as the float array does."""
    tokens, vectors = random_embeddings(size=30, dim=5)
    from_array, from_lists = Embeddings(tokens, vectors), Embeddings(tokens, vectors.tolist())
    assert from_lists.vectors.dtype == np.float64 and from_lists.vectors.shape == (30, 5)
    assert_same_ranking(from_lists.most_similar(["t1", "t2"], negative="t3", topn=5, restrict_vocab=20),
                        from_array.most_similar(["t1", "t2"], negative="t3", topn=5, restrict_vocab=20))
    assert_same_ranking(from_lists.analogy("t1", "t2", "t3", method="mul", topn=4),
                        from_array.analogy("t1", "t2", "t3", method="mul", topn=4))
    assert from_lists.similarity("t4", "t5") == pytest.approx(from_array.similarity("t4", "t5"), abs=1e-6)
    vector = vectors[0] * 3 + vectors[1]
    assert_same_ranking(from_array.most_similar([vector.tolist(), "t2"], topn=5),
                        from_array.most_similar([vector, "t2"], topn=5))
    assert Embeddings(("a", "b"), [[1, 0], [0, 2]]).most_similar("a", topn=1) == [("b", 0.0)]


def test_numpy_integers_are_accepted_as_topn_and_restrict_vocab():
    expected = AXES.most_similar("xy", topn=2, restrict_vocab=4)
    assert AXES.most_similar("xy", topn=np.int64(2), restrict_vocab=np.int32(4)) == expected
    assert AXES.analogy("x", "xy", "z", topn=np.uint8(2)) == AXES.analogy("x", "xy", "z", topn=2)


@pytest.mark.parametrize("tokens, vectors, named", [
    (["a", "b"], [1.0, 2.0], "vectors"),                                  # 1-D
    (["a", "b"], [[[1.0, 2.0]], [[3.0, 4.0]]], "vectors"),                # 3-D
    (["a", "b"], [[1.0, 2.0]], "vectors"),                                # one row for two tokens
    (["a", "b"], [[1.0], [1.0, 2.0]], "vectors"),                         # ragged
    (["a", "b"], [[1.0, None], [0.0, 1.0]], "vectors"),                   # not a number
    (["a", "b"], [["one", "two"], ["three", "four"]], "vectors"),         # not convertible to float
    (["a", "b"], np.array([["1", "2"], ["3", "4"]]), "vectors"),          # a string array
    (["a", "b"], np.eye(2, dtype=int), "vectors"),                        # an integer array
    (["a", "b"], np.eye(2, dtype=complex), "vectors"),
    (["a", "b"], np.eye(2, dtype=bool), "vectors"),
    ([1, 2], np.eye(2), "tokens"),
    (["a", b"b"], np.eye(2), "tokens"),
    ("ab", np.eye(2), "tokens"),                                          # a str is not a list of tokens
    (None, np.eye(2), "tokens"),
])
def test_bad_tokens_or_vectors_are_refused_naming_them(tokens, vectors, named):
    with pytest.raises(W2VError, match=rf"\b{named}\b"):
        Embeddings(tokens, vectors)


QUERIES = {"most_similar": lambda **kw: AXES.most_similar("x", **kw),
           "analogy": lambda **kw: AXES.analogy("x", "xy", "z", **kw)}


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("argument, value", [
    ("topn", 0), ("topn", -1), ("topn", 1.5), ("topn", "3"), ("topn", True), ("topn", np.float64(2.0)),
    ("restrict_vocab", 1.5), ("restrict_vocab", "10"), ("restrict_vocab", True), ("restrict_vocab", np.bool_(1)),
])
def test_counts_must_be_positive_integers(query, argument, value):
    """As the CLI's ``-k``: topn and restrict_vocab are positive integers (or None), never bools."""
    with pytest.raises(W2VError, match=rf"^{argument} must be a positive integer or None, got "):
        QUERIES[query](**{argument: value})


@pytest.mark.parametrize("call, named", [
    (lambda: AXES.most_similar(np.ones(2)), r"positive: a query vector must have 3 components .* got 2$"),
    (lambda: AXES.most_similar("x", negative=[np.ones(4)]), r"negative: .* 3 components .* got 4$"),
    (lambda: AXES.most_similar([np.ones((1, 3))]), r"positive: expected words .* shape \(3,\), got ndarray of shape"),
    (lambda: AXES.most_similar(np.array([np.nan, 1, 0])), "positive: a query vector holds nan or inf"),
    (lambda: AXES.most_similar("x", negative=np.array([0, np.inf, 0])), "negative: a query vector holds nan or inf"),
    (lambda: AXES.most_similar([np.array(["a", "b", "c"])]), "positive: expected words"),
    (lambda: AXES.most_similar([1.0, 0.0, 0.0]), r"positive: expected words .*, got float 1\.0"),
])
def test_bad_query_vectors_are_refused_naming_them(call, named):
    with pytest.raises(W2VError, match=f"^{named}"):
        call()


@pytest.mark.parametrize("call, named", [
    (lambda: AXES.most_similar(3), "positive: expected words .*, got int 3"),
    (lambda: AXES.most_similar(["x", 3]), "positive: expected words .*, got int 3"),
    (lambda: AXES.most_similar("x", negative=[None]), "negative: expected words .*, got NoneType None"),
    (lambda: AXES.similarity(3, "x"), "a: expected a word"),
    (lambda: AXES.similarity("x", ["y"]), r"b: expected a word \(str\), got list \['y'\]"),
    (lambda: AXES.analogy("x", "y", 3), "c: expected a word"),
    (lambda: AXES.doesnt_match(["x", b"y"]), "words: expected a word"),
    (lambda: AXES.vector(3), "word: expected a word"),
])
def test_words_that_are_not_strings_are_refused_naming_them(call, named):
    with pytest.raises(W2VError, match=f"^{named}"):
        call()


def test_a_zero_query_is_refused():
    """A zero query (a word with a zero vector, or words that cancel out) has no direction:
    every cosine would be 0 and the "neighbours" arbitrary, so it is an error."""
    for call in (lambda: AXES.most_similar("zero"), lambda: AXES.most_similar("x", negative="x")):
        with pytest.raises(W2VError, match="the query vector is zero"):
            call()


def test_unknown_word_error_reads_as_its_message():
    """UnknownWordError is a KeyError and a W2VError whose str() is the plain message, not a quoted repr."""
    for call in (lambda: AXES.vector("nope"), lambda: AXES["nope"], lambda: AXES[["x", "nope"]]):
        with pytest.raises(KeyError) as info:
            call()
        assert isinstance(info.value, UnknownWordError) and isinstance(info.value, W2VError)
        assert info.value.word == "nope" and str(info.value) == "word 'nope' is not in the vocabulary"


def test_indexing_by_words_as_gensim():
    """embeddings["w"] is the row of w (D,); a list or tuple of words gives their rows (n, D), in
    the order asked, repeats included; an empty list gives (0, D)."""
    assert AXES["y"].shape == (3,) and AXES["y"].tolist() == [0, 3, 0]
    assert np.shares_memory(AXES["y"], AXES.vectors)                   # a view, as vector("y")
    rows = AXES[["xy", "x", "xy"]]
    assert rows.shape == (3, 3) and rows.dtype == np.float32
    assert rows.tolist() == [[1, 1, 0], [2, 0, 0], [1, 1, 0]]
    assert AXES[("z",)].tolist() == [[0, 0, 1]]
    assert AXES[[]].shape == (0, 3)
    for key, shown in ((0, "int 0"), (np.array(["x"]), "ndarray of shape (1,)"), (None, "NoneType None")):
        expected = f"expected a word (str) or a list or tuple of words, got {shown}"
        with pytest.raises(W2VError, match=re.escape(expected)):
            AXES[key]
    with pytest.raises(W2VError, match="words: expected a word"):
        AXES[["x", 3]]


def test_vocab_names_are_live_read_only_views():
    """idx_to_token and token_to_idx (gensim's index_to_key, key_to_index) are the tokens and
    index themselves, not copies; the mapping refuses writes."""
    embeddings = planted()
    assert embeddings.idx_to_token is embeddings.tokens
    assert embeddings.idx_to_token[:4] == ["man", "woman", "king", "queen"]
    assert embeddings.token_to_idx["queen"] == 3 and dict(embeddings.token_to_idx) == embeddings.index
    with pytest.raises(TypeError):
        embeddings.token_to_idx["queen"] = 0
    with pytest.raises(AttributeError):
        embeddings.idx_to_token = []
    embeddings.index["extra"] = 99                       # a live view: sees what index holds
    assert embeddings.token_to_idx["extra"] == 99
    for row, token in enumerate(embeddings.idx_to_token):
        assert embeddings.token_to_idx[token] == row
        np.testing.assert_array_equal(embeddings[token], embeddings.vectors[row])


def test_embeddings_are_not_iterable():
    """Iterating would be a guess (words? vectors?), so it is refused rather than falling back
    to __getitem__(0), (1), ...; membership still works."""
    with pytest.raises(TypeError, match="not iterable"):
        iter(AXES)
    with pytest.raises(TypeError):
        list(AXES)
    assert "x" in AXES and "nope" not in AXES and 0 not in AXES


def test_zero_vectors_give_zero_not_nan():
    with np.errstate(all="raise"):
        assert AXES.similarity("x", "zero") == 0.0
        assert not np.isnan(AXES.analogy("zero", "x", "y", method="mul", topn=None)).any()


def test_most_similar_matches_gensim():
    tokens, vectors = random_embeddings()
    kv = gensim_vectors(tokens, vectors)
    embeddings = Embeddings(tokens, vectors)
    for positive, negative in [("t5", []), (["t1", "t2"], ["t3"]), ([], ["t7"]), (["t1", "t1"], ["t9", "t4"])]:
        for restrict in (None, 50):
            ours = embeddings.most_similar(positive, negative=negative, topn=10, restrict_vocab=restrict)
            theirs = kv.most_similar(positive, negative, topn=10, restrict_vocab=restrict)
            assert_same_ranking(ours, theirs)
    np.testing.assert_allclose(embeddings.most_similar("t5", negative="t6", topn=None),
                               kv.most_similar("t5", "t6", topn=None), rtol=1e-5, atol=1e-6)
    vector = vectors[0] * 3 + vectors[1]      # a raw vector, used unnormalised as gensim does
    assert_same_ranking(embeddings.most_similar([vector, "t2"], topn=10), kv.most_similar([vector, "t2"], topn=10))


@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`:DeprecationWarning")   # gensim's cosmul
def test_analogy_and_doesnt_match_match_gensim():
    tokens, vectors = random_embeddings(seed=1)
    kv = gensim_vectors(tokens, vectors)
    embeddings = Embeddings(tokens, vectors)
    rng = np.random.default_rng(2)
    for a, b, c in rng.choice(tokens, (10, 3), replace=False).tolist():
        assert_same_ranking(embeddings.analogy(a, b, c, topn=5), kv.most_similar([b, c], [a], topn=5))
        assert_same_ranking(embeddings.analogy(a, b, c, method="mul", topn=5),
                            kv.most_similar_cosmul([b, c], [a], topn=5))
    for size in (2, 3, 6):
        for _ in range(5):
            words = rng.choice(tokens, size, replace=False).tolist()
            assert embeddings.doesnt_match(words) == kv.doesnt_match(words)


@pytest.mark.gpu
def test_queries_on_gpu_match_numpy():
    try:
        cupy = get_backend("cupy")
    except W2VError as error:
        pytest.skip(str(error))
    tokens, vectors = random_embeddings()
    cpu, gpu = Embeddings(tokens, vectors), Embeddings(tokens, cupy.asarray(vectors))
    assert_same_ranking(gpu.most_similar(["t1", "t2"], negative="t3", topn=10, restrict_vocab=150),
                        cpu.most_similar(["t1", "t2"], negative="t3", topn=10, restrict_vocab=150))
    for method in ("add", "mul"):
        assert_same_ranking(gpu.analogy("t1", "t2", "t3", method=method, topn=5),
                            cpu.analogy("t1", "t2", "t3", method=method, topn=5))
    np.testing.assert_allclose(to_host(gpu.most_similar("t4", topn=None)), cpu.most_similar("t4", topn=None),
                               rtol=1e-5, atol=1e-6)
    assert gpu.similarity("t1", "t2") == pytest.approx(cpu.similarity("t1", "t2"), abs=1e-6)
    assert gpu.doesnt_match(["t1", "t2", "t3", "t4"]) == cpu.doesnt_match(["t1", "t2", "t3", "t4"])
