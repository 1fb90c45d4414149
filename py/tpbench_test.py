"""Tests of the tpbench package: fields written by the binaries are read as written; older
files fall back to the one name parser and give the same fields; the collective table and its
bus factors come from bench/collectives.json; a sweep's parts merge into one file."""

import json
import os
import tempfile
import unittest

from tpbench import collectives, results, schema

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FieldsTest(unittest.TestCase):
    def test_written_fields_win_over_the_name(self):
        b = {"name": "all_reduce/ucx/ring/f32/sum/bytes:8/inplace:0/ranks:2/iterations:5/"
                     "manual_time",
             "fields": {"kind": "collective", "coll": "all_gather", "backend": "mpi"}}
        self.assertEqual(schema.fields(b)["coll"], "all_gather")
        self.assertEqual(schema.fields(b)["backend"], "mpi")

    def test_collective_name_fallback(self):
        f = schema.fields({"name": "reduce/ucx/auto/f32/sum/root:1/bytes:1024/inplace:1/"
                                   "ranks:2/groups:2c/iterations:5/manual_time_mean"})
        self.assertEqual(f, {"kind": "collective", "coll": "reduce", "backend": "ucx",
                             "algo": "auto", "dtype": "f32", "redop": "sum", "root": "1",
                             "inplace": "1", "groups": "2c", "bytes": "1024"})

    def test_layer_and_pattern_name_fallback(self):
        f = schema.fields({"name": "tp2p5d/mlp/f32/b:2,s:64,h:128,nh:4/depth:2,summa:bcast/"
                                   "overlap:off/backend:mpi/ranks:8/iterations:3/manual_time"})
        self.assertEqual(f, {"kind": "layer", "scheme": "tp2p5d", "case": "mlp",
                             "dtype": "f32", "batch": "2", "seq": "64", "hidden": "128",
                             "heads": "4", "overlap": "off", "backend": "mpi", "ranks": "8",
                             "summa": "bcast", "depth": "2"})
        p = schema.fields({"name": "comm/tp1d/block/f32/b:2,s:64,h:128,nh:4/ranks:2"})
        self.assertEqual((p["kind"], p["scheme"], p["case"], p["hidden"]),
                         ("pattern", "tp1d", "block", "128"))

    def test_every_stored_benchmark_has_a_kind(self):
        for rel in ("ci/testdata/baseline.json", "reports/testdata/layers.json"):
            with open(os.path.join(ROOT, rel)) as f:
                for b in json.load(f)["benchmarks"]:
                    self.assertIn(schema.fields(b)["kind"], schema.KINDS, b["name"])


class CollectivesTest(unittest.TestCase):
    def test_table_and_bus_factors(self):
        self.assertEqual(collectives.COLLECTIVES[0], "all_reduce")
        self.assertIn("sendrecv", collectives.COLLECTIVES)
        self.assertAlmostEqual(collectives.bus_factor("all_reduce", 4), 1.5)
        self.assertAlmostEqual(collectives.bus_factor("all_gather", 4), 0.75)
        self.assertAlmostEqual(collectives.bus_factor("broadcast", 4), 1.0)


class MergeTest(unittest.TestCase):
    def test_parts_merge_with_world_sizes(self):
        tmp = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
        parts = []
        for n in (2, 4):
            p = os.path.join(tmp, "part%d.json" % n)
            with open(p, "w") as f:
                json.dump({"context": {"backend": "ucx", "mesh": "world"},
                           "benchmarks": [{"name": "x%d" % n}]}, f)
            parts.append((n, p))
        m = results.merge_parts(parts, "/a/quick.sweep", "cmd")
        self.assertEqual(m["context"]["world_size"], "2,4")
        self.assertEqual(m["context"]["sweep"], "quick.sweep")
        self.assertEqual([b["world_size"] for b in m["benchmarks"]], [2, 4])


if __name__ == "__main__":
    unittest.main()
