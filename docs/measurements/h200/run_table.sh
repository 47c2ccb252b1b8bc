#!/usr/bin/env bash
# The README's GPU table in one machine call, for the second run of ../shared/gpu/README.md:
#   source .gpu/b/setup.sh && bash docs/measurements/h200/run_table.sh [ROUNDS_SCALE]
# Stage the tokenizer here first (after ../shared/gpu/stage.sh):
#   mkdir -p .gpu/b/tok && cp ~/.cache/mlxbench/synthetic/tokenizer/* .gpu/b/tok/
# It gives the synthetic models the SmolLM2 tokenizer staged in .gpu/b/tok, then runs the
# four rows, each under its own time limit, and writes one file per row under $OUT. Rounds
# are sized to fit in about 330 s once the mlx-cuda wheel is installed (the 8B model is built
# in the third row: 60-120 s); ROUNDS_SCALE=2 doubles them when more device time is left.
# ROWS="1b-256 1b-1024" runs only the rows named (a call is limited to 600 s: split the
# four rows over two calls when the rounds are scaled up).
set -u
scale=${1:-1}
rows=" ${ROWS:-1b-256 1b-1024 8b-1024 8b-256} "
mkdir -p "$MLXBENCH_HOME/cache/synthetic"
[ -d "$MLXBENCH_HOME/cache/synthetic/tokenizer" ] || cp -r .gpu/b/tok "$MLXBENCH_HOME/cache/synthetic/tokenizer"

row() {
    local name=$1 limit=$2
    shift 2
    [[ $rows == *" $name "* ]] || return 0
    echo "== $name $(date +%T)"
    timeout "$limit" python3 -m workbench.cli bench "$@" > "$OUT/$name.txt" 2> "$OUT/$name.err"
    echo "rc=$? $(date +%T)"
}

row 1b-256 $((110 * scale)) --only decode,tui --tokens 256 --rounds $((8 * scale)) --model synthetic:llama-1b-4bit
row 1b-1024 $((75 * scale)) --only tui --tokens 1024 --rounds $((4 * scale)) --model synthetic:llama-1b-4bit
row 8b-1024 $((150 * scale)) --only tui --tokens 1024 --rounds $((2 * scale)) --model synthetic:llama-8b-4bit
row 8b-256 $((85 * scale)) --only decode,tui --tokens 256 --rounds $((4 * scale)) --model synthetic:llama-8b-4bit
grep -h -A1 "decode tok/s\|TTFT over raw" "$OUT"/*.txt
