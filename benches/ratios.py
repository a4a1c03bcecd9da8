#!/usr/bin/env python3
"""Summarises `cargo bench --bench logs` and/or `--bench metrics` output (stdin).

Logs: per case, ours, the peer, the ratio ours/peer (for queued_caller: against the peer's
enabled_sync path), the floor where there is one, and allocations per event.
Metrics: per group and series count, time per export of ours and the peer, the ratio, writes
per export (perf read-back in the VM, the capture on the host) and allocations per export.

    cargo bench --bench logs | tee bench.txt; python3 benches/ratios.py < bench.txt
"""
import re
import sys

UNITS = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
times, allocs, name = {}, {}, None
# ("writes" | "allocs", "perf" | "capture" | "enabled", who, series) -> count
per_export = {}
for line in sys.stdin:
    # Criterion's colours and progress lines (`\r` rewrites) off: keep what ends the line.
    line = re.sub(r"\x1b\[[0-9;]*[mK]", "", line.rstrip("\n")).split("\r")[-1]
    m = re.match(r"\s*(writes|allocs)/export (\S+) (\S+)\s+(\d+)\s+(\d+)", line)
    if m:
        per_export[(m.group(1), m.group(2), m.group(3), int(m.group(4)))] = int(m.group(5))
        continue
    m = re.match(r"\s*allocs/event (\S+)\s+([\d.]+)$", line)
    if m:
        allocs[m.group(1)] = float(m.group(2))
        continue
    m = re.match(r"^(\S+/\S+)(\s+time:.*)?$", line)
    if m and not line.startswith("Benchmarking"):
        name = m.group(1)
    m = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
    if m and name:
        times[name] = float(m.group(1)) * UNITS[m.group(2)]


def fmt(ns):
    if ns is None:
        return "—"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns:.1f} ns" if ns < 1000 else f"{ns / 1000:.2f} µs"


def fa(key):
    return "—" if key not in allocs else f"{allocs[key]:.3f}"


rows, metrics = {}, {}
for key in times:
    group, path, who, case = key.split("/", 3)
    if group.startswith("metrics_"):
        metrics.setdefault((group, int(case)), {})[who] = times[key]
        continue
    rows.setdefault((group, path, case), {})[who] = key

if metrics:
    def count(kind, how, who, n):
        v = per_export.get((kind, how, who, n))
        return "—" if v is None else str(v)

    print("| group | series | ours | peer | ours/peer | writes ours | writes peer | peer/ours writes "
          "| allocs ours | allocs peer |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (group, n), who in sorted(metrics.items()):
        ours, peer = who.get("ours"), who.get("peer")
        ratio = f"{ours / peer:.2f}" if ours and peer else "—"
        how = "perf" if ("writes", "perf", "ours", n) in per_export else "capture"
        wo, wp = per_export.get(("writes", how, "ours", n)), per_export.get(("writes", "perf", "peer", n))
        wratio = f"{wp / wo:.0f}×" if wo and wp else "—"
        if group == "metrics_disabled":  # nothing is written or encoded
            print(f"| {group} | {n} | {fmt(ours)} | {fmt(peer)} | {ratio} | 0 | 0 | | — | — |")
            continue
        ahow = "enabled" if group == "metrics_enabled" else "capture"
        print(f"| {group} | {n} | {fmt(ours)} | {fmt(peer)} | {ratio} | {count('writes', how, 'ours', n)} "
              f"| {count('writes', 'perf', 'peer', n)} | {wratio} | {count('allocs', ahow, 'ours', n)} "
              f"| {count('allocs', ahow, 'peer', n)} |")
    if not rows:
        sys.exit(0)
    print()

# floor (writev): the bare write of our bytes; floor sequence: the least work that builds
# them, then that write (benches/common/floor_sequence.rs), what any encoder of this layout
# costs at best: its ratios bound what ours can reach on this machine.
print("| case | ours | peer | ours/peer | floor (writev) | ours/floor | floor sequence "
      "| sequence/floor | sequence/peer | allocs/event ours | allocs/event peer |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for (group, path, case), who in rows.items():
    if "ours" not in who:
        continue
    ours = times[who["ours"]]
    peer = times.get(who.get("peer"))
    if group == "queued_caller":
        # The target compares the queued caller with the peer's enabled (sync) path.
        peer = times.get(f"enabled_sync/{path}/peer/{case}")
    floor = times.get(who.get("writev_floor"))
    if floor is None and f"{group}/{path}/writev_floor/{case}" in times:
        floor = times[f"{group}/{path}/writev_floor/{case}"]
    sequence = times.get(who.get("floor_sequence"))
    ratio = f"{ours / peer:.2f}" if peer else "—"
    fratio = f"{ours / floor:.2f}" if floor else "—"
    sfratio = f"{sequence / floor:.2f}" if sequence and floor else "—"
    spratio = f"{sequence / peer:.2f}" if sequence and peer else "—"
    print(
        f"| {group}/{path}/{case} | {fmt(ours)} | {fmt(peer)} | {ratio} | {fmt(floor)} | {fratio} "
        f"| {fmt(sequence)} | {sfratio} | {spratio} | {fa(who['ours'])} | {fa(who.get('peer', ''))} |"
    )
