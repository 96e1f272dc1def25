"""Shared helpers of the benchmarks: machine description and result files."""
import datetime
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"


def machine():
    """A short description of where the benchmark ran."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform()}


def median(values):
    return statistics.median(values)


def save(name, payload, table_lines):
    """Write ``results/NAME.json`` and append a Markdown section to RESULTS.md."""
    RESULTS_DIR.mkdir(exist_ok=True)
    payload = dict(payload, machine=machine(), date=datetime.date.today().isoformat(),
                   command=" ".join([Path(sys.executable).name] + sys.argv))
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    m = payload["machine"]
    header = [f"## {name} — {payload['date']}", "",
              f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, NumPy {m['numpy']}.",
              f"Command: `{payload['command']}`", ""]
    with open(RESULTS_MD, "a") as out:
        out.write("\n".join(header + table_lines) + "\n\n")


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
