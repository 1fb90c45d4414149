"""CUDA in tpbench's Bazel 4 build: nvcc through a genrule, its objects in a cc_library.

    load("//tools/build:cuda.bzl", "cuda_library", "if_cuda")
    cuda_library(
        name = "kernels",
        srcs = ["kernels.cu"],           # compiled by nvcc (sm_80, sm_90, PTX for compute_90)
        hdrs = ["kernels.h"],            # plain C++ headers the host code includes
        cu_hdrs = ["//comm/cuda:headers"],  # extra headers the .cu files include
    )

GPU code builds only under --config=cuda (.bazelrc: --define=tpbench_cuda=1). Without it the
library is empty: its srcs and deps select() to nothing, and the nvcc genrules are tagged
"manual", so `bazel build //...` never runs nvcc and never reads /usr/local/cuda.
nvcc is called by absolute path (the toolkit is a system install, not tracked by Bazel).
"""

NVCC = "/usr/local/cuda/bin/nvcc"

# Real code for Ampere (sm_80) and Hopper (sm_90), plus compute_90 PTX that the driver JITs on
# newer GPUs.
CUDA_GENCODE = [
    "-gencode arch=compute_80,code=sm_80",
    "-gencode arch=compute_90,code=sm_90",
    "-gencode arch=compute_90,code=compute_90",
]

NVCC_FLAGS = [
    "-c",
    "-O3",
    "-std=c++17",
    "-ccbin /usr/bin/g++",
    "-Xcompiler -fPIC,-Wall,-Wextra,-Wno-unused-parameter",
    "-Werror all-warnings",
    "-I.",
] + CUDA_GENCODE

def if_cuda(if_true, if_false = []):
    """if_true under --config=cuda, if_false otherwise."""
    return select({
        "//tools/build:cuda": if_true,
        "//conditions:default": if_false,
    })

def cuda_library(name, srcs, hdrs = [], cu_hdrs = [], deps = [], copts = [], visibility = None, **kwargs):
    """A cc_library of nvcc-compiled .cu files (empty without --config=cuda).

    Args:
      name: the cc_library.
      srcs: .cu files, one nvcc genrule each.
      hdrs: headers of the library (visible to dependents, and to nvcc).
      cu_hdrs: further headers (labels or filegroups) the .cu files include.
      deps: cc deps of the library (only under --config=cuda; @cuda//:cudart is added).
      copts: unused by nvcc; accepted for symmetry.
      visibility: of the cc_library.
      **kwargs: passed to the cc_library.
    """
    objs = []
    for src in srcs:
        stem = src.replace("/", "_").rsplit(".", 1)[0]
        rule = "%s_nvcc_%s" % (name, stem)
        out = "_nvcc/%s/%s.o" % (name, stem)
        native.genrule(
            name = rule,
            srcs = [src] + hdrs + cu_hdrs,
            outs = [out],
            cmd = "%s %s -o $@ $(location %s)" % (NVCC, " ".join(NVCC_FLAGS), src),
            message = "nvcc %s" % src,
            tags = ["manual"],
            visibility = ["//visibility:private"],
        )
        objs.append(":" + rule)
    native.cc_library(
        name = name,
        srcs = if_cuda(objs),
        hdrs = hdrs,
        deps = if_cuda(deps + ["@cuda//:cudart"]),
        visibility = visibility,
        **kwargs
    )
