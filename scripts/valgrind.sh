#!/usr/bin/env bash
# Runs the random-graph fuzz (tests/fuzz_graph.rs, release build) under
# valgrind memcheck: any invalid read/write, use of uninitialised memory,
# invalid free, or definitely-lost block fails the run.
#
#   scripts/valgrind.sh                        # fuzz_short_episodes (500k ops)
#   scripts/valgrind.sh fuzz_one_million_ops      # 1M ops (~80 s)
#   scripts/valgrind.sh <test-filter> [test-harness args...]
#
# Environment: VALGRIND_FLAGS adds valgrind options.
set -euo pipefail
cd "$(dirname "$0")/.."

filter="${1:-fuzz_short_episodes}"
shift || true

command -v valgrind >/dev/null || { echo "error: valgrind is not installed" >&2; exit 1; }

echo "=== building tests/fuzz_graph.rs (release) ==="
bin=$(cargo test --release --test fuzz_graph --no-run --message-format=json 2>/dev/null \
    | grep '"name":"fuzz_graph"' \
    | grep -o '"executable":"[^"]*"' \
    | tail -n 1 | cut -d'"' -f4)
if [[ -z "$bin" || ! -x "$bin" ]]; then
    echo "error: could not find the fuzz_graph test binary" >&2
    exit 1
fi
echo "binary: $bin"

echo "=== valgrind: filter '$filter' $* ==="
start=$(date +%s.%N)
status=0
# shellcheck disable=SC2086
valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    ${VALGRIND_FLAGS:-} \
    "$bin" --test-threads=1 --nocapture "$filter" "$@" || status=$?
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v st="$status" \
    'BEGIN { printf "=== wall time: %.1f s; exit status %d ===\n", e - s, st }'
exit "$status"
