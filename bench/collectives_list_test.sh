#!/usr/bin/env bash
# bench/collectives.json is the Python tools' copy of the collective table (comm/coll.h) and of
# the algorithms per backend: it must equal what //bench:collectives --list --json prints.
# Regenerate: bazel run //bench:collectives -- --list --json > bench/collectives.json
#   collectives_list_test.sh <collectives> <collectives.json>
set -uo pipefail
if ! diff <("$1" --list --json) "$2"; then
  echo "FAIL: bench/collectives.json is stale; regenerate it:"
  echo "  bazel run //bench:collectives -- --list --json > bench/collectives.json"
  exit 1
fi
echo "ok: bench/collectives.json equals --list --json"
