#!/usr/bin/python3
"""tools/schemes/schemes_doc_test.py: schemes_doc on a checked-in schemes sweep result: the
closed forms equal the measured bytes of every scheme, hand-computed values, the table and the
plot; a wrong measured value exits 7, a missing file 2."""
import json
import os
import tempfile
import unittest

import schemes_doc  # beside this file (the script's folder is first on the path)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "testdata", "schemes_results.json")


class SchemesDocTest(unittest.TestCase):
    def test_closed_forms_by_hand(self):
        B, h = 576, 144
        # 1d, t = 4: 8 * 3/4 * B*h.
        self.assertEqual(schemes_doc.block_elems("1d", 4, B, h), 6 * B * h)
        # 3d, q = 2: 2/8 (16Bh + 12h^2) + 2*3/4 * 9h/2 + 16/8 B + 8*3/8 h.
        want = 0.25 * (16 * B * h + 12 * h * h) + 1.5 * 4.5 * h + 2 * B + 3 * h
        self.assertAlmostEqual(schemes_doc.block_elems("3d", 8, B, h), want)
        self.assertIsNone(schemes_doc.block_elems("2d", 8, B, h))
        self.assertIsNone(schemes_doc.block_elems("3d", 9, B, h))
        # 2.5d with d = 1 is 2d.
        self.assertAlmostEqual(schemes_doc.block_elems("2.5d", 4, B, h, depth=1),
                               schemes_doc.block_elems("2d", 4, B, h))

    def test_fixture_table_and_plot(self):
        with tempfile.TemporaryDirectory() as d:
            table, png, sl = (os.path.join(d, n) for n in ("t.md", "p.png", "s.md"))
            rc = schemes_doc.main(["--results", FIXTURE, "--table", table, "--plot", png,
                                   "--slopes", sl])
            self.assertEqual(rc, 0)
            with open(table) as f:
                rows = [l for l in f if l.startswith("| ") and "---" not in l][1:]
            self.assertEqual(len(rows), 11)
            self.assertTrue(all("| yes |" in r for r in rows), rows)
            # Peak memory: the scheme's model next to the measurement, equal on this shape.
            cells = [[c.strip() for c in r.split("|")[1:-1]] for r in rows]
            self.assertTrue(all(c[9] == c[10] and c[11] == "1.0000" for c in cells), cells)
            schemes = {r.split("|")[1].strip() for r in rows}
            self.assertEqual(schemes, {"1d", "1d-sp", "2d", "2.5d", "3d"})
            self.assertGreater(os.path.getsize(png), 10000)
            with open(sl) as f:
                self.assertIn("| 3d | O(N/P^(2/3)) | 8 -> 27 |", f.read())

    def test_wrong_measurement_exits_7(self):
        with open(FIXTURE) as f:
            data = json.load(f)
        data["benchmarks"][0]["comm_bytes_per_rank"] += 4
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                json.dump(data, f)
            self.assertEqual(schemes_doc.main(["--results", bad, "--table",
                                               os.path.join(d, "t.md")]), 7)

    def test_missing_file_exits_2(self):
        self.assertEqual(schemes_doc.main(["--results", "/nonexistent.json"]), 2)


if __name__ == "__main__":
    os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp())
    unittest.main()
