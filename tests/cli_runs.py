"""Waiting for CLI runs in subprocesses: bounded by work's generous limit, failing as a time-out."""
import subprocess
import time

import pytest

IDLE_BOUND = 600
"""Seconds a small CLI run may take before a test calls it hung: far beyond its idle time
(a few seconds), so a busy machine slows the tests down but does not fail them."""


def ended(process, seconds=IDLE_BOUND):
    """``(stdout, stderr)`` of ``process`` once it ends; one still going after ``seconds`` is
    killed and the test fails saying it timed out."""
    try:
        return process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"time-out: a CLI run was still going after {seconds} s ({process.args})")


def wait_for(path, seconds=IDLE_BOUND):
    """Wait until ``path`` exists; fail as a time-out after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"time-out: {path} did not appear within {seconds} s")
        time.sleep(0.05)
