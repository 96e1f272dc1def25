#!/usr/bin/env bash
# CI stage: the core tests on the oldest Python + NumPy that setup.cfg claims and on the newest.
#
# "Core" is what `pip install .` gives: NumPy only, so the tests of Numba, matplotlib, gensim,
# torch and CuPy skip; PTB is out of reach (W2V_NP_DATA unset) and `slow` is deselected.
# Each interpreter gets its own venv under .venvs/ (git-ignored; bench/versions.py reuses them).
# An interpreter that pyenv does not hold is skipped with a note, not an error.
#
# Usage: .ci/versions.sh [oldest|newest]...   (both when none is named)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
pythons="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")/versions"

# The floors are read from setup.cfg, so raising one there moves this stage with it.
python_floor=$(sed -n 's/^python_requires *= *>= *\([0-9.]*\).*/\1/p' setup.cfg)
numpy_floor=$(sed -n 's/^ *numpy *>= *\([0-9.]*\).*/\1/p' setup.cfg | head -n 1)

# Interpreter folders named X.Y.Z only: no dev, rc or free-threaded builds.
interpreter() {
    local pattern=$1 pick=$2 version
    version=$(ls "$pythons" 2>/dev/null | grep -E "$pattern" | sort -V | "$pick" -n 1 || true)
    [ -n "$version" ] && echo "$pythons/$version/bin/python"
}

run_core() {
    local name=$1 python=$2 constraint=$3 venv="$root/.venvs/$1" start=$SECONDS
    echo "== core tests, $name: $("$python" --version 2>&1), constraint: ${constraint:-none}"
    "$python" -m venv --clear "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    printf '%s\n' $constraint > "$venv/constraints.txt"
    "$venv/bin/python" -m pip install -q -c "$venv/constraints.txt" ".[test]"
    "$venv/bin/python" -c 'import numpy, scipy, sys; print("Python", sys.version.split()[0], "NumPy",
                           numpy.__version__, "SciPy", scipy.__version__)'
    echo "   installed in $((SECONDS - start)) s"
    # `pytest` of the venv, not `python -m pytest`: the installed package holds w2v_np.kernels (README).
    env -u W2V_NP_DATA "$venv/bin/pytest" -q -rs -m "not slow" -p no:cacheprovider
    echo "== $name done in $((SECONDS - start)) s"
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(oldest newest)
for stage in "${stages[@]}"; do
    case $stage in
        oldest)
            python=$(interpreter "^${python_floor//./\\.}\.[0-9]+$" head) ||
                { echo "== core tests, oldest: no Python $python_floor.x in $pythons: skipped"; continue; }
            # Only NumPy is pinned: pip then settles on SciPy 1.11.4 (1.12 on need NumPy >= 1.22.4).
            run_core oldest "$python" "numpy==$numpy_floor" ;;
        newest)
            python=$(interpreter '^3\.[0-9]+\.[0-9]+$' tail) ||
                { echo "== core tests, newest: no Python 3.x in $pythons: skipped"; continue; }
            run_core newest "$python" "" ;;
        *) echo "unknown stage $stage (oldest, newest)" >&2; exit 2 ;;
    esac
done
