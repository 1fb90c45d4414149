"""The results schema: which benchmark fields tools read, and where they come from.

Every benchmark entry written by //bench:collectives, //bench:layers and //bench:patterns
carries its fields as strings in b["fields"] (context.tpbench_schema = SCHEMA_VERSION):

- all: kind ("collective", "layer" or "pattern")
- collectives: coll, backend, algo, dtype, redop, root, inplace, groups
- layers and patterns: scheme (the name prefix: tp1d, tp1d-sp, tp2d, tp2p5d, tp3d, serial),
  case, dtype, batch, seq, hidden, heads, overlap ("on", "off"; "" for patterns), backend
  ("" for serial), ranks, and summa / depth where the scheme has them

Names are for display. fields(b) is the one reader; for files written before the fields
existed (the stored baselines, checked-in fixtures) it falls back to parse_name, the only
place a benchmark name is parsed.
"""

import re

from tpbench import collectives

SCHEMA_VERSION = 2
KINDS = ("collective", "layer", "pattern")
TIMING_METRICS = ("time_us", "busbw_GBps", "step_ms", "fwd_ms", "bwd_ms")
EXACT_METRICS = ("wrong", "bytes_sent_per_rank", "msgs_per_rank", "comm_bytes_per_rank",
                 "comm_bytes_model", "peak_mem_bytes_per_rank", "peak_mem_model_bytes_per_rank",
                 "inter_node_bytes_per_rank", "inter_node_bytes_model",
                 "inter_node_ranks_off_model")
# Collective results over ucx carry the bytes sent to other nodes, measured and modelled
# (bench/check_results.py checks measured == model).
INTER_NODE_METRICS = ("inter_node_bytes_per_rank", "inter_node_bytes_model",
                      "inter_node_ranks_off_model")
# Exact metrics added after baselines were stored: one the baseline lacks is not a failure
# (a baseline that has it must be matched).
ADDED_EXACT_METRICS = ("peak_mem_model_bytes_per_rank",) + INTER_NODE_METRICS
# Google Benchmark appends these to the names of fixed-iteration, manual-time cases.
_SUFFIX = re.compile(r"(/iterations:\d+)?(/manual_time|/real_time)?(_[a-z]+)?$")
_SHAPE_KEYS = {"b": "batch", "s": "seq", "h": "hidden", "nh": "heads"}


def stem(name):
    """Benchmark name without Google Benchmark's /iterations:N/manual_time suffix (and an
    aggregate's _mean, _cv, ...)."""
    return _SUFFIX.sub("", name)


def fields(b):
    """The tpbench fields of one benchmark entry (a dict of strings, always with "kind"):
    b["fields"] when the binary wrote them, else parsed from the name (older files)."""
    f = b.get("fields")
    if isinstance(f, dict) and isinstance(f.get("kind"), str):
        return dict(f)
    name = b.get("run_name") if isinstance(b.get("run_name"), str) else b.get("name")
    return parse_name(stem(name if isinstance(name, str) else ""))


def is_collective(b):
    return fields(b)["kind"] == "collective"


def _key_values(parts):
    out = {}
    for p in parts:
        for item in p.split(","):
            k, sep, v = item.partition(":")
            if sep:
                out[k] = v
    return out


def parse_name(name):
    """Fields from a benchmark name, for files without b["fields"]: the only name parser.

    coll/backend/algo/dtype/redop[/root:R]/bytes:N/inplace:I/ranks:N[/groups:G] (collectives;
    "bytes" only here: the binaries write the size as the size_bytes counter);
    comm/<scheme>/<case>/<dtype>/<shape>[/<tag>]/... (patterns);
    <scheme>/<case>/<dtype>/<shape>[/<tag>]/overlap:on|off[/backend:B]/ranks:N (layers)."""
    p = name.split("/")
    if p[0] in collectives.COLLECTIVES:
        kv = _key_values(p[5:])
        return {"kind": "collective", "coll": p[0],
                "backend": p[1] if len(p) > 1 else "?", "algo": p[2] if len(p) > 2 else "?",
                "dtype": p[3] if len(p) > 3 else "", "redop": p[4] if len(p) > 4 else "",
                "root": kv.get("root", ""), "inplace": kv.get("inplace", "0"),
                "groups": kv.get("groups", ""), "bytes": kv.get("bytes", "")}
    kind = "pattern" if p[0] == "comm" else "layer"
    q = p[1:] if kind == "pattern" else p
    kv = _key_values(q[3:])
    f = {"kind": kind, "scheme": q[0] if q else "", "case": q[1] if len(q) > 1 else "",
         "dtype": q[2] if len(q) > 2 else "", "overlap": kv.get("overlap", ""),
         # Patterns run over the ucx world; serial layers have no backend.
         "backend": kv.get("backend", "ucx" if kind == "pattern" else ""),
         "ranks": kv.get("ranks", "")}
    for short, long_name in _SHAPE_KEYS.items():
        f[long_name] = kv.get(short, "")
    for k in ("summa", "depth"):
        if k in kv:
            f[k] = kv[k]
    return f
