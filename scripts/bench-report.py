#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench-report.py: turn the `make bench` boots into results.json, report.md
and SVG plots, and print one line per ratio with its goal.

usage: bench-report.py --out DIR [--readme README.md] [--accel tcg]
                       [--config bench] FLAVOR=BOOTDIR...

Each BOOTDIR holds results.log (JSON lines from scripts/guest/plans/bench.sh
and vmalock_bench, plus "# tcp_mmap-server:" lines) and console.log.
Every ratio is taken within this one run; each is the median over trials of
a per-trial figure, with the spread (min, max over trials) next to it.
The plots need matplotlib; scripts/bench.sh runs this with the python of
its own virtual environment (scripts/venv.sh).
"""
import argparse
import json
import math
import os
import re
import statistics
import sys
import textwrap

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401

# "unlocked" is vma_start_read_unlocked() alone (VMALOCK_MODE_UNLOCKED), the
# helper as its callers use it: the WAIT figures of the goals are its. "wait" is
# the module's WAIT mode (lock_vma_under_rcu() first, to report the path).
MODES = ["rcu", "unlocked", "wait", "mmap"]
# The callers timed by the C module vmalock_lookup_bench (see its header).
CALLERS = ["rcu", "inline", "ool"]
CONFIGS = {
    "bench": "the `main` config (SMP, Rust Binder) without lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_VM, KFENCE, "
             "kmemleak and KUnit (configs/bench.config)",
    "main": "the debug kernel `make check` boots (lockdep, PROVE_RCU, DEBUG_ATOMIC_SLEEP, DEBUG_VM, KFENCE, "
            "kmemleak): debug checks weigh on every lookup",
}
# A round is quiet when the rest of the host used less than this many CPUs
# during each of its two boots (host-other-cpus, written by bench.sh).
QUIET_CPUS = 0.25
WRITERS = ["hold", "mprotect"]
HEADLINE_WRITER = "hold"

GOALS = {
    # name: (op, goal, what)
    "wait_over_rcu_uncontended": ("<=", 1.10, "uncontended BENCH ns/lookup, vma_start_read_unlocked() (UNLOCKED mode) over RCU"),
    "mmap_over_wait_p99_under_writer": (">=", 100.0, "reader p99 under an mmap writer, MMAP over vma_start_read_unlocked() (UNLOCKED mode)"),
    "shrinker_vma_over_mmap_trylock_reclaimed": (">=", 2.0, "pages reclaimed per scan under an mmap writer, VMA trylock over mmap trylock (+1 smoothed)"),
    "tcp_mmap_patched_over_stock": (">=", 0.97, "tcp_mmap zerocopy Gbit/s, patched over stock, median over quiet rounds of the per-round ratio"),
    "ksm_merge_speedup_under_writers": (">=", 2.0, "time for ksmd to merge a region of identical pages while 4 threads of the process mmap, mprotect and munmap unrelated regions, stock over patched, per round"),
    "ksm_merge_speedup_quiet": (">=", 0.97, "the same with no writer, stock over patched: no regression"),
    "smp_fault_patched_over_stock": (">=", 0.97, "write faults per second beside a thread of the same process that mmaps, mprotects and munmaps another region, patched over stock, geometric mean of anon, shared file and private COW, per round (x86_64 SMP had per-VMA locks before: no regression)"),
}
FAULT_KINDS = ["anon", "shared", "cow"]
FAULT_WRITERS = ["none", "mprotect"]
KSM_WRITERS = {0: "ksm_merge_speedup_quiet", 4: "ksm_merge_speedup_under_writers"}

TCP_RE = re.compile(r"received ([0-9.e+-]+) MB \(([0-9.e+-]+) % mmap'ed\) in ([0-9.e+-]+) s, ([0-9.e+-]+) Gbit")


def med(v):
    return statistics.median(v) if v else None


def spread(v):
    """Median, min, max and the number of samples of v."""
    if not v:
        return None
    return {"median": med(v), "min": min(v), "max": max(v), "n": len(v)}


def parse_boot(flavor, d):
    boot = {"flavor": flavor, "dir": d, "records": [], "tcp_server": [],
            "timed_out": os.path.exists(os.path.join(d, "timed-out"))}
    try:
        with open(os.path.join(d, "results.log"), errors="replace") as f:
            for line in f:
                line = line.strip().replace("\r", "")
                if line.startswith("{"):
                    try:
                        boot["records"].append(json.loads(line))
                    except ValueError:
                        pass
                elif line.startswith("# tcp_mmap-server:"):
                    m = TCP_RE.search(line)
                    if m:
                        boot["tcp_server"].append({"mb": float(m.group(1)), "mmap_pct": float(m.group(2)),
                                                   "secs": float(m.group(3)), "gbit": float(m.group(4))})
    except OSError:
        pass
    cs = []
    try:
        with open(os.path.join(d, "console.log"), errors="replace") as f:
            for line in f:
                m = re.search(r"clocksource: Switched to clocksource (\S+)", line)
                if m:
                    cs.append(m.group(1))
    except OSError:
        pass
    boot["clocksource_switches"] = cs
    for k in ("before", "after"):
        try:
            boot["host_load_" + k] = open(os.path.join(d, "host-load-" + k)).read().split()
        except OSError:
            boot["host_load_" + k] = None
    try:
        boot["host_other_cpus"] = float(open(os.path.join(d, "host-other-cpus")).read())
    except (OSError, ValueError):
        boot["host_other_cpus"] = None
    m = re.search(r"-(\d+)/*$", d)
    boot["round"] = int(m.group(1)) if m else None
    return boot


def paired_rounds(boots, keep=lambda b: True):
    """{round: {flavor: boot}} for the rounds that have a stock and a patched boot (a boot without a
    round number pairs with its neighbour), in round order."""
    rounds = {}
    for i, b in enumerate(boots):
        if b["flavor"] in ("stock", "patched") and keep(b):
            rounds.setdefault(b["round"] if b["round"] is not None else i // 2, {})[b["flavor"]] = b
    return {r: p for r, p in sorted(rounds.items()) if "stock" in p and "patched" in p}


def recs(boots, kind, flavor="patched"):
    return [r for b in boots if b["flavor"] == flavor for r in b["records"] if r.get("bench") == kind]


# ---------------------------------------------------------------- analysis

def analyse(boots):
    res = {}

    # 1. Uncontended BENCH: per trial ns/lookup, per-trial ratios.
    unc = recs(boots, "uncontended")
    by = {}
    for r in unc:
        by.setdefault((r.get("_boot", 0), r["trial"]), {})[r["mode"]] = r["total_ns"] / r["iters"]
    trials = [v for v in by.values() if all(m in v for m in MODES)]
    res["uncontended"] = {
        "ns_per_lookup": {m: spread([t[m] for t in trials]) for m in MODES},
        "unlocked_over_rcu": spread([t["unlocked"] / t["rcu"] for t in trials]),
        "wait_mode_over_rcu": spread([t["wait"] / t["rcu"] for t in trials]),
        "mmap_over_rcu": spread([t["mmap"] / t["rcu"] for t in trials]),
        "failed_or_slow": sum(r["failed"] + (r["slow"] if r["mode"] != "mmap" else 0) for r in unc),
        "trials": len(trials),
        "iters": unc[0]["iters"] if unc else None,
    }

    # 1b. The cost of a call (C module vmalock_lookup_bench, patched boot):
    # per trial, lock_vma_under_rcu(), vma_start_read_unlocked() inline as its
    # callers use it, and the same helper behind an out-of-line call.
    calls = recs(boots, "lookup_call")
    res["lookup_call"] = {
        "ns_per_lookup": {c: spread([r[c + "_ns"] / r["iters"] for r in calls]) for c in CALLERS},
        "ool_over_inline": spread([r["ool_ns"] / r["inline_ns"] for r in calls]),
        "inline_over_rcu": spread([r["inline_ns"] / r["rcu_ns"] for r in calls]),
        "ool_over_rcu": spread([r["ool_ns"] / r["rcu_ns"] for r in calls]),
        "trials": len(calls),
        "iters": calls[0]["iters"] if calls else None,
        "block": calls[0].get("block") if calls else None,
    }

    # 6. Slab memory of VMAs, per flavor: the caches' geometry and the bytes
    # of the slabs that N more VMAs took (median over trials).
    res["slab"] = {}
    for fl in ("stock", "patched"):
        caches = {r["cache"]: r for r in recs(boots, "slab_cache", fl)}
        tr = recs(boots, "slab", fl)
        res["slab"][fl] = {
            "caches": {c: {k: r[k] for k in ("objsize", "objperslab", "pagesperslab")} for c, r in caches.items()},
            "vmas": med([r["vmas"] for r in tr]),
            "bytes": spread([r["bytes"] for r in tr]),
            "bytes_per_vma": spread([r["bytes"] / r["vmas"] for r in tr if r["vmas"]]),
        }
    sb = [res["slab"][f]["bytes"] for f in ("patched", "stock")]
    res["slab"]["patched_over_stock"] = sb[0]["median"] / sb[1]["median"] if all(sb) and sb[1]["median"] else None

    # 7. Write faults: per boot the median faults/s of each kind and writer;
    # per round patched over stock; the gate is the geometric mean over the
    # kinds with the writer.
    def fault_rate(b, kind, w):
        v = [r["pages"] / (r["ns"] / 1e9) for r in b["records"]
             if r.get("bench") == "fault" and r["kind"] == kind and r["writer"] == w and r["ns"]]
        return med(v)
    per = {f"{k}-{w}": [] for k in FAULT_KINDS for w in FAULT_WRITERS}
    gmeans = []
    for rnd, fb in paired_rounds(boots).items():
        ratios_w = []
        for k in FAULT_KINDS:
            for w in FAULT_WRITERS:
                ps, st = fault_rate(fb["patched"], k, w), fault_rate(fb["stock"], k, w)
                if ps and st:
                    per[f"{k}-{w}"].append({"round": rnd, "patched": ps, "stock": st, "ratio": ps / st})
                    if w == "mprotect":
                        ratios_w.append(ps / st)
        if len(ratios_w) == len(FAULT_KINDS):
            gmeans.append(math.prod(ratios_w) ** (1 / len(ratios_w)))
    res["fault"] = {"per_case": per, "ratio": {c: spread([x["ratio"] for x in v]) for c, v in per.items()},
                    "gmean_with_writer": spread(gmeans)}

    # 2. Latency under a writer.
    lat = recs(boots, "latency")
    res["latency"] = {}
    for w in WRITERS:
        rs = [r for r in lat if r["writer"] == w]
        per_trial = {}
        for r in rs:
            per_trial.setdefault((r["_boot"], r["trial"]), {})[r["mode"]] = r
        def p99_ratio(a, b):
            return spread([t[a]["p99_ns"] / max(t[b]["p99_ns"], 1)
                           for t in per_trial.values() if a in t and b in t])
        out = {"mmap_over_unlocked_p99": p99_ratio("mmap", "unlocked"),
               "mmap_over_wait_mode_p99": p99_ratio("mmap", "wait"), "modes": {}}
        for m in MODES:
            mr = [r for r in rs if r["mode"] == m]
            if not mr:
                continue
            hist = [0] * len(mr[0]["hist_log2"])
            for r in mr:
                hist = [a + b for a, b in zip(hist, r["hist_log2"])]
            out["modes"][m] = {k: spread([r[k] for r in mr]) for k in
                               ("p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "mean_ns", "n")}
            out["modes"][m]["errors"] = sum(r["errors"] for r in mr)
            out["modes"][m]["over_1ms_share"] = sum(r.get("over_1ms", 0) for r in mr) / max(sum(r["n"] for r in mr), 1)
            out["modes"][m]["slow"] = sum(r["slow"] for r in mr)
            out["modes"][m]["hist_log2"] = hist
            out["modes"][m]["writer_busy"] = spread([r["writer_busy"] for r in mr])
            out["modes"][m]["writer_ops"] = spread([r["writer_ops"] for r in mr])
        res["latency"][w] = out

    # 2b. Same VMA: the waiter's CPU time over the wall time it waited.
    sv = recs(boots, "samevma")
    res["samevma"] = {}
    for how in ("wait", "rcu_retry_loop"):
        rs = [r for r in sv if r["how"] == how]
        res["samevma"][how] = {
            "wall_ms": spread([r["wall_ns"] / 1e6 for r in rs]),
            "cpu_ms": spread([r["cpu_ns"] / 1e6 for r in rs]),
            "cpu_over_wall": spread([r["cpu_ns"] / max(r["wall_ns"], 1) for r in rs]),
            "calls": spread([r["calls"] for r in rs]),
            "errors": sum(1 for r in rs if r["ret"] != 0),
            "slow_path": sum(1 for r in rs if r["path"] == 1),
            "trials": len(rs),
        }

    # 3. Reclaim under a writer.
    rc = recs(boots, "reclaim")
    res["reclaim"] = {}
    for w in WRITERS + ["none"]:
        rs = [r for r in rc if r["writer"] == w]
        if not rs:
            continue
        res["reclaim"][w] = {
            "vma_freed_per_scan": spread([r["vma_freed"] / r["scans"] for r in rs]),
            "mmap_freed_per_scan": spread([r["mmap_freed"] / r["scans"] for r in rs]),
            "vma_over_mmap_smoothed": spread([(r["vma_freed"] + 1) / (r["mmap_freed"] + 1) for r in rs]),
            "mmap_zero_scans": sum(r["mmap_zero_scans"] for r in rs),
            "vma_zero_scans": sum(r["vma_zero_scans"] for r in rs),
            "scans_per_trial": rs[0]["scans"], "nr_to_scan": rs[0]["nr_to_scan"],
            "writer_busy": spread([r["writer_busy"] for r in rs]),
            "trials": len(rs),
        }

    # 4. tcp_mmap: the first connection of each boot is a warm-up. Each
    # connection is also normalized by the guest's speed around it (a fixed
    # CPU loop before and after, "spin"), against the median over all boots.
    res["tcp_mmap"] = {}
    allspin = [r["ns"] for b in boots for r in b["records"] if r.get("bench") == "spin"]
    ref = med(allspin)
    for fl in ("stock", "patched"):
        g, pct, gn = [], [], []
        for b in boots:
            if b["flavor"] != fl:
                continue
            spin = {r["tag"]: r["ns"] for r in b["records"] if r.get("bench") == "spin"}
            for i, c in enumerate(b["tcp_server"]):
                if i == 0:
                    continue
                g.append(c["gbit"])
                pct.append(c["mmap_pct"])
                sp_ = [spin[k] for k in (f"tcp{i}-before", f"tcp{i}-after") if k in spin]
                if sp_ and ref:
                    gn.append(c["gbit"] * statistics.mean(sp_) / ref)
        res["tcp_mmap"][fl] = {"gbit": spread(g), "gbit_speed_normalized": spread(gn),
                               "mmap_pct_min": min(pct) if pct else None, "samples": g, "samples_normalized": gn}
    # Paired by round: the stock and the patched boot of one round ran one
    # after the other, so a slow drift of the host's speed mostly cancels in
    # their ratio. The headline is the median of the quiet rounds' ratios
    # (the rest of the host used < QUIET_CPUS during both boots); with fewer
    # than two quiet rounds, of all rounds, and the result says so.
    per_round = []
    for r, pair in paired_rounds(boots, lambda b: len(b["tcp_server"]) > 1).items():
        st, pa = (med([c["gbit"] for c in pair[f]["tcp_server"][1:]]) for f in ("stock", "patched"))
        other = [pair[f]["host_other_cpus"] for f in ("stock", "patched")]
        per_round.append({"round": r, "stock_gbit": st, "patched_gbit": pa,
                          "ratio": pa / st if st else None, "host_other_cpus": other,
                          "quiet": all(o is not None and o < QUIET_CPUS for o in other)})
    quiet = [x["ratio"] for x in per_round if x["quiet"] and x["ratio"]]
    used = quiet if len(quiet) >= 2 else [x["ratio"] for x in per_round if x["ratio"]]
    res["tcp_mmap"]["per_round"] = per_round
    res["tcp_mmap"]["quiet_rounds"] = len(quiet)
    measured = any(o is not None for x in per_round for o in x["host_other_cpus"])
    res["tcp_mmap"]["headline_over"] = ("quiet rounds" if len(quiet) >= 2 else
                                        "all rounds (host busy)" if measured else "all rounds (host load not measured)")
    res["tcp_mmap"]["paired_ratio"] = spread(used)
    res["tcp_mmap"]["paired_ratio_all_rounds"] = spread([x["ratio"] for x in per_round if x["ratio"]])
    sn, pn = res["tcp_mmap"]["stock"]["gbit_speed_normalized"], res["tcp_mmap"]["patched"]["gbit_speed_normalized"]
    res["tcp_mmap"]["speed_normalized_ratio"] = pn["median"] / sn["median"] if sn and pn and sn["median"] else None
    s, p = res["tcp_mmap"]["stock"]["gbit"], res["tcp_mmap"]["patched"]["gbit"]
    res["tcp_mmap"]["best_of_ratio"] = (p["max"] / s["max"]) if s and p and s["max"] else None
    res["tcp_mmap"]["ratio_of_medians"] = (p["median"] / s["median"]) if s and p and s["median"] else None

    # 5. ksmd's merge time beside mmap writers: both kernels, paired by round
    # like tcp_mmap (per boot the median over its trials; a trial that timed
    # out counts as missing).
    res["ksm"] = {}
    for n in KSM_WRITERS:
        per_round = {}
        for i, b in enumerate(boots):
            rs = [r for r in b["records"] if r.get("bench") == "ksm" and r.get("writers") == n]
            ms = [r["merge_ms"] for r in rs if not r.get("timed_out")]
            ops = [r["writer_ops"] * 1000 / r["merge_ms"] for r in rs if r.get("merge_ms")]
            if ms:
                rnd = b["round"] if b["round"] is not None else i // 2
                per_round.setdefault(rnd, {})[b["flavor"]] = {"merge_ms": med(ms), "writer_ops_per_s": med(ops),
                                                                 "timed_out": len(rs) - len(ms)}
        pairs = [(r, v) for r, v in sorted(per_round.items()) if "stock" in v and "patched" in v]
        res["ksm"][n] = {
            "per_round": [{"round": r, **{f: v[f] for f in ("stock", "patched")}} for r, v in pairs],
            "stock_over_patched": spread([v["stock"]["merge_ms"] / v["patched"]["merge_ms"] for _, v in pairs]),
            "merge_ms": {f: spread([v[f]["merge_ms"] for _, v in pairs]) for f in ("stock", "patched")},
            "writer_ops_per_s": {f: spread([v[f]["writer_ops_per_s"] for _, v in pairs if v[f]["writer_ops_per_s"] is not None])
                                 for f in ("stock", "patched")},
        }
    return res


def spreads_of(res):
    """The spread behind each headline ratio (the ratio is its median)."""
    return {
        "wait_over_rcu_uncontended": res["uncontended"]["unlocked_over_rcu"],
        "mmap_over_wait_p99_under_writer": res["latency"].get(HEADLINE_WRITER, {}).get("mmap_over_unlocked_p99"),
        "shrinker_vma_over_mmap_trylock_reclaimed": res["reclaim"].get(HEADLINE_WRITER, {}).get("vma_over_mmap_smoothed"),
        "tcp_mmap_patched_over_stock": res["tcp_mmap"]["paired_ratio"],
        **{name: res["ksm"][n]["stock_over_patched"] for n, name in KSM_WRITERS.items()},
        "smp_fault_patched_over_stock": res["fault"]["gmean_with_writer"],
    }


def ratios_of(res):
    return {k: v and v["median"] for k, v in spreads_of(res).items()}


def verdict(name, x):
    if x is None:
        return "N/A"
    op, goal, _ = GOALS[name]
    ok = x <= goal if op == "<=" else x >= goal
    return "PASS" if ok else "MISS"


def turnaround(readme):
    """`make check` times from README.md's table: {row label: value}. Cold is
    never measured here (too long); a row whose value has no digit is a
    placeholder: "not measured in this run"."""
    out = {}
    try:
        text = open(readme).read()
    except (OSError, TypeError):
        text = ""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or "make check" not in cells[0] or cells[0].startswith("`make"):
            continue
        val = cells[1]
        out[cells[0]] = (val + " (README.md)") if re.search(r"\d", val) else "not measured in this run"
    for k in ("cold `make check`", "warm `make check`"):
        if not any(x.startswith(k) for x in out):
            out[k] = "not measured in this run"
    return out


# ------------------------------------------------------------------ plots

COLORS = {"rcu": "#4c72b0", "unlocked": "#55a868", "wait": "#8172b2", "mmap": "#c44e52", "stock": "#8c8c8c",
          "patched": "#55a868", "vma": "#55a868", "mmapt": "#c44e52"}


def fmt(x, unit=""):
    if x is None:
        return "n/a"
    if x == float("inf"):
        return "inf"
    a = abs(x)
    s = f"{x:.3g}" if a < 1000 else f"{x:,.0f}"
    return s + unit


def figure(w, h, title):
    """A figure of w x h pixels (at 100 dpi) with one set of axes."""
    fig, ax = plt.subplots(figsize=(w / 100, h / 100), dpi=100)
    ax.set_title(textwrap.fill(title, int(w / 9.5)), fontsize=11, fontweight="bold")
    ax.grid(axis="y", color="#e4e4e4")
    ax.set_axisbelow(True)
    return fig, ax


def save(fig, path, notes=()):
    if notes:
        fig.text(0.99, 0.01, "\n".join(notes), ha="right", va="bottom", fontsize=8, color="#555")
    fig.tight_layout(rect=(0, 0.04 * len(notes), 1, 1))
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def bar_chart(path, title, groups, series, ylabel, log=False, w=760, h=380, notes=()):
    """groups: [(label, {series: value or spread dict})]; series: [(key, label, color)].
    A spread dict draws its median as the bar and min..max as a whisker."""
    fig, ax = figure(w, h, title)
    bw = 0.8 / len(series)
    for si, (k, slabel, color) in enumerate(series):
        xs, ys, lo, hi = [], [], [], []
        for gi, (_, d) in enumerate(groups):
            v = d.get(k)
            m = v["median"] if isinstance(v, dict) else v
            if m is None:
                continue
            xs.append(gi - 0.4 + bw * (si + 0.5))
            ys.append(m)
            many = isinstance(v, dict) and v["n"] > 1
            lo.append(m - v["min"] if many else 0)
            hi.append(v["max"] - m if many else 0)
        bars = ax.bar(xs, ys, bw * 0.95, color=color, label=slabel, yerr=[lo, hi], capsize=3,
                      error_kw={"elinewidth": 1, "ecolor": "#222"})
        ax.bar_label(bars, [fmt(y) for y in ys], fontsize=7, padding=2)
    ax.set_xticks(range(len(groups)), [g for g, _ in groups], fontsize=8)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    # Room above the tallest bar for the legend, one row across the top.
    ax.set_ylim(top=ax.get_ylim()[1] * (4 if log else 1.3))
    ax.legend(fontsize=8, loc="upper center", ncol=len(series))
    save(fig, path, notes)


def ratio_chart(path, ratios, spreads):
    names = list(GOALS)
    fig, ax = figure(760, 60 + 50 * len(names), "make bench: ratios vs goals")
    ax.grid(axis="x", color="#e4e4e4")
    for i, n in enumerate(names):
        op, goal, _ = GOALS[n]
        v, s = ratios.get(n), spreads.get(n)
        color = {"PASS": "#55a868", "MISS": "#c44e52"}.get(verdict(n, v), "#999")
        if v:
            err = [[v - s["min"]], [s["max"] - v]] if s and s["n"] > 1 else None
            ax.barh(i, v, 0.6, color=color, xerr=err, capsize=3, error_kw={"elinewidth": 1})
            ax.text(max(v, s["max"] if s else v) * 1.15, i, fmt(v), va="center", fontsize=8)
        ax.plot([goal, goal], [i - 0.4, i + 0.4], "k--", lw=1.5)
    ax.set_yticks(range(len(names)), [f"{n}\ngoal {GOALS[n][0]} {GOALS[n][1]:g}: {verdict(n, ratios.get(n))}"
                                      for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1, color="#888", lw=1)
    ax.set_xlabel("ratio (log scale); whisker: min..max over trials; dashed: goal")
    save(fig, path)


def hist_chart(path, lat):
    """Latency distributions under the headline writer: log2 histograms as step lines."""
    fig, ax = figure(760, 360, "Reader LOOKUP latency under an mmap_lock writer (share of calls per log2 bucket)")
    modes = lat.get(HEADLINE_WRITER, {}).get("modes", {})
    for m in MODES:
        if m in modes:
            hist = modes[m]["hist_log2"]
            tot = sum(hist) or 1
            ax.stairs([c / tot for c in hist], [2 ** b for b in range(len(hist) + 1)], color=COLORS[m],
                      lw=2, label=m.upper())
    used = [i for v in modes.values() for i, c in enumerate(v["hist_log2"]) if c]
    ax.set_xscale("log", base=2)
    if used:
        ax.set_xlim(2 ** max(min(used) - 1, 0), 2 ** (max(used) + 2))
    ax.set_xlabel(f"latency, ns (log2 buckets); writer: {HEADLINE_WRITER}")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    if modes:
        ax.legend(fontsize=8)
    save(fig, path)


# ---------------------------------------------------------------- report

def md_table(rows, header):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def to_us(s):
    """A spread dict of ns as µs."""
    if not s:
        return s
    return {k: (v / 1000 if k != "n" else v) for k, v in s.items()}


def us(ns):
    return "n/a" if ns is None else f"{ns / 1000:.3g} µs" if ns < 1e6 else f"{ns / 1e6:.3g} ms"


def sp(s, f=fmt):
    if not s:
        return "n/a"
    return f"{f(s['median'])} ({f(s['min'])} .. {f(s['max'])})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--readme")
    ap.add_argument("--accel", default="tcg")
    ap.add_argument("--config", default="bench", help="the kernel config variant (configs/NAME.config)")
    ap.add_argument("boots", nargs="+", help="FLAVOR=DIR")
    a = ap.parse_args()

    boots = []
    for i, spec in enumerate(a.boots):
        fl, d = spec.split("=", 1)
        b = parse_boot(fl, d)
        for r in b["records"]:
            r["_boot"] = i
        boots.append(b)
    res = analyse(boots)
    ratios = ratios_of(res)
    spreads = spreads_of(res)
    extra_ratios = {
        "wait_mode_over_rcu_uncontended": (res["uncontended"]["wait_mode_over_rcu"] or {}).get("median"),
        "mmap_over_wait_mode_p99_under_writer": (res["latency"].get(HEADLINE_WRITER, {}).get("mmap_over_wait_mode_p99") or {}).get("median"),
        "mmap_over_wait_p99_mprotect_writer": (res["latency"].get("mprotect", {}).get("mmap_over_unlocked_p99") or {}).get("median"),
        "shrinker_ratio_mprotect_writer": (res["reclaim"].get("mprotect", {}).get("vma_over_mmap_smoothed") or {}).get("median"),
        "tcp_mmap_speed_normalized": res["tcp_mmap"]["speed_normalized_ratio"],
        "tcp_mmap_best_of_n": res["tcp_mmap"]["best_of_ratio"],
        "tcp_mmap_ratio_of_medians": res["tcp_mmap"]["ratio_of_medians"],
        "tcp_mmap_paired_all_rounds": (res["tcp_mmap"]["paired_ratio_all_rounds"] or {}).get("median"),
        "samevma_wait_cpu_over_wall": (res["samevma"]["wait"]["cpu_over_wall"] or {}).get("median"),
        "slab_vma_bytes_patched_over_stock": res["slab"]["patched_over_stock"],
        "call_ool_over_inline": (res["lookup_call"]["ool_over_inline"] or {}).get("median"),
        "call_inline_over_rcu": (res["lookup_call"]["inline_over_rcu"] or {}).get("median"),
    }
    meta = {"accel": a.accel, "boots": []}
    for b in boots:
        m = next((r for r in b["records"] if r.get("bench") == "meta"), {})
        steps = [r for r in b["records"] if r.get("bench") == "step"]
        me = next((r for r in b["records"] if r.get("bench") == "meta_end"), {})
        meta["boots"].append({"flavor": b["flavor"], "dir": b["dir"], "kernel": m.get("kernel"),
                              "clocksource_at_end": me.get("clocksource"),
                              "host_load_before": b["host_load_before"], "host_load_after": b["host_load_after"],
                              "host_other_cpus": b["host_other_cpus"], "round": b["round"],
                              "cpus": m.get("cpus"), "clocksource": m.get("clocksource"),
                              "available_clocksources": m.get("available_clocksources"),
                              "clocksource_switches": b["clocksource_switches"],
                              "timed_out": b["timed_out"], "steps": steps})
    clock = next((r for r in recs(boots, "clock")), None)
    turn = turnaround(a.readme) if a.readme else turnaround("")

    os.makedirs(a.out, exist_ok=True)
    results = {
        "ratios": ratios,
        "extra_ratios": extra_ratios,
        "goals": {k: {"op": v[0], "goal": v[1], "what": v[2], "verdict": verdict(k, ratios[k])} for k, v in GOALS.items()},
        "spread": spreads,
        "summary": res,
        "turnaround": turn,
        "meta": meta,
        "guest_clock": clock,
        "raw": [{"flavor": b["flavor"], "records": b["records"], "tcp_server": b["tcp_server"]} for b in boots],
        "notes": {
            "ratio_method": "each ratio is the median over trials of a per-trial ratio (tcp_mmap: a trial is a round, stock and patched booted one after the other, ratio of their median Gbit; quiet rounds only when there are at least two); spread = min..max over trials",
            "wait_means": "vma_start_read_unlocked() called alone (the module's UNLOCKED mode); the module's WAIT mode, which tries lock_vma_under_rcu() first, is reported as wait_mode",
            "quiet_round": f"the rest of the host used < {QUIET_CPUS} CPUs during both boots of the round",
            "headline_writer": HEADLINE_WRITER,
            "reclaim_smoothing": "(vma_freed + 1) / (mmap_freed + 1) per trial, summed over the trial's scans",
            "module_measurements_on": "patched boot only (the module needs the series' kernel-crate API)",
            "config": a.config,
        },
    }
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)

    # Plots.
    ratio_chart(os.path.join(a.out, "ratios.svg"), ratios, spreads)
    u = res["uncontended"]["ns_per_lookup"]
    bar_chart(os.path.join(a.out, "uncontended.svg"), "Uncontended lookup cost (in-kernel BENCH loop)",
              [("ns per lookup", {m: u[m] for m in MODES})],
              [(m, m.upper(), COLORS[m]) for m in MODES], "ns per lookup", w=520,
              notes=[f"{res['uncontended']['trials']} trials x {res['uncontended']['iters']} lookups"])
    groups = []
    for w in WRITERS:
        for k in ("p50_ns", "p99_ns", "max_ns"):
            groups.append((f"{w}: {k[:-3]}", {m: to_us(res["latency"].get(w, {}).get("modes", {}).get(m, {}).get(k))
                                              for m in MODES}))
    bar_chart(os.path.join(a.out, "latency.svg"), "Reader LOOKUP latency (unrelated VMA) while a thread write-locks mmap_lock",
              groups, [(m, m.upper(), COLORS[m]) for m in MODES], "µs (log scale)", log=True, w=900,
              notes=["hold: HOLD_MMAP_WRITE 20 ms back to back; mprotect: 64 MiB populated, toggled"])
    hist_chart(os.path.join(a.out, "latency-hist.svg"), res["latency"])
    rg = [(w, {"vma": res["reclaim"][w]["vma_freed_per_scan"], "mmapt": res["reclaim"][w]["mmap_freed_per_scan"]})
          for w in ["none"] + WRITERS if w in res["reclaim"]]
    bar_chart(os.path.join(a.out, "reclaim.svg"), "Binder-style reclaim: pages freed per scan (nr_to_scan=32) by writer",
              rg, [("vma", "per-VMA trylock (lock_vma_under_rcu)", COLORS["vma"]),
                   ("mmapt", "mmap_read_trylock", COLORS["mmapt"])], "pages per scan", w=640)
    t = res["tcp_mmap"]
    bar_chart(os.path.join(a.out, "tcp_mmap.svg"), "tcp_mmap zerocopy over loopback (server-reported)",
              [("Gbit/s", {"stock": t["stock"]["gbit"], "patched": t["patched"]["gbit"]})],
              [("stock", "stock 7.3.4", COLORS["stock"]), ("patched", "patched", COLORS["patched"])],
              "Gbit/s", w=520)
    k = res["ksm"]
    bar_chart(os.path.join(a.out, "ksm.svg"), "ksmd: time to merge a region of identical pages, by writer threads",
              [(f"{n} writers", {f: k[n]["merge_ms"][f] for f in ("stock", "patched")}) for n in KSM_WRITERS],
              [("stock", "stock 7.3.4", COLORS["stock"]), ("patched", "patched", COLORS["patched"])],
              "ms to merge (log scale, lower is better)", log=True, w=640,
              notes=["median per boot, then over rounds; whisker = min..max over rounds"])

    # report.md
    L = []
    L.append("## Benchmark (`make bench`)\n")
    what = (CONFIGS.get(a.config, f"configs/{a.config}.config") +
            ". Absolute times are those of an emulated guest; only the ratios, all taken in this one run, "
            "are meant to be compared")
    L.append(f"Guest: QEMU {a.accel.upper()}, {meta['boots'][0].get('cpus') if meta['boots'] else '?'} vCPUs, "
             f"config `{a.config}`: {what}. "
             f"Clocksource: {', '.join(sorted({b['clocksource'] or '?' for b in meta['boots']}))}.\n")
    coarse = sorted({b["clocksource"] for b in meta["boots"] if b["clocksource"] and "jiffies" in b["clocksource"]})
    if coarse:
        L.append(f"**Warning:** the guest clocksource was {', '.join(coarse)} (a few ms resolution): "
                 "latencies below that are quantized to 0 and the timed ratios are not trustworthy.\n")
    L.append(md_table([[f"`{k}`", fmt(v), f"{GOALS[k][0]} {GOALS[k][1]:g}", verdict(k, v),
                        (f"{fmt(spreads[k]['min'])} .. {fmt(spreads[k]['max'])}" if spreads.get(k) else "n/a"), GOALS[k][2]]
                       for k, v in ratios.items()],
                      ["ratio", "value", "goal", "", "spread (min .. max)", "what"]))
    L.append("\n![ratios](ratios.svg)\n")
    L.append("### 1. Uncontended lookup (module `BENCH` ioctl, in-kernel loop)\n")
    L.append(md_table([[m.upper(), sp(u[m], lambda x: fmt(x, ' ns'))] for m in MODES],
                      ["mode", "ns per lookup: median (min .. max)"]))
    L.append(f"\nUNLOCKED/RCU per trial: {sp(res['uncontended']['unlocked_over_rcu'])} (the headline); "
             f"WAIT/RCU: {sp(res['uncontended']['wait_mode_over_rcu'])}; MMAP/RCU: {sp(res['uncontended']['mmap_over_rcu'])}. "
             f"{res['uncontended']['trials']} trials x {res['uncontended']['iters']} lookups, modes in rotating order.\n")
    mo = res["uncontended"]["mmap_over_rcu"]
    if mo and mo["median"] < 1 and a.config == "main":
        L.append("MMAP is cheaper than RCU here, uncontended. This is a debug kernel (lockdep, PROVE_RCU, DEBUG_VM): "
                 "the per-VMA path's checks apparently cost more than one uncontended rwsem; "
                 "not verified on a production config.\n")
    lc = res["lookup_call"]
    L.append("### 1b. Inline or out-of-line fast path (C module `vmalock_lookup_bench`)\n")
    L.append(md_table([[c, sp(lc["ns_per_lookup"][c], lambda x: fmt(x, ' ns'))] for c in CALLERS],
                      ["caller", "ns per lookup: median (min .. max)"]))
    L.append(f"\nOut of line over inline, per trial: {sp(lc['ool_over_inline'])}; inline over "
             f"lock_vma_under_rcu(): {sp(lc['inline_over_rcu'])}; out of line over lock_vma_under_rcu(): "
             f"{sp(lc['ool_over_rcu'])}. {lc['trials']} trials x {lc['iters']} lookups per caller, the callers "
             f"interleaved in blocks of {lc['block']} lookups in rotating order (so that a change of speed of the "
             "emulator hits all three alike). "
             "`ool` calls vma_start_read_unlocked() through a function the compiler may neither inline nor "
             "specialize: the call every caller would add if the helper were out of line.\n")
    L.append("### 2. Reader latency under a writer (LOOKUP of an unrelated VMA)\n")
    slab_rows = []
    for fl in ("stock", "patched"):
        sl = res["slab"][fl]
        va, mm_ = sl["caches"].get("vm_area_struct"), sl["caches"].get("mm_struct")
        slab_rows.append([fl, f"{va['objsize']} B, {va['objperslab']} per {va['pagesperslab']} page(s)" if va else "n/a",
                          f"{mm_['objsize']} B, {mm_['objperslab']} per {mm_['pagesperslab']} page(s)" if mm_ else "n/a",
                          f"{sl['vmas']:.0f}" if sl["vmas"] else "n/a",
                          sp(sl["bytes"], lambda x: f"{x / 1024:.0f} KiB"), sp(sl["bytes_per_vma"], lambda x: f"{x:.0f} B")])
    slab_md = ["### 6. Slab memory of VMAs (`/proc/slabinfo`, both kernels)\n",
               md_table(slab_rows, ["kernel", "vm_area_struct cache", "mm_struct cache", "VMAs added",
                                    "slab memory they took: median (min .. max)", "per VMA"]),
               f"\nPatched over stock, slab memory of the added VMAs: {fmt(res['slab']['patched_over_stock'])}. "
               "The VMAs are one mapping with every other page made read-only, so no two can merge; the memory is "
               "the growth of the cache's slab count times its slab size.\n"]
    rows = []
    for w in WRITERS:
        lw = res["latency"].get(w, {})
        for m in MODES:
            mm = lw.get("modes", {}).get(m)
            if not mm:
                continue
            rows.append([w, m.upper(), us(mm["p50_ns"]["median"]), us(mm["p99_ns"]["median"]),
                         us(mm["p999_ns"]["median"]), us(mm["max_ns"]["median"]), f"{mm['over_1ms_share']:.1%}", f"{mm['n']['median']:.0f}",
                         f"{mm['writer_busy']['median']:.0%}"])
    L.append(md_table(rows, ["writer", "mode", "p50", "p99", "p99.9", "max", "calls >= 1 ms", "calls/trial", "writer's time in its locking call"]))
    for w in WRITERS:
        lw = res["latency"].get(w, {})
        L.append(f"\n- writer `{w}`: MMAP p99 / UNLOCKED p99 = {sp(lw.get('mmap_over_unlocked_p99'))}"
                 + (" (headline)" if w == HEADLINE_WRITER else "")
                 + f"; MMAP p99 / WAIT p99 = {sp(lw.get('mmap_over_wait_mode_p99'))}")
    L.append("\n![latency](latency.svg)\n\n![latency histogram](latency-hist.svg)\n")
    s = res["samevma"]
    L.append("**Same VMA** (the writer also write-locks the looked-up VMA, `VMALOCK_HOLD_VMA_WRITE`): "
             "CPU time of the waiting thread (`CLOCK_THREAD_CPUTIME_ID`) over the wall time it waited.\n")
    L.append(md_table([[how, sp(s[how]["wall_ms"], lambda x: fmt(x, ' ms')), sp(s[how]["cpu_ms"], lambda x: fmt(x, ' ms')),
                        sp(s[how]["cpu_over_wall"], lambda x: f"{x:.2%}"), sp(s[how]["calls"]), s[how]["errors"]]
                       for how in ("wait", "rcu_retry_loop") if s[how]["trials"]],
                      ["how", "wall waited", "CPU used", "CPU / wall", "ioctl calls", "errors"]))
    L.append("\n`wait` is one LOOKUP in WAIT mode (`vma_start_read_unlocked()` sleeps until the writer is done); "
             "`rcu_retry_loop` is the contrast: LOOKUP in RCU mode retried until it succeeds.\n")
    L.append("### 3. Binder-style reclaim under a writer (`VMALOCK_IOC_RECLAIM`)\n")
    L.append(md_table([[w, sp(v["vma_freed_per_scan"]), sp(v["mmap_freed_per_scan"]), sp(v["vma_over_mmap_smoothed"]),
                        f"{v['mmap_zero_scans']}/{v['scans_per_trial'] * v['trials']}", f"{v['writer_busy']['median']:.0%}"]
                       for w, v in res["reclaim"].items()],
                      ["writer", "VMA trylock: pages/scan", "mmap trylock: pages/scan", "ratio (+1 smoothed)",
                       "mmap scans freeing 0", "writer's time in its locking call"]))
    L.append("\n![reclaim](reclaim.svg)\n")
    L.append("### 4. tcp_mmap zerocopy over loopback\n")
    L.append(md_table([[fl, sp(t[fl]["gbit"], lambda x: fmt(x, ' Gbit/s')), t[fl]["gbit"]["n"] if t[fl]["gbit"] else 0,
                        fmt(t[fl]["mmap_pct_min"], '%')] for fl in ("stock", "patched")],
                      ["kernel", "Gbit/s: median (min .. max)", "connections", "min % mmap'ed"]))
    L.append("\nPer round (the stock and the patched boot of a round ran one after the other; Gbit/s is the "
             "median of the boot's connections; *other CPUs* is what the rest of the host used during the boot):\n")
    L.append(md_table([[x["round"], fmt(x["stock_gbit"]), fmt(x["patched_gbit"]), fmt(x["ratio"]),
                        " / ".join(fmt(o) for o in x["host_other_cpus"]), "yes" if x["quiet"] else "no"]
                       for x in t["per_round"]],
                      ["round", "stock Gbit/s", "patched Gbit/s", "patched / stock", "other CPUs (stock / patched)",
                       f"quiet (< {QUIET_CPUS:g})"]))
    L.append(f"\nHeadline: median of the per-round ratios over {t['headline_over']} ({t['quiet_rounds']} quiet of "
             f"{len(t['per_round'])}): {sp(t['paired_ratio'])}. All rounds: {sp(t['paired_ratio_all_rounds'])}. "
             f"Ratio of the medians of all connections {fmt(t['ratio_of_medians'])}; best-of-N (max over max) "
             f"{fmt(t['best_of_ratio'])}; speed-normalized (each connection's Gbit times the guest's time for a fixed "
             f"CPU loop run just before and after it, over the median of that time): "
             f"{fmt(t['speed_normalized_ratio'])}. The guest's vCPUs are host threads: other work on the host slows a "
             "whole boot, which is why the kernels alternate (stock, patched, patched, stock, ...) and the headline "
             "pairs the two boots of a round and leaves out busy rounds.\n")
    if t["quiet_rounds"] < 2:
        L.append("**Warning:** fewer than two quiet rounds: the host was busy, the tcp_mmap ratio is not a firm "
                 "number. Run `make bench` again on an idle machine.\n")
    L.append("\n![tcp_mmap](tcp_mmap.svg)\n")
    L.append("### 5. ksmd merging beside mmap writers (`vmalock_bench ksm`)\n")
    rows = []
    for n, name in KSM_WRITERS.items():
        for x in k[n]["per_round"]:
            rows.append([n, x["round"], fmt(x["stock"]["merge_ms"], " ms"), fmt(x["patched"]["merge_ms"], " ms"),
                         fmt(x["stock"]["merge_ms"] / x["patched"]["merge_ms"]),
                         f"{fmt(x['stock']['writer_ops_per_s'])} / {fmt(x['patched']['writer_ops_per_s'])}",
                         x["stock"]["timed_out"] + x["patched"]["timed_out"]])
    L.append(md_table(rows, ["writers", "round", "stock: ms to merge", "patched: ms to merge", "stock / patched",
                             "writer loops per s, stock / patched (mmap, 2 mprotect, munmap)", "trials timed out"]))
    L.append("\n" + "; ".join(f"`{name}` = {sp(k[n]['stock_over_patched'])}" for n, name in KSM_WRITERS.items())
             + ". Each boot's figure is the median of its trials; the ratio pairs the two boots of a round.\n")
    L.append("\n![ksm](ksm.svg)\n")
    L.extend(slab_md)
    L.append("### 6b. Write faults, alone and beside an mmap writer (`vmalock_bench fault`, both kernels)\n")
    frows = []
    for c, v in res["fault"]["per_case"].items():
        for x in v:
            frows.append([c, x["round"], f"{x['stock'] / 1e3:.1f} k/s", f"{x['patched'] / 1e3:.1f} k/s", fmt(x["ratio"])])
    L.append(md_table(frows, ["kind-writer", "round", "stock faults/s", "patched faults/s", "patched / stock"]))
    L.append("\n" + "; ".join(f"`{c}` {sp(r)}" for c, r in res["fault"]["ratio"].items())
             + f". `smp_fault_patched_over_stock` (geometric mean of the three kinds with the writer, per round): "
             f"{sp(res['fault']['gmean_with_writer'])}.\n")
    L.append("### 7. Turnaround\n")
    L.append(md_table([[k, v] for k, v in turn.items()], ["step", "time"]))
    L.append("\n`make bench` does not time `make check` (a cold run takes too long); these are the README's figures.\n")
    L.append("\n### Method\n")
    L.append("""- Both kernels are built from one config (`BENCH_CONFIG`, default `bench`); stock is Debian's 7.3.4 source
  unpatched, patched has `patches/`.
  Each kernel boots once per round (`ROUNDS`, order alternating) with `kunit.enable=0`.
- The module (`/dev/vmalock`) needs the patched kernel (new kernel-crate API), so measurements 1-3 run in the
  patched boot only; RCU and MMAP modes are the baselines there. tcp_mmap runs in both boots.
- 1: `VMALOCK_IOC_BENCH` per mode, modes in rotating order per trial; ratio per trial, median over trials.
  UNLOCKED calls `vma_start_read_unlocked()` alone, as its callers do: the headline. The module's WAIT mode
  tries `lock_vma_under_rcu()` first and calls the helper only when that fails (so that it can report whether
  it waited); it is shown for comparison.
- 2: one writer thread, one reader thread timing each `VMALOCK_IOC_LOOKUP` with `clock_gettime(CLOCK_MONOTONIC)`
  for a fixed time per mode. The reader pauses 0.1-1 ms (random) between calls, so that each call starts at a
  random point of the writer's cycle (a back-to-back reader would mostly sample the short gaps between two
  holds: coordinated omission). Writers: `hold` = `HOLD_MMAP_WRITE` (20 ms, no VMA write lock) back to back (headline);
  `mprotect` = `mprotect()` toggling PROT_READ / PROT_READ|PROT_WRITE on a populated 64 MiB region, back to back.
  The looked-up VMA is a shared anonymous page (never merged with the writer's region).
- 2b: the writer holds mmap_lock and write-locks the looked-up VMA for 200 ms; once an RCU LOOKUP fails (the VMA is
  write-locked), the reader times one WAIT LOOKUP (wall and thread CPU time).
- 3: a 256-page pool is released to the LRU before every scan; each scan is one `RECLAIM` with nr_to_scan=32,
  alternating VMA-trylock and mmap-trylock scans, while the writer runs on another region. Ratio per trial:
  (pages freed by VMA-trylock scans + 1) / (pages freed by mmap-trylock scans + 1).
- 4: one tcp_mmap server (`-z`, MSS one page), sequential time-limited clients; the first connection of a boot
  is a warm-up; the server's Gbit per connection. Per round: median patched Gbit over median stock Gbit of
  the round's two boots. Headline: median over the quiet rounds (the rest of the host, measured from
  `/proc/stat` minus the boot's own CPU time, used < QUIET_CPUS during both boots), spread = min..max of those.
- 5: `vmalock_bench ksm N TRIALS PAGES`: a private anonymous region of PAGES identical pages (a content of its own per
  trial), `MADV_MERGEABLE`, ksmd at `pages_to_scan` 256 and `sleep_millisecs` 20, `use_zero_pages` 0; N threads of the
  same process mmap, touch and munmap 16 unrelated pages in a loop (each mmap and munmap takes the mmap_lock for
  write). Time from madvise() until `ksm_merging_pages` reaches PAGES (timeout 120 s); every page is checked
  afterwards. Both kernels; stock over patched per round.
- 1b: the C module `vmalock_lookup_bench` (patched boot) times ITERS lookups, lock and unlock, of one anonymous
  page per caller and trial, callers in rotating order: `lock_vma_under_rcu()`, `vma_start_read_unlocked()` inline
  as the header defines it, and the helper behind a `noipa` function (an out-of-line call); ratio per trial.
- 6b: `vmalock_bench fault KIND WRITER TRIALS PAGES`: one write per page of a fresh mapping of PAGES pages (anon:
  private anonymous; shared: MAP_SHARED of a memfd; cow: MAP_PRIVATE of a memfd whose pages exist), timed; WRITER
  `mprotect` is a second thread of the process mapping a populated 4 MiB region, mprotecting it twice and unmapping
  it, in a loop. Each boot's figure is the median of its trials; the ratio pairs the two boots of a round.
- 6: `vmalock_bench slab TRIALS VMAS`: the two caches' lines of `/proc/slabinfo`, then per trial one mapping of
  VMAS pages with every other page made read-only (VMAS VMAs, counted in `/proc/self/maps`); its memory is the
  growth of the vm_area_struct cache's slab count times the pages per slab.
""".replace("QUIET_CPUS", f"{QUIET_CPUS:g} CPUs"))
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write("\n".join(L) + "\n")

    # One line per ratio.
    for k, v in ratios.items():
        sprd = spreads.get(k)
        extra = f"  [{fmt(sprd['min'])} .. {fmt(sprd['max'])}]" if sprd else ""
        print(f"{k:<42} {fmt(v):>8}  goal {GOALS[k][0]} {GOALS[k][1]:<5g} {verdict(k, v)}{extra}")
    for k, v in extra_ratios.items():
        print(f"  (info) {k:<35} {fmt(v):>8}")
    print(f"report: {os.path.join(a.out, 'report.md')}, {os.path.join(a.out, 'results.json')}")
    # A goal missed is a result; a measurement that produced nothing is a failure.
    broken = [k for k, v in ratios.items() if v is None]
    if any(b["flavor"] == "patched" for b in boots) and not res["lookup_call"]["trials"]:
        broken.append("lookup_call (no vmalock_lookup_bench result)")
    broken += [f"slab ({fl}: no result)" for fl in sorted({b["flavor"] for b in boots})
               if not res["slab"].get(fl, {}).get("bytes")]
    broken += [f"{b['flavor']} boot timed out" for b in boots if b["timed_out"]]
    broken += [f"{b['flavor']} step {r['name']} rc={r['rc']}" for b in boots for r in b["records"]
               if r.get("bench") == "step" and r.get("rc") != 0]
    if broken:
        print("error: incomplete measurements: " + ", ".join(broken), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
