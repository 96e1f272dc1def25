"""The two Python parts of ``bench/gpu_check.sh``: the version header and the summary JSON.

Usage: python bench/gpu_summary.py versions OUT.json
       python bench/gpu_summary.py summary --work DIR --out results/gpu_check.json
                                           --bench-json results/gpu_check_bench.json [...]

``versions`` prints the interpreter's and the numeric packages' versions (and what CuPy and
torch see of CUDA) and writes them as JSON.  ``summary`` reads what the steps of the check
left in ``--work`` (``steps.tsv``, ``tests.log``, ``bench.log``, ``versions.json``) and the
JSON that ``cpu_vs_gpu.py`` wrote, writes one JSON (date, machine, versions, the tests'
counts, each engine's median epoch seconds), prints a short account, and exits 0 only when
every step passed.  Only the standard library is imported here, so a summary is written even
when the package or NumPy cannot be imported.
"""
import argparse
import datetime
import importlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from host import cpu_description

PACKAGES = ("numpy", "numba", "cupy", "torch", "pytest")
# pytest's last line, e.g. "31 passed, 2 skipped, 1 warning in 61.20s (0:01:01)"
COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected|warnings?)\b")
# pytest -q's progress, e.g. "..s..F.." or "....   [ 40%]": all a run stopped by `timeout` leaves
PROGRESS = re.compile(r"^([.sFExX]+)(\s+\[\s*\d+%\])?\s*$")
# compare.py's line for one run, e.g. "round 1 w2v-np:numba: 6.04 s end to end, 1.77 s training, ..."
RUN_LINE = re.compile(r"^round \d+ (\S+): [\d.]+ s end to end, ([\d.]+) s training")


def gpus():
    """``[{name, driver, memory}]`` from nvidia-smi; empty without a driver or a GPU."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        listing = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                                  "--format=csv,noheader"], capture_output=True, text=True, timeout=10,
                                 check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if listing.returncode != 0:
        return []
    rows = [[field.strip() for field in line.split(",")] for line in listing.stdout.splitlines() if line.strip()]
    return [dict(zip(("name", "driver", "memory"), row)) for row in rows]


def versions():
    """Versions of Python and of :data:`PACKAGES` (None when missing), and what CuPy and torch see."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            module = importlib.import_module(name)
            found[name] = getattr(module, "__version__", "unknown")
        except Exception as exc:    # a broken CUDA install surfaces as any exception at import
            found[name] = None
            found[f"{name}_error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    if found["cupy"]:
        try:
            import cupy
            found["cupy_devices"] = cupy.cuda.runtime.getDeviceCount()
            found["cupy_cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
        except Exception as exc:
            found["cupy_devices"] = 0
            found["cupy_error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    if found["torch"]:
        import torch
        found["torch_cuda"] = torch.version.cuda
        found["torch_cuda_available"] = bool(torch.cuda.is_available())
    return found


def write_versions(out):
    found = versions()
    for name in ("python", *PACKAGES):
        line = f"{name}: {found[name] or 'not installed'}"
        if found.get(f"{name}_error"):
            line += f" ({found[f'{name}_error']})"
        print(line)
    if found["cupy"]:
        print(f"cupy sees {found.get('cupy_devices', 0)} GPU(s)")
    if found["torch"]:
        print(f"torch: CUDA {found['torch_cuda']}, available {found['torch_cuda_available']}")
    Path(out).write_text(json.dumps(found, indent=2) + "\n")


def read_steps(path):
    """``{name: {rc, seconds, note}}`` from the tab-separated lines the shell script appended."""
    steps = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            name, rc, seconds, note = (line.split("\t") + ["", "", ""])[:4]
            steps[name] = {"rc": int(rc), "seconds": int(seconds), "note": note}
    return steps


def tests_summary(log, step):
    """pytest's counts and its last line; for a run stopped by ``timeout``, the counts of its progress."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    last = next((line.strip(" =") for line in reversed(text.splitlines())
                 if COUNT.search(line) and " in " in line), None)
    if last:
        counts = {word.rstrip("s") if word.startswith(("error", "warning")) else word: int(number)
                  for number, word in COUNT.findall(last)}
    else:
        marks = "".join(match.group(1) for match in map(PROGRESS.match, text.splitlines()) if match)
        counts = {"passed": marks.count("."), "failed": marks.count("F"), "skipped": marks.count("s"),
                  "error": marks.count("E")}
    result = {key: counts.get(key, 0) for key in ("passed", "failed", "skipped", "error")}
    if last is None:
        # what stopped it: a time limit leaves only progress marks, a missing pytest one error line
        result["last_line"] = (text.strip().splitlines() or [None])[-1]
    result.update(summary=last, partial=last is None, rc=step.get("rc"), timed_out=step.get("rc") in (124, 137),
                  seconds=step.get("seconds"), selection=step.get("note"))
    return result


def bench_summary(bench_json, log, step, epochs, since):
    """Median epoch seconds per engine: from cpu_vs_gpu.py's JSON, else from its log of finished runs.

    The log is the fallback for a run cut short by the time limit: it names each timed run's
    training seconds, so the median over runs of (training seconds / epochs) stands in for
    the median epoch.  A JSON older than this check is an earlier run's and is ignored.
    """
    result = {"rc": step.get("rc"), "timed_out": step.get("rc") in (124, 137), "seconds": step.get("seconds"),
              "command": step.get("note"), "results_file": None, "epoch_seconds": {}, "skipped": {}}
    if bench_json.is_file() and bench_json.stat().st_mtime >= since:
        payload = json.loads(bench_json.read_text())
        result["results_file"] = str(bench_json)
        result["source"] = "results json"
        for corpus in payload.get("corpora", {}).values():
            result["skipped"].update(corpus.get("skipped", {}))
            for engine, row in corpus.get("summary", {}).items():
                result["epoch_seconds"][engine] = row["epoch_seconds"]
                result.setdefault("engines", {})[engine] = {
                    key: row.get(key) for key in ("epoch_seconds", "wall_seconds", "prep_seconds",
                                                  "centers_per_second", "corpus_words_per_second", "spearman",
                                                  "runs")}
        result["kernels"] = payload.get("kernels")
        return result
    text = log.read_text(errors="replace") if log.is_file() else ""
    per_engine = {}
    for line in text.splitlines():
        match = RUN_LINE.match(line)
        if match:
            per_engine.setdefault(match.group(1), []).append(float(match.group(2)) / epochs)
        elif line.startswith("skipping "):
            engine, _, why = line[len("skipping "):].partition(": ")
            result["skipped"][engine] = why
    result["epoch_seconds"] = {engine: statistics.median(values) for engine, values in per_engine.items()}
    result["source"] = "log (training seconds / epochs of the finished rounds)" if per_engine else None
    return result


def summary(args):
    work = Path(args.work)
    steps = read_steps(work / "steps.tsv")
    versions_file = work / "versions.json"
    found = json.loads(versions_file.read_text()) if versions_file.is_file() else {}
    devices = gpus()
    gpu_present = bool(devices)
    tests = tests_summary(work / "tests.log", steps.get("tests", {}))
    bench = bench_summary(Path(args.bench_json), work / "bench.log", steps.get("bench", {}), args.epochs,
                          args.since)
    failures = []
    for name in ("install", "data", "versions", "tests", "bench"):
        step = steps.get(name)
        if step is None:
            failures.append(f"{name}: did not run")
        elif step["rc"] == 125:
            failures.append(f"{name}: {step['note']}")
        elif step["rc"] != 0:
            failures.append(f"{name}: exit status {step['rc']}" + (" (time limit)" if step["rc"] in (124, 137) else ""))
    if steps.get("bench", {}).get("rc") == 0 and not bench["epoch_seconds"]:
        failures.append("bench: no engine ran")
    if gpu_present:
        # With a GPU the GPU engines must run: a skip here means CuPy or torch cannot reach it.
        failures += [f"bench: {engine} skipped with a GPU present ({why})" for engine, why in bench["skipped"].items()
                     if "cupy" in engine or "cuda" in engine]
    machine = {"gpu": devices[0]["name"] if devices else None, "gpus": devices, "cores": os.cpu_count(),
               "platform": platform.platform(), "cpu": cpu_description()}
    payload = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "gpu_present": gpu_present,
        "cuda_simulator": not gpu_present and bool(found.get("numba")),
        "machine": machine, "versions": found,
        "install": steps.get("install"), "data": steps.get("data"),
        "tests": tests, "bench": bench,
        "epoch_seconds": bench["epoch_seconds"], "epochs": args.epochs, "repeats": args.repeats,
        "steps": steps, "passed": not failures, "failures": failures,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")

    print(f"machine: {machine['gpu'] or 'no GPU'}" + ("" if gpu_present else " (GPU tests under Numba's CUDA "
                                                      "simulator, GPU engines skipped)"))
    print(f"install: {(steps.get('install') or {}).get('note')}; data: {(steps.get('data') or {}).get('note')}")
    if tests["summary"]:
        print(f"tests: {tests['summary']} (exit status {tests['rc']})")
    else:
        counted = ", ".join(f"{tests[key]} {key}" for key in ("passed", "failed", "skipped", "error") if tests[key])
        print(f"tests: no summary line (exit status {tests['rc']}); progress counted: {counted or 'none'}; "
              f"last line: {tests['last_line']}")
    for engine, seconds in bench["epoch_seconds"].items():
        print(f"epoch seconds (median) {engine}: {seconds:.3f}")
    for engine, why in bench["skipped"].items():
        print(f"skipped {engine}: {why}")
    print(f"wrote {out}")
    print("PASSED" if not failures else "FAILED: " + "; ".join(failures))
    return 0 if not failures else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    versions_parser = commands.add_parser("versions", help="print and write the versions")
    versions_parser.add_argument("out")
    summary_parser = commands.add_parser("summary", help="write the check's JSON; exit 0 when all passed")
    summary_parser.add_argument("--work", required=True, help="the folder of steps.tsv and the logs")
    summary_parser.add_argument("--out", required=True)
    summary_parser.add_argument("--bench-json", required=True, help="what cpu_vs_gpu.py writes")
    summary_parser.add_argument("--epochs", type=int, required=True)
    summary_parser.add_argument("--repeats", type=int, required=True)
    summary_parser.add_argument("--since", type=float, default=0, help="the check's start (seconds since the epoch)")
    args = parser.parse_args()
    if args.command == "versions":
        write_versions(args.out)
        return 0
    return summary(args)


if __name__ == "__main__":
    sys.exit(main())
