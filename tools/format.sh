#!/usr/bin/env bash
# tools/format.sh: formats tpbench's C++ with the repository's .clang-format.
#   tools/format.sh           rewrite files in place
#   tools/format.sh --check   list files that differ and exit 1 (no changes made)
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.h' '*.cc' '*.cu' | grep -v '^third_party/')
if [[ "${1:-}" == "--check" ]]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --style=file "$f" | cmp -s - "$f"; then echo "needs formatting: $f"; bad=1; fi
  done
  exit $bad
fi
clang-format --style=file -i "${files[@]}"
