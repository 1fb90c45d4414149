#!/usr/bin/python3
"""Tests of tools/check_deps.py: the real tree is clean; the violating fixture fails with
every upward include named (and nothing else); a legal fixture passes."""

import contextlib
import io
import os
import shutil
import tempfile
import unittest

import check_deps  # beside this file (the script's folder is first on the path)

HERE = os.path.dirname(os.path.realpath(__file__))

FIXTURES = os.path.join(HERE, "testdata", "deps")


def install(fixture, into):
    """Copies a fixture tree; files named BUILD.in become BUILD (a checked-in BUILD file would
    make Bazel treat the fixture folder as a package)."""
    shutil.copytree(os.path.join(FIXTURES, fixture), into)
    for dirpath, _, filenames in os.walk(into):
        if "BUILD.in" in filenames:
            os.rename(os.path.join(dirpath, "BUILD.in"), os.path.join(dirpath, "BUILD"))
    return into


def run(root):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        rc = check_deps.main(["--root", root])
    return rc, out.getvalue()


class CheckDepsTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_violating_fixture_fails_naming_each_upward_include(self):
        rc, out = run(install("bad", os.path.join(self.tmp, "bad")))
        self.assertEqual(rc, 1, out)
        lines = sorted(out.strip().splitlines())
        self.assertEqual(len(lines), 4, out)
        self.assertTrue(lines[0].startswith(
            "comm/ucx/transport.h:3: comm/ must not include patterns/registry.h"), lines[0])
        self.assertTrue(lines[1].startswith(
            "layers/tp1d/block.cc:5: layers/ must not include bench/flags.h"), lines[1])
        self.assertTrue(lines[2].startswith(
            "patterns/BUILD:8: patterns/ must not depend on //layers:tensor"), lines[2])
        self.assertTrue(lines[3].startswith(
            "patterns/algo.cc:3: patterns/ must not include layers/tensor.h"), lines[3])
        self.assertNotIn("bench/main.cc", out)  # bench may include every layer

    def test_legal_fixture_passes(self):
        rc, out = run(os.path.join(FIXTURES, "good"))
        self.assertEqual(rc, 0, out)

    def test_not_a_workspace_is_a_usage_error(self):
        rc, _ = run(os.path.join(FIXTURES, "good", "comm"))
        self.assertEqual(rc, 2)

    def test_an_allowed_build_edge_is_listed_with_its_reason(self):
        for (build, label), why in check_deps.ALLOWED_BUILD_EDGES.items():
            self.assertTrue(build.endswith("BUILD") and label.startswith("//"), build)
            self.assertTrue(why, label)
        # The same edge elsewhere is not allowed.
        os.makedirs(os.path.join(self.tmp, "comm", "sub"))
        with open(os.path.join(self.tmp, "comm", "sub", "BUILD"), "w") as f:
            f.write('alias(name = "w", actual = "//patterns:backends")\n')
        rc, out = run(self.tmp)
        self.assertEqual(rc, 1, out)
        self.assertIn("comm/sub/BUILD:1: comm/ must not depend on //patterns:backends", out)

    def test_the_tree_follows_the_layering(self):
        # The script resolves its own location to the source tree (this test is local and
        # never cached, so every run reads the current sources).
        rc, out = run(os.path.dirname(HERE))
        self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    unittest.main()
