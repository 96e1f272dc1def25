"""The command's Numba start-up: SciPy's linear algebra is never imported, and the kernels still run."""
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("numba")
pytest.importorskip("scipy")

FIRST_CALL = """
    import sys
    from w2v_np import numba_startup
    hidden = numba_startup.skip_blas_check() if sys.argv[1] == "skip" else False
    from w2v_np.kernels import rng
    value = rng.chunk_stream(1, 0)
    import numba.np.arraymath as arraymath
    print(hidden, "scipy.linalg" in sys.modules, arraymath._HAVE_BLAS, int(value[0]) == int(rng.chunk_stream(1, 0)[0]))
"""


@pytest.mark.parametrize("mode, expected", [("skip", "True False False True"), ("keep", "False True True True")])
def test_first_kernel_call_with_and_without_the_blas_check(mode, expected, tmp_path):
    """Skipped, Numba's start-up leaves scipy.linalg unimported (its check says no BLAS); left alone,
    it imports it: the difference the command saves."""
    # Outside the checkout, whose w2v_np folder lacks the installed package's kernels.
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(FIRST_CALL), mode], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == expected.split()


def test_too_late_once_numba_has_checked(tmp_path):
    script = textwrap.dedent("""
        import sys
        from w2v_np.kernels import rng
        rng.chunk_stream(1, 0)
        from w2v_np import numba_startup
        print(numba_startup.skip_blas_check(), any(type(f).__name__ == "_Hidden" for f in sys.meta_path))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_no_kernel_calls_blas():
    """What makes skipping the check safe: no kernel source names a BLAS-backed NumPy call (a
    kernel compiled with BLAS hidden would fail to type)."""
    from w2v_np.kernel_cache import kernels_folder
    calls = ("np.dot", "np.vdot", "np.matmul", "np.linalg", "np.inner", "np.outer", "np.kron", ".dot(", " @ ")
    for source in sorted(kernels_folder().glob("*.py")):
        text = source.read_text()
        assert not [call for call in calls if call in text], source.name
