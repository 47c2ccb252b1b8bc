#!/usr/bin/env bash
# Two builds of the app side by side on the GPU: `bench --only tui` run in turn on an older
# tree and on this one, each process alternating the app and raw mlx-lm as usual. For the
# second run of ../shared/gpu/README.md, with the older tree staged in .gpu/b/old:
#   git archive COMMIT workbench | tar -x -C .gpu/b/old      (here, before the runs)
#   source .gpu/b/setup.sh && bash docs/measurements/h200/ab_tui.sh "1b:3 8b:2" [ROUNDS]
# "1b:3" is three old/new pairs with the 1B shape. Everything goes to $OUT/ab.txt; the
# decode and TTFT lines of each process are printed as it ends.
set -u
plan=${1:-1b:3 8b:2}
rounds=${2:-6}
here=$PWD
mkdir -p "$MLXBENCH_HOME/cache/synthetic"
[ -d "$MLXBENCH_HOME/cache/synthetic/tokenizer" ] || cp -r .gpu/b/tok "$MLXBENCH_HOME/cache/synthetic/tokenizer"
for item in $plan; do
    shape=${item%%:*}
    for pair in $(seq "${item##*:}"); do
        for build in old new; do
            tree=$here
            [ "$build" = old ] && tree=$here/.gpu/b/old
            log=$(mktemp)
            (cd "$tree" && PYTHONPATH=/tmp/site:$tree timeout 200 python3 -m workbench.cli bench \
                --only tui --tokens 256 --rounds "$rounds" --model "synthetic:llama-$shape-4bit" > "$log" 2>&1)
            { echo "### $shape $build pair $pair (rc=$?)"; cat "$log"; } >> "$OUT/ab.txt"
            echo "$shape $build $pair: $(grep -h -A1 'decode tok/s' "$log" | tr -s ' ' | tr '\n' ' ')| $(grep -h 'TTFT over' "$log" | tr -s ' ')"
        done
    done
done
