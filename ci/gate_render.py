"""The gate's outputs: summary.md (Markdown), junit.xml and verdict.json."""

import datetime
import json
import os
from xml.sax.saxutils import escape, quoteattr

from ci.gate_evaluate import THRESHOLD_CVS, fmt_num
from tpbench import results


def _header(v):
    """The summary's first lines: profiles, mode, noise classes, counts, notes, rounds."""
    out = ["# tpbench performance gate: %s" % v["verdict"].upper(), ""]
    out.append("- results profile: `%s`; baseline: `%s` (profile `%s`, commit `%s`)%s" % (
        v["profile"], v["baseline"], v["baseline_profile"], v["baseline_commit"],
        " **FORCED across profiles**" if v["forced"] else ""))
    out.append("- timing mode: `%s` (%s); %d timing comparisons, Benjamini-Hochberg false-"
               "discovery rate %g (p cut-off this run: %.3g); drift allowance %g%%" % (
                   v["timing_mode"], "timing regressions fail" if v["timing_mode"] == "fail"
                   else "timing regressions are reported, not failing", v["comparisons"],
                   v["fdr_q"], v["p_cutoff"], v["drift_pct"]))
    out.append("- noise classes (robust CV of one repetition in the baseline, median over the "
               "class; threshold = drift + %g CV): %s" % (
                   THRESHOLD_CVS, ", ".join("%s %.1f%% -> %.1f%%" % (
                       c, n["cv_pct"], n["threshold_pct"]) for c, n in v["noise"].items()
                       if c != "fallback")))
    out.append("- %d regressions, %d improvements, %d inconclusive, %d unchanged; "
               "%d exact failures, %d missing, %d new, %d unchecked (no `wrong`: -c 0)" % (
                   len(v["regressions"]), len(v["improvements"]), len(v["inconclusive"]),
                   v["unchanged"], len(v["exact_failures"]), len(v["missing"]), len(v["new"]),
                   len(v.get("unchecked", []))))
    for n in v["notes"]:
        out.append("- note: %s" % n)
    for r in v.get("remeasure", {}).get("rounds", []):
        out.append("- re-measure round %d (`%s`): %d comparisons -> %s%s" % (
            r["round"], r["results"], r["remeasured"],
            ", ".join("%d %s" % (c, s) for s, c in r["now"].items()),
            "; not in its results: %s" % ", ".join(r["not_in_results"])
            if r["not_in_results"] else ""))
    out.append("")
    return out


def summary_md(v):
    out = _header(v)

    def table(title, rows):
        out.append("## %s (%d)" % (title, len(rows)))
        out.append("")
        if not rows:
            out.append("none")
            out.append("")
            return
        out.append("| benchmark | metric | baseline median | median | change | p-value | n |")
        out.append("|---|---|---|---|---|---|---|")
        for e in rows:
            out.append("| `%s` | %s | %s | %s | %s | %s | %d vs %d |" % (
                e["name"], e["metric"], fmt_num(e["baseline_median"]), fmt_num(e["median"]),
                "n/a" if e["change_pct"] is None else "%+.1f%%" % e["change_pct"],
                "n/a" if e["p_value"] is None else "%.3g" % e["p_value"],
                e["n_baseline"], e["n"]))
        out.append("")

    out.append("## Exact-metric failures (%d)" % len(v["exact_failures"]))
    out.append("")
    out.extend(["- `%s`: %s" % (e["name"], e["message"]) for e in v["exact_failures"]] or
               ["none"])
    out.append("")
    if v.get("unchecked"):
        out.append("## Unchecked: ran without result checks (%d)" % len(v["unchecked"]))
        out.append("")
        out.extend("- `%s`: %d repetitions without `wrong` (-c 0)" % (u["name"],
                                                                      u["repetitions"])
                   for u in v["unchecked"])
        out.append("")
    if v["missing"]:
        out.append("## Missing from the results (%d)" % len(v["missing"]))
        out.append("")
        out.extend("- `%s`" % n for n in v["missing"])
        out.append("")
    table("Regressions", v["regressions"])
    table("Improvements", v["improvements"])
    table("Inconclusive (re-measure with more repetitions)", v["inconclusive"])
    out.append("## Unchanged")
    out.append("")
    out.append("%d benchmark metrics within their thresholds or not significant." % v["unchanged"])
    out.append("")
    if v["new"]:
        out.append("## New benchmarks, not in the baseline (%d)" % len(v["new"]))
        out.append("")
        out.extend("- `%s`" % n for n in v["new"])
        out.append("")
    return "\n".join(out)


def junit_xml(v):
    cases = v["_testcases"]
    fails = sum(1 for c in cases if c[2] == "failure")
    skips = sum(1 for c in cases if c[2] == "skipped")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<testsuites><testsuite name="tpbench-gate" tests="%d" failures="%d" errors="0" '
             'skipped="%d">' % (len(cases), fails, skips)]
    for cls, name, kind, msg in cases:
        head = '<testcase classname=%s name=%s' % (quoteattr(cls), quoteattr(name))
        if kind == "failure":
            lines.append('%s><failure message=%s>%s</failure></testcase>'
                         % (head, quoteattr(msg), escape(msg)))
        elif kind == "skipped":
            lines.append('%s><skipped message=%s/></testcase>' % (head, quoteattr(msg)))
        elif msg:
            lines.append('%s><system-out>%s</system-out></testcase>' % (head, escape(msg)))
        else:
            lines.append('%s/>' % head)
    lines.append("</testsuite></testsuites>")
    return "\n".join(lines) + "\n"


def write_outputs(v, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    public = {k: val for k, val in v.items() if not k.startswith("_")}
    public["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    paths = {}
    for fname, text in (("verdict.json", json.dumps(public, indent=1) + "\n"),
                        ("summary.md", summary_md(v)),
                        ("junit.xml", junit_xml(v))):
        p = os.path.join(out_dir, fname)
        results.write_atomically(p, text)
        paths[fname] = p
    return paths
