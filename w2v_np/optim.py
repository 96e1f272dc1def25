"""Optimizers, hand-coded.  :class:`Adam` follows ``torch.optim.Adam``'s update rule."""
from .backend import get_array_module
from .errors import W2VError
from .ops import RowSparse


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

    def __init__(self, params, lr=0.002, betas=(0.9, 0.999), eps=1e-8):
        if not lr > 0:
            raise W2VError(f"learning rate must be > 0, got {lr}")
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

    def step(self, grads):
        """Apply one update from ``grads``: dict name -> dense array or :class:`RowSparse`."""
        xp = get_array_module(*self.params.values())
        beta1, beta2 = self.betas
        self.step_count += 1
        step_size = self.lr / (1 - beta1 ** self.step_count)
        sqrt_bias2 = (1 - beta2 ** self.step_count) ** 0.5
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
            tmp += self.eps * sqrt_bias2
            xp.divide(m, tmp, out=tmp)
            tmp *= step_size * sqrt_bias2
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
