#!/usr/bin/env bash
# One prepared check for a lent GPU machine: install, find PTB, print what the machine has,
# run the GPU tests, time the GPU engines against Numba and PyTorch, write one JSON.
#
#   GPU_CHECK_OUT="$OUT" bash bench/gpu_check.sh
#
# The machine is expected to be offline, so nothing is downloaded: the package is installed
# with pip's --no-deps --no-index (or staged on PYTHONPATH when pip cannot build it) and a
# missing PTB is replaced by a PTB-sized synthetic corpus.  Every step runs whatever became
# of the steps before it, under a time limit cut to what is left of the whole budget, and is
# recorded; bench/gpu_summary.py writes bench/results/NAME.json and the exit status is 0
# only when every step passed.  Settings (environment):
#
#   GPU_CHECK_EPOCHS (2), GPU_CHECK_REPEATS (2)   cpu_vs_gpu.py's --epochs and --repeats
#   GPU_CHECK_ENGINES                             its --engines (cupy engines, numba, torch:cuda)
#   GPU_CHECK_THREADS                             its --threads (default: every core)
#   GPU_CHECK_TESTS ("gpu or cupy or cuda")       pytest -k expression selecting the GPU tests
#   GPU_CHECK_BUDGET_S (450)                      seconds for all the steps together
#   GPU_CHECK_INSTALL (auto | pip | stage)        how to make the package importable
#   GPU_CHECK_NAME (gpu_check)                    results/NAME.json, results/NAME_bench.json
#   GPU_CHECK_OUT                                 a folder that also receives the JSONs and logs
#   PYTHON                                        the interpreter (default: python, else python3)
set -u -o pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root" || exit 2
# A step cut short by its time limit keeps every line it printed (the summary reads them).
export PYTHONUNBUFFERED=1
PYTHON=${PYTHON:-$(command -v python || command -v python3)}
epochs=${GPU_CHECK_EPOCHS:-2}
repeats=${GPU_CHECK_REPEATS:-2}
default_engines="w2v-np:cupy w2v-np:cupy-fused w2v-np:cupy-fused-det w2v-np:numba torch:cuda"
read -r -a engines <<< "${GPU_CHECK_ENGINES:-$default_engines}"
tests_k=${GPU_CHECK_TESTS:-gpu or cupy or cuda}
budget=${GPU_CHECK_BUDGET_S:-450}
name=${GPU_CHECK_NAME:-gpu_check}
summary_json=bench/results/$name.json
bench_json=bench/results/${name}_bench.json
# The summary and the copy to GPU_CHECK_OUT must still fit after the last step.
reserve=20
started=$SECONDS
started_epoch=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
: > "$work/steps.tsv"
echo "gpu_check: logs in $work"

# The smaller of a step's own limit and what the budget has left.
limit_for() {
    local left=$((budget - (SECONDS - started) - reserve))
    if ((left < $1)); then echo "$left"; else echo "$1"; fi
}

record() {  # NAME RC SECONDS NOTE
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4//$'\t'/ }" >> "$work/steps.tsv"
}

# run_step NAME LIMIT LOG NOTE COMMAND...: COMMAND under `timeout`, its output both shown and
# kept in LOG.  timeout signals its whole process group, so the fresh processes that
# compare.py starts for each run stop with it instead of holding the GPU.
run_step() {
    local step=$1 limit=$2 log=$3 note=$4 t0=$SECONDS rc
    shift 4
    if ((limit < 5)); then
        echo "-- $step: not run, the budget is spent"
        record "$step" 125 0 "not run: budget spent"
        return 125
    fi
    echo "== $step (limit ${limit} s)"
    timeout -k 10 "$limit" "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # a command cut short may not have ended its last line
    if [[ -s $log && -n $(tail -c 1 "$log") ]]; then echo; fi
    record "$step" "$rc" "$((SECONDS - t0))" "$note"
    echo "-- $step: exit status $rc after $((SECONDS - t0)) s$( ((rc == 124 || rc == 137)) && echo ' (time limit)')"
    return "$rc"
}

# Where `import w2v_np` leads from outside the checkout: the working directory must not be
# the repository root, whose ./w2v_np lacks the kernels subpackage.
package_dir() {
    (cd "$work" && timeout -k 5 60 "$PYTHON" -c 'import os, w2v_np.kernels
print(os.path.dirname(os.path.realpath(w2v_np.__file__)))' 2>/dev/null)
}

install_package() {
    local how=${GPU_CHECK_INSTALL:-auto} editable log stage
    if [[ $how == auto && $(package_dir) == "$root/w2v_np" ]]; then
        install_note="already importable from this checkout"
        return 0
    fi
    if [[ $how != stage ]]; then
        for editable in -e ""; do
            log=$work/install${editable}.log
            # --no-index: offline, pip would only wait on its retries before failing
            if timeout -k 5 "$(limit_for 90)" "$PYTHON" -m pip install --no-deps --no-build-isolation --no-index \
                    ${editable:+"$editable"} . > "$log" 2>&1 && [[ -n $(package_dir) ]]; then
                install_note="pip install --no-deps${editable:+ $editable} . (w2v_np from $(package_dir))"
                return 0
            fi
            # pip's last lines only say "see above"; its first own error line names the cause
            echo "pip install${editable:+ $editable} . failed ($log): $(grep -E '^\s*(error|ERROR):' "$log" \
                | grep -v -m 1 subprocess-exited | sed 's/^ *//')"
        done
    fi
    # setup.cfg maps ./kernels to w2v_np.kernels; a copy with that layout needs no build at all.
    stage=$work/stage
    rm -rf "$stage" && mkdir -p "$stage" && cp -R w2v_np "$stage/w2v_np" && rm -rf "$stage/w2v_np/kernels" \
        && cp -R kernels "$stage/w2v_np/kernels" || return 1
    find "$stage" -name __pycache__ -prune -exec rm -rf {} +
    export PYTHONPATH="$stage${PYTHONPATH:+:$PYTHONPATH}"
    install_note="staged on PYTHONPATH ($stage)"
    [[ -n $(package_dir) ]]
}

find_ptb() {
    local folder
    if [[ -n ${W2V_NP_DATA:-} && ! -f $W2V_NP_DATA/ptb.train.txt ]]; then
        echo "W2V_NP_DATA=$W2V_NP_DATA holds no ptb.train.txt; looking elsewhere" >&2
    fi
    for folder in ${W2V_NP_DATA:+"$W2V_NP_DATA"} ../shared/data/ptb shared/data/ptb .gpu_data/ptb; do
        if [[ -f $folder/ptb.train.txt ]]; then
            (cd "$folder" && pwd -P)
            return 0
        fi
    done
    return 1
}

# 1. The package.
t0=$SECONDS
echo "== install"
install_note="not importable"
install_package
rc=$?
record install "$rc" "$((SECONDS - t0))" "$install_note"
echo "-- install: $install_note (exit status $rc)"

# 2. The data.  w2v_np resolves the corpus "ptb" through W2V_NP_DATA first (else it would
# download), so a synthetic corpus stands in under that name, and cpu_vs_gpu.py's kernel
# timings, which ask for "ptb", use it too.
t0=$SECONDS
rc=0
if ptb=$(find_ptb); then
    data_note="PTB at $ptb"
else
    echo "PTB not found (W2V_NP_DATA, ../shared/data/ptb, shared/data/ptb, .gpu_data/ptb):" \
        "using a synthetic PTB-sized corpus"
    ptb=$work/synthetic/ptb
    timeout -k 5 "$(limit_for 60)" "$PYTHON" bench/synthetic.py --tokens 900000 --vocab 10000 --out "$ptb" --quiet \
        && ln -sf corpus.txt "$ptb/ptb.train.txt"
    rc=$?
    data_note="synthetic corpus (PTB not found): $ptb/corpus.txt"
fi
export W2V_NP_DATA=$ptb
record data "$rc" "$((SECONDS - t0))" "$data_note"
echo "-- data: $data_note"

# 3. The header.
echo "== header"
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
if command -v nvidia-smi > /dev/null && timeout -k 5 30 nvidia-smi -L > "$work/gpus.txt" 2>&1 \
        && grep -q '^GPU' "$work/gpus.txt"; then
    cat "$work/gpus.txt"
else
    echo "no GPU"
fi
run_step versions "$(limit_for 60)" "$work/versions.log" "python, numpy, numba, cupy, torch, pytest" \
    "$PYTHON" bench/gpu_summary.py versions "$work/versions.json"

# 4. The GPU tests: those marked gpu and those named for the GPU (tests/test_gpu_kernels.py,
# the README's --backend cupy example).  Without a GPU, tests/conftest.py runs the numba.cuda
# kernels under Numba's CUDA simulator and the CuPy tests skip.  Only the files that mention
# the GPU are collected, and a collection error does not stop the others: a module that
# imports a test-only package missing here (hypothesis, scipy) must not hide the GPU tests.
# Run from the work folder for package_dir's reason; hypothesis's database lands there too.
mapfile -t test_files < <(grep -l -E 'gpu|cupy|cuda' "$root"/tests/test_*.py)
(cd "$work" && run_step tests "$(limit_for 150)" "$work/tests.log" "-k '$tests_k'" \
    "$PYTHON" -m pytest "${test_files[@]}" -q -rfEs -p no:cacheprovider --continue-on-collection-errors \
    -k "$tests_k")

# 5. The timing: compare.py's interleaved rounds of fresh processes on PTB, then the kernels.
bench_args=(--engines "${engines[@]}" --epochs "$epochs" --repeats "$repeats" --name "${name}_bench")
[[ -n ${GPU_CHECK_THREADS:-} ]] && bench_args+=(--threads "$GPU_CHECK_THREADS")
run_step bench "$(limit_for 300)" "$work/bench.log" "python bench/cpu_vs_gpu.py ${bench_args[*]}" \
    "$PYTHON" bench/cpu_vs_gpu.py "${bench_args[@]}"

# 6. The summary: its exit status is the check's.
echo "== summary"
timeout -k 5 30 "$PYTHON" bench/gpu_summary.py summary --work "$work" --out "$summary_json" \
    --bench-json "$bench_json" --epochs "$epochs" --repeats "$repeats" --since "$started_epoch"
status=$?
if [[ -n ${GPU_CHECK_OUT:-} ]]; then
    mkdir -p "$GPU_CHECK_OUT"
    for file in "$summary_json" "$bench_json" "$work"/*.log "$work/steps.tsv"; do
        if [[ -f $file ]]; then cp "$file" "$GPU_CHECK_OUT/"; fi
    done
    echo "copied the results and logs to $GPU_CHECK_OUT"
fi
echo "gpu_check: exit status $status after $((SECONDS - started)) s"
exit "$status"
