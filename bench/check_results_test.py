"""Tests of bench/check_results.py: each check is fed the failure it exists to catch.

Fixtures: bench/testdata/good_results.json (collectives), layer_results.json (//bench:layers
tp1d, tp1d-sp, the mpi backend, serial, and a //bench:patterns comm/ skeleton),
multinode_results.json (//tools/cluster:cluster_test's hierarchical and ring run on 2 emulated
nodes x 2 ranks over ucx, with the bytes across nodes measured)."""

import copy
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check_results.py")
DATA = os.path.join(HERE, "testdata")
TMP = os.environ.get("TEST_TMPDIR", "/tmp")


def load(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


def run(doc, *args):
    path = os.path.join(TMP, "check_input.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    p = subprocess.run([sys.executable, CHECK, path] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    return p.returncode, p.stdout + p.stderr


def with_inter_node(doc, measured, model, off=0):
    """good_results.json with the inter-node counters on its ucx results."""
    n = 0
    for b in doc["benchmarks"]:
        if "/ucx/" in b["name"]:
            b.update(inter_node_bytes_per_rank=measured, inter_node_bytes_model=model,
                     inter_node_ranks_off_model=off)
            n += 1
    assert n > 0
    return doc


class InterNodeTest(unittest.TestCase):
    def test_real_run_across_nodes_passes_and_a_wrong_split_fails(self):
        doc = load("multinode_results.json")
        rc, out = run(doc, "--expect-inter-node")
        self.assertEqual(rc, 0, out)
        hier = [b for b in doc["benchmarks"] if b["fields"]["algo"] == "hierarchical"]
        self.assertEqual(len(hier), 3)
        # The flat ring's split passed off as the hierarchical one's: caught.
        ring = {b["fields"]["coll"]: b for b in doc["benchmarks"]
                if b["fields"]["algo"] == "ring"}
        for b in hier:
            b["inter_node_bytes_per_rank"] = ring[b["fields"]["coll"]]["inter_node_bytes_per_rank"]
        rc, out = run(doc, "--expect-inter-node")
        self.assertEqual(rc, 1, out)
        self.assertEqual(out.count("bytes across nodes off the model"), 3, out)

    def test_split_as_modelled_passes(self):
        rc, out = run(with_inter_node(load("good_results.json"), 4096, 4096))
        self.assertEqual(rc, 0, out)

    def test_split_off_model_fails(self):
        # Every rank sending across nodes (a wrong schedule): more bytes leave than modelled.
        rc, out = run(with_inter_node(load("good_results.json"), 12288, 4096))
        self.assertEqual(rc, 1, out)
        self.assertIn("bytes across nodes off the model", out)

    def test_rank_off_model_fails(self):
        # The busiest rank matches, another one does not.
        rc, out = run(with_inter_node(load("good_results.json"), 4096, 4096, off=1))
        self.assertEqual(rc, 1, out)
        self.assertIn("inter_node_ranks_off_model 1", out)

    def test_half_the_counters_fail(self):
        doc = with_inter_node(load("good_results.json"), 4096, 4096)
        for b in doc["benchmarks"]:
            b.pop("inter_node_bytes_model", None)
        rc, out = run(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn("'inter_node_bytes_model' is None", out)

    def test_expected_across_nodes_but_absent_fails(self):
        doc = load("good_results.json")
        self.assertEqual(run(doc)[0], 0)
        rc, out = run(doc, "--expect-inter-node")
        self.assertEqual(rc, 1, out)
        self.assertIn("no inter-node counters", out)
        rc, out = run(with_inter_node(doc, 4096, 4096), "--expect-inter-node")
        self.assertEqual(rc, 0, out)

    def test_expected_across_nodes_but_model_zero_fails(self):
        rc, out = run(with_inter_node(load("good_results.json"), 0, 0), "--expect-inter-node")
        self.assertEqual(rc, 1, out)
        self.assertIn("inter_node_bytes_model is 0", out)

    def test_mpi_must_not_report_them(self):
        doc = load("good_results.json")
        mpi = [b for b in doc["benchmarks"] if "/mpi/" in b["name"]]
        self.assertTrue(mpi)
        mpi[0].update(inter_node_bytes_per_rank=0, inter_node_bytes_model=0,
                      inter_node_ranks_off_model=0)
        rc, out = run(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn("cannot measure bytes across nodes", out)


class CollectivesTest(unittest.TestCase):
    def test_good_passes(self):
        rc, out = run(load("good_results.json"))
        self.assertEqual(rc, 0, out)
        self.assertNotIn("unchecked", out)

    def test_versioned_file_needs_fields(self):
        # A file naming its schema version carries every benchmark's fields; one without them
        # fails, and the fields, when present, decide (the busbw factor is the field's coll).
        doc = load("good_results.json")
        doc["context"]["tpbench_schema"] = "2"
        rc, out = run(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn("'fields' missing or without a kind", out)
        for b in doc["benchmarks"]:
            b["fields"] = {"kind": "collective", "coll": b["name"].split("/")[0],
                           "backend": b["name"].split("/")[1]}
        rc, out = run(doc)
        self.assertEqual(rc, 0, out)
        doc["benchmarks"][0]["fields"]["coll"] = "all_gather"  # (n-1)/n, not 2(n-1)/n
        rc, out = run(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn("all_gather factor", out)

    def test_wrong_elements_fail(self):
        doc = load("good_results.json")
        doc["benchmarks"][2]["wrong"] = 3.0
        rc, out = run(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn("3 wrong elements", out)

    def test_without_wrong_is_unchecked_not_zero(self):
        # -c 0: the benchmark leaves `wrong` out. Accepted, but said to be unchecked.
        doc = load("good_results.json")
        for b in doc["benchmarks"]:
            b.pop("wrong", None)
        rc, out = run(doc)
        self.assertEqual(rc, 0, out)
        self.assertIn("%d collective results unchecked" % len(doc["benchmarks"]), out)
        # An unchecked run cannot stand in for a run that was expected to find wrong elements.
        rc, out = run(doc, "--expect-wrong")
        self.assertEqual(rc, 1, out)
        self.assertIn("no result was checked", out)

    def test_wrong_not_a_count_fails(self):
        doc = load("good_results.json")
        doc["benchmarks"][0]["wrong"] = -1
        self.assertEqual(run(doc)[0], 1)

    def test_bad_fixture_fails(self):
        rc, out = run(load("bad_results.json"))
        self.assertEqual(rc, 1, out)
        self.assertIn("busbw_GBps", out)


class LayersTest(unittest.TestCase):
    def test_good_passes(self):
        rc, out = run(load("layer_results.json"))
        self.assertEqual(rc, 0, out)

    def test_layer_without_max_rel_err_fails(self):
        base = load("layer_results.json")
        layers = [i for i, b in enumerate(base["benchmarks"])
                  if not b["name"].startswith("comm/")]
        self.assertEqual(len(layers), 4)
        for i in layers:  # tp1d, tp1d-sp, the mpi backend, serial
            doc = copy.deepcopy(base)
            del doc["benchmarks"][i]["max_rel_err"]
            rc, out = run(doc)
            self.assertEqual(rc, 1, (doc["benchmarks"][i]["name"], out))
            self.assertIn("'max_rel_err' missing", out)

    def test_skeleton_needs_no_max_rel_err(self):
        doc = load("layer_results.json")
        comm = [b for b in doc["benchmarks"] if b["name"].startswith("comm/")]
        self.assertEqual(len(comm), 1)
        self.assertNotIn("max_rel_err", comm[0])
        self.assertEqual(run(doc)[0], 0)

    def test_max_rel_err_above_tolerance_fails(self):
        doc = load("layer_results.json")
        doc["benchmarks"][0]["max_rel_err"] = 1e-2
        rc, out = run(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn("above", out)

    def test_comm_bytes_off_model_fails(self):
        doc = load("layer_results.json")
        doc["benchmarks"][1]["comm_bytes_per_rank"] += 4
        rc, out = run(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn("comm_bytes_model", out)

    def peak_model_doc(self, model):
        doc = load("layer_results.json")
        doc["benchmarks"][0]["peak_mem_model_bytes_per_rank"] = model
        return doc, doc["benchmarks"][0]["peak_mem_bytes_per_rank"]

    def test_peak_model_equal_passes_exact(self):
        doc, peak = self.peak_model_doc(None)
        doc["benchmarks"][0]["peak_mem_model_bytes_per_rank"] = peak
        self.assertEqual(run(doc, "--exact-peak-model")[0], 0)

    def test_peak_model_above_measured_fails(self):
        doc, peak = self.peak_model_doc(None)
        doc["benchmarks"][0]["peak_mem_model_bytes_per_rank"] = peak + 64
        rc, out = run(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn("above the measured high-water mark", out)

    def test_peak_model_below_measured_fails_only_exact(self):
        # A model missing a term (64 bytes short) is a lower bound: accepted by default (the
        # peak may be elsewhere on other shapes), caught by --exact-peak-model.
        doc, peak = self.peak_model_doc(None)
        doc["benchmarks"][0]["peak_mem_model_bytes_per_rank"] = peak - 64
        self.assertEqual(run(doc)[0], 0)
        rc, out = run(doc, "--exact-peak-model")
        self.assertEqual(rc, 1, out)
        self.assertIn("peak_mem_model_bytes_per_rank %g != peak_mem_bytes_per_rank" % (peak - 64),
                      out)

    def test_peak_model_not_a_number_fails(self):
        doc, _ = self.peak_model_doc("big")
        rc, out = run(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn("is not a positive number", out)


if __name__ == "__main__":
    unittest.main()
