"""Optimizers, hand-coded.

- :class:`Adam` follows ``torch.optim.Adam``'s update rule (dense: every row moves).
- :class:`LazyAdam` is Adam applied only to the rows a gradient touches (PyTorch's
  ``SparseAdam``): rows outside a batch keep their values and moments.  *Not* Adam: a
  row's moments decay only when the row is used, so rare words take larger steps.
- :class:`SGD` is word2vec.c's plain gradient descent with a learning rate decaying
  linearly to ``min_lr_fraction`` of its start over the whole run.

Every optimizer has ``step(grads, work)``, ``state_dict()`` and ``load_state_dict()``;
``ARRAYS`` names the per-parameter arrays of its state (saved with a checkpoint) and
``name`` the value of ``--optimizer`` it implements.
"""
from .backend import get_array_module
from .errors import W2VError
from .ops import RowSparse


def _check_lr(lr):
    if not lr > 0:
        raise W2VError(f"learning rate must be > 0, got {lr}")


class Adam:
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
    :class:`~w2v_np.ops.RowSparse`; the latter only saves the passes that would add
    zeros into ``m`` and ``v`` and gives the same numbers.  State (``m``, ``v``, ``t``) is explicit: see
    :meth:`state_dict` / :meth:`load_state_dict`.  Parameters are updated in place.
    """

    name = "adam"
    ARRAYS = ("m", "v")

    def __init__(self, params, lr=0.002, betas=(0.9, 0.999), eps=1e-8):
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

    def step(self, grads, work=1):
        """Apply one update from ``grads``: dict name -> dense array or :class:`RowSparse`.

        ``work`` (the batch's number of examples) drives schedules; Adam has none.
        """
        xp = get_array_module(*self.params.values())
        beta1, beta2, eps_hat, scale = self.scalars()
        self.step_count += 1
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

    def step(self, grads, work=1):
        """Apply one update from ``grads``: dict name -> :class:`RowSparse` (or dense array)."""
        xp = get_array_module(*self.params.values())
        beta1, beta2, eps_hat, scale = self.scalars()
        self.step_count += 1
        for name, g in grads.items():
            if not isinstance(g, RowSparse):
                g = RowSparse(xp.arange(g.shape[0]), g, g.shape[0])
            p, m, v = self.params[name], self.m[name], self.v[name]
            m_rows = m[g.rows] * beta1 + (1 - beta1) * g.values
            v_rows = v[g.rows] * beta2 + (1 - beta2) * (g.values * g.values)
            m[g.rows] = m_rows
            v[g.rows] = v_rows
            p[g.rows] -= m_rows / (xp.sqrt(v_rows) + eps_hat) * scale


class SGD:
    """word2vec.c's stochastic gradient descent with a linearly decaying learning rate.

    Each step, ``p[row] -= rate * g[row]`` for the rows of the gradient, with
    ``rate = lr * max(1 - done / total_work, min_lr_fraction)``: ``done`` is the work
    (examples) of the earlier steps, ``total_work`` that of the whole run.  word2vec.c and
    gensim decay by words processed; ``min_lr_fraction`` 1e-4 is word2vec.c's floor.  No
    momentum, no per-row scaling.  ``total_work`` is set by the run (it is not state):
    resuming with more epochs stretches the schedule from where it stands.
    """
    name = "sgd"
    ARRAYS = ()

    def __init__(self, params, lr=0.025, total_work=1, min_lr_fraction=1e-4):
        _check_lr(lr)
        if not 0 < min_lr_fraction <= 1:
            raise W2VError(f"min_lr_fraction must lie in (0, 1], got {min_lr_fraction}")
        self.params = params
        self.lr, self.min_lr_fraction = lr, min_lr_fraction
        self.total_work = max(total_work, 1)
        self.done = 0

    def rate(self):
        """The learning rate of the next step."""
        return self.lr * max(1 - self.done / self.total_work, self.min_lr_fraction)

    def step(self, grads, work=1):
        """Apply one update from ``grads`` (dict name -> :class:`RowSparse` or dense array), then count ``work``."""
        rate = self.rate()
        for name, g in grads.items():
            p = self.params[name]
            if isinstance(g, RowSparse):
                p[g.rows] -= rate * g.values
            else:
                p -= rate * g
        self.done += work

    def state_dict(self):
        return {"lr": self.lr, "min_lr_fraction": self.min_lr_fraction, "done": self.done}

    def load_state_dict(self, state):
        self.lr, self.min_lr_fraction = state["lr"], state["min_lr_fraction"]
        self.done = int(state["done"])


OPTIMIZERS = {optimizer.name: optimizer for optimizer in (Adam, LazyAdam, SGD)}
"""The optimizers by the name ``--optimizer`` gives them."""
