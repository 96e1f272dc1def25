"""Tests of the hand-coded optimizers: Adam (torch.optim.Adam's semantics, sparse == dense, state
round trip) and SGD's schedule."""
import math

import numpy as np
import pytest

from w2v_np import Adam, W2VError
from w2v_np.optim import SGD
from w2v_np.sparse_grads import RowSparse

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


def torch_adam_reference(p0, grads, lr, beta1=BETA1, beta2=BETA2, eps=EPS):
    """torch.optim.Adam's update written element by element with Python floats (float64).

    Returns the parameters, m and v after each step.
    """
    p, m, v = list(p0), [0.0] * len(p0), [0.0] * len(p0)
    history = []
    for t, g in enumerate(grads, start=1):
        for i, gi in enumerate(g):
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
            step_size = lr / (1 - beta1 ** t)
            denom = math.sqrt(v[i]) / math.sqrt(1 - beta2 ** t) + eps
            p[i] -= step_size * m[i] / denom
        history.append((list(p), list(m), list(v)))
    return history


def test_adam_three_steps_closed_form():
    """Three steps on a tiny float64 parameter equal torch's formulas computed by hand (rtol 1e-13)."""
    p0 = [1.0, -2.0, 0.5, 0.0]
    grads = [[0.3, -1.0, 0.0, 2.0],
             [0.1, 0.5, 0.0, -2.0],
             [-0.4, 2.5, 1e-3, 0.0]]
    lr = 0.1
    param = np.array(p0)
    opt = Adam({"w": param}, lr=lr)
    before_last = None
    for step, (g, (p_ref, m_ref, v_ref)) in enumerate(zip(grads, torch_adam_reference(p0, grads, lr)), 1):
        before_last = param.copy()
        opt.step({"w": np.array(g)})
        assert opt.step_count == step
        np.testing.assert_allclose(opt.m["w"], m_ref, rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(opt.v["w"], v_ref, rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(param, p_ref, rtol=1e-13, atol=1e-15)
    # first step of Adam moves every element with nonzero gradient by about lr
    first = torch_adam_reference(p0, grads[:1], lr)[0][0]
    assert abs(first[0] - p0[0]) == pytest.approx(lr, rel=1e-6)
    assert first[2] == p0[2]                 # zero gradient, zero m: no move on step 1
    assert abs(param[3] - before_last[3]) > 1e-3   # zero gradient on step 3, but m != 0: moves


@pytest.mark.parametrize("V,rows_per_step", [(40, 2), (9, 4), (12, 12)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_and_row_sparse_gradients_give_identical_results(dtype, V, rows_per_step):
    """A RowSparse gradient and its dense equivalent give bit-identical parameters, m and v.

    Few rows of a large table, about half the rows, and every row: an implementation may
    pick a different code path by density; the numbers must not change.
    """
    rng = np.random.default_rng(V + rows_per_step)
    D = 3
    start = rng.standard_normal((V, D)).astype(dtype)
    dense_params = {"a": start.copy(), "b": start[::-1].copy()}
    sparse_params = {"a": start.copy(), "b": start[::-1].copy()}
    dense_opt, sparse_opt = Adam(dense_params, lr=0.01), Adam(sparse_params, lr=0.01)
    for _ in range(6):
        grads_dense, grads_sparse = {}, {}
        for name in ("a", "b"):
            rows = np.sort(rng.choice(V, size=rows_per_step, replace=False)).astype(np.int64)
            values = rng.standard_normal((rows.shape[0], D)).astype(dtype)
            sparse = RowSparse(rows, values, V)
            grads_sparse[name], grads_dense[name] = sparse, sparse.to_dense()
        dense_opt.step(grads_dense)
        sparse_opt.step(grads_sparse)
    for name in ("a", "b"):
        # exact equality: both paths do the same float operations in the same order
        np.testing.assert_array_equal(sparse_params[name], dense_params[name])
        np.testing.assert_array_equal(sparse_opt.m[name], dense_opt.m[name])
        np.testing.assert_array_equal(sparse_opt.v[name], dense_opt.v[name])
        assert sparse_params[name].dtype == dtype
    assert not np.array_equal(dense_params["a"], start)


@pytest.mark.parametrize("sparse", [False, True])
def test_rows_with_zero_gradient_still_move(sparse):
    """Dense semantics: a row with zero gradient this step moves by lr*m_hat/(sqrt(v_hat)+eps) while m != 0."""
    V, D, lr = 4, 2, 0.05
    param = np.zeros((V, D))
    opt = Adam({"w": param}, lr=lr)
    g1 = np.zeros((V, D))
    g1[1] = [1.0, -3.0]
    opt.step({"w": RowSparse(np.array([1]), g1[[1]], V) if sparse else g1})
    after_first = param.copy()
    g2 = np.zeros((V, D))
    g2[3] = [2.0, 2.0]                       # row 1 gets no gradient on step 2
    opt.step({"w": RowSparse(np.array([3]), g2[[3]], V) if sparse else g2})

    history = torch_adam_reference([0.0, 0.0], [list(g1[1]), list(g2[1])], lr)
    np.testing.assert_allclose(param[1], history[-1][0], rtol=1e-13, atol=1e-15)
    assert np.all(param[1] != after_first[1])
    assert np.all(param[0] == 0.0) and np.all(param[2] == 0.0)    # never had a gradient


def test_state_dict_round_trip():
    """A restored optimizer continues exactly like the original: identical parameters after 5 more steps."""
    rng = np.random.default_rng(1)
    params = {"center": rng.standard_normal((6, 3)), "context": rng.standard_normal((6, 3))}
    opt = Adam(params, lr=0.01, betas=(0.8, 0.99), eps=1e-7)
    grads = [{k: rng.standard_normal((6, 3)) for k in params} for _ in range(8)]
    for g in grads[:3]:
        opt.step(g)
    state = opt.state_dict()
    copies = {k: p.copy() for k, p in params.items()}

    restored = Adam(copies, lr=0.5)            # different hyper-parameters until loaded
    restored.load_state_dict(state)
    assert restored.step_count == 3 and restored.lr == 0.01
    assert restored.betas == (0.8, 0.99) and restored.eps == 1e-7

    saved_m = state["m"]["center"].copy()
    for g in grads[3:]:
        opt.step(g)
        restored.step({k: RowSparse(np.arange(6), a, 6) for k, a in g.items()})
    for k in params:
        np.testing.assert_array_equal(copies[k], params[k])
        np.testing.assert_array_equal(restored.m[k], opt.m[k])
        np.testing.assert_array_equal(restored.v[k], opt.v[k])
    assert restored.step_count == opt.step_count == 8
    # state_dict holds copies: later steps did not change it
    np.testing.assert_array_equal(state["m"]["center"], saved_m)
    assert state["step"] == 3


def test_sgd_state_dict_round_trip():
    """A restored SGD continues its schedule where it was: the same rates, hence the same parameters."""
    rng = np.random.default_rng(2)
    params = {"center": rng.standard_normal((5, 3))}
    opt = SGD(params, lr=0.1, total_work=10, min_lr_fraction=0.3)
    grads = [{"center": RowSparse(np.arange(5), rng.standard_normal((5, 3)), 5)} for _ in range(6)]
    for g in grads[:4]:
        opt.step(g, work=2)
    copies = {k: p.copy() for k, p in params.items()}
    restored = SGD(copies, lr=0.5, total_work=10)          # other settings until loaded
    restored.load_state_dict(opt.state_dict())
    assert restored.done == 8 and restored.rate() == opt.rate() == pytest.approx(0.1 * max(1 - 0.8, 0.3))
    for g in grads[4:]:
        opt.step(g, work=2)
        restored.step(g, work=2)
    np.testing.assert_array_equal(copies["center"], params["center"])
    assert restored.done == opt.done == 12


@pytest.mark.parametrize("lr", [0, 0.0, -0.001, -1, float("nan")])
def test_invalid_learning_rate_raises(lr):
    """A learning rate that is not > 0 raises W2VError."""
    with pytest.raises(W2VError):
        Adam({"w": np.zeros(3)}, lr=lr)


@pytest.mark.parametrize("betas,eps", [((1.0, 0.999), 1e-8), ((0.9, -0.1), 1e-8), ((0.9, 0.999), -1.0)])
def test_invalid_betas_and_eps_raise(betas, eps):
    """Betas outside [0, 1) and a negative eps raise W2VError."""
    with pytest.raises(W2VError):
        Adam({"w": np.zeros(3)}, betas=betas, eps=eps)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_against_torch_adam(dtype, tol):
    """20 steps with random (partly zero-row) gradients, lr 0.002, match torch.optim.Adam.

    Tolerance on max |difference| of parameters: 1e-6 in float32, 1e-12 in float64.
    """
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    V, D, lr = 10, 4, 0.002
    start = rng.standard_normal((V, D)).astype(dtype)
    ours = {"w": start.copy()}
    opt = Adam(ours, lr=lr)
    theirs = torch.tensor(start.copy(), requires_grad=True)
    torch_opt = torch.optim.Adam([theirs], lr=lr, betas=(BETA1, BETA2), eps=EPS)
    for step in range(20):
        g = rng.standard_normal((V, D)).astype(dtype)
        g[rng.random(V) < 0.3] = 0.0                  # rows without gradient keep moving
        if step % 2:
            rows = np.flatnonzero(np.any(g != 0, axis=1))
            opt.step({"w": RowSparse(rows, g[rows], V)})
        else:
            opt.step({"w": g})
        theirs.grad = torch.from_numpy(g.copy())
        torch_opt.step()
    result = theirs.detach().numpy()
    assert result.dtype == ours["w"].dtype
    assert np.max(np.abs(ours["w"] - start)) > 0.01      # the parameters really moved
    assert np.max(np.abs(ours["w"] - result)) < tol


def test_sgd_rate_decays_linearly_to_its_floor():
    """word2vec.c's schedule, lr 0.5 over 10 units with a floor of 0.1: steps of 4 units move a
    parameter of gradient 1 by 0.5, 0.3, 0.1 (1 - 8/10 = 0.2), then the floor's 0.05; the
    streaming schedule hands out the work done before its call and counts its work."""
    params = {"w": np.zeros((2, 3))}
    sgd = SGD(params, lr=0.5, total_work=10, min_lr_fraction=0.1)
    moves = []
    for _ in range(4):
        before = params["w"][0, 0]
        sgd.step({"w": np.ones((2, 3))}, work=4)
        moves.append(before - params["w"][0, 0])
    np.testing.assert_allclose(moves, [0.5, 0.3, 0.1, 0.05], rtol=1e-12)
    assert sgd.done == 16
    streaming = SGD({"w": np.zeros((1, 1))}, lr=0.5, total_work=10)
    assert streaming.streaming_schedule(6) == (0.5, 1e-4, 0, 10)
    assert streaming.streaming_schedule(6) == (0.5, 1e-4, 6, 10)
    assert streaming.rate() == pytest.approx(0.5 * 1e-4)
