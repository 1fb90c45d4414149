"""Compiler options shared by every tpbench C++ target: warnings on, warnings are errors."""

TP_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
    "-Wno-missing-field-initializers",
]
