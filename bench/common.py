"""Shared helpers of the benchmarks: machine description and result files."""
import datetime
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import numpy as np

from host import cpu_description

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"


def machine():
    """A short description of where the benchmark ran."""
    return {"cpu": cpu_description(), "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform()}


def median(values):
    return statistics.median(values)


def save(name, payload, table_lines):
    """Write ``results/NAME.json`` and put its Markdown section into RESULTS.md.

    The section is the ``## NAME`` heading (words may follow it after " — ") up to the next
    ``## `` heading: a run replaces the section of its name, keeping the heading's words, and
    is appended only when RESULTS.md has no such section.  Earlier figures live in git.
    """
    RESULTS_DIR.mkdir(exist_ok=True)
    payload = dict(payload, machine=machine(), date=datetime.date.today().isoformat(),
                   command=" ".join([Path(sys.executable).name] + sys.argv))
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    m = payload["machine"]
    body = [f"Date: {payload['date']}. Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
            f"NumPy {m['numpy']}.", f"Command: `{payload['command']}`", "", *table_lines]
    RESULTS_MD.write_text(replace_section(RESULTS_MD.read_text() if RESULTS_MD.exists() else "", name, body))


def replace_section(text, name, body):
    """``text`` (Markdown) with the section ``## NAME`` holding ``body`` (lines), or with it appended."""
    lines = text.rstrip("\n").split("\n") if text.strip() else ["# Benchmark results"]
    start = next((i for i, line in enumerate(lines)
                  if line == f"## {name}" or line.startswith(f"## {name} — ")), None)
    if start is None:
        return "\n".join(lines + ["", f"## {name}", ""] + body).rstrip("\n") + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = [""] + lines[end:] if end < len(lines) else []
    return "\n".join(lines[:start + 1] + [""] + body + tail).rstrip("\n") + "\n"


def new_figure(size):
    """A matplotlib Figure on an Agg canvas (no pyplot state), or None without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        print("matplotlib is not installed: no plot")
        return None
    figure = Figure(figsize=size)
    FigureCanvasAgg(figure)
    return figure


def finish_time_axes(axes, ylabel, xlabel="end-to-end seconds (log scale)"):
    """The shared look of the quality-against-time plots: log time axis, grid, legend."""
    axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
