#!/usr/bin/python3
"""Tests of tools/cluster/measure_summary.py on results files written here: busbw as a
fraction of the link rate with median and spread over rounds, the threshold's crossover and
winners per collective, the overlap gain with a p-value that separates a real gain from none,
the correctness counts (and exit 7 for each failure they exist to catch), and exit 2 naming
the problem for an empty folder, wrong results and a file that is not results JSON."""

import contextlib
import io
import json
import os
import re
import tempfile
import unittest

import measure_summary  # beside this file


def bench(name, **counters):
    entry = {"name": name, "run_type": "iteration"}
    entry.update(counters)
    return entry


def write(folder, name, benchmarks):
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
        json.dump({"context": {}, "benchmarks": benchmarks}, f)


def run_main(folder):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = measure_summary.main(["measure_summary.py", folder])
    return rc, out.getvalue(), err.getvalue()


class AllReduceTest(unittest.TestCase):
    def test_median_spread_and_fraction_of_link(self):
        with tempfile.TemporaryDirectory() as d:
            for r, bw in enumerate((0.10, 0.12, 0.11)):
                write(d, "coll_1gbit_2x2_ring_r%d.json" % r,
                      [bench("ar", size_bytes=65536, busbw_GBps=bw, time_us=1, wrong=0)])
            rc, out, _ = run_main(d)
        self.assertEqual(rc, 0)
        # median 0.11 of a 0.125 GB/s link = 0.88; spread 0.10-0.12; no other candidate
        self.assertIn("| 64 KiB | - | 0.1100 (0.1000-0.1200), 0.88 | - |", out)
        self.assertIn("3 rounds", out)

    def test_wrong_results_are_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            write(d, "coll_1gbit_2x2_mpi_r0.json",
                  [bench("ar/bad", size_bytes=1024, busbw_GBps=1.0, time_us=1, wrong=3)])
            rc, _, err = run_main(d)
        self.assertEqual(rc, 2)
        self.assertIn("ar/bad has wrong results", err)


class ThresholdTest(unittest.TestCase):
    def test_crossover_is_where_hierarchical_wins_from_then_on(self):
        times = {  # size -> (hierarchical, recursive_doubling) in us
            4096: (300, 100), 8192: (300, 400), 16384: (500, 400), 32768: (600, 900),
            65536: (900, 1800)}
        with tempfile.TemporaryDirectory() as d:
            for r in range(2):
                entries = []
                for size, (h, rd) in times.items():
                    for algo, t in (("hierarchical", h + r), ("recursive_doubling", rd + r)):
                        entries.append(bench("ar", size_bytes=size, time_us=t, wrong=0,
                                             fields={"algo": algo}))
                write(d, "thr_1gbit_2x2_r%d.json" % r, entries)
            rc, out, _ = run_main(d)
        self.assertEqual(rc, 0)
        # 8 KiB is won by hierarchical but 16 KiB is not: the crossover is 32 KiB
        self.assertIn("hierarchical fastest from 32 KiB on", out)
        self.assertIn("| 32 KiB | **600 (600-601)** | 900 (900-901) |", out)


class ThresholdPerCollectiveTest(unittest.TestCase):
    def write_rounds(self, d, coll, times, rounds=3):
        for r in range(rounds):
            entries = [bench("x", size_bytes=size, time_us=t[r], wrong=0,
                             fields={"algo": algo, "coll": coll})
                       for size, per in times.items() for algo, t in per.items()]
            write(d, "thr_1gbit_2x2_%s_r%d.json" % (coll, r), entries)

    def test_winners_and_crossover_per_collective(self):
        with tempfile.TemporaryDirectory() as d:
            self.write_rounds(d, "all_gather", {
                4096: {"hierarchical": (90, 95, 99), "bruck": (50, 52, 54), "ring": (80, 81, 82)},
                65536: {"hierarchical": (100, 101, 102), "bruck": (300, 310, 320),
                        "ring": (200, 201, 202)}})
            self.write_rounds(d, "reduce_scatter", {
                4096: {"hierarchical": (60, 61, 62), "recursive_halving": (70, 71, 72)},
                65536: {"hierarchical": (500, 510, 520), "recursive_halving": (400, 405, 600)}})
            rc, out, _ = run_main(d)
        self.assertEqual(rc, 0)
        self.assertIn("all_gather: winners by size: 4 KiB bruck, 64 KiB hierarchical", out)
        self.assertIn("all_gather: hierarchical fastest from 64 KiB on", out)
        # 64 KiB: hierarchical 101 vs the ring's 201 (the fastest other), spreads apart
        self.assertIn("| 64 KiB | 310 (300-320) | **101 (100-102)** | 201 (200-202) | "
                      "ring 0.50, apart |", out)
        # reduce_scatter: hierarchical wins 4 KiB but not 64 KiB: no crossover; the spreads at
        # 64 KiB meet (400-600 against 500-520), so the loss is marked undecided
        self.assertIn("reduce_scatter: winners by size: 4 KiB hierarchical, 64 KiB "
                      "recursive_halving", out)
        self.assertIn("reduce_scatter: hierarchical fastest from no size on", out)
        # against each algorithm alone: all_gather beats the ring from 64 KiB only (80 < 95 at
        # 4 KiB), Bruck from 64 KiB; reduce_scatter never beats recursive halving at 64 KiB
        self.assertIn("all_gather: hierarchical's median below each other's from (every larger "
                      "size): bruck 64 KiB, ring 64 KiB", out)
        self.assertIn("reduce_scatter: hierarchical's median below each other's from (every "
                      "larger size): recursive_halving never", out)
        self.assertIn("recursive_halving 1.26, overlap |", out)
        self.assertIn("reduce_scatter time per op, 2x2 nodes x ranks, links 1gbit, 3 rounds", out)


class CorrectnessTest(unittest.TestCase):
    def result(self, backend, algo, wrong=0, inter=None):
        entry = bench("c/%s/%s" % (backend, algo), size_bytes=4096, time_us=1, wrong=wrong,
                      fields={"backend": backend, "coll": "all_reduce", "algo": algo})
        if inter is not None:
            entry.update(inter_node_bytes_per_rank=inter[0], inter_node_bytes_model=inter[1],
                         inter_node_ranks_off_model=0)
        return entry

    def run_corr(self, entries, took=None):
        with tempfile.TemporaryDirectory() as d:
            write(d, "corr_10gbit_4x2.json", entries)
            if took is not None:
                with open(os.path.join(d, "runs.log"), "w", encoding="utf-8") as f:
                    f.write("2026-12-01T09:00:00Z load 3.00 3.00 3.00 correctness -> %s\n"
                            "2026-12-01T09:00:14Z took %d s -> %s\n" %
                            (os.path.join(d, "corr_10gbit_4x2.json"), took,
                             os.path.join(d, "corr_10gbit_4x2.json")))
            return run_main(d)

    def good(self):
        return [self.result("ucx", "ring", inter=(6144, 6144)),
                self.result("ucx", "hierarchical", inter=(2048, 2048)),
                self.result("ucx", "hierarchical", inter=(4096, 4096)),
                self.result("mpi", "auto")]

    def test_counts_of_a_good_run(self):
        rc, out, err = self.run_corr(self.good(), took=14)
        self.assertEqual(rc, 0, err)
        self.assertIn("Correctness, 4x2 nodes x ranks, links 10gbit, 14 s: 4 results (mpi 1 "
                      "results / 1 collective-algorithm pairs, ucx 3 results / 2 "
                      "collective-algorithm pairs); #wrong in all 0; bytes across nodes = model "
                      "for 3 of 3 non-mpi results; mpi results with inter-node counters 0: OK",
                      out)

    def assert_fails(self, entries, what):
        rc, out, err = self.run_corr(entries)
        self.assertEqual(rc, 7, out + err)
        self.assertIn("FAILED", out)
        self.assertIn("correctness failed", err)
        self.assertIn(what, out)

    def test_wrong_results_fail(self):
        self.assert_fails(self.good() + [self.result("mpi", "auto", wrong=2)], "#wrong in all 2")

    def test_bytes_off_the_model_fail(self):
        self.assert_fails(self.good() + [self.result("ucx", "ring", inter=(6000, 6144))],
                          "= model for 3 of 4 non-mpi")

    def test_missing_inter_node_counters_on_ucx_fail(self):
        self.assert_fails(self.good() + [self.result("ucx", "bruck")], "= model for 3 of 4")

    def test_inter_node_counters_on_mpi_fail(self):
        self.assert_fails(self.good() + [self.result("mpi", "auto", inter=(0, 0))],
                          "mpi results with inter-node counters 1")

    def test_no_results_fail(self):
        rc, _, err = self.run_corr([])
        self.assertEqual(rc, 7)
        self.assertIn("corr_10gbit_4x2.json: no results", err)


class LayerTest(unittest.TestCase):
    def layer(self, on, off):
        with tempfile.TemporaryDirectory() as d:
            entries = []
            for a, b in zip(on, off):
                entries.append(bench("tp1d/block/overlap:on/backend:ucx", step_ms=a))
                entries.append(bench("tp1d/block/overlap:off/backend:ucx", step_ms=b))
            write(d, "layers_1gbit.json", entries)
            return run_main(d)

    def test_a_clear_gain_has_a_small_p(self):
        rc, out, _ = self.layer(on=[10.0, 10.1, 10.2, 10.3, 10.4, 10.5],
                                off=[12.0, 12.1, 12.2, 12.3, 12.4, 12.5])
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"\| \+19\.5% \| 0\.00108 \|")

    def test_no_gain_has_a_large_p(self):
        rc, out, _ = self.layer(on=[10.0, 12.0, 10.5, 11.5, 11.0, 10.2],
                                off=[10.1, 11.9, 10.4, 11.6, 10.9, 10.3])
        self.assertEqual(rc, 0)
        p = float(re.search(r"\| [+-][0-9.]+% \| ([0-9.e-]+) \|", out).group(1))
        self.assertGreater(p, 0.2)


class BadInputTest(unittest.TestCase):
    def test_empty_folder(self):
        with tempfile.TemporaryDirectory() as d:
            rc, _, err = run_main(d)
        self.assertEqual(rc, 2)
        self.assertIn("holds no coll_*.json", err)

    def test_not_results_json(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "layers_1gbit.json"), "w", encoding="utf-8") as f:
                f.write("{truncated")
            rc, _, err = run_main(d)
        self.assertEqual(rc, 2)
        self.assertIn("layers_1gbit.json is not benchmark results JSON", err)

    def test_bad_link_rate(self):
        with tempfile.TemporaryDirectory() as d:
            write(d, "coll_fast_2x2_ring_r0.json",
                  [bench("ar", size_bytes=1024, busbw_GBps=1.0, time_us=1, wrong=0)])
            rc, _, err = run_main(d)
        self.assertEqual(rc, 2)
        self.assertIn("link rate 'fast' is not like 1gbit", err)


if __name__ == "__main__":
    unittest.main()
