"""A fake re-measure command for ci/gate_test.py: no benchmarks run.

    fake_remeasure.py SRC OUT [LOG] [--exit N]

Copies the results file SRC to OUT (the gate's {out}) and appends one line to LOG per call
(the round count the test checks); --exit N exits with N without writing anything.
"""
import shutil
import sys


def main(argv):
    if "--exit" in argv:
        return int(argv[argv.index("--exit") + 1])
    src, out = argv[0], argv[1]
    shutil.copyfile(src, out)
    if len(argv) > 2:
        with open(argv[2], "a") as f:
            f.write(out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
