"""How many threads the Numba kernels use: the CPUs this process may use, and fewer while they are shared.

:func:`usable_cpus` counts the CPUs a process may run on: its affinity mask
(``os.sched_getaffinity``: ``taskset``, ``docker --cpuset-cpus``, a batch scheduler's
allocation), capped by a cgroup CPU quota (``docker --cpus``, Kubernetes CPU limits), not
the machine's cores.

:class:`ThreadGovernor` adapts the number of threads while the d2l method trains.  Each
mini-batch step ends its parallel regions in barriers; when other processes share the
CPUs, the OS deschedules one of the step's threads now and then and every barrier waits
for it, so two threads can run slower than one.  The fused step gives the same bits for
any number of threads, so the governor may change it at any batch without changing the
result: it times windows of batches and keeps the faster of one thread and all of them,
trying the other from time to time.

:func:`preload_tbb` makes Numba's TBB threading layer loadable when the ``tbb`` package
is installed (``pip install "w2v-np[fast]"`` brings it on Linux x86-64): Numba tries TBB
first, and its work-stealing tasks let a thread that the OS keeps waiting lose its share
of a parallel region to the others, where OpenMP's static split makes the region wait
(bench/RESULTS.md, ``contention_ptb``).
"""
import ctypes
import math
import os
import sys
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
TBB_LIBRARY = "libtbb.so.12"


def preload_tbb(prefix=sys.prefix):
    """Load the ``tbb`` wheel's library by its path, so that Numba's TBB layer finds it.

    The wheel puts ``libtbb.so.12`` in ``PREFIX/lib``, where the dynamic loader does not
    look; once it is loaded, the layer's own reference to it resolves to this copy.  Does
    nothing off Linux, without the wheel, when the library is loaded already or cannot
    be; Numba then falls back to OpenMP or its workqueue.  Returns whether it loaded it.
    """
    path = Path(prefix, "lib", TBB_LIBRARY)
    if not sys.platform.startswith("linux") or not path.is_file():
        return False
    try:
        ctypes.CDLL(os.fspath(path), mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return False
    return True


def usable_cpus(cgroup_root=CGROUP_ROOT, proc_self=Path("/proc/self")):
    """The number of CPUs this process may use: its affinity mask, capped by its cgroup's CPU
    quota rounded down (at least 1)."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:                      # not on Linux
        count = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root, proc_self)
    if quota is not None:
        count = min(count, max(1, math.floor(quota)))
    return max(1, count)


def cgroup_cpu_quota(cgroup_root=CGROUP_ROOT, proc_self=Path("/proc/self")):
    """The CPU quota of this process's cgroup and its ancestors, in CPUs (``None``: no quota).

    cgroup v2: ``cpu.max`` (``"QUOTA PERIOD"`` or ``"max PERIOD"``) of each group on the
    process's path; cgroup v1: ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` of its ``cpu``
    hierarchy.  The smallest quota found applies; unreadable files count as no quota.
    """
    try:
        lines = (proc_self / "cgroup").read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            folders = _ancestors(cgroup_root, path)
            quotas += [_v2_quota(folder / "cpu.max") for folder in folders]
        elif "cpu" in controllers.split(","):
            base = cgroup_root / controllers
            if not base.is_dir():
                base = cgroup_root / "cpu"
            quotas += [_v1_quota(folder) for folder in _ancestors(base, path)]
    quotas = [quota for quota in quotas if quota is not None]
    return min(quotas) if quotas else None


def _ancestors(root, path):
    """``root / path`` and each folder above it up to ``root``."""
    parts = [part for part in path.split("/") if part]
    return [root.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _v2_quota(cpu_max):
    try:
        quota, period = cpu_max.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def _v1_quota(folder):
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


class ThreadGovernor:
    """Chooses, window by window, between one thread and ``most`` threads for the Numba kernels.

    Call :meth:`start` before a step and :meth:`stop` after it.  Every ``window`` steps it
    compares the window's seconds per unit of work with its running estimate for the
    thread count it used; after ``explore_every`` windows on the current choice it runs one
    window on the other.  When that window is faster by more than ``margin`` the choice
    switches and the exploration interval returns to its minimum; when it is slower by
    more than ``margin`` the interval doubles, up to ``max_explore_every`` windows, so a
    clearly worse choice costs little; in between (the two choices about as fast, as
    they often are while other processes share the CPUs, and one window too noisy to
    tell) the interval returns to its minimum, so that it tries again soon.
    ``set_threads`` (``numba.set_num_threads``) applies a choice; ``clock`` reads seconds.
    """

    def __init__(self, most, set_threads, window=16, explore_every=4, max_explore_every=64, margin=0.2,
                 clock=time.perf_counter):
        self.set_threads, self.clock = set_threads, clock
        self.window, self.margin = window, margin
        self.min_explore, self.max_explore = explore_every, max_explore_every
        self.choice = self.current = most
        self.other = 1 if most > 1 else most
        self.estimate = {}                 # seconds per unit of work, per thread count
        self.explore_every = explore_every
        self.since_explore = 0
        self.steps = self.work = 0
        self.window_start = None
        self.switches = 0
        self.reset_mean()

    def reset_mean(self):
        """Start counting anew for :meth:`mean_threads`."""
        self.thread_steps = self.counted_steps = 0

    def mean_threads(self):
        """The mean number of threads of the steps since :meth:`reset_mean` (``None`` before any)."""
        return self.thread_steps / self.counted_steps if self.counted_steps else None

    def start(self):
        if self.window_start is None:
            self.window_start = self.clock()

    def stop(self, work):
        """Count a finished step of ``work`` units; at the end of a window, decide the next one's threads."""
        self.steps += 1
        self.work += work
        self.thread_steps += self.current
        self.counted_steps += 1
        if self.steps < self.window:
            return
        rate = (self.clock() - self.window_start) / max(self.work, 1)
        self.steps = self.work = 0
        self.window_start = None
        if self.current == self.choice:
            previous = self.estimate.get(self.choice)
            self.estimate[self.choice] = rate if previous is None else 0.5 * (previous + rate)
            self.since_explore += 1
            if self.other != self.choice and self.since_explore >= self.explore_every:
                self._use(self.other)
            return
        self.since_explore = 0
        if rate < (1 - self.margin) * self.estimate[self.choice]:
            self.choice, self.other = self.current, self.choice
            self.estimate[self.choice] = rate
            self.explore_every = self.min_explore
            self.switches += 1
        else:
            if rate > (1 + self.margin) * self.estimate[self.choice]:
                self.explore_every = min(2 * self.explore_every, self.max_explore)
            else:               # too close to call: try again as soon
                self.explore_every = self.min_explore
            self._use(self.choice)

    def _use(self, threads):
        self.current = threads
        self.set_threads(threads)
