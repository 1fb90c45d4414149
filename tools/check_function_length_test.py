#!/usr/bin/python3
"""Tests of tools/check_function_length.py: it catches a 61-line C++ function (one-line and
multi-line signatures, members) and a 61-line Python def, lets 60 lines, test files and
usage texts pass, and the real tree has no function over 60 lines outside tests."""

import contextlib
import io
import os
import tempfile
import unittest

from tools import check_function_length as cfl

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(cfl.__file__)))


def cpp_function(name, body_lines, signature="void {}(int a) {{"):
    lines = [signature.format(name)] + ["  a += %d;" % i for i in range(body_lines)] + ["}"]
    return "\n".join(lines) + "\n"


def check(files):
    with tempfile.TemporaryDirectory() as d:
        for rel, text in files.items():
            path = os.path.join(d, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = cfl.main(["check_function_length.py", d])
        return rc, out.getvalue()


class CheckFunctionLengthTest(unittest.TestCase):

    def test_long_cpp_function_fails_naming_it(self):
        rc, out = check({"a/x.cc": "namespace n {\n" + cpp_function("Long", 59) + "}\n"})
        self.assertEqual(rc, 1)
        self.assertIn("a/x.cc:2: Long is 61 lines (max 60)", out)

    def test_sixty_lines_pass(self):
        self.assertEqual(check({"a/x.cc": cpp_function("Ok", 58)})[0], 0)

    def test_multiline_signature_and_member(self):
        text = "int C::Method(int a,\n              int b) {\n" + "  a++;\n" * 60 + "  return a;\n}\n"
        rc, out = check({"a/y.cc": text})
        self.assertEqual(rc, 1)
        self.assertIn("C::Method is 64 lines", out)

    def test_long_python_def_fails(self):
        body = "".join("    x += %d\n" % i for i in range(60))
        rc, out = check({"b/t.py": "def long_one(x):\n" + body})
        self.assertEqual(rc, 1)
        self.assertIn("b/t.py:1: long_one is 61 lines", out)

    def test_tests_and_usage_texts_are_exempt(self):
        usage = 'const char* kUsage = R"(\n' + "text\n" * 80 + ')";\n'
        self.assertEqual(check({"a/x_test.cc": cpp_function("T", 80),
                                "b/t_test.py": "def t():\n" + "    pass\n" * 80,
                                "a/u.cc": usage})[0], 0)

    def test_the_tree_has_no_function_over_60_lines(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = cfl.main(["check_function_length.py", ROOT])
        self.assertEqual(rc, 0, out.getvalue())


if __name__ == "__main__":
    unittest.main()
