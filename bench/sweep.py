"""//bench:sweep: runs a sweep definition and merges everything into one results JSON.

    bazel run //bench:sweep                       # the default sweep (bench/sweeps/default.sweep)
    bazel run //bench:sweep -- --quick            # the CI-sized sweep (bench/sweeps/quick.sweep)
    bazel run //bench:sweep -- --sweep my.sweep --out results/mine

Every entry is validated for every world size it lists before anything runs; then each world
size is launched once per benchmark binary (`<binary> --np N --sweep FILE`), and the parts are
merged into <out>/results.json (Google Benchmark's schema; each benchmark gains "world_size").
The path is printed at the end, then the HTML report is written to <out>/report/ (//reports:html;
`# report: <path>/index.html`). Exit code: the worst of the parts (7 wrong results, 4 hang,
3 backend, 2 usage), 0 when every part passed.
"""

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys

from reports import page
from tpbench import results

BINARIES = ("collectives", "layers", "patterns")


def runfiles_path(rel):
    """Path of a data dependency (workspace-relative) in this py_binary's runfiles."""
    for base in (os.environ.get("RUNFILES_DIR"), os.path.abspath(sys.argv[0]) + ".runfiles"):
        if base:
            p = os.path.join(base, "tpbench", rel)
            if os.path.exists(p):
                return p
    here = os.path.dirname(os.path.abspath(__file__))
    p = os.path.join(os.path.dirname(here), rel)
    return p


def user_path(p):
    """Resolves a user-given path against where `bazel run` was typed."""
    if os.path.isabs(p):
        return p
    return os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd()), p)


class SweepError(Exception):
    pass


def read_entries(path):
    """(binary, [ranks]) of each entry; the binaries themselves validate their flags."""
    entries = []
    pending, start = "", 0
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].rstrip()
            if not pending:
                start = lineno
            if line.endswith("\\"):
                pending += " " + line[:-1]
                continue
            words = (pending + " " + line).split()
            pending = ""
            if not words:
                continue
            where = "%s:%d" % (path, start)
            if words[0] not in BINARIES:
                raise SweepError("%s: unknown benchmark '%s'; valid: %s"
                                 % (where, words[0], ", ".join(BINARIES)))
            ranks = [w[len("ranks="):] for w in words if w.startswith("ranks=")]
            try:
                sizes = sorted({int(r) for spec in ranks for r in spec.split(",") if r})
            except ValueError:
                raise SweepError("%s: ranks= takes numbers, e.g. ranks=2,4" % where)
            if not sizes or min(sizes) < 1:
                raise SweepError("%s: the entry has no ranks=N[,M...]" % where)
            entries.append((words[0], sizes))
    return entries


def command_line(argv):
    """The command that ran this sweep, as the user typed it: `bazel run //bench:sweep -- ARGS`
    under bazel run (BUILD_WORKING_DIRECTORY set), else the script and its arguments."""
    if os.environ.get("BUILD_WORKING_DIRECTORY"):
        return " ".join(["bazel", "run", "//bench:sweep"] +
                        (["--"] + [shlex.quote(a) for a in argv] if argv else []))
    return " ".join(shlex.quote(a) for a in [sys.argv[0]] + list(argv))


def merge(parts, sweep_path, command=None):
    return results.merge_parts(parts, sweep_path, command)


def main(argv):
    ap = argparse.ArgumentParser(prog="sweep", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sweep", help="sweep definition (default: bench/sweeps/default.sweep)")
    ap.add_argument("--quick", action="store_true", help="run bench/sweeps/quick.sweep")
    ap.add_argument("--out", help="output folder (default: results/<timestamp>)")
    ap.add_argument("--no-report", action="store_true",
                    help="skip the HTML report (<out>/report/index.html)")
    args, extra = ap.parse_known_args(argv)
    bad = [a for a in extra if not a.startswith("--benchmark_")]
    if bad:
        print("sweep: error: unknown flag %s (see --help)" % bad[0], file=sys.stderr)
        return 2
    if args.sweep:
        sweep = user_path(args.sweep)
    else:
        sweep = runfiles_path("bench/sweeps/%s.sweep" % ("quick" if args.quick else "default"))
    if not os.path.exists(sweep):
        print("sweep: error: sweep file '%s' does not exist" % sweep, file=sys.stderr)
        return 2
    try:
        entries = read_entries(sweep)
    except SweepError as e:
        print("sweep: error: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("sweep: error: %s: %s" % (sweep, e), file=sys.stderr)
        return 2
    plan = {}
    for binary, sizes in entries:
        for n in sizes:
            plan.setdefault(n, [])
            if binary not in plan[n]:
                plan[n].append(binary)
    if not plan:
        print("sweep: error: %s has no entries" % sweep, file=sys.stderr)
        return 2

    # Validate every entry at every world size before anything runs.
    for binary in sorted({b for bs in plan.values() for b in bs}):
        exe = runfiles_path("bench/" + binary)
        if not os.path.exists(exe):
            print("sweep: error: benchmark binary '%s' is not built into this runner" % binary,
                  file=sys.stderr)
            return 2
        rc = subprocess.call([exe, "--check-sweep", sweep])
        if rc != 0:
            return rc

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = user_path(args.out or os.path.join("results", stamp))
    os.makedirs(os.path.join(out, "parts"), exist_ok=True)
    parts, worst = [], 0
    for n in sorted(plan):
        for binary in plan[n]:
            part = os.path.join(out, "parts", "%s-np%d.json" % (binary, n))
            cmd = [runfiles_path("bench/" + binary), "--np", str(n), "--sweep", sweep,
                   "--benchmark_out=" + part] + extra
            print("# sweep: %s on %d ranks" % (binary, n), flush=True)
            rc = subprocess.call(cmd)
            if os.path.exists(part):
                parts.append((n, part))
            if rc != 0:
                print("sweep: %s on %d ranks exited %d" % (binary, n, rc), file=sys.stderr)
                worst = max(worst, rc)
    if not parts:
        print("sweep: error: no part produced results", file=sys.stderr)
        return worst or 3
    merged = merge(parts, sweep, command_line(argv))
    path = os.path.join(out, "results.json")
    results.write_atomically(path, json.dumps(merged, indent=1))
    print("# sweep results: %s" % path, flush=True)
    if not args.no_report:
        write_report(path, os.path.join(out, "report"))
    return worst


def write_report(results, out):
    """<out>/index.html from //reports:html's library; a failure here is reported but does not
    change the sweep's exit code (results.json is the product)."""
    try:
        # Same machine, right after the run: the memcpy limit line is measured here.
        index = page.build([results], out, measure_limit=True)
    except page.ReportError as e:
        print("sweep: report not written: %s" % e, file=sys.stderr)
        return
    print("# report: %s" % index, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
