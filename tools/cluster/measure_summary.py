#!/usr/bin/python3
"""tools/cluster/measure_summary.py: the tables of tools/cluster/measure.sh's results.

    /usr/bin/python3 tools/cluster/measure_summary.py DIR

Reads DIR/coll_<link>_<N>x<R>_<candidate>_r<round>.json and DIR/layers_<link>.json (Google
Benchmark JSON of //bench:collectives and //bench:layers) and DIR/runs.log, and prints
Markdown: per link and size, each all-reduce candidate's median busbw over the rounds, its
spread (min-max) and the median as a fraction of the link rate; per link, the 1D layer's step
time with overlap on and off (medians, spread, gain = off / on - 1) and the one-sided
Mann-Whitney p that off is slower (py/tpbench/mannwhitney.py, as the report's overlap table);
from DIR/thr_<link>_<N>x<R>_r<round>.json, per size each all-reduce algorithm's median time and
the fastest, and the smallest size from which hierarchical is the fastest at every larger one.
Exits 2 naming the problem when DIR holds no results or a file is not results JSON.
"""

import glob
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "py"))
from tpbench import mannwhitney  # noqa: E402  pylint: disable=wrong-import-position

COLL = re.compile(r"coll_(?P<link>[^_]+)_(?P<shape>\d+x\d+)_(?P<cand>[a-z]+)_r(?P<round>\d+)\.json$")
THRESHOLD = re.compile(r"thr_(?P<link>[^_]+)_(?P<shape>\d+x\d+)_r(?P<round>\d+)\.json$")
LAYERS = re.compile(r"layers_(?P<link>[^_]+)\.json$")
RATE = re.compile(r"^(?P<num>[0-9.]+)(?P<unit>bit|kbit|mbit|gbit)$")
UNIT = {"bit": 1.0, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9}
CANDIDATES = ("hierarchical", "ring", "mpi")


class SummaryError(Exception):
    pass


def link_gbytes(link):
    """A tc rate such as 1gbit in GB/s (1e9 bytes), the unit of busbw_GBps."""
    m = RATE.match(link)
    if not m:
        raise SummaryError("link rate '%s' is not like 1gbit" % link)
    return float(m.group("num")) * UNIT[m.group("unit")] / 8e9


def load_benchmarks(path):
    try:
        with open(path, encoding="utf-8") as f:
            runs = json.load(f)["benchmarks"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SummaryError("%s is not benchmark results JSON: %s" % (path, e)) from e
    return [b for b in runs if b.get("run_type", "iteration") == "iteration"]


def spread(values, fmt):
    return "%s (%s-%s)" % (fmt % statistics.median(values), fmt % min(values), fmt % max(values))


def collect_allreduce(folder):
    """{(link, shape): {size: {candidate: [busbw per round]}}}"""
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "coll_*.json"))):
        m = COLL.search(os.path.basename(path))
        if not m:
            continue
        sizes = out.setdefault((m.group("link"), m.group("shape")), {})
        for b in load_benchmarks(path):
            if b.get("wrong", 0) != 0:
                raise SummaryError("%s: %s has wrong results" % (path, b.get("name")))
            per = sizes.setdefault(int(b["size_bytes"]), {})
            per.setdefault(m.group("cand"), []).append(float(b["busbw_GBps"]))
    return out


def allreduce_tables(data):
    lines = []
    for (link, shape), sizes in sorted(data.items()):
        rate = link_gbytes(link)
        rounds = max(len(v) for per in sizes.values() for v in per.values())
        lines += ["", "All-reduce, %s nodes x ranks, links %s (%.3f GB/s), %d rounds: busbw "
                  "GB/s, median (min-max), and median / link rate" % (shape, link, rate, rounds),
                  "", "| size | " + " | ".join(CANDIDATES) + " |",
                  "|---|" + "---|" * len(CANDIDATES)]
        for size in sorted(sizes):
            cells = []
            for c in CANDIDATES:
                v = sizes[size].get(c)
                cells.append("%s, %.2f" % (spread(v, "%.4f"), statistics.median(v) / rate)
                             if v else "-")
            lines.append("| %s | %s |" % (human(size), " | ".join(cells)))
    return lines


def collect_threshold(folder):
    """{(link, shape): {size: {algo: [time_us per round]}}}"""
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "thr_*.json"))):
        m = THRESHOLD.search(os.path.basename(path))
        if not m:
            continue
        sizes = out.setdefault((m.group("link"), m.group("shape")), {})
        for b in load_benchmarks(path):
            if b.get("wrong", 0) != 0:
                raise SummaryError("%s: %s has wrong results" % (path, b.get("name")))
            algo = b.get("fields", {}).get("algo", "?")
            sizes.setdefault(int(b["size_bytes"]), {}).setdefault(algo, []).append(
                float(b["time_us"]))
    return out


def threshold_tables(data):
    lines = []
    for (link, shape), sizes in sorted(data.items()):
        algos = sorted({a for per in sizes.values() for a in per})
        lines += ["", "All-reduce time per op, %s nodes x ranks, links %s: us, median (min-max) "
                  "over rounds; the fastest median in bold" % (shape, link), "",
                  "| size | " + " | ".join(algos) + " |", "|---|" + "---|" * len(algos)]
        winners = []
        for size in sorted(sizes):
            med = {a: statistics.median(v) for a, v in sizes[size].items()}
            best = min(med, key=med.get)
            winners.append((size, best))
            cells = [("**%s**" if a == best else "%s") % spread(sizes[size][a], "%.0f")
                     if a in sizes[size] else "-" for a in algos]
            lines.append("| %s | %s |" % (human(size), " | ".join(cells)))
        start = None
        for size, best in reversed(winners):
            if best != "hierarchical":
                break
            start = size
        lines += ["", "hierarchical fastest from %s on (every larger size measured)" %
                  (human(start) if start is not None else "no size")]
    return lines


def layer_tables(folder):
    lines = []
    for path in sorted(glob.glob(os.path.join(folder, "layers_*.json"))):
        m = LAYERS.search(os.path.basename(path))
        if not m:
            continue
        steps, exposed = {}, {}
        for b in load_benchmarks(path):
            mode = re.search(r"/overlap:(on|off)/", b.get("name", ""))
            if mode:
                case = b["name"].split("/overlap:")[0]
                steps.setdefault(case, {}).setdefault(mode.group(1), []).append(
                    float(b["step_ms"]))
                exposed.setdefault(case, {}).setdefault(mode.group(1), []).append(
                    (b.get("comm_exposed_ms"), b.get("comm_ms")))
        for case, by in sorted(steps.items()):
            on, off = by.get("on", []), by.get("off", [])
            if len(on) < 2 or len(off) < 2:
                raise SummaryError("%s: %s needs 2+ samples each of overlap on and off" %
                                   (path, case))
            p = mannwhitney.mannwhitneyu(off, on, alternative="greater")[1]
            gain = 100.0 * (statistics.median(off) / statistics.median(on) - 1)
            lines += ["", "1D layer %s, TP group across 2 nodes, links %s: step ms, median "
                      "(min-max) of %d/%d rounds" % (case, m.group("link"), len(on), len(off)),
                      "", "| overlap on | overlap off | gain (off/on - 1) | p (off slower) |",
                      "|---|---|---|---|",
                      "| %s | %s | %+.1f%% | %.3g |" % (spread(on, "%.2f"), spread(off, "%.2f"),
                                                      gain, p)]
            lines += comm_line(exposed[case])
    return lines


def comm_line(by_mode):
    """Median exposed communication with overlap on and off (with the one-sided p that off
    exposes more), and the communication alone."""
    def values(mode, i):
        return [x[i] for x in by_mode.get(mode, []) if isinstance(x[i], (int, float))]

    def med(mode, i):
        v = values(mode, i)
        return "%.2f" % statistics.median(v) if v else "-"
    on, off = values("on", 0), values("off", 0)
    p = ("%.3g" % mannwhitney.mannwhitneyu(off, on, alternative="greater")[1]
         if len(on) >= 2 and len(off) >= 2 else "-")
    return ["", "Exposed communication ms (median): overlap on %s, off %s (p off exposes more: "
            "%s); the same collectives alone: %s." % (med("on", 0), med("off", 0), p,
                                                      med("on", 1))]


def load_lines(folder):
    path = os.path.join(folder, "runs.log")
    if not os.path.exists(path):
        return []
    loads = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 2 and parts[1] == "load":
                loads.append(float(parts[2]))
    if not loads:
        return []
    return ["", "Load average (1 min) before the %d runs: %.2f-%.2f, median %.2f; %d cores." %
            (len(loads), min(loads), max(loads), statistics.median(loads), os.cpu_count())]


def human(size):
    for unit, div in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= div and size % div == 0:
            return "%d %s" % (size // div, unit)
    return "%d B" % size


def summarize(folder):
    lines = (allreduce_tables(collect_allreduce(folder)) +
             threshold_tables(collect_threshold(folder)) + layer_tables(folder))
    if not lines:
        raise SummaryError("%s holds no coll_*.json, thr_*.json or layers_*.json results" %
                           folder)
    return "\n".join(lines + load_lines(folder)).lstrip("\n")


def main(argv):
    if len(argv) != 2:
        print("usage: measure_summary.py DIR", file=sys.stderr)
        return 2
    try:
        print(summarize(argv[1]))
    except SummaryError as e:
        print("measure_summary: error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
