"""//reports:html: an HTML report (PNG plots + exact-number tables) of tpbench results JSON.

    bazel run //reports:html -- --results R.json [more.json ...] [--baseline B.json]
                                [--verdict V.json] [--measure-limit] --out DIR

The work is in reports/report.py (also imported by //bench:sweep); this is the entry point.
"""

import os
import sys

# Running reports/html.py puts reports/ first on sys.path, where this file would shadow the
# standard library's `html` module for everything imported later. Drop it; import the library
# from the workspace root instead (Bazel puts that on the path; add it for plain python3).
# (Python puts the script's real folder there, so compare against both paths.)
_here = os.path.dirname(os.path.abspath(__file__))
_shadow = {_here, os.path.dirname(os.path.realpath(__file__))}
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.getcwd()) not in _shadow]
_root = os.path.dirname(_here)
if _root not in sys.path:
    sys.path.append(_root)

from reports import report  # noqa: E402

if __name__ == "__main__":
    sys.exit(report.main(sys.argv[1:]))
