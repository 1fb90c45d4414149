#!/usr/bin/python3
"""tools/schemes/schemes_doc.py: the closed forms of TP_SCHEMES.md section 6 for one pre-LN
block (per rank, forward + backward, including the small LayerNorm and bias terms of
section 5, for the algorithms layers/ implements), the table of docs/schemes.md from a
schemes sweep's results (with the peak tensor memory per rank next to the scheme's memory
model, layers/scheme.h MemoryModel), and the plot of bytes per rank vs P (model curves,
measured points).

  bazel run //tools/schemes:schemes_doc -- --results results/x/results.json \
      --table docs/schemes_table.md --plot docs/schemes_bytes.png

Closed forms in elements (B = b*s, h hidden, q, d as in TP_SCHEMES.md):
  1d     8(t-1)/t Bh
  1d-sp  10(t-1)/t Bh + 12(t-1)/t h
  2d     3(q-1)/q^2 (7Bh + 12h^2) + 18(q-1)/q^2 h + 16(q-1)/q^2 B + 8(q-1)/q^2 h
  2.5d   3(q-1)/q^2 (7Bh/d + 12h^2) + 24(d-1)h^2/(d q^2)
         + 2(dq-1)/(dq) 9h/q + 16(q-1)/(d q^2) B + 8(dq-1)/(d q^2) h
  3d     2(q-1)/q^3 (16Bh + 12h^2) + 2(q^2-1)/q^2 9h/q + 16(q-1)/q^3 B + 8(q^2-1)/q^3 h
"""
import argparse
import json
import math
import sys

from tpbench import schema

QUOTED = {  # the commonly quoted complexities (the seed document's), as exponents of P
    "1d": ("O(N)", 0.0),
    "1d-sp": ("O(N)", 0.0),
    "2d": ("O(N/sqrt P)", 0.5),
    "2.5d": ("O(N/P^0.6)", 0.6),
    "3d": ("O(N/P^(2/3))", 2.0 / 3.0),
}


def mesh(scheme, P, depth=2):
    """(q, d) of scheme on P ranks, or None when P does not fit."""
    if scheme in ("1d", "1d-sp"):
        return (P, 1)
    if scheme == "2d":
        q = round(math.sqrt(P))
        return (q, 1) if q * q == P else None
    if scheme == "2.5d":
        q = round(math.sqrt(P / depth))
        return (q, depth) if depth * q * q == P else None
    if scheme == "3d":
        q = round(P ** (1.0 / 3.0))
        return (q, 1) if q ** 3 == P else None
    raise ValueError("unknown scheme %r" % scheme)


def block_elems(scheme, P, B, h, depth=2):
    """Elements one rank sends in one block forward + backward (None: P does not fit)."""
    m = mesh(scheme, P, depth)
    if m is None:
        return None
    q, d = m
    if scheme == "1d":
        return 8 * (q - 1) / q * B * h
    if scheme == "1d-sp":
        return 10 * (q - 1) / q * B * h + 12 * (q - 1) / q * h
    if scheme == "2d":
        a = (q - 1) / q ** 2
        return 3 * a * (7 * B * h + 12 * h * h) + 18 * a * h + 16 * a * B + 8 * a * h
    if scheme == "2.5d":
        a, dq = (q - 1) / q ** 2, d * q
        return (3 * a * (7 * B * h / d + 12 * h * h) + 24 * (d - 1) * h * h / (d * q * q)
                + 2 * (dq - 1) / dq * 9 * h / q + 16 * a * B / d + 8 * (dq - 1) * h / (d * q * q))
    c = (q - 1) / q ** 3
    return (2 * c * (16 * B * h + 12 * h * h) + 2 * (q * q - 1) / q ** 2 * 9 * h / q
            + 16 * c * B + 8 * (q * q - 1) * h / q ** 3)


PREFIX = {"tp1d": "1d", "tp1d-sp": "1d-sp", "tp2d": "2d", "tp2p5d": "2.5d", "tp3d": "3d"}


def block_case(b):
    """(scheme, P, depth, summa, shape dict) of a layers block result, or None (its fields:
    tpbench.schema)."""
    f = schema.fields(b)
    if f["kind"] != "layer" or f.get("scheme") not in PREFIX or f.get("case") != "block":
        return None
    shape = {"b": int(f["batch"]), "s": int(f["seq"]), "h": int(f["hidden"]),
             "nh": int(f["heads"])}
    return (PREFIX[f["scheme"]], int(f["ranks"]), int(f.get("depth") or 2), f.get("summa", ""),
            shape)


def rows(results):
    """One row per layers block result (first of each name), in the file's order."""
    out, seen = [], set()
    for b in results["benchmarks"]:
        p = block_case(b)
        if p is None or b["name"] in seen:
            continue
        seen.add(b["name"])
        scheme, P, depth, summa, shape = p
        B, h = shape["b"] * shape["s"], shape["h"]
        es = 8 if schema.fields(b)["dtype"] == "f64" else 4
        out.append({
            "scheme": scheme, "P": P, "depth": depth, "summa": summa, "B": B, "h": h,
            "measured": b.get("comm_bytes_per_rank"), "model": b["comm_bytes_model"],
            "formula": round(block_elems(scheme, P, B, h, depth) * es),
            "peak": b["peak_mem_bytes_per_rank"], "step_ms": b["step_ms"],
            "peak_model": b.get("peak_mem_model_bytes_per_rank"),
            "weights": weights_per_rank(scheme, P, h, depth) * es,
        })
    return out


def weights_per_rank(scheme, P, h, depth=2):
    """Weight elements (12h^2 in all) one rank holds: 12h^2/P, 2.5D replicates over depth."""
    q, d = mesh(scheme, P, depth)
    return 12 * h * h * (d / P if scheme == "2.5d" else 1 / P)


def table(rs):
    lines = ["| scheme | P | variant | bytes/rank measured | closed form | = | quoted | "
             "measured / quoted scaling from the scheme's smallest P | weight bytes/rank | "
             "peak mem bytes/rank measured | peak mem model | measured / model | step ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    first = {}
    for r in rs:
        first.setdefault(r["scheme"], r)
    for r in rs:
        label, e = QUOTED[r["scheme"]]
        f0 = first[r["scheme"]]
        pred = f0["measured"] * (f0["P"] / r["P"]) ** e if f0["measured"] else None
        vs = "-" if r is f0 or pred is None else "%.2f x" % (r["measured"] / pred)
        pm = r["peak_model"]
        lines.append("| %s | %d | %s | %d | %d | %s | %s | %s | %.0f | %d | %s | %s | %.1f |" % (
            r["scheme"], r["P"], ("d=%d " % r["depth"] if r["scheme"] == "2.5d" else "")
            + (r["summa"] or ""), r["measured"], r["formula"],
            "yes" if r["measured"] == r["formula"] else "NO", label, vs, r["weights"], r["peak"],
            "%d" % pm if pm else "-", "%.4f" % (r["peak"] / pm) if pm else "-", r["step_ms"]))
    return "\n".join(lines) + "\n"


def slopes(B, h, depth=2):
    """Markdown: each scheme's effective exponent e (bytes ~ P^-e) of the closed form between
    consecutive valid P up to 1024, next to the quoted one."""
    lines = ["| scheme | quoted | P range | bytes/rank at the ends (model, f32) | effective "
             "exponent |", "|---|---|---|---|---|"]
    for s in ("1d", "1d-sp", "2d", "2.5d", "3d"):
        ps = [P for P in range(2, 1025) if mesh(s, P, depth) is not None]
        keep = {"1d": (4, 16, 64, 1024), "1d-sp": (4, 16, 64, 1024), "2d": (4, 9, 16, 64, 1024),
                "2.5d": (8, 32, 128, 512), "3d": (8, 27, 64, 512)}[s]
        picks = [P for P in ps if P in keep]
        for a, b in zip(picks, picks[1:]):
            ya, yb = block_elems(s, a, B, h, depth) * 4, block_elems(s, b, B, h, depth) * 4
            lines.append("| %s | %s | %d -> %d | %.0f -> %.0f | %.2f |" % (
                s, QUOTED[s][0], a, b, ya, yb, -math.log(yb / ya) / math.log(b / a)))
    return "\n".join(lines) + "\n"


def plot(rs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    B, h, es = rs[0]["B"], rs[0]["h"], 4
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, s in enumerate(("1d", "1d-sp", "2d", "2.5d", "3d")):
        ps = [P for P in range(2, 257) if mesh(s, P) is not None]
        ys = [block_elems(s, P, B, h) * es / 1e6 for P in ps]
        ax.plot(ps, ys, "-o", ms=2, color="C%d" % i, label="%s model" % s)
        pts = [(r["P"], r["measured"] / 1e6) for r in rs if r["scheme"] == s and r["measured"]]
        if pts:
            ax.plot(*zip(*pts), "s", ms=9, mfc="none", color="C%d" % i)
    ax.plot([], [], "ks", mfc="none", label="measured (schemes.sweep)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("P (ranks)")
    ax.set_ylabel("MB sent per rank, one block fwd+bwd")
    ax.set_title("b*s=%d, h=%d, f32; 2.5d with d=2" % (B, h))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", required=True, help="results.json of bench/sweeps/schemes.sweep")
    ap.add_argument("--table", help="write the markdown table here (default: stdout)")
    ap.add_argument("--plot", help="write the PNG plot here")
    ap.add_argument("--slopes", help="write the effective-exponent table (markdown) here")
    a = ap.parse_args(argv)
    try:
        with open(a.results) as f:
            rs = rows(json.load(f))
    except (OSError, ValueError, KeyError) as e:
        print("schemes_doc: error: %s: %s" % (a.results, e), file=sys.stderr)
        return 2
    if not rs:
        print("schemes_doc: error: %s has no layers block results" % a.results, file=sys.stderr)
        return 2
    t = table(rs)
    if a.table:
        with open(a.table, "w") as f:
            f.write(t)
    else:
        sys.stdout.write(t)
    if a.plot:
        plot(rs, a.plot)
    if a.slopes:
        with open(a.slopes, "w") as f:
            f.write(slopes(rs[0]["B"], rs[0]["h"]))
    bad = [r for r in rs if r["measured"] != r["formula"]]
    for r in bad:
        print("schemes_doc: measured %s != closed form %d for %s P=%d" % (
            r["measured"], r["formula"], r["scheme"], r["P"]), file=sys.stderr)
    return 7 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
