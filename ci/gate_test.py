"""Tests of //ci:gate and //ci:baseline: Mann-Whitney U against known values (scipy 1.10),
simulated noise (A/A, 10% and 2x slowdowns), exact metrics, profiles, malformed inputs, and
end to end over the fixtures in ci/testdata (regenerate with ci/testdata/make_fixtures.py)."""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gate  # noqa: E402
import mannwhitney  # noqa: E402

TESTDATA = os.path.join(HERE, "testdata")

# Noise model of one benchmark's repetitions, from the quick sweep on the development machine
# (docs/ci.md "Thresholds"): log-normal core (robust CV 3% for > 64 KiB, 8% for <= 64 KiB),
# plus one-sided spikes in 10% of the repetitions (1.2-3x slower).
NOISE = {"large": 0.03, "small": 0.08}
TRIALS = 1000


def sample(rng, n, sigma, scale=1.0):
    out = []
    for _ in range(n):
        v = scale * rng.lognormvariate(0, sigma)
        if rng.random() < 0.10:
            v *= rng.uniform(1.2, 3.0)
        out.append(v)
    return out


def rate(cls, scale, seed, n=gate.DEFAULT_REPETITIONS, metric="time_us",
         flagged=("regression",)):
    """Share of TRIALS simulated comparisons whose status is in flagged."""
    rng = random.Random(seed)
    spec = gate.METRICS[metric]
    thr = spec["threshold_pct"][cls]
    hits = 0
    for _ in range(TRIALS):
        b = sample(rng, n, NOISE[cls])
        r = sample(rng, n, NOISE[cls], scale)
        if metric == "busbw_GBps":
            b, r = [1.0 / v for v in b], [1.0 / v for v in r]
        status, _ = gate.compare_metric(b, r, spec["lower_is_better"], thr)
        hits += status in flagged
    return hits / float(TRIALS)


class MannWhitneyTest(unittest.TestCase):
    KNOWN = [  # x, y, alternative, method, U1, p  (scipy.stats.mannwhitneyu 1.10.1)
        ([1, 2, 3], [4, 5, 6], "less", "exact", 0.0, 0.05),
        ([3.1, 2.2, 5.5, 4.4, 6.6], [1.0, 2.0, 3.0, 0.5, 0.7], "greater", "exact", 24.0,
         0.007936507936507936),
        ([1, 2, 2, 3, 4], [2, 3, 3, 5, 6, 7], "less", "asymptotic", 6.0, 0.05695157229426534),
        ([1, 2, 2, 3, 4], [2, 3, 3, 5, 6, 7], "two-sided", "asymptotic", 6.0,
         0.11390314458853068),
        (list(range(10, 20)), list(range(12, 22)), "less", "exact", 32.0, 0.09515793803719502),
        (list(range(10, 20)), list(range(12, 22)), "greater", "asymptotic", 32.0,
         0.9196458777861085),
        ([5, 5, 5], [5, 5, 5], "greater", "asymptotic", 4.5, 1.0),
    ]

    def test_known_values(self):
        for x, y, alt, method, u, p in self.KNOWN:
            got_u, got_p = mannwhitney.mannwhitneyu(x, y, alt, method)
            self.assertAlmostEqual(got_u, u, places=9, msg=(x, y, alt, method))
            self.assertAlmostEqual(got_p, p, places=9, msg=(x, y, alt, method))

    def test_auto_uses_exact_without_ties(self):
        x, y = [3.1, 2.2, 5.5, 4.4, 6.6], [1.0, 2.0, 3.0, 0.5, 0.7]
        self.assertEqual(mannwhitney.mannwhitneyu(x, y, "greater"),
                         mannwhitney.mannwhitneyu(x, y, "greater", "exact"))

    def test_exact_distribution_sums_to_one(self):
        for n1, n2 in ((1, 1), (3, 4), (10, 10)):
            self.assertAlmostEqual(mannwhitney.exact_sf(0, n1, n2), 1.0)
        self.assertAlmostEqual(mannwhitney.min_p_value(5, 5), 1.0 / 252)
        self.assertGreater(mannwhitney.min_p_value(1, 10), gate.ALPHA)


class SimulatedNoiseTest(unittest.TestCase):
    def test_aa_passes(self):
        for cls in ("small", "large"):
            for metric in ("time_us", "busbw_GBps"):
                r = rate(cls, 1.0, seed=11, metric=metric)
                self.assertLessEqual(r, 0.01, "A/A %s %s: %.1f%% false regressions"
                                     % (cls, metric, 100 * r))

    def test_10pct_slowdown_caught_for_large_sizes(self):
        for metric in ("time_us", "busbw_GBps"):
            r = rate("large", 1.10, seed=12, metric=metric)
            self.assertGreaterEqual(r, 0.95, "10%% slowdown %s caught in %.1f%%"
                                    % (metric, 100 * r))

    def test_2x_slowdown_always_caught(self):
        # Always flagged; a regression in >= 99% of trials. The rest are inconclusive: a
        # baseline where 4-5 of 10 repetitions were spikes is bimodal, and re-measuring is
        # the right answer there.
        for cls in ("small", "large"):
            self.assertEqual(rate(cls, 2.0, seed=13, flagged=("regression", "inconclusive")),
                             1.0, cls)
            self.assertGreaterEqual(rate(cls, 2.0, seed=13), 0.99, cls)

    def test_too_few_repetitions_is_inconclusive(self):
        status, info = gate.compare_metric([1.0] * 10, [2.0], True, 5.0)
        self.assertEqual(status, "inconclusive")
        self.assertIn("repetitions", info["reason"])

    def test_improvement(self):
        rng = random.Random(3)
        status, _ = gate.compare_metric(sample(rng, 10, 0.03), sample(rng, 10, 0.03, 0.5),
                                        True, 5.0)
        self.assertEqual(status, "improvement")


class GateEndToEndTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_gate(self, results, *extra, baseline="baseline.json"):
        args = ["--results", os.path.join(TESTDATA, results), "--out", self.tmp, "--quiet"]
        if baseline:
            args += ["--baseline", os.path.join(TESTDATA, baseline)]
        return gate.main(args + list(extra))

    def verdict(self):
        with open(os.path.join(self.tmp, "verdict.json")) as f:
            return json.load(f)

    def test_same_distribution_passes_with_three_outputs(self):
        self.assertEqual(self.run_gate("same.json"), 0)
        v = self.verdict()
        self.assertEqual(v["verdict"], "pass")
        self.assertEqual(v["regressions"], [])
        self.assertGreater(v["unchanged"], 0)
        for f in ("verdict.json", "summary.md", "junit.xml"):
            self.assertTrue(os.path.getsize(os.path.join(self.tmp, f)) > 0, f)
        with open(os.path.join(self.tmp, "junit.xml")) as f:
            self.assertIn('failures="0"', f.read())

    def test_2x_fails_and_report_mode_passes(self):
        self.assertEqual(self.run_gate("slow2x.json"), 7)
        v = self.verdict()
        self.assertEqual({r["metric"] for r in v["regressions"]}, {"time_us", "busbw_GBps"})
        r = [r for r in v["regressions"] if r["metric"] == "time_us"][0]
        self.assertIn("bytes:4194304", r["name"])
        self.assertGreater(r["change_pct"], 80)
        self.assertLess(r["p_value"], 0.05)
        with open(os.path.join(self.tmp, "summary.md")) as f:
            self.assertIn("Regressions (2)", f.read())
        with open(os.path.join(self.tmp, "junit.xml")) as f:
            self.assertIn("<failure", f.read())
        self.assertEqual(self.run_gate("slow2x.json", "--timing", "report"), 0)
        v = self.verdict()
        self.assertEqual(v["verdict"], "pass")
        self.assertEqual(len(v["regressions"]), 2)

    def test_exact_metric_change_always_fails(self):
        for mode in ("fail", "report"):
            self.assertEqual(self.run_gate("exact.json", "--timing", mode), 7)
            v = self.verdict()
            self.assertEqual(sorted(e["metric"] for e in v["exact_failures"]),
                             ["msgs_per_rank", "wrong"])

    def test_missing_benchmark_fails(self):
        self.assertEqual(self.run_gate("missing.json", "--timing", "report"), 7)
        self.assertEqual(len(self.verdict()["missing"]), 1)

    def test_few_repetitions_inconclusive(self):
        self.assertEqual(self.run_gate("few_reps.json"), 0)
        v = self.verdict()
        self.assertEqual(v["regressions"], [])
        self.assertTrue(any("bytes:4194304" in e["name"] for e in v["inconclusive"]))

    def test_profile_mismatch_needs_force(self):
        self.assertEqual(self.run_gate("other_profile.json"), 2)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "verdict.json")))
        self.assertEqual(self.run_gate("other_profile.json", "--force"), 0)
        v = self.verdict()
        self.assertTrue(v["forced"])
        self.assertTrue(any("--force" in n for n in v["notes"]))

    def test_stored_baseline_lookup(self):
        bdir = os.path.join(self.tmp, "baselines")
        os.makedirs(os.path.join(bdir, "test-profile"))
        shutil.copy(os.path.join(TESTDATA, "baseline.json"),
                    os.path.join(bdir, "test-profile", "fixture.json"))
        self.assertEqual(self.run_gate("same.json", "--baselines-dir", bdir, baseline=None), 0)
        self.assertTrue(self.verdict()["baseline"].endswith("test-profile/fixture.json"))
        # Another profile: usage error, or a clear no_baseline verdict when allowed.
        self.assertEqual(self.run_gate("other_profile.json", "--baselines-dir", bdir,
                                       baseline=None), 2)
        self.assertEqual(self.run_gate("other_profile.json", "--baselines-dir", bdir,
                                       "--allow-missing-baseline", baseline=None), 0)
        self.assertEqual(self.verdict()["verdict"], "no_baseline")

    def test_malformed_inputs_exit_2_naming_file_and_field(self):
        with open(os.path.join(TESTDATA, "same.json")) as f:
            good = json.load(f)
        cases = []
        d = json.loads(json.dumps(good))
        del d["context"]["machine_profile"]
        cases.append((d, "context.machine_profile"))
        d = json.loads(json.dumps(good))
        d["benchmarks"][3]["time_us"] = "fast"
        cases.append((d, "benchmarks[3]"))
        d = json.loads(json.dumps(good))
        del d["benchmarks"][0]["wrong"]
        cases.append((d, "'wrong'"))
        d = json.loads(json.dumps(good))
        d["benchmarks"] = {}
        cases.append((d, "benchmarks"))
        for i, (doc, field) in enumerate(cases):
            path = os.path.join(self.tmp, "bad%d.json" % i)
            with open(path, "w") as f:
                json.dump(doc, f)
            proc = subprocess.run([sys.executable, os.path.join(HERE, "gate.py"), "--results",
                                   path, "--baseline", os.path.join(TESTDATA, "baseline.json"),
                                   "--out", self.tmp], capture_output=True, text=True)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn(path, proc.stderr)
            self.assertIn(field, proc.stderr)
        path = os.path.join(self.tmp, "notjson.json")
        with open(path, "w") as f:
            f.write("{")
        self.assertEqual(gate.main(["--results", path, "--out", self.tmp]), 2)
        self.assertEqual(gate.main(["--results", os.path.join(self.tmp, "nope.json")]), 2)
        self.assertEqual(gate.main(["--results", path, "--timing", "maybe"]), 2)


class BaselineToolTest(unittest.TestCase):
    def test_create_refuse_update(self):
        import baseline
        tmp = tempfile.mkdtemp()
        try:
            src = os.path.join(TESTDATA, "same.json")
            self.assertEqual(baseline.main(["--results", src, "--baselines-dir", tmp]), 0)
            out = os.path.join(tmp, "test-profile", "fixture.json")
            with open(out) as f:
                stored = json.load(f)
            meta = stored["context"]["tpbench_baseline"]
            self.assertEqual(meta["tpbench_version"], "0123456789ab")
            self.assertTrue(meta["created"])
            self.assertEqual(meta["repetitions"], 10)
            self.assertTrue(all(b["run_type"] == "iteration" for b in stored["benchmarks"]))
            self.assertEqual(baseline.main(["--results", src, "--baselines-dir", tmp]), 2)
            self.assertEqual(baseline.main(["--results", src, "--baselines-dir", tmp,
                                            "--update"]), 0)
            with open(out) as f:
                self.assertIsNotNone(json.load(f)["context"]["tpbench_baseline"]["replaces"])
            # The stored baseline is a valid gate input.
            self.assertEqual(gate.main(["--results", src, "--baseline", out, "--out", tmp,
                                        "--quiet"]), 0)
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    unittest.main()
