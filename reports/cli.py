"""//reports:html: an HTML report (PNG plots + exact-number tables) of tpbench results JSON.

    bazel run //reports:html -- --results R.json [more.json ...] [--baseline B.json]
                                [--verdict V.json] [--measure-limit] --out DIR

The report is built by reports/page.py (also imported by //bench:sweep); this is its command
line. Errors in the inputs print a message naming the file and the field and exit 2.
"""

import argparse
import os
import sys

from reports.model import LIMIT_KEY, ReportError
from reports.page import build


def _user_path(p):
    if os.path.isabs(p):
        return p
    return os.path.normpath(os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd()), p))


def main(argv):
    ap = argparse.ArgumentParser(prog="html", description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", nargs="+", required=True, metavar="R.json",
                    help="results JSON files (tpbench / Google Benchmark schema)")
    ap.add_argument("--baseline", nargs="+", metavar="B.json", help="baseline results JSON")
    ap.add_argument("--verdict", metavar="V.json", help="the gate's verdict JSON")
    ap.add_argument("--out", required=True, metavar="DIR", help="output folder")
    ap.add_argument("--measure-limit", action="store_true",
                    help="measure host memcpy bandwidth now for the limit line when the results "
                         "context has no %s (only meaningful on the machine that ran them)"
                    % LIMIT_KEY)
    args = ap.parse_args(argv)  # exits 2 on usage errors
    try:
        index = build([_user_path(p) for p in args.results], _user_path(args.out),
                      [_user_path(p) for p in args.baseline] if args.baseline else None,
                      _user_path(args.verdict) if args.verdict else None, args.measure_limit)
    except ReportError as e:
        print("html: error: %s" % e, file=sys.stderr)
        return 2
    print("# report: %s" % index, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
