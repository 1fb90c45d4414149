"""Reading and writing tpbench results files (the gate, the baseline tool, the sweep).

load(path) validates the parts of the result contract (docs/collectives.md) the gate relies on
and raises UsageError naming the file and the field when something is missing or malformed.
merge_parts combines a sweep's per-binary parts into one results file.
"""

import json
import math
import os

from tpbench import schema
from tpbench.schema import EXACT_METRICS, TIMING_METRICS, stem  # noqa: F401 (re-exported)


class UsageError(Exception):
    """Bad input: exit code 2. The message names the file and the field."""


def user_path(p):
    """Resolves a user-given path against where `bazel run` was typed."""
    if os.path.isabs(p):
        return p
    return os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd()), p)


def workspace_dir():
    """The source tree (bazel run sets BUILD_WORKSPACE_DIRECTORY; else beside this file)."""
    ws = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    if ws:
        return ws
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_atomically(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _number(path, where, b, key, required):
    if key not in b:
        if required:
            raise UsageError("%s: %s: missing '%s'" % (path, where, key))
        return None
    v = b[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise UsageError("%s: %s: '%s' must be a finite number, got %r" % (path, where, key, v))
    return float(v)


def read_json(path, what="results"):
    """The parsed JSON of a results (baseline, verdict: what) file; UsageError naming the file
    otherwise."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        raise UsageError("%s: %s file does not exist" % (path, what))
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError("%s: cannot read %s file: %s" % (path, what,
                                                        getattr(e, "strerror", None) or e))
    try:
        return json.loads(text)
    except ValueError as e:
        raise UsageError("%s: malformed JSON: %s" % (path, e))


def _top_level(path, data):
    """(context, benchmarks) of a parsed results file, validated."""
    if not isinstance(data, dict):
        raise UsageError("%s: top level: expected an object with 'context' and 'benchmarks'"
                         % path)
    ctx = data.get("context")
    if not isinstance(ctx, dict):
        raise UsageError("%s: context: missing or not an object" % path)
    prof = ctx.get("machine_profile")
    if not isinstance(prof, str) or not prof:
        raise UsageError("%s: context.machine_profile: missing or empty" % path)
    benches = data.get("benchmarks")
    if not isinstance(benches, list):
        raise UsageError("%s: benchmarks: missing or not a list" % path)
    return ctx, benches


def _new_case(path, where, b, key):
    size = _number(path, where, b, "size_bytes", False)
    if size is None:  # old files: the size in the name (schema's fallback), else 0
        size = float(schema.fields(b).get("bytes") or 0)
    return {"name": key[0], "world_size": key[1], "size_bytes": size,
            "fields": schema.fields(b), "samples": {}, "exact": {}, "unchecked": 0}


def _add_sample(path, where, b, case):
    """Adds one repetition's timing and exact metrics to its case."""
    # Collectives carry time_us (and busbw_GBps); layer and pattern results step_ms.
    found = False
    for metric in TIMING_METRICS:
        v = _number(path, where, b, metric, False)
        if v is not None:
            found = True
            case["samples"].setdefault(metric, []).append(v)
    if not found or ("time_us" not in b and "step_ms" not in b):
        raise UsageError("%s: %s: missing 'time_us' (collectives) or 'step_ms' (layers)"
                         % (path, where))
    for metric in EXACT_METRICS:
        # Layer results check max_rel_err themselves (bench/check_results.py).
        v = _number(path, where, b, metric, False)
        if v is not None:
            case["exact"].setdefault(metric, []).append(v)
    if "time_us" in b and "wrong" not in b:
        # A collective run with -c 0 leaves `wrong` out: not checked, which is not 0.
        case["unchecked"] += 1


def _entry_key(path, i, b):
    """(where, key) of benchmarks[i]; key None for aggregates (not samples)."""
    where = "benchmarks[%d]" % i
    if not isinstance(b, dict):
        raise UsageError("%s: %s: not an object" % (path, where))
    name = b.get("name")
    if not isinstance(name, str) or not name:
        raise UsageError("%s: %s.name: missing or empty" % (path, where))
    where = "%s (%s)" % (where, name)
    if b.get("run_type", "iteration") != "iteration":
        return where, None  # aggregates: the gate works on the per-repetition samples
    base = b.get("run_name") if isinstance(b.get("run_name"), str) else name
    world = b.get("world_size")
    if world is not None and (isinstance(world, bool) or not isinstance(world, int)):
        raise UsageError("%s: %s: 'world_size' must be an integer, got %r"
                         % (path, where, world))
    return where, (stem(base), world)


def load(path, what="results"):
    """Reads a results (or baseline) file. Returns {"context": {...}, "cases": {key: case}}.

    key = (benchmark name stem, world_size or None); case = {"name", "world_size",
    "size_bytes", "fields" (schema.fields), "samples": {metric: [values per repetition]},
    "exact": {metric: [values]}, "unchecked": repetitions of a collective without a `wrong`
    counter (run with -c 0)}. Only run_type "iteration" entries are samples; aggregates (mean,
    median, ...) are ignored.
    """
    data = read_json(path, what)
    ctx, benches = _top_level(path, data)
    cases = {}
    for i, b in enumerate(benches):
        where, key = _entry_key(path, i, b)
        if key is None:
            continue
        if key not in cases:
            cases[key] = _new_case(path, where, b, key)
        _add_sample(path, where, b, cases[key])
    if not cases:
        raise UsageError("%s: benchmarks: no run_type 'iteration' entries" % path)
    return {"context": ctx, "cases": cases, "raw": data}


def merge_parts(parts, sweep_name, command=None):
    """One results document from a sweep's parts [(world size, path)]: every benchmark gains
    "world_size"; the context is the first part's with world_size, backend and mesh over all
    parts, the sweep's file name and (for //ci:baseline) the command that ran it."""
    merged = {"context": {}, "benchmarks": []}
    world_sizes, backends, meshes = [], [], []
    for world, part in parts:
        with open(part) as f:
            data = json.load(f)
        ctx = data.get("context", {})
        if not merged["context"]:
            merged["context"] = dict(ctx)
        world_sizes.append(str(world))
        for b in ctx.get("backend", "").split(","):
            if b and b not in backends:
                backends.append(b)
        meshes.append("%s ranks: %s" % (world, ctx.get("mesh", "world")))
        for bench in data.get("benchmarks", []):
            bench["world_size"] = world
            merged["benchmarks"].append(bench)
    merged["context"]["world_size"] = ",".join(world_sizes)
    merged["context"]["backend"] = ",".join(backends)
    merged["context"]["mesh"] = "; ".join(meshes)
    merged["context"]["sweep"] = os.path.basename(sweep_name)
    if command:
        merged["context"]["command"] = command  # //ci:baseline records it
    return merged


# What //ci:baseline records in context.tpbench_baseline and the gate requires of a baseline:
# the commit the results were measured at, when it was recorded, the machine profile, and the
# exact command that produced the results (docs/ci.md "Stored baselines").
BASELINE_METADATA = ("tpbench_version", "created", "machine_profile", "command")


def check_baseline_metadata(path, base):
    """Raises UsageError unless the loaded baseline carries the metadata //ci:baseline records
    (a hand-edited or spliced file does not)."""
    meta = base["context"].get("tpbench_baseline")
    how = ("baselines are written only by //ci:baseline (bazel run //ci:baseline -- --results "
           "R.json [--update]); re-record this one")
    if not isinstance(meta, dict):
        raise UsageError("%s: context.tpbench_baseline: missing: not a recorded baseline; %s"
                         % (path, how))
    for k in BASELINE_METADATA:
        v = meta.get(k)
        if not isinstance(v, str) or not v or v == "unknown":
            raise UsageError("%s: context.tpbench_baseline.%s: missing or empty; %s"
                             % (path, k, how))
    if meta["machine_profile"] != base["context"]["machine_profile"]:
        raise UsageError("%s: context.tpbench_baseline.machine_profile '%s' differs from "
                         "context.machine_profile '%s': the file was edited; %s"
                         % (path, meta["machine_profile"], base["context"]["machine_profile"],
                            how))
