#!/usr/bin/python3
"""tools/cluster/measure_summary.py: the tables of tools/cluster/measure.sh's results.

    /usr/bin/python3 tools/cluster/measure_summary.py DIR

Reads DIR/coll_<link>_<N>x<R>_<candidate>_r<round>.json and DIR/layers_<link>.json (Google
Benchmark JSON of //bench:collectives and //bench:layers) and DIR/runs.log, and prints
Markdown: per link and size, each all-reduce candidate's median busbw over the rounds, its
spread (min-max) and the median as a fraction of the link rate; per link, the 1D layer's step
time with overlap on and off (medians, spread, gain = off / on - 1) and the one-sided
Mann-Whitney p that off is slower (py/tpbench/mannwhitney.py, as the report's overlap table);
from DIR/thr_<link>_<N>x<R>[_<coll>]_r<round>.json, per collective and size each algorithm's
median time, the fastest, hierarchical against the fastest other (ratio, spreads apart or
overlapping), the winners by size and the smallest size from which hierarchical is the fastest
at every larger one; from DIR/corr_<link>_<N>x<R>.json, the results and collective-algorithm
pairs per backend, #wrong in all and for how many non-mpi results the bytes across nodes equal
the model (and that mpi reports none), with the time measure.sh logged for the run.
Exits 2 naming the problem when DIR holds no results or a file is not results JSON, 7 (after
the tables) when a correctness run has wrong results, bytes across nodes off the model or
missing, or inter-node counters on mpi.
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
THRESHOLD = re.compile(r"thr_(?P<link>[^_]+)_(?P<shape>\d+x\d+)(_[a-z_]+)?_r(?P<round>\d+)\.json$")
CORRECTNESS = re.compile(r"corr_(?P<link>[^_]+)_(?P<shape>\d+x\d+)\.json$")
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
    """{(link, shape, coll): {size: {algo: [time_us per round]}}}; the collective from the
    results (files of all-reduce-only runs, thr_<link>_<N>x<R>_r<round>.json, included)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "thr_*.json"))):
        m = THRESHOLD.search(os.path.basename(path))
        if not m:
            continue
        for b in load_benchmarks(path):
            if b.get("wrong", 0) != 0:
                raise SummaryError("%s: %s has wrong results" % (path, b.get("name")))
            fields = b.get("fields", {})
            key = (m.group("link"), m.group("shape"), fields.get("coll", "all_reduce"))
            out.setdefault(key, {}).setdefault(int(b["size_bytes"]), {}).setdefault(
                fields.get("algo", "?"), []).append(float(b["time_us"]))
    return out


def versus_flat(per):
    """Hierarchical against the fastest other algorithm at one size: 'flat (ratio of medians,
    apart|overlap)', ratio = hierarchical / flat, overlap when the min-max spreads meet."""
    flat = {a: v for a, v in per.items() if a != "hierarchical"}
    hier = per.get("hierarchical")
    if not flat or not hier:
        return "-"
    best = min(flat, key=lambda a: statistics.median(flat[a]))
    ratio = statistics.median(hier) / statistics.median(flat[best])
    apart = max(hier) < min(flat[best]) or min(hier) > max(flat[best])
    return "%s %.2f, %s" % (best, ratio, "apart" if apart else "overlap")


def threshold_tables(data):
    lines = []
    for (link, shape, coll), sizes in sorted(data.items()):
        algos = sorted({a for per in sizes.values() for a in per})
        rounds = max(len(v) for per in sizes.values() for v in per.values())
        lines += ["", "%s time per op, %s nodes x ranks, links %s, %d rounds: us, median "
                  "(min-max) over rounds; the fastest median in bold; hierarchical / the "
                  "fastest other (spreads apart or overlapping)" % (coll, shape, link, rounds),
                  "", "| size | " + " | ".join(algos) + " | hierarchical vs fastest other |",
                  "|---|" + "---|" * (len(algos) + 1)]
        winners = []
        for size in sorted(sizes):
            med = {a: statistics.median(v) for a, v in sizes[size].items()}
            best = min(med, key=med.get)
            winners.append((size, best))
            cells = [("**%s**" if a == best else "%s") % spread(sizes[size][a], "%.0f")
                     if a in sizes[size] else "-" for a in algos]
            lines.append("| %s | %s | %s |" % (human(size), " | ".join(cells),
                                               versus_flat(sizes[size])))
        start = None
        for size, best in reversed(winners):
            if best != "hierarchical":
                break
            start = size
        lines += ["", "%s: winners by size: %s" % (coll, ", ".join(
            "%s %s" % (human(size), best) for size, best in winners)),
                  "%s: hierarchical fastest from %s on (every larger size measured)" %
                  (coll, human(start) if start is not None else "no size"),
                  "%s: hierarchical's median below each other's from (every larger size): %s" %
                  (coll, pairwise_crossovers(sizes))]
    return lines


def pairwise_crossovers(sizes):
    """Per other algorithm, the smallest size from which hierarchical's median time is below
    its median at every larger size measured ('never' when not at the largest)."""
    others = sorted({a for per in sizes.values() for a in per} - {"hierarchical"})
    out = []
    for algo in others:
        start = None
        for size in sorted(sizes, reverse=True):
            per = sizes[size]
            if "hierarchical" not in per or algo not in per:
                continue
            if statistics.median(per["hierarchical"]) >= statistics.median(per[algo]):
                break
            start = size
        out.append("%s %s" % (algo, human(start) if start is not None else "never"))
    return ", ".join(out) if out else "-"


def collect_correctness(folder):
    """[(link, shape, path)] of DIR/corr_<link>_<N>x<R>.json"""
    found = []
    for path in sorted(glob.glob(os.path.join(folder, "corr_*.json"))):
        m = CORRECTNESS.search(os.path.basename(path))
        if m:
            found.append((m.group("link"), m.group("shape"), path))
    return found


def correctness_counts(path):
    """Counts of one correctness run: results and algorithms per backend, #wrong in all, ucx
    results whose bytes across nodes equal the model, mpi results carrying such counters."""
    c = {"results": {}, "algos": {}, "wrong": 0, "inter_model": 0, "inter_off": 0,
         "mpi_inter": 0}
    for b in load_benchmarks(path):
        if "wrong" not in b:
            continue
        f = b.get("fields", {})
        backend = f.get("backend", "?")
        c["results"][backend] = c["results"].get(backend, 0) + 1
        c["algos"].setdefault(backend, set()).add((f.get("coll"), f.get("algo")))
        c["wrong"] += int(b["wrong"])
        has = "inter_node_bytes_model" in b and "inter_node_bytes_per_rank" in b
        if backend == "mpi":
            c["mpi_inter"] += 1 if has else 0
        elif has and b["inter_node_bytes_model"] > 0 and (
                b["inter_node_bytes_per_rank"] == b["inter_node_bytes_model"]):
            c["inter_model"] += 1
        else:
            c["inter_off"] += 1
    return c


def took_seconds(folder, path):
    """The seconds measure.sh logged for the run writing path, or None."""
    log = os.path.join(folder, "runs.log")
    if not os.path.exists(log):
        return None
    with open(log, encoding="utf-8") as f:
        for line in f:
            m = re.search(r" took (\d+) s -> (\S+)$", line)
            if m and os.path.basename(m.group(2)) == os.path.basename(path):
                return int(m.group(1))
    return None


def correctness_lines(folder, failures):
    """One paragraph per correctness run; appends a line per failed run to failures."""
    lines = []
    for link, shape, path in collect_correctness(folder):
        c = correctness_counts(path)
        total = sum(c["results"].values())
        ucx = total - c["results"].get("mpi", 0)
        per = ", ".join("%s %d results / %d collective-algorithm pairs" %
                        (k, c["results"][k], len(c["algos"][k])) for k in sorted(c["results"]))
        took = took_seconds(folder, path)
        ok = total > 0 and c["wrong"] == 0 and c["inter_off"] == 0 and c["mpi_inter"] == 0
        lines += ["", "Correctness, %s nodes x ranks, links %s%s: %d results (%s); #wrong in "
                  "all %d; bytes across nodes = model for %d of %d non-mpi results; mpi results "
                  "with inter-node counters %d: %s" % (
                      shape, link, ", %d s" % took if took is not None else "", total, per,
                      c["wrong"], c["inter_model"], ucx, c["mpi_inter"],
                      "OK" if ok else "FAILED")]
        if not ok:
            failures.append("%s: %s" % (os.path.basename(path),
                                        "no results" if total == 0 else lines[-1]))
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


def summarize(folder, failures=None):
    """The summary's text; failed correctness runs are appended to failures."""
    failures = [] if failures is None else failures
    lines = (allreduce_tables(collect_allreduce(folder)) +
             threshold_tables(collect_threshold(folder)) + layer_tables(folder) +
             correctness_lines(folder, failures))
    if not lines:
        raise SummaryError("%s holds no coll_*.json, thr_*.json, layers_*.json or corr_*.json "
                           "results" % folder)
    return "\n".join(lines + load_lines(folder)).lstrip("\n")


def main(argv):
    if len(argv) != 2:
        print("usage: measure_summary.py DIR", file=sys.stderr)
        return 2
    failures = []
    try:
        print(summarize(argv[1], failures))
    except SummaryError as e:
        print("measure_summary: error: %s" % e, file=sys.stderr)
        return 2
    for f in failures:
        print("measure_summary: error: correctness failed: %s" % f, file=sys.stderr)
    return 7 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
