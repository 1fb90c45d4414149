"""The report's data model: results files read into Entries (one per benchmark case and world
size, with its fields from tpbench.schema), the gate's verdict, and number formatting.

Errors in the inputs (missing file, malformed JSON, a required field missing) raise
ReportError with a message naming the file and the field.
"""

import math
import statistics

from ci import gate_evaluate
from tpbench import results, schema

COLL_FIELDS = ("time_us", "busbw_GBps", "size_bytes")
LAYER_FIELDS = ("step_ms",)
LAYER_COUNTERS = ("fwd_ms", "bwd_ms", "step_ms", "comm_bytes_per_rank", "comm_bytes_model",
                  "tflops", "comm_ms", "comm_exposed_ms", "comm_frac", "max_rel_err",
                  "peak_mem_bytes_per_rank", "peak_mem_model_bytes_per_rank")
SMALL_MAX = 64 * 1024
LIMIT_KEY = "host_memcpy_GBps"


class ReportError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Reading

def _read_json(path, what):
    try:
        return results.read_json(path, what)
    except results.UsageError as e:
        raise ReportError(str(e))


def _num(b, key, path, where):
    v = b.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(float(v)):
        raise ReportError("%s: %s: required field '%s' missing or not a number"
                          % (path, where, key))
    return float(v)


class Entry(object):
    """One benchmark case: the mean over its iteration runs (or its 'mean' aggregate), and the
    stddev/cv aggregates when the run had repetitions."""

    def __init__(self, key, kind, parts):
        self.key = key          # (base name, world size)
        self.kind = kind        # "coll" or "layer" (layers and patterns)
        self.parts = parts      # the benchmark's fields (tpbench.schema.fields)
        # Layers: the row label, the name without its scheme (display only).
        self.label = key[0].replace(parts.get("scheme", "") + "/", "", 1) \
            if kind == "layer" else key[0]
        self.runs = []          # iteration runs (dicts)
        self.aggs = {}          # aggregate name -> dict
        self.source = None

    def value(self, counter):
        if "mean" in self.aggs and isinstance(self.aggs["mean"].get(counter), (int, float)):
            return float(self.aggs["mean"][counter])
        vals = [float(r[counter]) for r in self.runs if isinstance(r.get(counter), (int, float))]
        if not vals:
            return None
        return sum(vals) / len(vals)

    def cv_pct(self, counter):
        """Coefficient of variation in percent, from the cv or stddev aggregate; None if the
        run had no repetitions."""
        cv = self.aggs.get("cv", {}).get(counter)
        if isinstance(cv, (int, float)):
            return 100.0 * float(cv)
        sd = self.aggs.get("stddev", {}).get(counter)
        mean = self.value(counter)
        if isinstance(sd, (int, float)) and mean:
            return 100.0 * float(sd) / abs(mean)
        vals = self.samples(counter)
        if not self.aggs and len(vals) >= 2 and mean:
            # Interleaved rounds (//bench:layers --rounds): one run per round, no aggregates.
            return 100.0 * statistics.stdev(vals) / abs(mean)
        return None

    def samples(self, counter):
        """The counter's value in every iteration run (one per repetition or round)."""
        return [float(r[counter]) for r in self.runs if isinstance(r.get(counter), (int, float))]


class Results(object):
    def __init__(self):
        self.files = []      # (path, context)
        self.entries = {}    # key -> Entry
        self.replaced = []   # (key, earlier file, later file)

    def coll(self):
        return [e for e in self.entries.values() if e.kind == "coll"]

    def layers(self):
        return [e for e in self.entries.values() if e.kind == "layer"]


def _check_top(path, data):
    if not isinstance(data, dict):
        raise ReportError("%s: top level must be an object with 'context' and 'benchmarks'"
                          % path)
    for k, t in (("context", dict), ("benchmarks", list)):
        if k not in data:
            raise ReportError("%s: required field '%s' missing" % (path, k))
        if not isinstance(data[k], t):
            raise ReportError("%s: field '%s' must be a JSON %s"
                              % (path, k, "object" if t is dict else "list"))


def _world_size(b, ctx_world, path, where):
    ws = b.get("world_size")
    if isinstance(ws, (int, float)) and not isinstance(ws, bool):
        return int(ws)
    if ctx_world.isdigit():
        return int(ctx_world)
    if isinstance(b.get("ranks"), (int, float)):
        return int(b["ranks"])
    raise ReportError("%s: %s: required field 'world_size' missing (and the "
                      "context's world_size is not a single number)" % (path, where))


def _add_benchmark(res, path, ctx_world, i, b):
    """One benchmarks[i] entry into its Entry (iteration runs and mean/stddev/cv aggregates)."""
    if not isinstance(b, dict):
        raise ReportError("%s: benchmarks[%d] is not an object" % (path, i))
    name = b.get("name")
    if not isinstance(name, str) or not name:
        raise ReportError("%s: benchmarks[%d]: required field 'name' missing" % (path, i))
    where = "benchmarks[%d] (%s)" % (i, name)
    if b.get("error_occurred"):
        return
    run_type = b.get("run_type", "iteration")
    src = b.get("run_name") if run_type == "aggregate" and b.get("run_name") else name
    fields = schema.fields(b)
    kind = "coll" if fields["kind"] == "collective" else "layer"
    if run_type == "aggregate" and b.get("aggregate_name") not in ("mean", "stddev", "cv"):
        return  # median etc.: not used
    for k in COLL_FIELDS if kind == "coll" else LAYER_FIELDS:
        _num(b, k, path, where)
    key = (schema.stem(src), _world_size(b, ctx_world, path, where))
    e = res.entries.get(key)
    if e is not None and e.source != path:
        # The same case in a later file replaces the earlier one (never mixed).
        res.replaced.append((key, e.source, path))
        e = None
    if e is None:
        e = res.entries[key] = Entry(key, kind, fields)
        e.source = path
    if run_type == "aggregate":
        e.aggs[b["aggregate_name"]] = b
    else:
        e.runs.append(b)


def load_results(paths, what="results"):
    res = Results()
    for path in paths:
        data = _read_json(path, what)
        _check_top(path, data)
        ctx = data["context"]
        res.files.append((path, ctx))
        ctx_world = str(ctx.get("world_size", ""))
        for i, b in enumerate(data["benchmarks"]):
            _add_benchmark(res, path, ctx_world, i, b)
    # An entry seen only through aggregates other than mean has no value; drop it.
    res.entries = {k: e for k, e in res.entries.items() if e.runs or "mean" in e.aggs}
    return res


def load_verdict(path):
    data = _read_json(path, "verdict")
    if not isinstance(data, dict):
        raise ReportError("%s: top level must be an object with 'verdict'" % path)
    v = data.get("verdict")
    if not isinstance(v, str) or not v:
        raise ReportError("%s: required field 'verdict' missing or not a string (\"pass\", "
                          "\"fail\", ...)" % path)
    regs = data.get("regressions", [])
    if not isinstance(regs, list):
        raise ReportError("%s: field 'regressions' must be a list" % path)
    for i, r in enumerate(regs):
        if not isinstance(r, dict):
            raise ReportError("%s: regressions[%d] is not an object" % (path, i))
    return data


def fmt(v):
    """Numbers in tables: 6 significant digits (the test compares against the same)."""
    if v is None:
        return "-"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return "%d" % int(v)
    return "%.6g" % v


def fmt_size(n):
    n = int(n)
    for unit, s in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= s and n % s == 0:
            return "%d %s" % (n // s, unit)
    return "%d B" % n


def gate_verdict(results_paths, baseline_paths):
    """The gate's verdict for one results file against one baseline, computed with //ci:gate's
    own code (evaluate); (verdict, how it was obtained). Raises ReportError with the gate's
    message when it refuses the inputs (e.g. a baseline without its recorded metadata)."""
    if len(results_paths) != 1 or len(baseline_paths) != 1:
        raise ReportError("--baseline: the gate compares one results file with one baseline "
                          "(got %d and %d); run //ci:gate and pass its verdict.json with "
                          "--verdict" % (len(results_paths), len(baseline_paths)))
    try:
        res = results.load(results_paths[0])
        base = results.load(baseline_paths[0])
        results.check_baseline_metadata(baseline_paths[0], base)
    except results.UsageError as e:
        raise ReportError("%s (the gate refuses it)" % e)
    v = gate_evaluate.evaluate(res, base, baseline_path=baseline_paths[0])
    v = {k: x for k, x in v.items() if not k.startswith("_")}
    return v, ("computed with //ci:gate's evaluate (timing mode fail): %s against %s"
               % (results_paths[0], baseline_paths[0]))
