#!/usr/bin/env bash
# tools/setup.sh: installs every Debian package tpbench needs. Idempotent and non-interactive;
# a second run only checks (seconds). Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  bazel-bootstrap bazel-rules-java          # Bazel 4.2.3, offline WORKSPACE mode
  g++ clang-format                          # compiler, tools/format.sh
  libucx-dev ucx-utils                      # ucx backend
  libopenmpi-dev openmpi-bin                # mpi backend and launcher
  libopenblas-dev                           # host compute (layers)
  libbenchmark-dev libgtest-dev             # Google Benchmark, GoogleTest
  python3-matplotlib python3-numpy          # reports, --dump checks (run by /usr/bin/python3)
  chromium chromium-driver                  # reports browser test (headless, file://)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The GPU configuration (bazel build --config=cuda, docs/gpu.md) needs the CUDA 13 toolkit with
# cuBLAS and NCCL at /usr/local/cuda; it does not come from Debian's mirror, so only report it.
if [[ -x /usr/local/cuda/bin/nvcc && -e /usr/local/cuda/include/nccl.h ]]; then
  echo "tools/setup.sh: CUDA toolkit with NCCL found at /usr/local/cuda"
else
  echo "tools/setup.sh: note: no CUDA toolkit with NCCL at /usr/local/cuda (needed by --config=cuda)"
fi

if ((${#missing[@]} == 0)); then
  echo "tools/setup.sh: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "tools/setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
echo "tools/setup.sh: done"
