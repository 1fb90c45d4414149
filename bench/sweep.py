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

Long runs: every finished part stays in <out>/parts/ as valid JSON and <out>/sweep_state.json
records the plan and each part's outcome. A sweep interrupted (SIGINT/SIGTERM: exit 130/143)
or with a part that produced no results still writes results.json from the parts it has,
marked incomplete in its context ("incomplete": "true", "parts_missing": ...);

    bazel run //bench:sweep -- --resume results/mine

runs only the missing parts (same sweep file, copied into <out>, and the same flags) and merges
everything again. An output folder that cannot be written (missing parent of --out, read-only,
no space) is exit 2 before anything runs.
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import signal
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


# Free space an output folder needs before a sweep starts (the parts are a few MB at most).
MIN_FREE_BYTES = 4 << 20
STATE = "sweep_state.json"


def check_out_dir(out, user_given):
    """Raises SweepError (exit 2) when <out>/parts cannot be created and written, before any
    measuring: a missing parent of a user-given --out (a typo, not a folder to invent), a
    read-only place, a full disk (a probe write, then the free space)."""
    parent = os.path.dirname(os.path.abspath(out))
    if user_given and not os.path.isdir(parent):
        raise SweepError("--out %s: the parent folder %s does not exist" % (out, parent))
    try:
        os.makedirs(os.path.join(out, "parts"), exist_ok=True)
        probe = os.path.join(out, ".write-probe.%d" % os.getpid())
        with open(probe, "wb") as f:
            f.write(b"\0" * 65536)
            f.flush()
            os.fsync(f.fileno())
        os.remove(probe)
        st = os.statvfs(out)
    except OSError as e:
        raise SweepError("output folder %s cannot be written: %s" % (out, e.strerror or e))
    free = st.f_bavail * st.f_frsize
    if free < MIN_FREE_BYTES:
        raise SweepError("output folder %s has %d KiB free; a sweep needs at least %d KiB"
                         % (out, free >> 10, MIN_FREE_BYTES >> 10))


def part_is_valid(path):
    try:
        with open(path) as f:
            data = json.load(f)
        return isinstance(data, dict) and isinstance(data.get("benchmarks"), list)
    except (OSError, ValueError):
        return False


def merge(parts, sweep_path, command=None):
    return results.merge_parts(parts, sweep_path, command)


def _parser():
    ap = argparse.ArgumentParser(prog="sweep", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sweep", help="sweep definition (default: bench/sweeps/default.sweep)")
    ap.add_argument("--quick", action="store_true", help="run bench/sweeps/quick.sweep")
    ap.add_argument("--out", help="output folder (default: results/<timestamp>)")
    ap.add_argument("--no-report", action="store_true",
                    help="skip the HTML report (<out>/report/index.html)")
    ap.add_argument("--resume", metavar="DIR",
                    help="finish an interrupted or incomplete sweep in DIR (its parts not done)")
    return ap


def _plan(sweep):
    """{world size: [binaries]} of a sweep file (SweepError when it is unusable)."""
    if not os.path.exists(sweep):
        raise SweepError("sweep file '%s' does not exist" % sweep)
    try:
        entries = read_entries(sweep)
    except OSError as e:
        raise SweepError("%s: %s" % (sweep, e))
    plan = {}
    for binary, sizes in entries:
        for n in sizes:
            plan.setdefault(n, [])
            if binary not in plan[n]:
                plan[n].append(binary)
    if not plan:
        raise SweepError("%s has no entries" % sweep)
    return plan


def _check_entries(plan, sweep):
    """Every entry at every world size, validated by its binary before anything runs: the
    binary's exit code, or 0."""
    for binary in sorted({b for bs in plan.values() for b in bs}):
        exe = runfiles_path("bench/" + binary)
        if not os.path.exists(exe):
            raise SweepError("benchmark binary '%s' is not built into this runner" % binary)
        rc = subprocess.call([exe, "--check-sweep", sweep])
        if rc != 0:
            return rc
    return 0


def main(argv):
    args, extra = _parser().parse_known_args(argv)
    if args.resume:
        if args.sweep or args.quick or args.out or extra:
            print("sweep: error: --resume DIR takes no other flags than --no-report (the sweep "
                  "and its flags are DIR's)", file=sys.stderr)
            return 2
        return resume(user_path(args.resume), args.no_report)
    try:
        bad = [a for a in extra if not a.startswith("--benchmark_")]
        if bad:
            raise SweepError("unknown flag %s (see --help)" % bad[0])
        sweep = user_path(args.sweep) if args.sweep else runfiles_path(
            "bench/sweeps/%s.sweep" % ("quick" if args.quick else "default"))
        plan = _plan(sweep)
        rc = _check_entries(plan, sweep)
        if rc != 0:
            return rc
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = user_path(args.out or os.path.join("results", stamp))
        check_out_dir(out, args.out is not None)
    except SweepError as e:
        print("sweep: error: %s" % e, file=sys.stderr)
        return 2
    # The sweep file travels with the results so that --resume runs the same entries.
    copy = os.path.join(out, "sweep.sweep")
    if os.path.abspath(sweep) != os.path.abspath(copy):
        shutil.copyfile(sweep, copy)
    state = {"sweep": os.path.basename(sweep), "extra": extra, "command": command_line(argv),
             "plan": [[n, b] for n in sorted(plan) for b in plan[n]], "parts": {}}
    return run_parts(out, copy, state, args.no_report)


def resume(out, no_report):
    """--resume DIR: runs the parts of DIR's sweep that have no valid results, then merges."""
    path = os.path.join(out, STATE)
    try:
        with open(path) as f:
            state = json.load(f)
        if not isinstance(state["plan"], list) or not isinstance(state["extra"], list):
            raise ValueError("plan and extra must be lists")
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("sweep: error: --resume %s: no readable %s (%s)" % (out, STATE, e), file=sys.stderr)
        return 2
    copy = os.path.join(out, "sweep.sweep")
    if not os.path.exists(copy):
        print("sweep: error: --resume %s: the sweep file copy %s is missing" % (out, copy),
              file=sys.stderr)
        return 2
    try:
        check_out_dir(out, False)
    except SweepError as e:
        print("sweep: error: %s" % e, file=sys.stderr)
        return 2
    return run_parts(out, copy, state, no_report)


def _run_part(out, sweep, state, n, binary, child, caught):
    """Runs one part, cleans up after it and records its outcome; returns its exit code."""
    key = "%s-np%d" % (binary, n)
    part = os.path.join(out, "parts", key + ".json")
    cmd = [runfiles_path("bench/" + binary), "--np", str(n), "--sweep", sweep,
           "--benchmark_out=" + part] + state["extra"]
    print("# sweep: %s on %d ranks" % (binary, n), flush=True)
    child[0] = subprocess.Popen(cmd)
    rc = child[0].wait()
    child[0] = None
    ok = part_is_valid(part)
    if not ok and os.path.exists(part):
        os.remove(part)  # never merge a half-written part
    # A rank ended by a signal leaves Google Benchmark's temporary file behind.
    for f in os.listdir(os.path.join(out, "parts")):
        if f.startswith(key + ".json.tmp."):
            os.remove(os.path.join(out, "parts", f))
    # A part counts as done when it left valid results and was not interrupted (exit 7, wrong
    # results, is a finished measurement).
    state["parts"][key] = {"rc": rc, "done": ok and not caught}
    results.write_atomically(os.path.join(out, STATE), json.dumps(state, indent=1))
    if rc != 0:
        print("sweep: %s on %d ranks exited %d" % (binary, n, rc), file=sys.stderr)
    return rc


def _run_all(out, sweep, state, caught):
    """Every planned part without valid results; SIGINT/SIGTERM stop the part running (the
    signal is passed on to it) and skip the rest. Returns the worst exit code."""
    child = [None]

    def on_signal(sig, frame):
        caught.append(sig)
        if child[0] is not None and child[0].poll() is None:
            child[0].send_signal(sig)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    worst = 0
    try:
        for n, binary in state["plan"]:
            done = state["parts"].get("%s-np%d" % (binary, n), {})
            part = os.path.join(out, "parts", "%s-np%d.json" % (binary, n))
            if done.get("done") and part_is_valid(part):
                print("# sweep: %s on %d ranks: done earlier, skipped" % (binary, n), flush=True)
                worst = max(worst, done.get("rc", 0))
            elif not caught:
                worst = max(worst, _run_part(out, sweep, state, n, binary, child, caught))
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return worst


def _finished(out, state):
    """(world size, part file) of the parts with valid results, and the keys of the others."""
    parts, missing = [], []
    for n, binary in state["plan"]:
        key = "%s-np%d" % (binary, n)
        part = os.path.join(out, "parts", key + ".json")
        if state["parts"].get(key, {}).get("done") and part_is_valid(part):
            parts.append((n, part))
        else:
            missing.append(key)
    return parts, missing


def run_parts(out, sweep, state, no_report):
    """Runs every planned part without valid results (recording each outcome in
    sweep_state.json as it ends), then merges what exists into results.json, marked
    incomplete when a part is missing. An interruption still merges."""
    caught = []
    worst = _run_all(out, sweep, state, caught)
    parts, missing = _finished(out, state)
    if caught:
        print("sweep: interrupted by signal %d; %d of %d parts done; finish with: bazel run "
              "//bench:sweep -- --resume %s" % (caught[0], len(parts), len(state["plan"]), out),
              file=sys.stderr)
    elif missing:
        print("sweep: %d of %d parts have no results (%s); rerun them with: bazel run "
              "//bench:sweep -- --resume %s" % (len(missing), len(state["plan"]),
                                                ", ".join(missing), out), file=sys.stderr)
    if not parts:
        print("sweep: error: no part produced results", file=sys.stderr)
        return 128 + caught[0] if caught else (worst or 3)
    merged = merge(parts, sweep, state.get("command"))
    merged["context"]["sweep"] = state.get("sweep", merged["context"]["sweep"])
    if missing:
        merged["context"]["incomplete"] = "true"
        merged["context"]["parts_missing"] = ",".join(missing)
    path = os.path.join(out, "results.json")
    results.write_atomically(path, json.dumps(merged, indent=1))
    print("# sweep results: %s%s" % (path, " (incomplete)" if missing else ""), flush=True)
    if not no_report:
        write_report(path, os.path.join(out, "report"))
    if caught:
        return 128 + caught[0]
    return worst or (3 if missing else 0)


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
