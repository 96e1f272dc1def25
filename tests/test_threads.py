"""The threads of the Numba kernels: the usable CPUs, and the governor that uses fewer while they are shared."""
import os

import numpy as np
import pytest

import w2v_np.kernels
from w2v_np import TrainConfig, make_plan
from w2v_np.threads import ThreadGovernor, cgroup_cpu_quota, usable_cpus

AFFINITY = len(os.sched_getaffinity(0))


def fake_cgroup(tmp_path, membership, files):
    """A /proc/self/cgroup listing ``membership`` and a cgroup tree holding ``files`` (path -> text)."""
    proc = tmp_path / "proc"
    proc.mkdir(parents=True)
    (proc / "cgroup").write_text(membership)
    root = tmp_path / "cgroup"
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root, proc


@pytest.mark.parametrize("files,quota", [
    ({"user.slice/job/cpu.max": "150000 100000\n"}, 1.5),
    ({"user.slice/job/cpu.max": "max 100000\n", "user.slice/cpu.max": "300000 100000\n"}, 3.0),
    ({"user.slice/job/cpu.max": "max 100000\n"}, None),
    ({"user.slice/job/cpu.max": "garbage\n"}, None),
    ({}, None),
])
def test_cgroup_v2_quota_is_the_smallest_on_the_path(tmp_path, files, quota):
    root, proc = fake_cgroup(tmp_path, "0::/user.slice/job\n", files)
    assert cgroup_cpu_quota(root, proc) == quota


def test_cgroup_v1_quota(tmp_path):
    root, proc = fake_cgroup(tmp_path, "4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n",
                             {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "200000\n",
                              "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
                              "cpu,cpuacct/docker/cpu.cfs_quota_us": "-1\n",
                              "cpu,cpuacct/docker/cpu.cfs_period_us": "100000\n"})
    assert cgroup_cpu_quota(root, proc) == 2.0


def test_usable_cpus_is_the_affinity_capped_by_the_quota_rounded_down(tmp_path):
    root, proc = fake_cgroup(tmp_path, "0::/job\n", {"job/cpu.max": "50000 100000\n"})
    assert usable_cpus(root, proc) == 1                    # half a CPU: still one thread
    root, proc = fake_cgroup(tmp_path / "big", "0::/job\n", {"job/cpu.max": "6400000 100000\n"})
    assert usable_cpus(root, proc) == AFFINITY             # a quota above the affinity changes nothing
    assert usable_cpus(tmp_path / "none", tmp_path / "none") == AFFINITY


class FakeClock:
    """Seconds that advance by ``cost[threads]`` per step, threads as the governor last set them."""

    def __init__(self, cost):
        self.cost, self.now = cost, 0.0

    def __call__(self):
        return self.now

    def step(self, governor):
        governor.start()
        self.now += self.cost[governor.current]
        governor.stop(1)


def drive(cost, steps, **options):
    clock = FakeClock(cost)
    calls = []
    governor = ThreadGovernor(2, calls.append, clock=clock, **options)
    for _ in range(steps):
        clock.step(governor)
    return governor, calls


def test_governor_moves_to_one_thread_when_it_is_faster():
    governor, calls = drive({2: 3.0, 1: 1.0}, steps=200, window=4, explore_every=2)
    assert governor.choice == 1 and governor.switches == 1
    assert calls[0] == 1                    # explored after 2 windows of 4 steps, then kept
    governor.reset_mean()
    for _ in range(40):
        governor.clock.step(governor)
    assert governor.mean_threads() < 1.3


def test_governor_keeps_all_threads_when_they_are_faster_and_explores_ever_less():
    governor, calls = drive({2: 1.0, 1: 1.8}, steps=4000, window=4, explore_every=2, max_explore_every=64)
    assert governor.choice == 2 and governor.switches == 0
    assert governor.explore_every == 64
    assert calls.count(1) == calls.count(2) and 5 <= calls.count(1) <= 20
    assert governor.mean_threads() > 1.9


def test_governor_ignores_differences_within_its_margin_and_keeps_trying():
    """Two choices about as fast (as while the CPUs are shared): no switch on a difference
    within the margin, and no backing off either, so that a window that tells comes soon."""
    governor, calls = drive({2: 1.0, 1: 0.95}, steps=400, window=4, explore_every=2, margin=0.1)
    assert governor.choice == 2 and governor.switches == 0
    assert governor.explore_every == 2
    assert calls.count(1) == 400 // 4 // 3              # one window in three, all run long


def test_governor_follows_a_change_of_load():
    clock = FakeClock({2: 1.0, 1: 1.8})
    governor = ThreadGovernor(2, lambda threads: None, window=4, explore_every=2, max_explore_every=8, clock=clock)
    for _ in range(200):
        clock.step(governor)
    clock.cost = {2: 4.0, 1: 1.8}             # the CPUs become shared
    for _ in range(400):
        clock.step(governor)
    assert governor.choice == 1


def test_plan_adapts_threads_only_where_results_do_not_depend_on_them():
    if not w2v_np.kernels.numba_available():
        pytest.skip("Numba is not installed")
    import numba
    most = min(AFFINITY, numba.config.NUMBA_NUM_THREADS)
    plan = make_plan(TrainConfig(engine="numba"))
    assert plan.threads == most and plan.adaptive_threads == (most > 1)
    assert not make_plan(TrainConfig(engine="numba", threads=1)).adaptive_threads
    assert not make_plan(TrainConfig(engine="numba", threads=most)).adaptive_threads
    assert not make_plan(TrainConfig(method="word2vec")).adaptive_threads
    assert not make_plan(TrainConfig(engine="numpy")).adaptive_threads


class ExploringWins:
    """A clock under which every window on the governor's other choice looks ten times faster."""

    governor = None
    now = 0.0

    def __call__(self):
        self.now += 0.1 if self.governor.current != self.governor.choice else 1.0
        return self.now


@pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed")
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_switching_threads_at_every_window_gives_the_bits_of_one_thread(tmp_path, optimizer):
    """A governor whose clock makes it switch after every window, so that consecutive batches
    run on different thread counts, trains the same tables, bit for bit, as one thread."""
    import numba

    from w2v_np.model import SkipGram
    from w2v_np.optim import make_optimizer
    from w2v_np.sampling import build_examples
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two threads")
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 40, size=3000).astype(np.int32)
    offsets = np.arange(0, 3001, 10, dtype=np.int64)
    examples = build_examples(ids, offsets, np.bincount(ids, minlength=40), max_window=3, num_noise_words=4,
                              sample=0, rng=np.random.default_rng(1), sampler="numba")
    tables = []
    for threads in (1, 2):
        plan = make_plan(TrainConfig(engine="numba", batch_size=32, optimizer=optimizer,
                                     threads=None if threads == 2 else 1))
        numba.set_num_threads(threads)
        model = SkipGram(40, 8, rng=np.random.default_rng(2))
        trainer = plan.trainer(plan, model, make_optimizer(optimizer, model.params, plan.lr, 2 * len(examples)),
                               examples)
        if threads == 2:
            trainer.governor = ThreadGovernor(2, numba.set_num_threads, window=1, explore_every=1,
                                              clock=ExploringWins())
            trainer.governor.clock.governor = trainer.governor
        streams = {"shuffle": np.random.default_rng(3)}
        bar = type("Bar", (), {"wants": lambda self, n: False, "close": lambda self: None})()
        for _ in range(2):
            trainer.run_epoch(streams, bar)
        if threads == 2:
            assert trainer.governor.switches > 10
        tables.append({name: table.copy() for name, table in model.params.items()})
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for name in ("center", "context"):
        np.testing.assert_array_equal(tables[0][name], tables[1][name])
