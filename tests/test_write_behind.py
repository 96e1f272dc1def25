"""The background writes of a run (w2v_np.write_behind) and the snapshot they write from."""
import signal
import threading

import numpy as np
import pytest

from w2v_np.checkpoint import checkpoint_arrays
from w2v_np.errors import W2VError
from w2v_np.optim import make_optimizer
from w2v_np.write_behind import WriteBehind


def test_writes_run_one_at_a_time_in_order_outside_the_caller():
    order, running, overlaps, threads = [], [], [], set()
    gate = threading.Event()

    def write(number):
        def run():
            overlaps.append(len(running))
            running.append(number)
            threads.add(threading.get_ident())
            if number == 0:
                gate.wait(5)            # the caller goes on while write 0 is held here
            order.append(number)
            running.remove(number)
        return run

    with WriteBehind() as writes:
        writes.submit(write(0))
        assert order == []
        gate.set()
        for number in range(1, 5):
            writes.submit(write(number))
    assert order == [0, 1, 2, 3, 4]
    assert overlaps == [0] * 5
    assert threading.get_ident() not in threads


def test_a_failed_write_is_raised_at_the_next_submit_and_stops_the_writes_after_it():
    ran = []

    def fail():
        raise W2VError("cannot write checkpoint.npz: No space left on device")

    with WriteBehind() as writes:
        writes.submit(fail)
        with pytest.raises(W2VError, match="No space left"):
            writes.submit(lambda: ran.append("after"))
    assert ran == []


def test_the_end_of_the_block_waits_and_raises_a_failed_write():
    done = []

    def slow_then_fail():
        threading.Event().wait(0.05)
        done.append(True)
        raise W2VError("cannot write metrics.json: No space left on device")

    with pytest.raises(W2VError, match="metrics.json"):
        with WriteBehind() as writes:
            writes.submit(slow_then_fail)
    assert done == [True]


def test_an_error_of_the_block_wins_and_the_write_in_flight_still_ends():
    done = []

    def slow():
        threading.Event().wait(0.05)
        done.append(True)

    with pytest.raises(KeyboardInterrupt):
        with WriteBehind() as writes:
            writes.submit(slow)
            raise KeyboardInterrupt
    assert done == [True]


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer")
def test_ctrl_c_at_any_point_of_submitting_waits_for_every_write_handed_over():
    """Ctrl-C raises in the training thread between any two of its steps, also while it hands
    a write over (a thread's start once left a write unjoinable: RuntimeError instead of the
    interrupt).  Interrupts at spread moments of a submitting loop must each end the block with
    KeyboardInterrupt and no write still running."""
    running, finished = [], []

    def write():
        running.append(True)
        threading.Event().wait(0.0005)
        finished.append(running.pop())

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        for step in range(40):
            with pytest.raises(KeyboardInterrupt):
                signal.setitimer(signal.ITIMER_REAL, 0.001 + 0.00037 * step)
                with WriteBehind() as writes:
                    while True:
                        writes.submit(write)
            assert running == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert len(finished) >= 40


def test_a_checkpoints_arrays_are_a_snapshot_of_their_moment():
    """The run trains on while the arrays are written: they must not share memory with the
    tables or the optimizer's moments."""
    rng = np.random.default_rng(0)
    params = {name: rng.normal(size=(5, 3)).astype(np.float32) for name in ("center", "context")}
    optimizer = make_optimizer("adam", params, 0.01, 10)
    counts = np.arange(5)
    arrays = checkpoint_arrays(meta={"epoch": 1}, tokens=list("abcde"), counts=counts, params=params,
                               optimizer=optimizer)
    before = {name: array.copy() for name, array in arrays.items()}
    np.testing.assert_array_equal(arrays["center"], params["center"])
    for table in params.values():
        table += 1
    for moments in (optimizer.state_dict()[key] for key in optimizer.ARRAYS):
        for array in moments.values():
            array += 1
    counts += 1
    for name, array in arrays.items():
        np.testing.assert_array_equal(array, before[name], err_msg=name)
