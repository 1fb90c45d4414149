#!/usr/bin/python3
"""bench/accept_html.py: the HTML page of an acceptance verdict (//bench:accept runs it).

    accept_html.py OUT/verdict.json OUT      # writes OUT/index.html and its PNGs

The page: the verdict and the ranks/hosts to pull, every check (measured vs required, the spec
line), a heatmap of the pairwise link bandwidth matrix (sender x receiver) with failing links
marked, and per-rank bars (GEMM, copy bandwidth, collective time p50/p95, late fraction).
"""
import html
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def heatmap(v, out):
    m = v.get("bandwidth_Bps") or []
    if len(m) < 2:
        return None
    n = len(m)
    gb = [[(x or 0) / 1e9 if r != c else float("nan") for c, x in enumerate(row)]
          for r, row in enumerate(m)]  # no self links
    fig, ax = plt.subplots(figsize=(1.2 + 0.5 * n, 1.0 + 0.5 * n))
    im = ax.imshow(gb, cmap="viridis")
    fig.colorbar(im, ax=ax, label="GB/s")
    for a, b in v.get("bad_links", []):
        for (r, c) in ((a, b), (b, a)):
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="red", lw=2))
    for s in v.get("suspects", []):
        ax.axhline(s["rank"], color="red", lw=0.8, ls="--")
    ax.set_xlabel("receiver rank")
    ax.set_ylabel("sender rank")
    ax.set_title("pairwise link bandwidth")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    fig.tight_layout()
    path = os.path.join(out, "link_bandwidth.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return os.path.basename(path)


def rank_bars(v, out):
    ranks = v.get("ranks") or []
    if not ranks:
        return None
    fields = [("gemm_flops", 1e9, "GEMM GFLOP/s"), ("copy_Bps", 1e9, "copy GB/s"),
              ("p50_s", 1e-6, "all-reduce p50 us"), ("p95_s", 1e-6, "all-reduce p95 us"),
              ("late_fraction", 0.01, "last to arrive, % of iterations")]
    fields = [f for f in fields if any(r.get(f[0]) for r in ranks)]
    if not fields:
        return None
    suspects = {s["rank"] for s in v.get("suspects", [])}
    fig, axes = plt.subplots(1, len(fields), figsize=(3.2 * len(fields), 2.8))
    axes = axes if len(fields) > 1 else [axes]
    for ax, (key, scale, label) in zip(axes, fields):
        xs = [r["rank"] for r in ranks]
        ys = [(r.get(key) or 0) / scale for r in ranks]
        ax.bar(xs, ys, color=["red" if x in suspects else "tab:blue" for x in xs])
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("rank")
        ax.set_xticks(xs)
    fig.tight_layout()
    path = os.path.join(out, "ranks.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return os.path.basename(path)


def page(v, images):
    e = html.escape
    verdict = v["verdict"].upper()
    rows = "".join(
        "<tr class='%s'><td>%s</td><td>%s</td><td>%.4g %s</td><td>%s %.4g %s</td><td>%s</td>"
        "<td>%s</td></tr>" % (c["status"], e(c["name"]), c["status"].upper(), c["measured"] or 0,
                              e(c["unit"]), "&le;" if c["bound"] == "max" else "&ge;",
                              c["expected"] or 0, e(c["unit"]), e(c["spec_line"]), e(c["detail"]))
        for c in v["checks"])
    pull = "".join("<li>rank %d on host <code>%s</code>: %s</li>" % (s["rank"], e(s["host"]),
                                                                     e(s["why"]))
                   for s in v.get("suspects", []))
    imgs = "".join("<p><img src='%s' alt='%s'></p>" % (i, i) for i in images if i)
    return """<!doctype html><html><head><meta charset="utf-8"><title>tpbench acceptance: %s</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;border-bottom:1px solid #ddd}
.fail td{background:#fdd}.verdict{font-size:1.6em}.PASS{color:green}.FAIL{color:#b00}</style>
</head><body><h1>tpbench acceptance</h1>
<p class="verdict %s">%s</p>
<p>Spec <code>%s</code> (profile %s; %s), %d ranks, backend %s, machine %s;
wrong elements: %d.</p>
%s
<table><tr><th>check</th><th>status</th><th>measured</th><th>required</th><th>spec line</th>
<th>detail</th></tr>%s</table>%s</body></html>
""" % (verdict, verdict, verdict, e(v["spec"]), e(v["spec_profile"]), e(v["spec_source"]),
       v["world_size"], e(v["backend"]), e(v["machine_profile"]), v["wrong"],
       ("<h2>Pull</h2><ul>%s</ul>" % pull) if pull else "", rows, imgs)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: accept_html.py VERDICT.json OUTDIR")
    with open(argv[1]) as f:
        v = json.load(f)
    out = argv[2]
    images = [heatmap(v, out), rank_bars(v, out)]
    tmp = os.path.join(out, "index.html.tmp")
    with open(tmp, "w") as f:
        f.write(page(v, images))
    os.replace(tmp, os.path.join(out, "index.html"))


if __name__ == "__main__":
    main(sys.argv)
