#!/usr/bin/python3
"""tools/check_function_length.py: no function over 60 lines outside tests (issue #11).

    check_function_length.py [ROOT] [--max 60]

C++ (.h, .cc, .cu; not *_test.cc, testing/ or testdata/): a definition is a line that opens a
brace after a parameter list at namespace or class level; its length runs to the matching
brace (string literals, character literals and comments are skipped while matching). Python
(not *_test.py): every def, from ast. Prints FILE:LINE: NAME is N lines (max M) for each
offender and exits 1 if there is any.
"""
import ast
import os
import re
import sys

SKIP_DIRS = {"testdata", "testing", ".git", "third_party"}
CPP = (".h", ".cc", ".cu")
HEAD = re.compile(r"^\s*(?:[\w:<>,*&~\[\]]+\s+)*([\w:~]+|operator\S+)\s*\(")
NOT_FUNC = re.compile(r"^\s*(if|for|while|switch|catch|return|else|do|namespace|class|struct|"
                      r"enum|union|template\s*<[^>]*>\s*(class|struct))\b")


def strip(line, state):
    """Removes comments and literals from one line; state carries an open block comment."""
    out, i = [], 0
    while i < len(line):
        if state["block"]:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out)
            state["block"], i = False, end + 2
            continue
        two = line[i:i + 2]
        if two == "//":
            break
        if two == "/*":
            state["block"], i = True, i + 2
            continue
        c = line[i]
        if c in "\"'":
            j = i + 1
            while j < len(line) and line[j] != c:
                j += 2 if line[j] == "\\" else 1
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def cpp_functions(path):
    """Yields (line, name, length) of every function definition in a C++ file."""
    with open(path, errors="replace") as f:
        lines = f.read().split("\n")
    state = {"block": False}
    code = [strip(l, state) for l in lines]
    raw_literal = re.compile(r'R"\(')
    depth, i = 0, 0
    while i < len(code):
        line = code[i]
        if raw_literal.search(lines[i]):  # usage texts: skip to the closing )"
            while i < len(code) and ')"' not in lines[i]:
                i += 1
            i += 1
            continue
        m = HEAD.match(line)
        if m and not NOT_FUNC.match(line) and depth <= 2:
            # The definition's signature may span lines; find its opening brace.
            j, sig = i, line
            while j < len(code) and "{" not in code[j] and ";" not in code[j]:
                j += 1
                sig += code[j] if j < len(code) else ""
            if j < len(code) and "{" in code[j] and ";" not in code[j].split("{")[0]:
                k, d = j, 0
                while k < len(code):
                    d += code[k].count("{") - code[k].count("}")
                    if d <= 0 and k >= j:
                        break
                    k += 1
                yield i + 1, m.group(1), k - i + 1
                i = k + 1
                continue
        depth += line.count("{") - line.count("}")
        depth = max(depth, 0)
        i += 1


def py_functions(path):
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.lineno, node.name, node.end_lineno - node.lineno + 1


def offenders(root, limit):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIP_DIRS and not d.startswith("bazel-"))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if name.endswith(CPP) and not name.endswith("_test.cc"):
                found = cpp_functions(path)
            elif name.endswith(".py") and not name.endswith("_test.py"):
                found = py_functions(path)
            else:
                continue
            for line, func, length in found:
                if length > limit:
                    yield rel, line, func, length


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    limit = 60
    if "--max" in argv:
        limit = int(argv[argv.index("--max") + 1])
        args = [a for a in args if a != str(limit)]
    root = args[0] if args else "."
    bad = list(offenders(root, limit))
    for rel, line, func, length in bad:
        print("%s:%d: %s is %d lines (max %d)" % (rel, line, func, length, limit))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
