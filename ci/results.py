"""Reading tpbench results files for the CI gate and the baseline tool (shared helpers).

load(path) validates the parts of the result contract (docs/collectives.md) the gate relies on
and raises UsageError naming the file and the field when something is missing or malformed.
"""

import json
import math
import os
import re

TIMING_METRICS = ("time_us", "busbw_GBps", "step_ms", "fwd_ms", "bwd_ms")
EXACT_METRICS = ("wrong", "bytes_sent_per_rank", "msgs_per_rank", "comm_bytes_per_rank",
                 "comm_bytes_model", "peak_mem_bytes_per_rank")
# Google Benchmark appends these to the names of fixed-iteration, manual-time cases.
_SUFFIX = re.compile(r"(/iterations:\d+)?(/manual_time|/real_time)?(_[a-z]+)?$")
_BYTES = re.compile(r"(?:^|/)bytes:(\d+)(?:/|$)")


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
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stem(name):
    """Benchmark name without Google Benchmark's /iterations:N/manual_time suffix."""
    return _SUFFIX.sub("", name)


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


def load(path):
    """Reads a results (or baseline) file. Returns {"context": {...}, "cases": {key: case}}.

    key = (benchmark name stem, world_size or None); case = {"name", "world_size",
    "size_bytes", "samples": {metric: [values per repetition]}, "exact": {metric: [values]},
    "unchecked": repetitions of a collective without a `wrong` counter (run with -c 0)}.
    Only run_type "iteration" entries are samples; aggregates (mean, median, ...) are ignored.
    """
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise UsageError("%s: no such file" % path)
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError("%s: cannot read: %s" % (path, e))
    except ValueError as e:
        raise UsageError("%s: not valid JSON: %s" % (path, e))
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
    cases = {}
    for i, b in enumerate(benches):
        where = "benchmarks[%d]" % i
        if not isinstance(b, dict):
            raise UsageError("%s: %s: not an object" % (path, where))
        name = b.get("name")
        if not isinstance(name, str) or not name:
            raise UsageError("%s: %s.name: missing or empty" % (path, where))
        where = "%s (%s)" % (where, name)
        run_type = b.get("run_type", "iteration")
        if run_type != "iteration":
            continue  # aggregates: the gate works on the per-repetition samples
        base = b.get("run_name") if isinstance(b.get("run_name"), str) else name
        world = b.get("world_size")
        if world is not None and (isinstance(world, bool) or not isinstance(world, int)):
            raise UsageError("%s: %s: 'world_size' must be an integer, got %r"
                             % (path, where, world))
        key = (stem(base), world)
        case = cases.get(key)
        if case is None:
            size = _number(path, where, b, "size_bytes", False)
            if size is None:
                m = _BYTES.search(name)
                size = float(m.group(1)) if m else 0.0
            case = {"name": key[0], "world_size": world, "size_bytes": size,
                    "samples": {}, "exact": {}, "unchecked": 0}
            cases[key] = case
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
    if not cases:
        raise UsageError("%s: benchmarks: no run_type 'iteration' entries" % path)
    return {"context": ctx, "cases": cases, "raw": data}


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
