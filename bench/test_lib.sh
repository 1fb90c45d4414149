# bench/test_lib.sh: sourced by the benchmark binaries' sh_tests. Expects $bin (the binary),
# $log (a file) and $fail (0/1) to be set.
export TPBENCH_TIMEOUT_S=60

expect() {  # expect <exit code> <text> -- <args...>
  local want="$1" text="$2"
  shift 3
  timeout 120 "$bin" "$@" >"$log" 2>&1
  local rc=$?
  if [[ $rc != "$want" ]]; then
    echo "FAIL: '$*' exited $rc, expected $want"; cat "$log"; fail=1
  elif ! grep -qF -- "$text" "$log"; then
    echo "FAIL: '$*' output lacks: $text"; cat "$log"; fail=1
  else
    echo "ok: '$*' -> exit $rc, says: $(grep -F -- "$text" "$log" | head -1)"
  fi
}
