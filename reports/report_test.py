"""Unit tests of the report generator on the fixtures in reports/testdata/."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

TMP = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
os.environ["MPLCONFIGDIR"] = os.path.join(TMP, "mpl")

from ci import gate_evaluate as cigate  # noqa: E402  (the gate's evaluation, as the report's)
from reports import page as report  # noqa: E402  (the report's page: build, fmt)
from tpbench import results as ciresults  # noqa: E402

DATA = os.path.join(HERE, "testdata")
CI_DATA = os.path.join(os.path.dirname(HERE), "ci", "testdata")


def td(name):
    return os.path.join(DATA, name)


def ci_td(name):
    """//ci:gate's fixtures (a baseline written by //ci:baseline, and results against it)."""
    return os.path.join(CI_DATA, name)


def tables_text(page):
    """All table cells of the page, unescaped."""
    import html
    return [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", page)]


class ReportTest(unittest.TestCase):
    maxDiff = 2000
    longMessage = False

    @classmethod
    def setUpClass(cls):
        cls.out = os.path.join(TMP, "full")
        cls.index = report.build(
            [td("results_small.json"), td("perf_small.json"), td("layers.json")], cls.out,
            [td("baseline.json")], td("verdict.json"))
        with open(cls.index) as f:
            cls.page = f.read()
        cls.cells = tables_text(cls.page)

    def test_sections_present(self):
        for sid in ("summary", "coll-all_reduce", "coll-all_gather", "coll-broadcast",
                    "scaling", "groups", "layers", "baseline"):
            self.assertIn('<section id="%s">' % sid, self.page)
        self.assertIn("verdict: FAIL", self.page)
        self.assertIn("limit not measured", self.page)
        for scheme in ("tp1d", "tp2d", "tp2p5d", "tp3d"):
            self.assertIn('<h3 class="scheme">%s</h3>' % scheme, self.page)
        self.assertIn("Schemes side by side", self.page)
        for k in ("x86_64-amd-epyc-2c-24g", "1.13.1", "Open MPI v4.1.4", "5d293ffbe8a3"):
            self.assertIn(k, self.page)

    def test_images_exist_and_are_relative(self):
        imgs = re.findall(r'<img src="([^"]+)"', self.page)
        self.assertGreater(len(imgs), 10)
        for src in imgs:
            self.assertNotIn("/", src)
            path = os.path.join(self.out, src)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", src)
        self.assertNotRegex(self.page, r"(src|href)=\"(https?:|//)")
        self.assertEqual([f for f in os.listdir(self.out) if f.startswith(".tmp-")], [])

    def test_numbers_match_input(self):
        with open(td("results_small.json")) as f:
            data = json.load(f)
        checked = 0
        for b in data["benchmarks"]:
            if b["name"].startswith(("all_gather/ucx/ring", "broadcast/mpi/auto")):
                self.assertIn(report.fmt(b["busbw_GBps"]), self.cells, b["name"])
                checked += 1
                if b["size_bytes"] <= 65536:
                    self.assertIn(report.fmt(b["time_us"]), self.cells, b["name"])
        self.assertGreater(checked, 10)
        with open(td("layers.json")) as f:
            for b in json.load(f)["benchmarks"]:
                for k in ("fwd_ms", "bwd_ms", "step_ms", "comm_bytes_per_rank",
                          "comm_bytes_model"):
                    self.assertIn(report.fmt(b[k]), self.cells, (b["name"], k))

    def test_overlap_table(self):
        # Cases with overlap on and off get a side-by-side row: step times, gain, noise, exposed
        # communication; a case without its twin gets none.
        def layer(ov, step, exposed, rep):
            return {"name": "tp1d/block/f32/b:4,s:512,h:1024,nh:16/overlap:%s/ranks:2/"
                            "iterations:4/manual_time" % ov, "run_type": "iteration",
                    "repetition_index": rep, "iterations": 4, "real_time": step * 1e3,
                    "time_unit": "us", "fwd_ms": step / 3, "bwd_ms": 2 * step / 3,
                    "step_ms": step, "comm_exposed_ms": exposed, "comm_ms": 14.0,
                    "world_size": 2}
        benches = [layer("on", 1000.0 + r, 10.0, r) for r in range(2)]
        benches += [layer("off", 1100.0 + r, 40.0, r) for r in range(2)]
        lone = dict(layer("on", 50.0, 1.0, 0))
        lone["name"] = lone["name"].replace("block", "mlp")
        path = os.path.join(TMP, "overlap.json")
        with open(path, "w") as f:
            json.dump({"context": {"world_size": "2"}, "benchmarks": benches + [lone]}, f)
        index = report.build([path], os.path.join(TMP, "overlap"), [], None)
        with open(index) as f:
            page = f.read()
        self.assertIn("What overlap buys", page)
        rows = [r for r in re.findall(r"<tr>(.*?)</tr>", page)
                if "<td>block/f32/b:4,s:512,h:1024,nh:16/ranks:2</td>" in r]
        self.assertEqual(len(rows), 1, rows)
        cells = re.findall(r"<td>(.*?)</td>", rows[0])
        # Two rounds each: cv from the runs; every off sample above every on sample gives
        # the smallest one-sided p of 2 vs 2 samples, 1/6.
        cv = 100.0 * (0.5 ** 0.5) / 1000.5
        self.assertEqual(cells, ["tp1d", "block/f32/b:4,s:512,h:1024,nh:16/ranks:2", "2",
                                 "1000.5", "1100.5", report.fmt(100.0 * (1100.5 / 1000.5 - 1)),
                                 report.fmt(cv), "0.167 (2/2)", "10", "40", "14"])
        self.assertNotIn("<td>mlp/f32/b:4,s:512,h:1024,nh:16/ranks:2</td>", page)

    def test_backend_table(self):
        # The same TP case on ucx and on mpi: step times side by side, mpi's slowdown.
        def layer(backend, step, rep):
            return {"name": "tp1d/mlp/f32/b:2,s:64,h:128,nh:4/overlap:on/backend:%s/ranks:2/"
                            "iterations:3/manual_time" % backend, "run_type": "iteration",
                    "repetition_index": rep, "iterations": 3, "real_time": step * 1e3,
                    "time_unit": "us", "fwd_ms": step / 3, "bwd_ms": 2 * step / 3,
                    "step_ms": step, "comm_exposed_ms": step / 10, "comm_ms": 1.0,
                    "world_size": 2}
        benches = [layer("ucx", 10.0 + 0.1 * r, r) for r in range(3)]
        benches += [layer("mpi", 12.0 + 0.1 * r, r) for r in range(3)]
        path = os.path.join(TMP, "backends.json")
        with open(path, "w") as f:
            json.dump({"context": {"world_size": "2"}, "benchmarks": benches}, f)
        with open(report.build([path], os.path.join(TMP, "backends"), [], None)) as f:
            page = f.read()
        self.assertIn("ucx vs mpi (the peer)", page)
        rows = [r for r in re.findall(r"<tr>(.*?)</tr>", page)
                if "<td>mlp/f32/b:2,s:64,h:128,nh:4/overlap:on/ranks:2</td>" in r]
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(re.findall(r"<td>(.*?)</td>", rows[0]),
                         ["tp1d", "mlp/f32/b:2,s:64,h:128,nh:4/overlap:on/ranks:2", "2",
                          report.fmt(10.1), report.fmt(12.1), report.fmt(100 * (12.1 / 10.1 - 1)),
                          report.fmt(100 * 0.1 / 10.1), "0.05 (3/3)", report.fmt(1.01),
                          report.fmt(1.21), "1"])

    def test_headline(self):
        with open(td("results_small.json")) as f:
            data = json.load(f)
        best = max(b["busbw_GBps"] for b in data["benchmarks"]
                   if b["name"].startswith("all_reduce/ucx/") and b["world_size"] == 4
                   and "groups" not in b["name"] and b["size_bytes"] == 64 << 20)
        self.assertIn(report.fmt(best), self.page)
        self.assertIn("ucx/mpi all_reduce bus bandwidth ratio, 2 ranks, 64 MiB", self.page)

    def test_verdict_file_shown(self):
        # --verdict given: its regressions are the red rows; the report computes nothing.
        rows = re.findall(r'<tr class="regression">(.*?)</tr>', self.page)
        self.assertEqual(len(rows), 1, rows)
        self.assertIn("<td>all_reduce/ucx/ring/f32/sum/bytes:8388608/inplace:0/ranks:2</td>"
                      "<td>time_us</td>", rows[0])
        self.assertIn("+33.30", rows[0])
        self.assertIn("from %s" % td("verdict.json"), self.page)
        self.assertNotIn("noise band", self.page)  # the report's own rule is gone
        self.assertTrue("cases in several files" in self.page)

    def gate_page(self, results, name):
        out = os.path.join(TMP, name)
        with open(report.build([ci_td(results)], out, [ci_td("baseline.json")], None)) as f:
            return f.read()

    def test_without_verdict_the_gates_verdict_is_computed(self):
        # One rule: for each input the page lists exactly the gate's own decisions.
        for results in ("same.json", "slow2x.json", "exact.json", "few_reps.json"):
            page = self.gate_page(results, "gate-" + results)
            v = cigate.evaluate(ciresults.load(ci_td(results)),
                                ciresults.load(ci_td("baseline.json")))
            self.assertIn("computed with //ci:gate&#x27;s evaluate", page)
            for key, cls in report.VERDICT_LISTS:
                rows = re.findall(r'<tr class="%s"><td>([^<]*)</td><td>([^<]*)</td>' % cls, page)
                self.assertEqual(sorted(rows), sorted((e["name"], e["metric"]) for e in v[key]),
                                 (results, key))
            self.assertIn("verdict: %s" % v["verdict"].upper(), page)
        page = self.gate_page("slow2x.json", "gate-slow2x")
        self.assertEqual(len(re.findall(r'<tr class="regression">', page)), 2)
        self.assertIn("bytes:4194304", "".join(re.findall(r'<tr class="regression">(.*?)</tr>',
                                                          page)))
        page = self.gate_page("exact.json", "gate-exact")
        self.assertIn("Exact-metric failures (2)", page)

    def test_incomplete_sweep_and_fault_modes_are_said_at_the_top(self):
        with open(td("results_small.json")) as f:
            data = json.load(f)
        data["context"].update(incomplete="true", parts_missing="layers-np2",
                               fault_mode="detect")
        path = os.path.join(TMP, "incomplete", "results.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(data, f)
        index = report.build([path, td("perf_small.json")], os.path.join(TMP, "incomplete-out"))
        with open(index) as f:
            page = f.read()
        top = page[:page.index('id="summary"')]
        self.assertIn("<strong>INCOMPLETE</strong> sweep", top)
        self.assertIn("layers-np2", top)
        self.assertIn("--resume", top)
        self.assertIn("Different fault modes</strong> (detect, fast)", top)
        self.assertNotIn("INCOMPLETE", self.page)

    def test_baseline_without_metadata_is_refused_like_the_gate(self):
        with open(ci_td("baseline.json")) as f:
            doc = json.load(f)
        del doc["context"]["tpbench_baseline"]
        p = self.bad("hand_edited_baseline.json", json.dumps(doc))
        rc, so, se = self.run_cli("--results", ci_td("same.json"), "--baseline", p, "--out",
                                  os.path.join(TMP, "refused"))
        self.assertEqual(rc, 2, se)
        self.assertIn("context.tpbench_baseline", se)
        self.assertIn("the gate refuses it", se)

    def test_unchecked_collectives_are_not_counted_as_correct(self):
        with open(ci_td("same.json")) as f:
            doc = json.load(f)
        for b in doc["benchmarks"]:
            if "bytes:8/" in b["name"]:
                del b["wrong"]
            if "all_gather" in b["name"] and b["run_type"] == "iteration":
                b["wrong"] = 1.0
        p = self.bad("unchecked.json", json.dumps(doc))
        with open(report.build([p], os.path.join(TMP, "unchecked"))) as f:
            page = f.read()
        self.assertIn("<td>result checks (collectives)</td><td>2 cases checked with 0 wrong "
                      "elements, 1 with wrong elements, 1 unchecked (no `wrong` counter: run "
                      "with -c 0)</td>", page)

    def test_no_layers_and_limit_from_context(self):
        with open(td("results_small.json")) as f:
            data = json.load(f)
        data["context"]["host_memcpy_GBps"] = 9.5
        p = os.path.join(TMP, "with_limit.json")
        with open(p, "w") as f:
            json.dump(data, f)
        out = os.path.join(TMP, "nolayers")
        with open(report.build([p], out)) as f:
            page = f.read()
        self.assertIn("no layer results in these files", page)
        self.assertIn("host memcpy 9.5 GB/s (results context host_memcpy_GBps)", page)
        self.assertIn("no baseline or verdict given", page)
        self.assertNotIn('id="verdict"', page)

    def run_cli(self, *args):
        p = subprocess.run([sys.executable, os.path.join(HERE, "cli.py")] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        return p.returncode, p.stdout, p.stderr

    def bad(self, name, text):
        p = os.path.join(TMP, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_cli_ok(self):
        out = os.path.join(TMP, "cli")
        rc, so, se = self.run_cli("--results", td("layers.json"), "--out", out)
        self.assertEqual(rc, 0, se)
        self.assertIn("# report: %s/index.html" % out, so)
        self.assertEqual(se, "")  # no warnings either

    def test_errors(self):
        out = os.path.join(TMP, "err")
        bench = {"name": "all_reduce/ucx/ring/f32/sum/bytes:8/inplace:0/ranks:2",
                 "run_type": "iteration", "time_us": 1.0, "busbw_GBps": 0.1, "size_bytes": 8,
                 "world_size": 2}
        nosize = dict(bench)
        del nosize["size_bytes"]
        cases = [
            (os.path.join(TMP, "missing.json"), "missing.json: results file does not exist"),
            (self.bad("trunc.json", '{"context": {}, "benchmarks": ['), "trunc.json: malformed JSON"),
            (self.bad("nobench.json", '{"context": {}}'),
             "nobench.json: required field 'benchmarks' missing"),
            (self.bad("nosize.json", json.dumps({"context": {}, "benchmarks": [nosize]})),
             "nosize.json: benchmarks[0] (all_reduce/ucx/ring/f32/sum/bytes:8/inplace:0/ranks:2)"
             ": required field 'size_bytes' missing"),
            (self.bad("noname.json", json.dumps({"context": {}, "benchmarks": [{"x": 1}]})),
             "noname.json: benchmarks[0]: required field 'name' missing"),
        ]
        for path, msg in cases:
            rc, so, se = self.run_cli("--results", path, "--out", out)
            self.assertEqual(rc, 2, (path, se))
            self.assertIn(msg, se)
            self.assertNotIn("Traceback", se)
        good = self.bad("good.json", json.dumps({"context": {}, "benchmarks": [bench]}))
        for text, msg in (('{"regressions": []}', "badverdict.json: required field 'verdict'"),
                          ('{"verdict": 1}', "badverdict.json: required field 'verdict'"),
                          ('{"verdict": "pass", "regressions": 3}',
                           "badverdict.json: field 'regressions' must be a list")):
            rc, so, se = self.run_cli("--results", good, "--verdict",
                                      self.bad("badverdict.json", text), "--out", out)
            self.assertEqual(rc, 2, se)
            self.assertIn(msg, se)
        # //ci:gate's "no_baseline" verdict, with its lists: shown, not an error.
        vpath = self.bad("nobase.json", json.dumps({
            "verdict": "no_baseline", "profile": "p", "regressions": [], "improvements": [],
            "inconclusive": [], "exact_failures": [], "missing": ["a"], "new": [],
            "unchanged": 0, "notes": ["no stored baseline for machine profile p"]}))
        rc, so, se = self.run_cli("--results", good, "--verdict", vpath, "--out", out)
        self.assertEqual(rc, 0, se)
        with open(os.path.join(out, "index.html")) as f:
            page = f.read()
        self.assertIn("verdict: NO BASELINE", page)
        self.assertIn("<td>missing</td><td>1 entries</td>", page)
        self.assertIn("no stored baseline for machine profile p", page)
        rc, so, se = self.run_cli("--results", good, "--baseline",
                                  self.bad("badbase.json", "[]"), "--out", out)
        self.assertEqual(rc, 2, se)
        self.assertIn("badbase.json: top level", se)
        rc, so, se = self.run_cli("--results", good)  # no --out: usage
        self.assertEqual(rc, 2)
        self.assertIn("--out", se)


def side_by_side_rows(page):
    """The side-by-side tables' rows: {(scheme, variant, P): cells after P}, and duplicates."""
    import html
    rows, dups = {}, []
    for t in re.findall(r'<table class="numbers side-by-side">(.*?)</table>', page, re.S):
        for tr in re.findall(r"<tr>(.*?)</tr>", t, re.S):
            cells = [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", tr)]
            if not cells:
                continue
            key = (cells[0], cells[1], int(cells[2]))
            if key in rows:
                dups.append(key)
            rows[key] = cells[3:]
    return rows, dups


def side_by_side_problems(page, benchmarks):
    """What the side-by-side tables get wrong about `benchmarks` (iteration runs of TP layers,
    one per case): a case without its row, or a row whose numbers are not that case's."""
    rows, dups = side_by_side_rows(page)
    problems = ["duplicate row %s" % (k,) for k in dups]
    for b in benchmarks:
        f = b["fields"]
        variant = " ".join(x for x in ("d=%s" % f["depth"] if f.get("depth") else "",
                                       f.get("summa", "")) if x)
        key = (f["scheme"], variant, int(f["ranks"]))
        if key not in rows:
            problems.append("no row for %s" % (key,))
            continue
        ratio = b["peak_mem_bytes_per_rank"] / b["peak_mem_model_bytes_per_rank"]
        want = [report.fmt(b[k]) for k in ("comm_bytes_per_rank", "comm_bytes_model",
                                            "peak_mem_bytes_per_rank",
                                            "peak_mem_model_bytes_per_rank")]
        want += [report.fmt(ratio), report.fmt(b["step_ms"])]
        if rows[key] != want:
            problems.append("row %s is %s, the case's values are %s" % (key, rows[key], want))
    return problems


class SchemesSideBySideTest(unittest.TestCase):
    """The TP section's schemes side by side, on a //bench:sweep of bench/sweeps/schemes.sweep
    (reports/testdata/schemes.json: 1d, 1d-sp, 2d at P = 4, 8, 9, 2.5d and 3d at P = 8)."""

    @classmethod
    def setUpClass(cls):
        out = os.path.join(TMP, "schemes")
        cls.index = report.build([td("schemes.json")], out)
        with open(cls.index) as f:
            cls.page = f.read()
        with open(td("schemes.json")) as f:
            cls.tp = [b for b in json.load(f)["benchmarks"]
                      if b["fields"]["scheme"] != "serial" and b["run_type"] == "iteration"]

    def test_one_group_for_the_shape(self):
        self.assertEqual(self.page.count('<h4 class="shape">'), 1)
        self.assertIn("block, b=12 s=48 h=144 nh=24, f32, overlap on, ucx", self.page)
        self.assertIn('src="layers-schemes-0.png"', self.page)

    def test_every_scheme_variant_and_P_has_its_own_values(self):
        self.assertEqual(len(self.tp), 11)
        self.assertEqual(len(side_by_side_rows(self.page)[0]), 11)
        self.assertEqual(side_by_side_problems(self.page, self.tp), [])
        # The memory model equals the measured peak on this shape for every scheme.
        rows = side_by_side_rows(self.page)[0]
        self.assertEqual({r[4] for r in rows.values()}, {"1"})

    def test_unmeasured_bytes_are_no_point_not_zero(self):
        class E:  # an entry: world size in key[1], value() None where absent
            def __init__(self, p, meas, model):
                self.key, self.v = ("x", p), {"comm_bytes_per_rank": meas,
                                              "comm_bytes_model": model}

            def value(self, c):
                return self.v[c]
        mpi = [E(2, None, 1048576.0), E(4, None, 1572864.0)]
        self.assertEqual(report._bytes_points(mpi), ([(2, 1048576.0), (4, 1572864.0)], []))
        ucx = [E(2, 1048576.0, 1048576.0), E(4, 0.0, 1572864.0)]
        self.assertEqual(report._bytes_points(ucx)[1], [(2, 1048576.0), (4, 0.0)])

    def test_check_catches_a_missing_row(self):
        rows = re.findall(r"<tr><td>tp3d</td>.*?</tr>", self.page)
        self.assertEqual(len(rows), 1)
        broken = self.page.replace(rows[0], "")
        self.assertEqual(side_by_side_problems(broken, self.tp),
                         ["no row for ('tp3d', '', 8)"])

    def test_check_catches_values_of_the_wrong_scheme(self):
        # Two schemes at the same P with their names swapped: each row now carries the other
        # scheme's numbers.
        a = re.search(r"<tr><td>tp3d</td>", self.page)
        b = re.search(r"<tr><td>tp1d-sp</td><td></td><td>8</td>", self.page)
        self.assertTrue(a and b)
        broken = (self.page.replace("<tr><td>tp3d</td>", "<tr><td>@@</td>")
                  .replace("<tr><td>tp1d-sp</td><td></td><td>8</td>",
                           "<tr><td>tp3d</td><td></td><td>8</td>")
                  .replace("<tr><td>@@</td>", "<tr><td>tp1d-sp</td>"))
        problems = side_by_side_problems(broken, self.tp)
        self.assertEqual(len(problems), 2, problems)
        self.assertTrue(all("the case's values are" in p for p in problems), problems)

    def test_grouped_by_fields_not_labels(self):
        # Another shape (fields, not the name) is another group; the same shape stays one.
        with open(td("schemes.json")) as f:
            data = json.load(f)
        for b in data["benchmarks"]:
            if b["fields"]["scheme"] == "tp3d":
                b["fields"]["hidden"] = "288"
        path = os.path.join(TMP, "schemes_two_shapes.json")
        with open(path, "w") as f:
            json.dump(data, f)
        index = report.build([path], os.path.join(TMP, "schemes2"))
        with open(index) as f:
            page = f.read()
        self.assertEqual(page.count('<h4 class="shape">'), 2)
        self.assertIn("block, b=12 s=48 h=288 nh=24, f32, overlap on, ucx", page)


if __name__ == "__main__":
    unittest.main()
