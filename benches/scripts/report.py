#!/usr/bin/env python3
"""Markdown tables from criterion's results (target/criterion).

For every group: the mean time per iteration of every library, the time per
element (when the group declares a throughput), and the ratio to the `Rc`
row of the same group (or to the first row if the group has no `Rc`).

With `--summary`: one line per workload (and parameter) with gengc against
`Rc` and against the fastest cycle-collecting peer, and gengc's rank among
the six collectors (1 = fastest), for the issue's targets: first or
tied-first against the peers everywhere, at most 1.0x `Rc` on the acyclic
workloads.

    python3 scripts/report.py [group ...]
    python3 scripts/report.py --summary
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "criterion")
# "gengc-acyclic": the tree workloads with the node marked `#[gc(acyclic)]`.
ORDER = ["Rc", "gengc", "gengc-acyclic", "rust-cc", "dumpster", "bacon_rajan_cc", "gcmodule", "gc"]
PEERS = ORDER[3:]
# Workloads that build no cycle (the floor is the same structure with Rc).
ACYCLIC = {"alloc_drop", "alloc_drop_tracked", "clone_drop", "tree_1m", "tree_1m_walk",
           "tree_1m_drop", "binary_trees", "build_4m_vs_1m", "alloc_by_size"}
# Summary order: the peers' published workloads, then gengc's own.
SUMMARY_ORDER = ["binary_trees", "binary_trees_with_parent_pointers", "large_linked_list",
                 "stress_test", "random_graph", "rings", "rings_reclaim", "dll_1m",
                 "dll_1m_reclaim", "churn", "full_collect_per_object", "tree_1m", "tree_1m_walk",
                 "tree_1m_drop", "alloc_drop", "alloc_drop_tracked", "clone_drop",
                 "build_4m_vs_1m", "alloc_by_size"]


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}" if ns / scale < 100 else f"{ns / scale:.0f} {unit}"
    return f"{ns:.3g} ns"


def load(group_dir):
    rows = []
    for dirpath, _dirs, files in os.walk(group_dir):
        if os.path.basename(dirpath) != "new" or "estimates.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            bench = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)
        elems = (bench.get("throughput") or {}).get("Elements")
        rows.append((bench["function_id"], bench.get("value_str"), est["mean"]["point_estimate"],
                     est["mean"]["confidence_interval"], elems))
    return rows


def param_key(param):
    param = param or ""
    return (0, int(param), "") if param.isdigit() else (1, 0, param)


def key(row):
    name, param = row[0], row[1]
    base = name.split(" ")[0].split("/")[0]
    return (param_key(param), ORDER.index(base) if base in ORDER else len(ORDER), name)


def table(group):
    rows = sorted(load(os.path.join(ROOT, group)), key=key)
    if not rows:
        return ""
    out = [f"### {group}", "", "| library | mean / iter | 95% CI | per object | vs Rc |", "|---|---|---|---|---|"]
    by_param = {}
    for r in rows:
        by_param.setdefault(r[1] or "", []).append(r)
    for param, rs in by_param.items():
        base = next((r for r in rs if r[0] == "Rc"), None)
        for name, p, mean, ci, elems in rs:
            label = f"{name} ({p})" if p else name
            per = fmt_time(mean / elems) if elems else ""
            ratio = f"{mean / base[2]:.2f}×" if base else ""
            ci_s = f"{fmt_time(ci['lower_bound'])} – {fmt_time(ci['upper_bound'])}"
            out.append(f"| {label} | {fmt_time(mean)} | {ci_s} | {per} | {ratio} |")
    return "\n".join(out) + "\n"


def summary():
    groups = [g for g in SUMMARY_ORDER if os.path.isdir(os.path.join(ROOT, g))]
    out = ["| workload | kind | Rc | gengc | gengc / Rc | fastest peer | gengc / fastest peer | gengc's rank of 6 collectors |",
           "|---|---|---|---|---|---|---|---|"]
    for g in groups:
        by_param = {}
        for name, param, mean, _ci, elems in load(os.path.join(ROOT, g)):
            by_param.setdefault(param or "", {})[name] = (mean, elems)
        for param in sorted(by_param, key=param_key):
            rows = by_param[param]
            for variant in ("gengc", "gengc-acyclic"):
                if variant not in rows:
                    continue
                out.append(summary_row(g, param, rows, variant))
    print("\n".join(out) + "\n")


def summary_row(g, param, rows, variant):
    gm, elems = rows[variant]
    per = (lambda t: fmt_time(t / elems)) if elems else fmt_time
    label = f"{g} ({param})" if param else g
    if variant != "gengc":
        label += f", {variant}"
    rc = rows.get("Rc")
    peers = sorted((rows[p][0], p) for p in PEERS if p in rows)
    best_t, best = peers[0] if peers else (None, None)
    rank = 1 + sum(1 for t, _ in peers if t < gm)
    return "| {} | {} | {} | {} | {} | {} | {} | {} |".format(
        label,
        "acyclic" if g in ACYCLIC else "cycles",
        per(rc[0]) if rc else "—",
        per(gm),
        f"{gm / rc[0]:.2f}×" if rc else "—",
        f"{best} {per(best_t)}" if best else "—",
        f"{gm / best_t:.2f}×" if best else "—",
        rank if best else "—",
    )

def main():
    if sys.argv[1:] == ["--summary"]:
        summary()
        return
    groups = sys.argv[1:] or sorted(d for d in os.listdir(ROOT) if d != "report")
    for g in groups:
        t = table(g)
        if t:
            print(t)


if __name__ == "__main__":
    main()
