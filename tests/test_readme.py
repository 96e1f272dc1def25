"""README.md stays true: its examples run, and its flags table matches ``w2v-np train``.

(a) Every ``w2v-np ...`` line of a ```bash, ```sh or ```console block (continuation lines
joined) runs as ``python -m w2v_np ...`` and every ```python block runs as a script, in
README order, in one folder that holds a small corpus and small evaluation files, so that
a command can use the run folder an earlier one trained.  The only changes: ``ptb`` (and the
file of ``word2vec -train``) becomes that corpus and ``--epochs``/``epochs=``/``-iter`` is
capped at 2 (``--epochs`` added to ``train`` when absent).
The corpus holds every word of the README's code blocks, each often enough for the default
``--min-count``, so every command runs as written.  A command passes when it exits 0, or
with N when its line says ``# ... exit status N``.  What this machine lacks is skipped with
the reason: a GPU (``--backend cupy``), Numba (``--method word2vec``, ``--engine numba``,
``--sampler numba``, the ``word2vec`` command), matplotlib (``plot``), a module a python block imports (gensim); so is
an example that uses a folder a skipped one was to train.  A ``train --out DIR`` or
``out_dir="DIR"`` starts from an empty DIR, as a reader who runs one recipe of several would.
Shell lines other than ``w2v-np``, ``pip install`` and ``pytest`` are an error: the test
could not keep them true.

(b) The table under "Flags of `w2v-np train`" has one row per option of the ``train``
subcommand of :func:`w2v_np.cli.build_parser` and no other; where its default column gives
a number, or a value in backticks, it is the default of :class:`w2v_np.TrainConfig`, or
with a label (``word2vec: 0.025``, ``sgd: 2.0``) the value that :func:`w2v_np.plan.make_plan`
resolves for that method or optimizer.
"""
import argparse
import dataclasses
import importlib
import importlib.util
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\S*)\s*$")
SHELL = ("bash", "sh", "console", "shell")
NOT_RUN = ("pip install", "pytest")
EPOCH_CAP = 2
TIMEOUT = 600


@dataclasses.dataclass
class Block:
    language: str
    line: int                    # line number of the opening fence
    lines: list


def fenced_blocks(text):
    """The fenced code blocks of a Markdown text, in order."""
    blocks, current = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if current is None:
            match = FENCE.match(line)
            if match:
                current = Block(match.group(1).lower(), number, [])
        elif line.strip() == "```":
            blocks.append(current)
            current = None
        else:
            current.lines.append(line)
    assert current is None, f"README.md line {current.line}: a code block is never closed"
    return blocks


def shell_lines(block):
    """``(line number, command)`` of a shell block: continuation lines joined, prompts and blank lines dropped."""
    commands, pending, first = [], "", None
    for offset, raw in enumerate(block.lines, 1):
        line = raw.rstrip()
        if block.language == "console" and not pending:
            if not line.startswith("$ "):
                continue                                   # output shown in a console block
            line = line[2:]
        if first is None:
            first = block.line + offset
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        command, pending = (pending + line).strip(), ""
        if command and not command.startswith("#"):
            commands.append((first, command))
        first = None
    return commands


@dataclasses.dataclass
class Example:
    """One command or python block of the README, ready to run in the workspace."""
    line: int
    kind: str                    # "command", "python" or "unknown" (a shell line the test cannot run)
    source: str                  # as the README shows it
    argv: list = None            # commands: the arguments after w2v-np, changed as described above
    code: str = None             # python blocks: the code, changed as described above
    expected_status: int = 0
    trains: tuple = ()           # folders it trains into
    needs: tuple = ()            # reasons it may have to skip: "gpu", "numba", "matplotlib", "module:NAME"

    @property
    def id(self):
        return f"line {self.line}: {self.source.splitlines()[0][:70]}"


NUMBA_SETTINGS = {("--method", "word2vec"), ("--engine", "numba"), ("--sampler", "numba")}


def _numba_needed(words):
    return bool(NUMBA_SETTINGS & set(zip(words, words[1:])))


def command_example(line, source, corpus):
    words = shlex.split(source, comments=True)
    assert words[0] == "w2v-np", source
    argv = words[1:]
    status = re.search(r"#.*\bexit status (\d+)", source)
    needs = []
    if ("--backend", "cupy") in zip(argv, argv[1:]):
        needs.append("gpu")
    if _numba_needed(argv) and not status:    # a refusal is a refusal with or without Numba
        needs.append("numba")
    if argv[:1] == ["plot"]:
        needs.append("matplotlib")
    trains = ()
    if argv[:1] == ["train"]:
        argv = [str(corpus) if previous == "--corpus" and word == "ptb" else word
                for previous, word in zip([None] + argv, argv)]
        if "--epochs" in argv:
            at = argv.index("--epochs") + 1
            argv[at] = str(min(int(argv[at]), EPOCH_CAP))
        elif "--resume" not in argv and not status:
            argv += ["--epochs", str(EPOCH_CAP)]
        if "--out" in argv:
            trains = (argv[argv.index("--out") + 1],)
    if argv[:1] == ["word2vec"]:
        argv = [str(corpus) if previous == "-train" else word for previous, word in zip([None] + argv, argv)]
        if "-iter" in argv:
            at = argv.index("-iter") + 1
            argv[at] = str(min(int(argv[at]), EPOCH_CAP))
        if not status:
            needs.append("numba")
    return Example(line, "command", source, argv=argv, expected_status=int(status.group(1)) if status else 0,
                   trains=trains, needs=tuple(needs))


def python_example(block, corpus):
    source = "\n".join(block.lines)
    code = re.sub(r"""corpus=(["'])ptb\1""", f"corpus={str(corpus)!r}", source)
    code = re.sub(r"\bepochs=(\d+)", lambda m: f"epochs={min(int(m.group(1)), EPOCH_CAP)}", code)
    needs = []
    for module in sorted(set(re.findall(r"^\s*(?:from|import)\s+(\w+)", source, re.M))):
        needs.append(f"module:{module}")
    if re.search(r"""backend=["']cupy["']""", source):
        needs.append("gpu")
    if re.search(r"""method=["']word2vec["']""", source):
        needs.append("numba")
    trains = tuple(re.findall(r"""out_dir=["']([^"']+)["']""", source))
    return Example(block.line, "python", source, code=code, trains=trains, needs=tuple(needs))


def readme_examples(corpus):
    examples = []
    for block in fenced_blocks(README.read_text(encoding="utf-8")):
        if block.language in SHELL:
            for line, command in shell_lines(block):
                if command.startswith("w2v-np"):
                    examples.append(command_example(line, command, corpus))
                elif not command.startswith(NOT_RUN):
                    examples.append(Example(line, "unknown", command))
        elif block.language == "python":
            examples.append(python_example(block, corpus))
    return examples


# The corpus and the evaluation files, written into the workspace.
CORPUS_NAME = "corpus.txt"
EXAMPLES = readme_examples(CORPUS_NAME)


def readme_words():
    """Every lower-case word of the README's code blocks (the words its examples query)."""
    words = set()
    for block in fenced_blocks(README.read_text(encoding="utf-8")):
        if block.language in SHELL or block.language == "python":
            words.update(re.findall(r"\b[a-z]{2,}\b", "\n".join(block.lines)))
    return sorted(words)


def write_small_corpus(folder):
    """60,000 tokens over the README's words, sentences of 20; every word about 60000/W times."""
    words = readme_words()
    chooser = random.Random(0)
    lines = [" ".join(chooser.choice(words) for _ in range(20)) for _ in range(3000)]
    (folder / CORPUS_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    pairs = [words[i:i + 2] for i in range(0, 24, 2)]
    (folder / "wordsim353.tsv").write_text(
        "# Word 1\tWord 2\tHuman (mean)\n" + "".join(f"{a}\t{b}\t{i % 7 + 1.5}\n" for i, (a, b) in enumerate(pairs)),
        encoding="utf-8")
    questions = [" ".join(words[i:i + 4]) for i in range(0, 40, 4)]
    (folder / "questions-words.txt").write_text(
        ": first-section\n" + "\n".join(questions[:5]) + "\n: second-section\n" + "\n".join(questions[5:]) + "\n",
        encoding="utf-8")


def _missing(need):
    """Why ``need`` cannot be met here, or None."""
    if need == "gpu":
        try:
            import cupy
            if cupy.cuda.runtime.getDeviceCount() > 0:
                return None
        except Exception:          # no CuPy, no driver, no device
            pass
        return "needs CuPy and a GPU"
    name = need.split(":", 1)[-1]
    if importlib.util.find_spec(name) is None:
        return f"needs {name}, which is not installed"
    return None


class Workspace:
    """The folder where the README's examples run, in order, each at most once."""

    def __init__(self, folder):
        self.folder = folder
        self.outcomes = {}            # index -> ("passed" | "skipped" | "failed", message)
        self.skipped_folders = set()

    def run_through(self, index):
        """Run every example up to ``index`` not run yet; the outcome of example ``index``."""
        for earlier in range(index + 1):
            if earlier not in self.outcomes:
                self.outcomes[earlier] = self._run(EXAMPLES[earlier])
        return self.outcomes[index]

    def _run(self, example):
        if example.kind == "unknown":
            return "failed", (f"README.md line {example.line}: {example.source!r} is neither a w2v-np command nor "
                              f"{' nor '.join(NOT_RUN)}; teach tests/test_readme.py to run it")
        reasons = [why for why in map(_missing, example.needs) if why]
        uses = [name for name in self.skipped_folders if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])",
                                                                      example.source)]
        if uses and not reasons:
            reasons = [f"uses {', '.join(sorted(uses))}, which a skipped example was to train"]
        if reasons:
            self.skipped_folders.update(example.trains)
            return "skipped", f"README.md line {example.line}: {'; '.join(reasons)}"
        for name in example.trains:
            shutil.rmtree(self.folder / name, ignore_errors=True)
        if example.kind == "command":
            argv = [sys.executable, "-m", "w2v_np", *example.argv]
        else:
            argv = [sys.executable, "-c", example.code]
        env = dict(os.environ, MPLBACKEND="Agg")
        try:
            done = subprocess.run(argv, cwd=self.folder, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return "failed", f"README.md line {example.line}: still running after {TIMEOUT} s"
        if done.returncode != example.expected_status:
            shown = "w2v-np " + " ".join(example.argv) if example.kind == "command" else "the python block"
            return "failed", (f"README.md line {example.line}: {shown}\nexit status {done.returncode}, "
                              f"expected {example.expected_status}\nstdout:\n{done.stdout[-3000:]}\n"
                              f"stderr:\n{done.stderr[-3000:]}")
        return "passed", ""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    write_small_corpus(folder)
    return Workspace(folder)


def test_readme_has_examples():
    kinds = {example.kind for example in EXAMPLES}
    assert {"command", "python"} <= kinds, kinds
    assert any(example.argv[:1] == ["train"] for example in EXAMPLES if example.kind == "command")


@pytest.mark.parametrize("index", range(len(EXAMPLES)), ids=[example.id for example in EXAMPLES])
def test_readme_example_runs(workspace, index):
    outcome, message = workspace.run_through(index)
    if outcome == "skipped":
        pytest.skip(message)
    assert outcome == "passed", message


# --------------------------------------------------------------------------- the flags table

def flags_table():
    """The rows of the table under the "Flags of `w2v-np train`" heading: ``{flag: {column: cell}}``."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^#+ Flags of `w2v-np train`", line))
    table = []
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif table:
            break
    header = [name.lower() for name in table[0]]
    assert header[:2] == ["flag", "default"], header
    rows = {}
    for cells in table[2:]:
        match = re.fullmatch(r"`(--[a-z0-9-]+)`", cells[0])
        assert match, f"the first cell of a flags row must be one flag in backticks, got {cells[0]!r}"
        assert match.group(1) not in rows, f"{match.group(1)} has two rows"
        rows[match.group(1)] = dict(zip(header, cells))
    return rows


def train_options():
    """The options of ``w2v-np train``, as its parser defines them (``--help`` left out)."""
    from w2v_np.cli import build_parser
    commands = next(action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction))
    train = commands.choices["train"]
    return {option for action in train._actions for option in action.option_strings
            if option.startswith("--") and option != "--help"}


def test_flags_table_lists_every_train_option_and_no_other():
    table, options = set(flags_table()), train_options()
    assert not options - table, f"options of w2v-np train missing from README's flags table: {sorted(options - table)}"
    assert not table - options, f"flags in README's table that w2v-np train does not have: {sorted(table - options)}"


def parse_default(cell):
    """``[(labels, value)]`` of a default cell, a value a float or a backticked word; others left out.

    ``5`` -> ``[((), 5.0)]``; ```d2l`: `seed`; `word2vec`: `word2vec``` -> two entries
    labelled by method; ```adam`, `lazy-adam`: 0.002; `sgd`: 2.0`` -> labelled by optimizer.
    """
    entries = []
    for part in cell.split(";"):
        labels, _, value = part.rpartition(":")
        labels = tuple(label.strip().strip("`") for label in labels.split(",") if label.strip())
        value = value.strip()
        try:
            entries.append((labels, float(value)))
            continue
        except ValueError:
            pass
        word = re.fullmatch(r"`([^`\s]+)`", value)
        if word:
            entries.append((labels, word.group(1)))
    return entries


METHODS = ("d2l", "word2vec")
D2L_OPTIMIZERS = ("adam", "lazy-adam", "sgd")


def resolved_default(field, labels):
    """What ``field`` defaults to: TrainConfig's default, or the plan's for the labelled method, optimizer
    or engine (``dask``)."""
    from w2v_np import TrainConfig, make_plan
    if not labels:
        value = getattr(TrainConfig(), field)
        if value is not None:
            return value
        labels = ("d2l",)                       # a field of the default method, resolved by its plan
    label = labels[0]
    settings = ({"method": label} if label in METHODS else {"method": "word2vec", "workers": 1} if label == "dask"
                else {"method": "d2l", "optimizer": label})
    assert label in METHODS + D2L_OPTIMIZERS + ("dask",), f"unknown label {label!r} in a default cell"
    if settings["method"] == "word2vec" and importlib.util.find_spec("numba") is None:
        pytest.skip("the word2vec method's plan needs Numba")
    return make_plan(TrainConfig(**settings)).to_dict()[field]


def test_flags_table_defaults_match_the_code():
    from w2v_np import TrainConfig
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    checked, wrong = 0, []
    for flag, row in flags_table().items():
        field = flag[2:].replace("-", "_")
        if field not in fields:
            continue                                      # --out, --resume, --probe, --quiet
        for labels, stated in parse_default(row["default"]):
            if isinstance(stated, str) and not labels and getattr(TrainConfig(), field) is None:
                continue                                  # e.g. `auto`, which the plan resolves
            groups = [labels] if len(labels) <= 1 else [(label,) for label in labels]
            for group in groups:
                actual = resolved_default(field, group)
                same = (isinstance(stated, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool)
                        and abs(actual - stated) <= 1e-12 * max(1.0, abs(stated))) or actual == stated
                checked += 1
                if not same:
                    wrong.append(f"{flag} {'/'.join(group) or 'default'}: README says {stated!r}, the code {actual!r}")
    assert not wrong, "README's flags table states other defaults than the code:\n" + "\n".join(wrong)
    assert checked >= 10, f"only {checked} defaults checked: is the default column still parsed?"
