"""Compiled kernels are cached per user, never inside the installed package.

The runs here are fresh processes with their own ``XDG_CACHE_HOME``, so each compiles the
kernels it uses once (seconds to tens of seconds).
"""
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import w2v_np
import w2v_np.kernels
from w2v_np import kernel_cache
from cli_runs import IDLE_BOUND

pytestmark = pytest.mark.skipif(not w2v_np.kernels.numba_available(), reason="Numba is not installed")

CHECKOUT = Path(__file__).resolve().parents[1]
# Trains one epoch with the fused kernels and prints how many kernel compilations were
# loaded from the cache and how many were compiled.
RUN = """
import sys
from w2v_np import TrainConfig, train
from w2v_np.kernels import minibatch
train(TrainConfig(corpus=sys.argv[1], epochs=1, min_count=1, dim=8, sample=0.0, sampler="numpy", engine="numba"),
      probes=(), quiet=True)
kernels = (minibatch.batch_step,)
print(sum(sum(k.stats.cache_hits.values()) for k in kernels), sum(sum(k.stats.cache_misses.values()) for k in kernels))
"""


def environment(tmp_path, **extra):
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
    return dict(env, XDG_CACHE_HOME=str(tmp_path / "cache"), **extra)


def corpus(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(f"w{w}" for w in rng.integers(0, 30, size=10)) for _ in range(200)))
    return path


def python(*args, cwd, env):
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=IDLE_BOUND)
    assert done.returncode == 0, done.stderr
    return done.stdout


def compiled_files(folder):
    return [path for path in Path(folder).rglob("*") if path.suffix in (".nbi", ".nbc")]


def test_a_read_only_install_compiles_once_per_user(tmp_path):
    """The package copied into a read-only folder: the first process compiles into the user's
    cache, the second loads every kernel from it, and nothing is written into the package."""
    installed = tmp_path / "site" / "w2v_np"
    shutil.copytree(CHECKOUT / "w2v_np", installed, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(CHECKOUT / "kernels", installed / "kernels", ignore=shutil.ignore_patterns("__pycache__"))
    for path in [installed, *installed.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    env = environment(tmp_path, PYTHONPATH=str(tmp_path / "site"), PYTHONDONTWRITEBYTECODE="1")
    text = corpus(tmp_path)
    try:
        first = python("-c", RUN, str(text), cwd=tmp_path, env=env).split()
        second = python("-c", RUN, str(text), cwd=tmp_path, env=env).split()
    finally:
        for path in [installed, *installed.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert int(first[1]) > 0                                     # compiled by the first process
    assert (int(second[0]), int(second[1])) == (int(first[1]), 0)  # all loaded, none compiled
    assert not compiled_files(installed)
    assert python("-c", "import w2v_np.kernels.minibatch as m; print(m.__file__)", cwd=tmp_path, env=env).strip() \
        == str(installed / "kernels" / "minibatch.py")
    version_folders = list((tmp_path / "cache" / "w2v-np" / "kernels").iterdir())
    assert [folder.name for folder in version_folders] == [
        f"{w2v_np.__version__}-py{sys.version_info[0]}.{sys.version_info[1]}-{kernel_cache.sources_digest()}"]
    assert compiled_files(version_folders[0])


def test_the_cache_folder_follows_the_kernels_sources(tmp_path):
    """An edited kernel module gets a folder of its own: a kernel that calls it is never
    loaded as compiled from the old text."""
    site = tmp_path / "site" / "w2v_np"
    shutil.copytree(CHECKOUT / "w2v_np", site, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(CHECKOUT / "kernels", site / "kernels", ignore=shutil.ignore_patterns("__pycache__"))
    env = environment(tmp_path, PYTHONPATH=str(tmp_path / "site"))
    show = "from w2v_np import kernel_cache; print(kernel_cache.own_folder('1').name)"
    before = python("-c", show, cwd=tmp_path, env=env).strip()
    with open(site / "kernels" / "optimizers.py", "a") as source:
        source.write("\n# an edit\n")
    after = python("-c", show, cwd=tmp_path, env=env).strip()
    assert before != after and before.rsplit("-", 1)[0] == after.rsplit("-", 1)[0] == \
        f"1-py{sys.version_info[0]}.{sys.version_info[1]}"


def test_a_folder_the_user_chose_is_honoured(tmp_path):
    env = environment(tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "mine"))
    python("-c", RUN, str(corpus(tmp_path)), cwd=tmp_path, env=env)
    assert compiled_files(tmp_path / "mine") and not (tmp_path / "cache").exists()
    info = python("-m", "w2v_np", "cache", "--info", cwd=tmp_path, env=env)
    assert "NUMBA_CACHE_DIR, set by you" in info and str(tmp_path / "mine") in info


def test_cache_info_and_clear(tmp_path):
    env = environment(tmp_path)
    python("-c", RUN, str(corpus(tmp_path)), cwd=tmp_path, env=env)
    own = tmp_path / "cache" / "w2v-np" / "kernels"
    files = len([p for p in own.rglob("*") if p.is_file()])
    assert files > 0

    def cache(flag):
        return python("-m", "w2v_np", "cache", flag, cwd=tmp_path, env=env)

    assert cache("--info").startswith(f"{own} (w2v-np's own): {files} files")
    assert cache("--clear").startswith(f"removed {own}: {files} files")
    assert not own.exists()
    assert cache("--info").startswith(f"{own} (w2v-np's own): 0 files")


def test_uninstall_then_editable_install_imports_cleanly(tmp_path):
    """The issue's sequence: pip install, train once, pip uninstall, pip install -e, import from
    another folder.  Numba comes from this environment through a .pth file; the builds use
    pip's isolated build environment (the package registry)."""
    source = tmp_path / "src"
    shutil.copytree(CHECKOUT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.egg-info", "build", "bench", "tests", "docs"))
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=IDLE_BOUND)
    vpython = str(venv / "bin" / "python")
    site = Path(subprocess.run([vpython, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    shared = tmp_path / "shared-deps"
    shared.mkdir()
    import llvmlite
    import numba
    for module in (numba, llvmlite):
        (shared / module.__name__).symlink_to(Path(module.__file__).parent)
    (site / "shared-deps.pth").write_text(f"{shared}\n")
    env = environment(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def pip(*args):
        done = subprocess.run([vpython, "-m", "pip", "-q", *args], cwd=elsewhere, env=env, capture_output=True,
                              text=True, timeout=IDLE_BOUND)
        if done.returncode != 0 and "install" in args and ("Could not" in done.stderr or "connection" in done.stderr):
            pytest.skip(f"cannot build the package here: {done.stderr.strip().splitlines()[-1]}")
        assert done.returncode == 0, done.stderr

    pip("install", "--no-deps", str(source))
    text = corpus(tmp_path)
    subprocess.run([vpython, "-c", RUN, str(text)], cwd=elsewhere, env=env, check=True, capture_output=True,
                   timeout=IDLE_BOUND)
    pip("uninstall", "-y", "w2v-np")
    assert not (site / "w2v_np").exists(), sorted(str(p) for p in (site / "w2v_np").rglob("*"))
    pip("install", "--no-deps", "-e", str(source))
    done = subprocess.run([vpython, "-c", "from w2v_np.kernels import numba_available; import w2v_np; "
                                          "print(numba_available(), w2v_np.__file__)"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=IDLE_BOUND)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", str(source / "w2v_np" / "__init__.py")]
