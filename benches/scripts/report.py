#!/usr/bin/env python3
"""Markdown tables from criterion's results (target/criterion).

For every group: the mean time per iteration of every library, the time per
element (when the group declares a throughput), and the ratio to the `Rc`
row of the same group (or to the first row if the group has no `Rc`).

    python3 scripts/report.py [group ...]
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "criterion")
ORDER = ["Rc", "gengc", "rust-cc", "dumpster", "bacon_rajan_cc", "gcmodule", "gc"]


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


def key(row):
    name, param = row[0], row[1]
    base = name.split(" ")[0].split("/")[0]
    return (param or "", ORDER.index(base) if base in ORDER else len(ORDER), name)


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


def main():
    groups = sys.argv[1:] or sorted(d for d in os.listdir(ROOT) if d != "report")
    for g in groups:
        t = table(g)
        if t:
            print(t)


if __name__ == "__main__":
    main()
