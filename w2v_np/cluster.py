"""A Dask cluster for a run: a ``LocalCluster`` of single-threaded worker processes, or an existing one.

Dask is an optional extra (``pip install 'w2v-np[distributed]'``): it is imported here,
when a run asks for workers, and nowhere else.  Every way of failing to get a cluster
(Dask missing, a malformed address, a scheduler that does not answer) becomes one
:class:`~w2v_np.errors.W2VError` line.
"""
import logging

from .errors import W2VError

CONNECT_SECONDS = 10
"""How long to wait for a scheduler, or for its workers, before giving up."""
LOCAL_SETTINGS = {
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.work-stealing": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}
"""Dask settings of a local cluster, whose workers share the machine's cores with the client: Dask's
statistical profiler (a stack sample every 10 ms), work stealing (a round is pinned to the worker
that holds its replica), the event-loop watchdog (every 20 ms), the system and memory monitors
(every 500 and 100 ms) take that time from the workers (docs/distributed.md measures it)."""


def _distributed():
    try:
        import distributed
    except ImportError:
        raise W2VError("--workers and --scheduler need Dask: pip install 'w2v-np[distributed]'") from None
    return distributed


class Cluster:
    """A Dask client on ``workers`` new local processes (one thread each), or on the scheduler at ``address``.

    ``num_workers`` is ``workers``, or how many workers the scheduler had when the client
    connected: the run cuts the corpus into that many shares.  ``lost_data`` is the exception a result raises when
    data sent to the cluster was lost with a worker (the sender may send it again); ``wait(futures)`` returns
    once they are done.
    :meth:`close` shuts the local cluster down (an existing cluster is only disconnected from).
    """

    def __init__(self, workers=None, address=None):
        distributed = _distributed()
        self.local = None
        if address is None:
            import dask
            with dask.config.set(LOCAL_SETTINGS):
                self.local = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                      dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = distributed.Client(self.local)
        else:
            try:
                self.client = distributed.Client(address, timeout=f"{CONNECT_SECONDS}s")
            # A server that is not a Dask scheduler: the handshake reads its reply as a frame
            # length, and allocating that fails.
            except MemoryError:
                raise W2VError(f"what answers at {address!r} is not a Dask scheduler (its reply is not Dask's "
                               f"protocol)") from None
            except Exception as exc:
                raise W2VError(f"cannot reach the Dask scheduler at {address!r}: {_first_line(exc)}") from None
        try:
            # A local cluster's shares are its workers, all of them, even one that is restarting.
            self.client.wait_for_workers(workers or 1, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as exc:
            self.close()
            where = "the local cluster" if address is None else f"the Dask scheduler at {address!r}"
            raise W2VError(f"{where} did not have {workers or 1} worker(s) within {CONNECT_SECONDS} s: "
                           f"{_first_line(exc)}") from None
        self.num_workers = workers or len(self.client.scheduler_info()["workers"])
        # A task cancelled because the only copy of data it needed died with its worker.
        self.lost_data = distributed.client.FutureCancelledError
        self.wait = distributed.wait

    def close(self):
        self.client.close()
        if self.local is not None:
            self.local.close()


def _first_line(exc):
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
