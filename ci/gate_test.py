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
        # A regression in every trial, in both size classes and both metrics. Without the
        # large-effect rule about 0.5% came out inconclusive (a bimodal baseline).
        for cls in ("small", "large"):
            for metric in ("time_us", "busbw_GBps"):
                self.assertEqual(rate(cls, 2.0, seed=13, metric=metric), 1.0, (cls, metric))

    def test_2x_slowdown_caught_with_spiking_baseline(self):
        # Adversarial: 4-5 of 10 baseline repetitions are spikes (the noise model's 1.2-3x,
        # up to all of them near 3x); the new samples are 2x slower and one is a spike too.
        for cls in ("small", "large"):
            thr = gate.METRICS["time_us"]["threshold_pct"][cls]
            for k in (4, 5):
                for lo, hi in ((1.2, 1.5), (1.5, 2.5), (2.5, 3.0), (2.9, 3.0)):
                    rng = random.Random(k * 100 + int(lo * 10))
                    b = [rng.lognormvariate(0, NOISE[cls]) for _ in range(10)]
                    for i in range(k):
                        b[i] *= rng.uniform(lo, hi)
                    r = [2.0 * rng.lognormvariate(0, NOISE[cls]) for _ in range(10)]
                    r[0] *= 2.5
                    what = (cls, k, lo, hi)
                    self.assertEqual(gate.compare_metric(b, r, True, thr)[0], "regression",
                                     what)
                    self.assertEqual(gate.compare_metric([1 / v for v in b],
                                                         [1 / v for v in r], False, thr)[0],
                                     "regression", what)
        # The whole-sample test alone leaves this one inconclusive; the rule names itself.
        b = [1.0, 1.01, 0.99, 1.02, 0.98, 2.9, 2.95, 3.0, 2.92, 2.97]
        r = [2.0, 2.02, 1.98, 2.04, 1.96, 2.01, 1.99, 2.03, 1.97, 5.0]
        status, info = gate.compare_metric(b, r, True, 5.0)
        self.assertEqual(status, "regression")
        self.assertEqual(info["rule"], "large_effect")
        self.assertGreater(info["best_half_factor"], 1.9)

    def test_large_effect_rule_never_fires_in_aa_or_10pct(self):
        rng = random.Random(21)
        for cls in ("small", "large"):
            for scale in (1.0, 1.1):
                for _ in range(TRIALS):
                    b = sample(rng, 10, NOISE[cls])
                    r = sample(rng, 10, NOISE[cls], scale)
                    self.assertIsNone(gate.large_effect(b, r, True), (cls, scale, b, r))
        # Too few repetitions for the best halves: the rule stays out (inconclusive stays).
        self.assertIsNone(gate.large_effect([1.0] * 10, [2.0], True))

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

    def layer_file(self, name, steps, comm_bytes, peak_mem=1048576.0):
        """A results file with one layer benchmark (step_ms, exact comm bytes and peak tensor
        memory), like //bench:layers."""
        with open(os.path.join(TESTDATA, "baseline.json")) as f:
            ctx = json.load(f)["context"]
        benches = [{"name": "tp1d/block/f32/b:2,s:64,h:128,nh:4/overlap:on/ranks:2/iterations:3/"
                            "manual_time", "run_type": "iteration", "repetition_index": i,
                    "iterations": 3, "real_time": t, "time_unit": "ms", "world_size": 2,
                    "fwd_ms": t / 3, "bwd_ms": 2 * t / 3, "step_ms": t,
                    "comm_bytes_per_rank": comm_bytes, "comm_bytes_model": 65536.0,
                    "peak_mem_bytes_per_rank": peak_mem}
                   for i, t in enumerate(steps)]
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            json.dump({"context": ctx, "benchmarks": benches}, f)
        return path

    def test_layer_results_gate_on_step_ms_and_exact_comm_bytes_and_memory(self):
        steps = [10.0, 10.2, 9.9, 10.1, 10.05, 9.95, 10.15, 10.0, 9.9, 10.1]
        base = self.layer_file("lb.json", steps, 65536.0)
        same = self.layer_file("ls.json", [t * 1.01 for t in steps], 65536.0)
        slow = self.layer_file("l2.json", [t * 2 for t in steps], 65536.0)
        more = self.layer_file("lm.json", steps, 65540.0)
        args = ["--out", self.tmp, "--quiet", "--baseline", base]
        self.assertEqual(gate.main(["--results", same] + args), 0)
        self.assertEqual(gate.main(["--results", slow] + args), 7)
        self.assertEqual([r["metric"] for r in self.verdict()["regressions"]], ["step_ms"])
        self.assertEqual(gate.main(["--results", more, "--timing", "report"] + args), 7)
        self.assertEqual([e["metric"] for e in self.verdict()["exact_failures"]],
                         ["comm_bytes_per_rank"])
        # A layer that allocates more tensor memory fails like one that sends more.
        fat = self.layer_file("lf.json", steps, 65536.0, peak_mem=1048576.0 + 4096)
        self.assertEqual(gate.main(["--results", fat, "--timing", "report"] + args), 7)
        self.assertEqual([e["metric"] for e in self.verdict()["exact_failures"]],
                         ["peak_mem_bytes_per_rank"])

    def test_missing_benchmark_fails(self):
        self.assertEqual(self.run_gate("missing.json", "--timing", "report"), 7)
        self.assertEqual(len(self.verdict()["missing"]), 1)

    def test_few_repetitions_inconclusive(self):
        self.assertEqual(self.run_gate("few_reps.json"), 0)
        v = self.verdict()
        self.assertEqual(v["regressions"], [])
        self.assertTrue(any("bytes:4194304" in e["name"] for e in v["inconclusive"]))

    def remeasure_cmd(self, src, *extra):
        return " ".join([sys.executable, os.path.join(TESTDATA, "fake_remeasure.py"),
                         os.path.join(TESTDATA, src), "{out}", self.log] + list(extra))

    def rounds_run(self):
        if not os.path.exists(self.log):
            return 0
        with open(self.log) as f:
            return len(f.read().splitlines())

    @property
    def log(self):
        return os.path.join(self.tmp, "calls.log")

    def test_remeasure_resolves_inconclusive_to_regression(self):
        # 1 repetition 2x slower: inconclusive; 10 more 2x slower repetitions: regression.
        self.assertEqual(self.run_gate("few_reps.json", "--remeasure",
                                       self.remeasure_cmd("slow2x.json")), 7)
        self.assertEqual(self.rounds_run(), 1)
        v = self.verdict()
        self.assertEqual(v["inconclusive"], [])
        big = [r for r in v["regressions"] if "bytes:4194304" in r["name"]]
        self.assertEqual(len(big), 2)
        self.assertEqual({r["n"] for r in big}, {11})  # pooled: 1 + 10
        self.assertEqual({r["remeasure_rounds"] for r in big}, {1})
        rm = v["remeasure"]
        self.assertEqual(rm["max_rounds"], 1)
        self.assertEqual(len(rm["rounds"]), 1)
        self.assertEqual(rm["rounds"][0]["now"]["regressions"], 2)
        self.assertTrue(os.path.exists(rm["rounds"][0]["results"]))
        with open(os.path.join(self.tmp, "summary.md")) as f:
            self.assertIn("re-measure round 1", f.read())

    def test_remeasure_resolves_inconclusive_to_pass(self):
        self.assertEqual(self.run_gate("few_reps.json", "--remeasure",
                                       self.remeasure_cmd("same.json")), 0)
        v = self.verdict()
        self.assertEqual((v["verdict"], v["inconclusive"], v["regressions"]), ("pass", [], []))
        self.assertEqual(len(v["remeasure"]["rounds"]), 1)
        self.assertEqual(v["remeasure"]["rounds"][0]["now"]["unchanged"],
                         v["remeasure"]["rounds"][0]["remeasured"])

    def test_remeasure_rounds_limit_and_not_found(self):
        # The re-measured results lack the inconclusive benchmark: it stays inconclusive, the
        # gate tries --remeasure-rounds times and says so; inconclusive still does not fail.
        with open(os.path.join(TESTDATA, "same.json")) as f:
            doc = json.load(f)
        doc["benchmarks"] = [b for b in doc["benchmarks"] if "bytes:4194304" not in b["name"]]
        src = os.path.join(self.tmp, "without_big.json")
        with open(src, "w") as f:
            json.dump(doc, f)
        self.assertEqual(self.run_gate("few_reps.json", "--remeasure", self.remeasure_cmd(src),
                                       "--remeasure-rounds", "3"), 0)
        self.assertEqual(self.rounds_run(), 3)
        v = self.verdict()
        self.assertEqual(len(v["remeasure"]["rounds"]), 3)
        self.assertTrue(any("bytes:4194304" in e["name"] for e in v["inconclusive"]))
        self.assertTrue(all(any("bytes:4194304" in n for n in r["not_in_results"])
                            for r in v["remeasure"]["rounds"]))

    def test_remeasure_not_run_without_inconclusive(self):
        self.assertEqual(self.run_gate("same.json", "--remeasure",
                                       self.remeasure_cmd("slow2x.json")), 0)
        self.assertEqual(self.rounds_run(), 0)
        self.assertEqual(self.verdict()["remeasure"]["rounds"], [])
        # --remeasure-rounds 0 turns it off.
        self.assertEqual(self.run_gate("few_reps.json", "--remeasure",
                                       self.remeasure_cmd("slow2x.json"),
                                       "--remeasure-rounds", "0"), 0)
        self.assertEqual(self.rounds_run(), 0)

    def test_remeasure_errors_exit_2(self):
        self.assertEqual(self.run_gate("few_reps.json", "--remeasure",
                                       self.remeasure_cmd("x", "--exit", "3")), 2)
        # A command that writes nothing.
        self.assertEqual(self.run_gate("few_reps.json", "--remeasure", "true"), 2)
        # Another machine profile.
        self.assertEqual(self.run_gate("few_reps.json", "--remeasure",
                                       self.remeasure_cmd("other_profile.json")), 2)
        self.assertEqual(self.run_gate("few_reps.json", "--remeasure-rounds", "-1",
                                       "--remeasure", "true"), 2)

    def test_remeasure_placeholders(self):
        script = os.path.join(self.tmp, "cmd.sh")
        with open(script, "w") as f:
            f.write('cp "$1" "$2/results.json"; cp "$3" "$2/names_copy.txt"; echo "$4" > "$2/r"\n')
        cmd = "sh %s %s {outdir} {names} {round}" % (script,
                                                     os.path.join(TESTDATA, "slow2x.json"))
        self.assertEqual(self.run_gate("few_reps.json", "--remeasure", cmd), 7)
        rdir = os.path.join(self.tmp, "remeasure-1")
        with open(os.path.join(rdir, "names_copy.txt")) as f:
            names = f.read().splitlines()
        self.assertTrue(any("bytes:4194304" in n for n in names), names)
        with open(os.path.join(rdir, "r")) as f:
            self.assertEqual(f.read().strip(), "1")

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
