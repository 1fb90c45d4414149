"""The collective table for the Python tools: bench/collectives.json, which
//bench:collectives_list_test keeps equal to `//bench:collectives --list --json` (the C++ table
in comm/coll.h is the only source; nothing here repeats it)."""

import json
import os

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "bench", "collectives.json")


def _load():
    with open(_PATH) as f:
        return json.load(f)


TABLE = _load()
# Collective names in the table's order (all_reduce, all_gather, ...).
COLLECTIVES = tuple(c["name"] for c in TABLE["collectives"])
BACKENDS = tuple(TABLE["backends"])
_BY_NAME = {c["name"]: c for c in TABLE["collectives"]}


def info(coll):
    """The table's row for one collective (reduces, has_root, algorithms, ...); None if unknown."""
    return _BY_NAME.get(coll)


def bus_factor(coll, n):
    """nccl-tests' bus bandwidth factor of `coll` on n ranks: bus_scale x (n + bus_shift) / n."""
    c = _BY_NAME[coll]
    return float(c["bus_scale"]) * (n + c["bus_shift"]) / n
