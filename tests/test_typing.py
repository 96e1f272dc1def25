"""Type hints on the public API, ``py.typed`` shipped with them, and a type checker that uses them."""
import configparser
import inspect
import os
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import pytest

import w2v_np
from w2v_np import Embeddings

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = [w2v_np.train, w2v_np.resume, w2v_np.make_plan, w2v_np.evaluate_pairs, w2v_np.evaluate_analogies,
             w2v_np.get_backend, w2v_np.io.read_word2vec, w2v_np.io.write_word2vec]
EMBEDDINGS_METHODS = ["__init__", "load", "save", "__len__", "__contains__", "__getitem__", "vector",
                      "num_candidates", "most_similar", "similarity", "analogy", "doesnt_match"]


@pytest.mark.parametrize("function", FUNCTIONS + [getattr(Embeddings, name) for name in EMBEDDINGS_METHODS],
                         ids=lambda f: f.__qualname__)
def test_public_functions_are_annotated(function):
    signature = inspect.signature(function)
    unannotated = [name for name, parameter in signature.parameters.items()
                   if name not in ("self", "cls") and parameter.annotation is inspect.Parameter.empty]
    assert not unannotated and signature.return_annotation is not inspect.Signature.empty


def test_config_fields_are_annotated_with_their_optional_types():
    hints = {name: str(value) for name, value in w2v_np.TrainConfig.__annotations__.items()}
    assert "Optional[int]" in hints["threads"] and "Iterable" in hints["corpus"]
    for name, field in w2v_np.TrainConfig.__dataclass_fields__.items():
        if field.default is None:
            assert "Optional" in hints[name] or "None" in hints[name], name


def test_py_typed_ships_with_the_package():
    assert resources.files("w2v_np").joinpath("py.typed").is_file()
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["options.package_data"]["w2v_np"].split() == ["py.typed"]


USE = """
    from w2v_np import Embeddings, TrainConfig, evaluate_pairs, train

    result = train(TrainConfig(corpus=[["a", "b"], ["b", "c"]], min_count=1, sample=0), quiet=True)
    vectors: Embeddings = result.embeddings()
    best: list[tuple[str, float]] = vectors.most_similar("a", topn=1)
    size: int = len(vectors)
    rho: float = evaluate_pairs(vectors, "pairs.tsv").spearman
    {last}
"""


@pytest.mark.parametrize("last, errors", [("score: float = vectors.similarity('a', 'b')", []),
                                          ("score: int = vectors.similarity('a', 'b')", [9]),
                                          ("train(TrainConfig(), quiet='yes')", [9])])
def test_mypy_checks_user_code_against_the_hints(tmp_path, last, errors):
    """mypy accepts correct use of the API and reports the line that misuses it."""
    pytest.importorskip("mypy")
    (tmp_path / "use.py").write_text(textwrap.dedent(USE.format(last=last)))
    # The source folder, as a type checker sees an installed package (an editable install's
    # import hook is invisible to it).
    env = dict(os.environ, MYPYPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-incremental",
                           "--python-version", f"{sys.version_info[0]}.{sys.version_info[1]}", "use.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    lines = [int(line.split(":")[1]) for line in done.stdout.splitlines() if line.startswith("use.py:")
             and ": error:" in line]
    assert lines == errors, done.stdout + done.stderr
    assert (done.returncode == 0) == (not errors)
