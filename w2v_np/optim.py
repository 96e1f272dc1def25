"""Optimizers, hand-coded; each owns its state, its counters and its update on every implementation.

- :class:`Adam` follows ``torch.optim.Adam``'s update rule (dense: every row moves).
- :class:`LazyAdam` is Adam applied only to the rows a gradient touches (PyTorch's
  ``SparseAdam``): rows outside a batch keep their values and moments.  *Not* Adam: a
  row's moments decay only when the row is used, so rare words take larger steps.
- :class:`SGD` is word2vec.c's plain gradient descent with a learning rate decaying
  linearly to ``min_lr_fraction`` of its start over the whole run
  (:func:`~w2v_np.kernels.schedule.linear_decay`, the one formula every implementation uses).

An optimizer updates the tables in whichever form an implementation holds the gradients:

- :meth:`step` ``(grads, work)``: the reference, on NumPy or CuPy arrays (dense or
  :class:`~w2v_np.sparse_grads.RowSparse` gradients);
- :meth:`numba_update` ``(work)``: the rule, constants and state that the fused CPU step
  (``w2v_np.kernels.minibatch``) applies to each row through ``w2v_np.kernels.optimizers``;
- :meth:`cuda_step` ``(views, stamp, work)``: the numba.cuda kernels on dense gradient tables
  whose touched rows carry the step's ``stamp``.

Each of them moves the counters (Adam's step count, SGD's work done) through one method,
``_advance``, and nothing outside the optimizer touches them.  ``state_dict()`` and
``load_state_dict()`` save and restore the state; ``ARRAYS`` names its per-table arrays
(saved with a checkpoint), ``name`` the value of ``--optimizer`` it implements and
``DEFAULT_LR`` its default rate for each method that can train with it.
"""
import numpy as np

from .backend import get_array_module
from .errors import W2VError
from .kernels.schedule import linear_decay
from .sparse_grads import RowSparse


def _check_lr(lr):
    if not lr > 0:
        raise W2VError(f"learning rate must be > 0, got {lr}")


class _Optimizer:
    """What every optimizer shares: the device views of its arrays."""

    ARRAYS = ()

    def device_arrays(self, view):
        """``{array: {table: view(array of table)}}`` for the arrays of ``ARRAYS`` (``{}`` for none)."""
        return {key: {name: view(array) for name, array in getattr(self, key).items()} for key in self.ARRAYS}


class Adam(_Optimizer):
    """Adam with ``torch.optim.Adam``'s semantics (no weight decay, no amsgrad).

    For each parameter ``p`` with gradient ``g``, at step ``t`` (incremented first)::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    The last line is evaluated as ``sqrt(1-beta2**t) * m / (sqrt(v) + eps*sqrt(1-beta2**t))``
    (the same value, one pass fewer), so results match PyTorch to the last bit or two
    of float32, not bit for bit.

    The update is dense: rows whose gradient is zero still move while ``m`` is nonzero,
    exactly as in PyTorch.  A gradient may be a dense array or a
    :class:`~w2v_np.sparse_grads.RowSparse`; the latter only saves the passes that would add
    zeros into ``m`` and ``v`` and gives the same numbers.  State (``m``, ``v``, ``t``) is explicit: see
    :meth:`state_dict` / :meth:`load_state_dict`.  Parameters are updated in place.
    """

    name = "adam"
    ARRAYS = ("m", "v")
    DEFAULT_LR = {"d2l": 0.002}
    """The default rate for each method it can train: the chapter's."""

    def __init__(self, params: dict, lr: float = 0.002, betas: tuple = (0.9, 0.999), eps: float = 1e-8) -> None:
        _check_lr(lr)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise W2VError(f"Adam betas must lie in [0, 1), got {betas}")
        if not eps >= 0:
            raise W2VError(f"Adam eps must be >= 0, got {eps}")
        self.params = params
        self.lr, self.betas, self.eps = lr, tuple(betas), eps
        xp = get_array_module(*params.values())
        self.m = {name: xp.zeros_like(p) for name, p in params.items()}
        self.v = {name: xp.zeros_like(p) for name, p in params.items()}
        self.step_count = 0
        self._scratch = {name: xp.empty_like(p) for name, p in params.items()}

    lazy = False
    """Whether rows outside a batch keep their moments (:class:`LazyAdam`)."""

    def scalars(self):
        """``(beta1, beta2, eps_hat, scale)`` of the next step, as Python floats.

        The update is ``p -= m / (sqrt(v) + eps_hat) * scale`` with
        ``eps_hat = eps * sqrt(1 - beta2**t)`` and ``scale = lr / (1 - beta1**t) * sqrt(1 - beta2**t)``,
        ``t`` the step count after incrementing.
        """
        beta1, beta2 = self.betas
        t = self.step_count + 1
        sqrt_bias2 = (1 - beta2 ** t) ** 0.5
        return beta1, beta2, self.eps * sqrt_bias2, self.lr / (1 - beta1 ** t) * sqrt_bias2

    def _advance(self, work):
        """The scalars of the step being taken; the step count moves here and nowhere else.

        ``work`` (the batch's number of examples) drives schedules; Adam has none.
        """
        scalars = self.scalars()
        self.step_count += 1
        return scalars

    def _kernel_constants(self, dtype, work):
        """The next step's constants as the kernels take them, in ``dtype`` (a NumPy scalar type):
        ``(beta1, beta2, 1 - beta1, 1 - beta2, eps_hat, scale)``, each computed in float64
        and then rounded, as NumPy rounds a Python float in the reference."""
        beta1, beta2, eps_hat, scale = self._advance(work)
        return [dtype(c) for c in (beta1, beta2, 1 - beta1, 1 - beta2, eps_hat, scale)]

    def numba_update(self, work=1):
        """The next step's update for the fused Numba step: ``(rule, constants, state)``.

        ``rule`` is ``ADAM`` or ``LAZY_ADAM`` of ``w2v_np.kernels.optimizers``, ``constants``
        :meth:`_kernel_constants` as an array in the tables' dtype, ``state`` each table's
        ``(m, v)``; the step is counted here.
        """
        from .kernels import optimizers as kernels
        dtype = next(iter(self.params.values())).dtype
        constants = np.array(self._kernel_constants(dtype.type, work), dtype=dtype)
        state = {name: (self.m[name], self.v[name]) for name in self.params}
        return (kernels.LAZY_ADAM if self.lazy else kernels.ADAM), constants, state

    def cuda_step(self, views, stamp, work=1):
        """The update by the numba.cuda kernel, which also clears the gradient tables.

        ``views`` holds device views of the tables (``params``), their dense gradients
        (``grads``), the step marks of their rows (``touched``, int32 ``(V,)``: a row the
        batch used holds ``stamp``) and this optimizer's arrays (``m``, ``v``), each a dict
        by table name (see :meth:`device_arrays`).
        """
        from .kernels import gpu
        constants = self._kernel_constants(next(iter(self.params.values())).dtype.type, work)
        for name, param in views["params"].items():
            blocks, threads = gpu.launch_1d(param.size)
            gpu.adam_update[blocks, threads](param, views["m"][name], views["v"][name], views["grads"][name],
                                             views["touched"][name], stamp, self.lazy, *constants)

    def step(self, grads, work=1):
        """Apply one update from ``grads``: dict name -> dense array or :class:`RowSparse`."""
        xp = get_array_module(*self.params.values())
        beta1, beta2, eps_hat, scale = self._advance(work)
        for name, g in grads.items():
            m, v, tmp, p = self.m[name], self.v[name], self._scratch[name], self.params[name]
            # In-place arithmetic on one scratch buffer: no allocation per step.
            m *= beta1
            v *= beta2
            if isinstance(g, RowSparse) and 4 * g.rows.shape[0] < p.shape[0]:
                m[g.rows] += (1 - beta1) * g.values
                v[g.rows] += (1 - beta2) * (g.values * g.values)
            elif isinstance(g, RowSparse):
                # With many rows, two dense adds of a zero-filled buffer beat fancy-indexed
                # read-modify-writes.
                tmp.fill(0)
                tmp[g.rows] = (1 - beta1) * g.values
                m += tmp
                tmp[g.rows] = (1 - beta2) * (g.values * g.values)
                v += tmp
            else:
                xp.multiply(g, 1 - beta1, out=tmp)
                m += tmp
                xp.multiply(g, g, out=tmp)
                tmp *= 1 - beta2
                v += tmp
            # m / (sqrt(v) / sqrt(bc2) + eps) == sqrt(bc2) * m / (sqrt(v) + eps * sqrt(bc2)):
            # the same value with one pass fewer over the table.
            xp.sqrt(v, out=tmp)
            tmp += eps_hat
            xp.divide(m, tmp, out=tmp)
            tmp *= scale
            p -= tmp

    def state_dict(self):
        """The optimizer's state as plain values and arrays (copies)."""
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps, "step": self.step_count,
                "m": {k: a.copy() for k, a in self.m.items()},
                "v": {k: a.copy() for k, a in self.v.items()}}

    def load_state_dict(self, state):
        """Restore a state from :meth:`state_dict` (arrays copied into the current buffers)."""
        self.lr, self.betas, self.eps = state["lr"], tuple(state["betas"]), state["eps"]
        self.step_count = int(state["step"])
        for name in self.params:
            self.m[name][...] = state["m"][name]
            self.v[name][...] = state["v"][name]


class LazyAdam(Adam):
    """Adam on the rows a gradient touches only (PyTorch's ``SparseAdam``), for row-sparse gradients.

    For each touched row, with ``t`` the global step count (incremented first)::

        m[row] = beta1 * m[row] + (1 - beta1) * g[row]
        v[row] = beta2 * v[row] + (1 - beta2) * g[row]**2
        p[row] -= m[row] / (sqrt(v[row]) + eps_hat) * scale    # as in Adam

    Other rows and their moments do not change.  How it differs from :class:`Adam` (and the
    seed): a row unused for ``n`` steps would, under Adam, have its ``m`` decayed by
    ``beta1**n`` and kept moving; here it keeps its old moments, and its bias correction is
    that of the global step.  Each step costs the touched rows only, not the whole table.
    A dense gradient counts every row as touched.
    """
    name = "lazy-adam"
    lazy = True

    def step(self, grads, work=1):
        """Apply one update from ``grads``: dict name -> :class:`RowSparse` (or dense array)."""
        xp = get_array_module(*self.params.values())
        beta1, beta2, eps_hat, scale = self._advance(work)
        for name, g in grads.items():
            if not isinstance(g, RowSparse):
                g = RowSparse(xp.arange(g.shape[0]), g, g.shape[0])
            p, m, v = self.params[name], self.m[name], self.v[name]
            m_rows = m[g.rows] * beta1 + (1 - beta1) * g.values
            v_rows = v[g.rows] * beta2 + (1 - beta2) * (g.values * g.values)
            m[g.rows] = m_rows
            v[g.rows] = v_rows
            p[g.rows] -= m_rows / (xp.sqrt(v_rows) + eps_hat) * scale


class SGD(_Optimizer):
    """word2vec.c's stochastic gradient descent with a linearly decaying learning rate.

    Each step, ``p[row] -= rate * g[row]`` for the rows of the gradient, with
    ``rate = lr * max(1 - done / total_work, min_lr_fraction)``: ``done`` is the work
    (examples) of the earlier steps, ``total_work`` that of the whole run.  word2vec.c and
    gensim decay by words processed; ``min_lr_fraction`` 1e-4 is word2vec.c's floor.  No
    momentum, no per-row scaling.  ``total_work`` is set by the run (it is not state):
    resuming with more epochs stretches the schedule from where it stands.
    """
    name = "sgd"
    DEFAULT_LR = {"d2l": 2.0, "word2vec": 0.025}
    """The default rate for each method, fitted to the objective it scales.  word2vec.c's 0.025
    is a step per (center, context word) pair.  The d2l method's loss of an example is the
    *mean* over its context and noise words (about 26 positions on PTB at window 5 and 5
    noise words), so a pair's gradient arrives divided by that count, while a row that a
    batch uses many times adds up its contributions: 2.0 sits in the middle of the range
    that learns on PTB, below the rates that diverge (docs/methods.md, bench/RESULTS.md)."""

    def __init__(self, params, lr=0.025, total_work=1, min_lr_fraction=1e-4):
        _check_lr(lr)
        if not 0 < min_lr_fraction <= 1:
            raise W2VError(f"min_lr_fraction must lie in (0, 1], got {min_lr_fraction}")
        self.params = params
        self.lr, self.min_lr_fraction = lr, min_lr_fraction
        self.total_work = max(total_work, 1)
        self.done = 0

    def rate(self):
        """The learning rate of the next step: :func:`~w2v_np.kernels.schedule.linear_decay` of the work done."""
        return linear_decay(self.lr, self.min_lr_fraction, self.done, self.total_work)

    def _advance(self, work):
        """The rate of the step being taken; its ``work`` then counts as done (here and nowhere else)."""
        rate = self.rate()
        self.done += work
        return rate

    def step(self, grads, work=1):
        """Apply one update from ``grads`` (dict name -> :class:`RowSparse` or dense array), then count ``work``."""
        rate = self._advance(work)
        for name, g in grads.items():
            p = self.params[name]
            if isinstance(g, RowSparse):
                p[g.rows] -= rate * g.values
            else:
                p -= rate * g

    def numba_update(self, work=1):
        """The next step's update for the fused Numba step: ``(SGD, (rate,), None)``, no state
        (see :meth:`Adam.numba_update`); ``work`` counts as done."""
        from .kernels import optimizers as kernels
        dtype = next(iter(self.params.values())).dtype
        return kernels.SGD, np.array([self._advance(work)], dtype=dtype), None

    def cuda_step(self, views, stamp, work=1):
        """The update by the numba.cuda kernel on the rows marked ``stamp``, which clears their gradients
        (``views`` as in :meth:`Adam.cuda_step`)."""
        from .kernels import gpu
        rate = next(iter(self.params.values())).dtype.type(self._advance(work))
        for name, param in views["params"].items():
            blocks, threads = gpu.launch_1d(param.size)
            gpu.sgd_update[blocks, threads](param, views["grads"][name], views["touched"][name], stamp, rate)

    def streaming_schedule(self, work):
        """``(lr, min_lr_fraction, done, total_work)`` for a streaming kernel that computes
        :func:`~w2v_np.kernels.schedule.linear_decay` itself as it goes through ``work`` more
        units; that work then counts as done."""
        done = self.done
        self._advance(work)
        return self.lr, self.min_lr_fraction, done, self.total_work

    def state_dict(self):
        return {"lr": self.lr, "min_lr_fraction": self.min_lr_fraction, "done": self.done}

    def load_state_dict(self, state):
        self.lr, self.min_lr_fraction = state["lr"], state["min_lr_fraction"]
        self.done = int(state["done"])


OPTIMIZERS = {optimizer.name: optimizer for optimizer in (Adam, LazyAdam, SGD)}
"""The optimizers by the name ``--optimizer`` gives them."""


def make_optimizer(name, params, lr, total_work):
    """The optimizer ``name`` (a key of :data:`OPTIMIZERS`) over ``params``.

    ``total_work`` is the whole run's work in the unit the trainer counts (examples, or
    corpus tokens for the streaming SGD): it sets SGD's linear decay.
    """
    if name == "sgd":
        return SGD(params, lr=lr, total_work=total_work)
    return OPTIMIZERS[name](params, lr=lr)
