"""The progress bar: where it is shown, how often it is redrawn, what it leaves; with a fake stream and clock."""
import io
import sys
import types

import numpy as np
import pytest

from w2v_np import TrainConfig, train
from w2v_np.progress import BAR_WIDTH, MAX_REDRAWS, MIN_REDRAW_SECONDS, Progress, shows_bar


class FakeStream(io.StringIO):
    """A text stream that says whether it is a terminal."""

    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


class NotebookStream(io.StringIO):
    """Stands for ipykernel's OutStream, the sys.stderr of a Jupyter kernel: not a terminal."""


NotebookStream.__module__ = "ipykernel.iostream"


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def visible(text):
    """The line a terminal (or Jupyter) shows after ``text``: each ``\\r`` returns to column 0,
    and what follows overwrites the characters under it."""
    line = ""
    for part in text.split("\r"):
        line = part + line[len(part):]
    return line


def run_epoch(bar, clock, seconds_per_step, loss=0.25):
    """Step ``bar`` through its ``total`` steps as a trainer does; the steps it redrew at."""
    drawn = []
    for done in range(1, bar.total + 1):
        clock.now += seconds_per_step
        if bar.wants(done):
            bar.update(done, loss)
            drawn.append(done)
    return drawn


def test_a_fast_epoch_is_redrawn_at_most_a_few_times_a_second():
    """0.5 s of 5000 steps: the step count would allow 50 redraws, the clock allows one per
    MIN_REDRAW_SECONDS, plus the last step's."""
    clock, stream = FakeClock(), FakeStream(tty=True)
    bar = Progress(5000, "epoch 1/1", stream, clock=clock)
    drawn = run_epoch(bar, clock, 1e-4)
    assert drawn[-1] == 5000
    assert 1 <= len(drawn) - 1 <= int(0.5 / MIN_REDRAW_SECONDS)
    assert stream.getvalue().count("\r") == len(drawn)
    assert all(b - a >= MIN_REDRAW_SECONDS / 1e-4 - 1e-9 for a, b in zip(drawn[:-2], drawn[1:-1]))


def test_a_slow_epoch_is_redrawn_max_redraws_times():
    """1000 steps of a second each: one redraw every total / MAX_REDRAWS steps, the last at the end."""
    clock = FakeClock()
    bar = Progress(1000, "epoch 1/1", FakeStream(tty=True), clock=clock)
    drawn = run_epoch(bar, clock, 1.0)
    assert drawn == list(range(1000 // MAX_REDRAWS, 1001, 1000 // MAX_REDRAWS))


def test_the_final_state_is_drawn_then_erased():
    clock, stream = FakeClock(), FakeStream(tty=True)
    bar = Progress(5000, "epoch 2/3", stream, clock=clock)
    run_epoch(bar, clock, 1e-4, loss=0.3456)
    # 5000 steps in 0.5 s of the fake clock: 10000 batches/s.
    final = f"epoch 2/3 [{'#' * BAR_WIDTH}] 5000/5000 loss 0.346 10000 batches/s"
    assert visible(stream.getvalue()) == final
    bar.close()
    assert visible(stream.getvalue()) == " " * len(final) and stream.getvalue().endswith("\r")


def test_a_shorter_line_covers_a_longer_one():
    """A terminal keeps the characters a shorter redraw does not reach: they are padded over."""
    clock, stream = FakeClock(), FakeStream(tty=True)
    bar = Progress(10, "e", stream, clock=clock)
    clock.now += 1e-3
    bar.update(5, 10.0)                       # 5000 batches/s
    clock.now += 100.0
    bar.update(10, 1.0)                       # 0 batches/s: a shorter line
    assert visible(stream.getvalue()).rstrip() == f"e [{'#' * BAR_WIDTH}] 10/10 loss 1.000 0 batches/s"


def test_a_disabled_bar_writes_nothing():
    clock, stream = FakeClock(), FakeStream(tty=True)
    bar = Progress(100, "epoch 1/1", stream, enabled=False, clock=clock)
    assert run_epoch(bar, clock, 1.0) == []
    bar.update(100, 0.5)
    bar.close()
    assert stream.getvalue() == ""


def test_where_a_bar_is_shown(monkeypatch):
    """A terminal or a Jupyter kernel's stream; not a pipe or file, nor a stream without isatty."""
    assert shows_bar(FakeStream(tty=True))
    assert not shows_bar(FakeStream(tty=False))
    assert not shows_bar(object())
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert not shows_bar(NotebookStream())
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert shows_bar(NotebookStream())
    assert not shows_bar(FakeStream(tty=False))      # a kernel's process writing to a file


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("corpus") / "words.txt"
    path.write_text("\n".join(" ".join(rng.choice([f"w{i}" for i in range(30)], 10)) for _ in range(200)) + "\n")
    return path


def config(corpus):
    return TrainConfig(corpus=str(corpus), epochs=2, min_count=1, dim=8, batch_size=16, sample=0.0, seed=0,
                       engine="numpy", sampler="numpy")


@pytest.mark.parametrize("stream, quiet, shown", [
    (FakeStream(tty=True), False, True), (NotebookStream(), False, True),
    (FakeStream(tty=True), True, False), (NotebookStream(), True, False), (FakeStream(tty=False), False, False)])
def test_train_draws_its_bar_on_a_terminal_or_in_a_notebook_only(corpus, monkeypatch, stream, quiet, shown):
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setattr(sys, "stderr", stream)
    train(config(corpus), probes=(), quiet=quiet)
    text = stream.getvalue()
    if not shown:
        assert text == ""
        return
    batches = -(-2000 // 16)                  # 200 sentences of 10 words: 2000 centers
    for epoch in (1, 2):
        assert f"epoch {epoch}/2 [{'#' * BAR_WIDTH}] {batches}/{batches} loss " in text
    assert visible(text).strip() == ""        # each epoch's bar erased
