#!/bin/sh
# Runs the whole suite (about 10-12 minutes on a 2-core VM) and writes
# results/RESULTS.md. Run from anywhere; needs python3 for the tables.
set -eu
cd "$(dirname "$0")/.."
mkdir -p results
cargo bench --bench core -- --noplot
cargo bench --bench collector -- --noplot
cargo bench --bench peers_suite -- --noplot
cargo build --release --bins
{
    echo "# gengc benchmark results"
    echo
    rev="${GENGC_REV:-$(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown)}"
    dirty=""
    if git -C .. rev-parse --git-dir >/dev/null 2>&1 && ! git -C .. diff --quiet -- src; then
        dirty=" + uncommitted changes in src/"
    fi
    echo "gengc: ${rev}${dirty}, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, rustc $(rustc --version | cut -d' ' -f2)"
    echo
    echo "## Time"
    echo
    python3 scripts/report.py
    echo "## Memory"
    echo
    ./target/release/memory
    echo
    echo "## Stack safety"
    echo
    ./target/release/stack_probe
    echo
    echo "## gengc: collections and pauses per workload"
    echo
    ./target/release/gengc_breakdown
} > results/RESULTS.md
echo "wrote results/RESULTS.md"
