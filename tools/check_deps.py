#!/usr/bin/python3
"""tools/check_deps.py: fails when a C++ include goes against tpbench's layering.

    /usr/bin/python3 tools/check_deps.py [--root DIR]

Dependencies point one way: bench -> layers -> patterns -> comm (docs/runtime.md). Every
#include "X/..." of a .h/.cc/.cu/.cuh file under comm/, patterns/, layers/ or bench/ is
checked: a file may include its own folder and the folders below it, never one above
(comm must not include patterns, layers or bench; patterns must not include layers or
bench; layers must not include bench). Bazel labels "//X..." in the BUILD files of those
folders are checked the same way, except the edges listed in ALLOWED_BUILD_EDGES. Prints
each violation as "path:line: <folder>/ must not include <header> (...)" (or "must not
depend on <label>") and exits 1; exits 0 when clean. Run by //tools:check_deps_test (which
also feeds it violating fixtures).
"""

import argparse
import os
import re
import sys

# Lowest first: a folder may include only folders at or before its own position.
LAYERS = ["comm", "patterns", "layers", "bench"]
SUFFIXES = (".h", ".cc", ".cu", ".cuh")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
LABEL = re.compile(r'"(//([A-Za-z0-9_]+)[^"]*)"')
BUILD_FILES = ("BUILD", "BUILD.bazel")

# Upward BUILD edges kept on purpose, each with its reason: (BUILD file, label) -> why.
ALLOWED_BUILD_EDGES = {
    ("comm/BUILD", "//patterns:backends"):
        "//comm:world is an alias of the backend bundle for comm's own end-to-end tests "
        "(smoke, fault and timeout tests run the real backends, which are assembled above "
        "comm); library code above comm depends on //patterns:backends",
}


def violations(root):
    """Yields (path, line number, folder, header) for every include that goes upward."""
    for folder in LAYERS:
        base = os.path.join(root, folder)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if name.endswith(SUFFIXES):
                    yield from _check_file(root, path, folder, INCLUDE, 1)
                elif name in BUILD_FILES:
                    yield from _check_file(root, path, folder, LABEL, 2)


def _check_file(root, path, folder, pattern, top_group):
    """Yields the references of one file (includes or BUILD labels) that go upward."""
    rank = LAYERS.index(folder)
    rel = os.path.relpath(path, root)
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            if line.lstrip().startswith("#") and pattern is LABEL:
                continue  # a BUILD comment
            for m in pattern.finditer(line) if pattern is LABEL else [pattern.match(line)]:
                if not m:
                    continue
                top = m.group(top_group).split("/", 1)[0]
                if top not in LAYERS or LAYERS.index(top) <= rank:
                    continue
                if (rel, m.group(1)) not in ALLOWED_BUILD_EDGES:
                    yield rel, number, folder, m.group(1)


def main(argv):
    here = os.path.dirname(os.path.realpath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.path.dirname(here),
                        help="workspace root (default: the one holding this script)")
    args = parser.parse_args(argv)
    if not all(os.path.isdir(os.path.join(args.root, d)) for d in LAYERS[:1]):
        print("check_deps: error: %s holds no comm/ folder" % args.root, file=sys.stderr)
        return 2
    order = " -> ".join(reversed(LAYERS))
    bad = 0
    for path, number, folder, header in violations(args.root):
        verb = "depend on" if header.startswith("//") else "include"
        print("%s:%d: %s/ must not %s %s (dependencies point one way: %s)" %
              (path, number, folder, verb, header, order))
        bad += 1
    if bad:
        print("check_deps: %d reference(s) against the layering" % bad, file=sys.stderr)
        return 1
    print("check_deps: ok (%s)" % order)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
