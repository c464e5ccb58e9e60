#!/bin/sh
# The whole suite in one command (about 15 minutes on a 2-core VM):
#
#     cd benches && scripts/run_all.sh
#
# Builds everything first, then runs every criterion bench (core, collector,
# peers_suite, sizes) and the measuring binaries (memory, stack_probe,
# young_pause, gengc_breakdown) from that one build, so a commit landing
# during the run cannot mix two versions of gengc into the results. Writes
# results/RESULTS.md (tables, with the machine, the gengc commit and the load
# average during the run) and draws results/chart.svg. Criterion's results
# of earlier runs are deleted first, so every number comes from this run.
# Needs python3 for the tables.
set -eu
cd "$(dirname "$0")/.."
mkdir -p results
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# What is being measured: the commit, and any uncommitted change to gengc.
source_state() {
    git -C .. rev-parse HEAD 2>/dev/null || echo unknown
    git -C .. status --porcelain -- src gc-derive Cargo.toml 2>/dev/null || true
    git -C .. diff HEAD -- src gc-derive Cargo.toml 2>/dev/null || true
}
rev="${GENGC_REV:-$(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown)}"
dirty=""
if [ -n "$(git -C .. status --porcelain -- src gc-derive Cargo.toml 2>/dev/null)" ]; then
    dirty=" + uncommitted changes"
fi
cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
[ -n "$cpu" ] || cpu="$(uname -m)"
cores="$(nproc)"
rustc_version="$(rustc --version | cut -d' ' -f2)"
started="$(date -u +%Y-%m-%dT%H:%MZ)"
load1() { cut -d' ' -f1 /proc/loadavg; }
loads=""
mark() { loads="${loads}${loads:+, }$1 $(load1)"; }

before="$(source_state | cksum)"
cargo build --release --bins
cargo bench --no-run --message-format=json > "$tmp/build.json"
if [ "$(source_state | cksum)" != "$before" ]; then
    echo "gengc changed while the suite was being built; run again" >&2
    exit 1
fi
# The bench executables of this build (criterion needs --bench).
bench() {
    exe="$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    t = m.get("target") or {}
    if m.get("reason") == "compiler-artifact" and "bench" in t.get("kind", []) and t.get("name") == sys.argv[2] and m.get("executable"):
        print(m["executable"])
' "$tmp/build.json" "$1")"
    [ -n "$exe" ] || { echo "no executable for bench $1" >&2; exit 1; }
    mark "$1"
    "$exe" --bench --noplot
}

# Let the build's load decay first (it still showed as 1.7-1.8 when the first
# group started, and that group's numbers moved by up to 20 %): wait until the
# 1-minute average is below 1.2, at most two minutes.
settle() {
    waited=0
    while [ "$waited" -lt 120 ] && python3 -c 'import sys; sys.exit(float(sys.argv[1]) < 1.2)' "$(load1)"; do
        sleep 5
        waited=$((waited + 5))
    done
}

rm -rf target/criterion
settle
bench core
bench collector
bench peers_suite
bench sizes

mark memory
./target/release/memory > "$tmp/memory.md"
mark stack_probe
./target/release/stack_probe > "$tmp/stack.md"
mark young_pause
./target/release/young_pause > "$tmp/pause.md"
mark gengc_breakdown
./target/release/gengc_breakdown > "$tmp/breakdown.md"
mark end

machine="gengc ${rev}${dirty} · ${cpu}, ${cores} cores · rustc ${rustc_version} · ${started}"
{
    echo "# gengc benchmark results"
    echo
    echo "- **Machine:** ${cpu}, ${cores} cores, $(free -g 2>/dev/null | awk '/^Mem:/ {print $2 " GiB RAM, "}')$(uname -sr)."
    echo "- **Build:** gengc ${rev}${dirty}, rustc ${rustc_version}, release profile (codegen-units 1, thin LTO)."
    echo "- **Run:** started ${started}, all libraries in the same process and run."
    echo "- **Load:** 1-minute load average sampled before each part (the first still includes the build): ${loads}."
    echo "  The benchmarks use one core: a load well above 1 means other processes competed for the machine."
    echo
    echo "Regenerate everything (this file and \`chart.svg\`): \`cd benches && scripts/run_all.sh\`."
    echo
    echo "![time relative to Rc, per workload and library](chart.svg)"
    echo
    echo "## Summary: gengc against Rc and the fastest cycle-collecting peer"
    echo
    echo "Per object where the workload has a count, else per iteration. Rank: gengc among the six"
    echo "collectors (1 = fastest). \`acyclic\`: the workload builds no cycle (target: at most 1.0× Rc)."
    echo
    python3 scripts/report.py --summary
    echo "## Young-collection pauses with 1,000,000 objects in the old generation"
    echo
    cat "$tmp/pause.md"
    echo
    echo "## Memory"
    echo
    cat "$tmp/memory.md"
    echo
    echo "## Time, every group"
    echo
    python3 scripts/report.py
    echo "## Stack safety"
    echo
    cat "$tmp/stack.md"
    echo
    echo "## gengc: collections and pauses per workload"
    echo
    cat "$tmp/breakdown.md"
} > results/RESULTS.md
echo "wrote results/RESULTS.md"
./target/release/chart --out results/chart.svg --machine "$machine"
