#!/usr/bin/python3
"""Tests of tools/check_deps.py: the real tree is clean; the violating fixture fails with
every upward include named (and nothing else); a legal fixture passes."""

import contextlib
import io
import os
import sys
import unittest

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)

import check_deps  # noqa: E402

FIXTURES = os.path.join(HERE, "testdata", "deps")


def run(root):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        rc = check_deps.main(["--root", root])
    return rc, out.getvalue()


class CheckDepsTest(unittest.TestCase):

    def test_violating_fixture_fails_naming_each_upward_include(self):
        rc, out = run(os.path.join(FIXTURES, "bad"))
        self.assertEqual(rc, 1, out)
        lines = sorted(out.strip().splitlines())
        self.assertEqual(len(lines), 3, out)
        self.assertTrue(lines[0].startswith(
            "comm/ucx/transport.h:3: comm/ must not include patterns/registry.h"), lines[0])
        self.assertTrue(lines[1].startswith(
            "layers/tp1d/block.cc:5: layers/ must not include bench/flags.h"), lines[1])
        self.assertTrue(lines[2].startswith(
            "patterns/algo.cc:3: patterns/ must not include layers/tensor.h"), lines[2])
        self.assertNotIn("bench/main.cc", out)  # bench may include every layer

    def test_legal_fixture_passes(self):
        rc, out = run(os.path.join(FIXTURES, "good"))
        self.assertEqual(rc, 0, out)

    def test_not_a_workspace_is_a_usage_error(self):
        rc, _ = run(os.path.join(FIXTURES, "good", "comm"))
        self.assertEqual(rc, 2)

    def test_the_tree_follows_the_layering(self):
        # The script resolves its own location to the source tree (this test is local and
        # never cached, so every run reads the current sources).
        rc, out = run(os.path.dirname(HERE))
        self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    unittest.main()
