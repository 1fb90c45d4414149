"""The report's page: index.html's sections (summary, one per collective, scaling, concurrent
groups, TP schemes, baseline comparison with the gate's verdicts), each plot with a table of
its exact numbers, and build(), which writes the whole report. See docs/reports.md.

The page opens from disk with no server and no network: plots are PNG files referenced
relatively, styles are inline, there is no script.
"""

import datetime
import html
import os
import re
import tempfile
import time

from reports.model import (LAYER_COUNTERS, LIMIT_KEY, SMALL_MAX, ReportError, fmt, fmt_size,
                           gate_verdict, load_results, load_verdict)
from reports.plots import (BACKEND_STYLE, Plotter, _color_for, _legend, _size_axes, series_key,
                           series_label, series_marker)
from tpbench import mannwhitney
from tpbench.collectives import COLLECTIVES


def esc(s):
    return html.escape(str(s), quote=True)


def table(headers, rows, cls=None, row_classes=None):
    out = ['<table%s><thead><tr>%s</tr></thead><tbody>'
           % (' class="%s"' % cls if cls else "", "".join("<th>%s</th>" % esc(h) for h in headers))]
    for i, r in enumerate(rows):
        rc = row_classes[i] if row_classes else ""
        out.append('<tr%s>%s</tr>' % (' class="%s"' % rc if rc else "",
                                       "".join("<td>%s</td>" % esc(c) for c in r)))
    out.append("</tbody></table>")
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Output helpers

def write_atomically(path, data, mode="w"):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def measure_memcpy_GBps(size=64 << 20, reps=5):
    """Single-thread memcpy bandwidth (bytes copied per second) of a 64 MiB buffer: slice
    assignment between bytearrays is one memcpy in CPython."""
    src = bytearray(os.urandom(1 << 16)) * (size >> 16)
    dst = bytearray(size)
    mv_d, mv_s = memoryview(dst), memoryview(src)
    mv_d[:] = mv_s  # fault the pages in
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        mv_d[:] = mv_s
        best = min(best, time.perf_counter() - t0)
    return size / best / 1e9


def _ctx_union(res, key):
    vals = []
    for _, ctx in res.files:
        v = ctx.get(key)
        if v is not None and str(v) not in vals:
            vals.append(str(v))
    return ", ".join(vals) if vals else "-"


def _largest_common(entries_by_world):
    """Largest size present at every world size of {world: {size: entry}}."""
    sets = [set(d) for d in entries_by_world.values() if d]
    if not sets:
        return None
    common = set.intersection(*sets)
    common.discard(0)
    return max(common) if common else None


def _checks_text(res):
    """Checked / wrong / unchecked collective cases: a run with -c 0 has no `wrong` counter,
    which is "unchecked", never 0 wrong elements."""
    checked = unchecked = bad = 0
    for e in res.coll():
        if not e.runs:
            continue
        vals = [r["wrong"] for r in e.runs if isinstance(r.get("wrong"), (int, float))]
        if len(vals) < len(e.runs):
            unchecked += 1
        elif any(v != 0 for v in vals):
            bad += 1
        else:
            checked += 1
    return ("%d cases checked with 0 wrong elements, %d with wrong elements, %d unchecked "
            "(no `wrong` counter: run with -c 0)" % (checked, bad, unchecked))


def section_summary(res, verdict, limit):
    ctxs = [c for _, c in res.files]
    rows = [
        ("files", ", ".join(p for p, _ in res.files)),
        ("machine_profile", _ctx_union(res, "machine_profile")),
        ("cpu_model", _ctx_union(res, "cpu_model")),
        ("gpu_model", _ctx_union(res, "gpu_model")),
        ("ucx_version", _ctx_union(res, "ucx_version")),
        ("mpi_version", _ctx_union(res, "mpi_version")),
        ("nccl_version", _ctx_union(res, "nccl_version")),
        ("cuda_version", _ctx_union(res, "cuda_version")),
        ("backends", ", ".join(sorted({e.parts["backend"] for e in res.coll()}
                                      | {b for c in ctxs for b in str(c.get("backend", "")).split(",") if b}))),
        ("world sizes", ", ".join(str(w) for w in sorted({e.key[1] for e in res.entries.values()}))),
        ("git sha (tpbench_version)", _ctx_union(res, "tpbench_version")),
        ("date", _ctx_union(res, "date")),
        ("benchmarks", "%d cases (%d collective, %d layer)"
         % (len(res.entries), len(res.coll()), len(res.layers()))),
        ("bandwidth limit line", limit[1]),
        ("result checks (collectives)", _checks_text(res)),
    ]
    if res.replaced:
        pairs = sorted({(a, b) for _, a, b in res.replaced})
        rows.append(("cases in several files", "%d cases taken from the later file (%s)"
                     % (len(res.replaced), "; ".join("%s over %s" % (b, a) for a, b in pairs))))
    out = ['<section id="summary"><h2>Summary</h2>']
    if verdict is not None:
        out.extend(_verdict_summary(verdict))
    out.append(table(["", ""], rows, cls="kv"))
    out.append("<h3>Headline figures</h3>")
    head = _headline(res)
    if head:
        out.append(table(["figure", "value"], head, cls="headline"))
    else:
        out.append("<p>no all_reduce results in these files</p>")
    out.append("</section>")
    return "".join(out)


def _verdict_summary(verdict):
    """The verdict line, its keys and its regressions (the summary's top)."""
    out = []
    v = verdict["verdict"].upper().replace("_", " ")
    cls = {"PASS": "pass", "FAIL": "fail"}.get(v, "other")
    out.append('<p class="verdict %s" id="verdict">verdict: %s</p>' % (cls, esc(v)))
    extra = [(k, verdict[k]) for k in sorted(verdict)
             if k not in ("verdict", "regressions") and not isinstance(verdict[k], (dict, list))]
    extra += [(k, "%d entries" % len(verdict[k])) for k in sorted(verdict)
              if k not in ("regressions", "notes") and isinstance(verdict[k], list)]
    notes = verdict.get("notes")
    if isinstance(notes, list) and notes:
        extra.append(("notes", "; ".join(str(n) for n in notes)))
    elif isinstance(notes, str) and notes:
        extra.append(("notes", notes))
    if extra:
        out.append(table(["verdict key", "value"], extra, cls="kv"))
    regs = verdict.get("regressions", [])
    if regs:
        out.append("<p>%d regression%s in the verdict:</p>" % (len(regs), "s" * (len(regs) != 1)))
        out.append(table(["name", "metric", "change %"],
                         [(r.get("name", "?"), r.get("metric", "?"),
                           fmt(r["change_pct"]) if isinstance(r.get("change_pct"), (int, float))
                           else r.get("change_pct", "?")) for r in regs[:50]],
                         cls="regressions", row_classes=["regress"] * min(len(regs), 50)))
        if len(regs) > 50:
            out.append("<p>(%d more not shown)</p>" % (len(regs) - 50))
    else:
        out.append("<p>no regressions listed in the verdict</p>")
    return out


def _headline(res):
    """Headline figures: all_reduce, whole world (no groups)."""
    ar = [e for e in res.coll() if e.parts["coll"] == "all_reduce" and not e.parts["groups"]]
    head = []
    for w in sorted({e.key[1] for e in ar}):
        ew = [e for e in ar if e.key[1] == w]
        largest = max(e.value("size_bytes") for e in ew)
        for backend in sorted({e.parts["backend"] for e in ew}):
            cands = [e for e in ew if e.parts["backend"] == backend
                     and e.value("size_bytes") == largest]
            if cands:
                best = max(cands, key=lambda e: e.value("busbw_GBps"))
                head.append(("best all_reduce bus bandwidth, %s, %d ranks, %s (GB/s)"
                             % (backend, w, fmt_size(largest)),
                             "%s (%s)" % (fmt(best.value("busbw_GBps")), best.parts["algo"])))
        for size in (16 << 20, 64 << 20):
            def best_bw(backend):
                c = [e.value("busbw_GBps") for e in ew
                     if e.parts["backend"] == backend and e.value("size_bytes") == size]
                return max(c) if c else None
            u, m = best_bw("ucx"), best_bw("mpi")
            if u and m:
                head.append(("ucx/mpi all_reduce bus bandwidth ratio, %d ranks, %s"
                             % (w, fmt_size(size)), fmt(u / m)))
    return head


def _by_series(entries):
    """{(world, series key): {size: entry}}"""
    d = {}
    for e in entries:
        d.setdefault((e.key[1], series_key(e)), {})[int(e.value("size_bytes"))] = e
    return d


def _size_table(series, counter, sizes, label_of):
    headers = ["size"] + [label_of(k) for k in series]
    rows = []
    for s in sizes:
        row = [fmt_size(s)]
        for k in series:
            e = series[k].get(s)
            row.append(fmt(e.value(counter)) if e else "-")
        rows.append(row)
    return table(headers, rows, cls="numbers")


def section_collective(pl, res, coll, limit):
    entries = [e for e in res.coll() if e.parts["coll"] == coll]
    out = ['<section id="coll-%s"><h2>%s</h2>' % (coll, coll)]
    worlds = sorted({e.key[1] for e in entries})
    for w in worlds:
        ser = {k: v for (world, k), v in _by_series(entries).items() if world == w}
        keys = sorted(ser)
        algos = sorted({k.algo for k in keys})
        colors = _color_for(algos)
        sizes = sorted({s for v in ser.values() for s in v})
        label_of = lambda k: series_label(k._asdict())
        # bus bandwidth vs size
        fig, ax = pl.plt.subplots(figsize=(8, 4.2))
        for k in keys:
            pts = sorted((s, e.value("busbw_GBps")) for s, e in ser[k].items() if s > 0)
            if not pts:
                continue
            ax.plot([p[0] for p in pts], [p[1] for p in pts],
                    linestyle=BACKEND_STYLE.get(k.backend, "-."), color=colors[k.algo],
                    marker=series_marker(k), markersize=3, label=label_of(k))
        if limit[0]:
            ax.axhline(limit[0], color="black", linewidth=1, linestyle="-")
            ax.text(0.01, limit[0], " limit: %s" % limit[1], transform=ax.get_yaxis_transform(),
                    va="bottom", fontsize=7)
        else:
            ax.text(0.99, 0.02, "limit not measured", transform=ax.transAxes, va="bottom",
                    ha="right", fontsize=8, color="gray")
        _size_axes(ax, sizes, "message size (bytes, log2)", "bus bandwidth (GB/s)",
                   "%s, %d ranks: bus bandwidth vs size" % (coll, w))
        out.append('<h3>%d ranks: bus bandwidth (GB/s) vs size</h3>' % w)
        out.append(pl.save(fig, "%s-np%d-busbw.png" % (coll, w)))
        out.append(_size_table(ser, "busbw_GBps", sizes, label_of))
        # time vs size, small messages
        small = [s for s in sizes if s <= SMALL_MAX]
        if small:
            fig, ax = pl.plt.subplots(figsize=(8, 3.6))
            for k in keys:
                pts = sorted((s, e.value("time_us")) for s, e in ser[k].items()
                             if 0 < s <= SMALL_MAX)
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts],
                            linestyle=BACKEND_STYLE.get(k.backend, "-."), color=colors[k.algo],
                            marker=series_marker(k), markersize=3, label=label_of(k))
            _size_axes(ax, small, "message size (bytes, log2)", "time per op (us)",
                       "%s, %d ranks: time vs size (<= 64 KiB)" % (coll, w))
            out.append('<h3>%d ranks: time per op (us), messages up to 64 KiB</h3>' % w)
            out.append(pl.save(fig, "%s-np%d-time-small.png" % (coll, w)))
            out.append(_size_table(ser, "time_us", small, label_of))
    out.append("</section>")
    return "".join(out)


def section_scaling(pl, res):
    out = ['<section id="scaling"><h2>Scaling with world size</h2>']
    entries = [e for e in res.coll() if not e.parts["groups"]]
    worlds = sorted({e.key[1] for e in entries})
    if len(worlds) < 2:
        out.append("<p>only one world size in these files: no scaling plot</p></section>")
        return "".join(out)
    out.append("<p>Bus bandwidth at the largest size present at every world size, per "
               "collective, backend and algorithm.</p>")
    colls = [c for c in COLLECTIVES if any(e.parts["coll"] == c for e in entries)]
    ncol = 3
    nrow = (len(colls) + ncol - 1) // ncol
    fig, axes = pl.plt.subplots(nrow, ncol, figsize=(12, 3.2 * nrow), squeeze=False)
    rows = []
    for i, coll in enumerate(colls):
        ax = axes[i // ncol][i % ncol]
        by = {}
        for e in entries:
            if e.parts["coll"] == coll:
                by.setdefault(series_key(e), {}).setdefault(e.key[1], {})[
                    int(e.value("size_bytes"))] = e
        colors = _color_for(sorted({k.algo for k in by}))
        for k in sorted(by):
            if len(by[k]) < 2:
                continue
            size = _largest_common(by[k])
            if size is None:
                continue
            ws = sorted(by[k])
            ys = [by[k][w][size].value("busbw_GBps") for w in ws]
            ax.plot(ws, ys, linestyle=BACKEND_STYLE.get(k.backend, "-."), color=colors[k.algo],
                    marker="o", markersize=3, label="%s %s" % (k.backend, k.algo))
            rows.append([coll, k.backend, k.algo, fmt_size(size)] +
                        ["%d: %s" % (w, fmt(y)) for w, y in zip(ws, ys)])
        ax.set_title(coll, fontsize=9)
        ax.set_xticks(worlds)
        ax.set_xlabel("ranks", fontsize=8)
        ax.set_ylabel("busbw (GB/s)", fontsize=8)
        ax.grid(True, alpha=0.3)
        _legend(ax, fontsize=6)
    for j in range(len(colls), nrow * ncol):
        axes[j // ncol][j % ncol].axis("off")
    fig.tight_layout()
    out.append(pl.save(fig, "scaling.png"))
    width = max((len(r) for r in rows), default=4)
    out.append(table(["collective", "backend", "algorithm", "size"] +
                     ["ranks: busbw GB/s"] * (width - 4),
                     [r + [""] * (width - len(r)) for r in rows], cls="numbers"))
    out.append("</section>")
    return "".join(out)


def _group_label(world, series):
    if series.groups:
        return "%s %s groups:%s on %d ranks" % (series.backend, series.algo, series.groups, world)
    return "%s %s alone on %d ranks" % (series.backend, series.algo, world)


def section_groups(pl, res):
    out = ['<section id="groups"><h2>Concurrent groups</h2>']
    grp = [e for e in res.coll() if e.parts["groups"]]
    if not grp:
        out.append("<p>no concurrent-group results (/groups:) in these files</p></section>")
        return "".join(out)
    out.append("<p>Several sub-groups running the collective at once (<code>--groups</code>), "
               "next to the same collective on a world of the group's size alone.</p>")
    for coll in [c for c in COLLECTIVES if any(e.parts["coll"] == c for e in grp)]:
        g = [e for e in grp if e.parts["coll"] == coll]
        ranks = sorted({int(e.value("ranks")) for e in g if e.value("ranks")})
        ref = [e for e in res.coll() if e.parts["coll"] == coll and not e.parts["groups"]
               and e.key[1] in ranks and e.parts["algo"] in {x.parts["algo"] for x in g}]
        ser = {}
        for e in g + ref:
            k = (e.key[1], series_key(e))  # (world size, series)
            ser.setdefault(k, {})[int(e.value("size_bytes"))] = e
        sizes = sorted({int(e.value("size_bytes")) for e in g})
        fig, ax = pl.plt.subplots(figsize=(8, 4))
        keys = sorted(ser)
        colors = _color_for(sorted({s.groups or "alone" for _, s in keys}))
        lab = lambda k: _group_label(*k)
        for world, series in keys:
            pts = sorted((s, e.value("busbw_GBps")) for s, e in ser[(world, series)].items()
                         if s > 0 and (s in sizes))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts],
                        linestyle=BACKEND_STYLE.get(series.backend, "-."),
                        color=colors[series.groups or "alone"],
                        marker="s" if series.groups else "o", markersize=3,
                        label=_group_label(world, series))
        _size_axes(ax, sizes, "message size per group (bytes, log2)",
                   "bus bandwidth per group (GB/s)", "%s: concurrent groups" % coll, ncol=1)
        out.append("<h3>%s</h3>" % coll)
        out.append(pl.save(fig, "groups-%s.png" % coll))
        out.append(_size_table({k: ser[k] for k in keys}, "busbw_GBps", sizes, lab))
        out.append(_size_table({k: ser[k] for k in keys}, "time_us", sizes,
                               lambda k: lab(k) + " (us)"))
    out.append("</section>")
    return "".join(out)


def section_layers(pl, res):
    out = ['<section id="layers"><h2>TP schemes (layers)</h2>']
    lay = res.layers()
    if not lay:
        out.append('<p class="none">no layer results in these files</p></section>')
        return "".join(out)
    schemes = sorted({e.parts["scheme"] for e in lay})
    # Per scheme: step/fwd/bwd time and measured comm volume next to the model.
    for sch in schemes:
        es = sorted([e for e in lay if e.parts["scheme"] == sch],
                    key=lambda e: (e.label, e.key[1]))
        labels = ["%s (%d ranks)" % (e.label, e.key[1]) for e in es]
        fig, (a1, a2) = pl.plt.subplots(1, 2, figsize=(11, 0.5 * len(es) + 2.5))
        y = list(range(len(es)))
        h = 0.27
        for j, (c, col) in enumerate((("fwd_ms", "tab:blue"), ("bwd_ms", "tab:orange"),
                                      ("step_ms", "tab:green"))):
            a1.barh([v + (j - 1) * h for v in y], [e.value(c) or 0 for e in es], height=h,
                    color=col, label=c)
        a1.set_yticks(y)
        a1.set_yticklabels(labels, fontsize=7)
        a1.set_xlabel("ms")
        a1.set_title("%s: time per step" % sch)
        _legend(a1, fontsize=7)
        for j, (c, col) in enumerate((("comm_bytes_per_rank", "tab:purple"),
                                      ("comm_bytes_model", "tab:gray"))):
            a2.barh([v + (j - 0.5) * h for v in y], [(e.value(c) or 0) / 2 ** 20 for e in es],
                    height=h, color=col, label={"comm_bytes_per_rank": "measured",
                                                "comm_bytes_model": "model"}[c])
        a2.set_yticks(y)
        a2.set_yticklabels([])
        a2.set_xlabel("MiB per rank")
        a2.set_title("%s: communication volume, measured vs model" % sch)
        _legend(a2, fontsize=7)
        fig.tight_layout()
        out.append('<h3 class="scheme">%s</h3>' % esc(sch))
        out.append(pl.save(fig, "layers-%s.png" % re.sub(r"[^A-Za-z0-9_.-]", "_", sch)))
        present = [c for c in LAYER_COUNTERS if any(e.value(c) is not None for e in es)]
        out.append(table(["case", "ranks"] + present,
                         [[e.label, e.key[1]] + [fmt(e.value(c)) for c in present]
                          for e in es], cls="numbers"))
    out.extend(_schemes_side_by_side(pl, lay))
    out.append(_overlap_table(res))
    out.append(_backend_table(res))
    out.append("</section>")
    return "".join(out)


# The model shape of a layer case, from its fields: schemes are compared within one shape.
SHAPE_FIELDS = ("case", "batch", "seq", "hidden", "heads", "dtype", "overlap", "backend")
SCHEME_ORDER = ("tp1d", "tp1d-sp", "tp2d", "tp2p5d", "tp3d")
SIDE_COLUMNS = ("comm_bytes_per_rank", "comm_bytes_model", "peak_mem_bytes_per_rank",
                "peak_mem_model_bytes_per_rank", "step_ms")


def _variant(e):
    """A scheme's variant from its fields: "d=2 bcast", "allgather", or ""."""
    p = e.parts
    return " ".join(x for x in ("d=%s" % p["depth"] if p.get("depth") else "",
                                p.get("summa", "")) if x)


def _side_groups(lay):
    """TP layer results (not serial, not skeletons) grouped by model shape: {shape: [entries]},
    each list sorted by scheme, ranks, variant."""
    groups = {}
    for e in lay:
        p = e.parts
        if p.get("kind") != "layer" or p.get("scheme") in ("serial", None):
            continue
        groups.setdefault(tuple(p.get(k, "") for k in SHAPE_FIELDS), []).append(e)
    order = {s: i for i, s in enumerate(SCHEME_ORDER)}
    for es in groups.values():
        es.sort(key=lambda e: (order.get(e.parts["scheme"], len(order)), e.parts["scheme"],
                               e.key[1], _variant(e)))
    return groups


def _shape_title(shape):
    f = dict(zip(SHAPE_FIELDS, shape))
    return "%s, b=%s s=%s h=%s nh=%s, %s, overlap %s, %s" % (
        f["case"], f["batch"], f["seq"], f["hidden"], f["heads"], f["dtype"],
        f["overlap"] or "-", f["backend"] or "-")


def _bytes_points(ser):
    """(P, bytes per rank) of the model and of the measurement, each only where the result
    has it: the MPI library's bytes are not measured (absent), which is no point, never 0."""
    def pts(c):
        return [(e.key[1], e.value(c)) for e in ser if e.value(c) is not None]
    return pts("comm_bytes_model"), pts("comm_bytes_per_rank")


def _side_plot(pl, es, title, name):
    """Bytes per rank vs P per scheme (measured points, model line), peak memory measured vs
    model, and step time, for one model shape."""
    fig, (a1, a2, a3) = pl.plt.subplots(1, 3, figsize=(15, 0.35 * len(es) + 3.5))
    series = {}
    for e in es:
        series.setdefault((e.parts["scheme"], _variant(e)), []).append(e)
    for (sch, var), ser in sorted(series.items()):
        lab = ("%s %s" % (sch, var)).strip()
        model, meas = _bytes_points(ser)
        # The model as a line with its points (one P alone is still seen).
        line = a1.plot([x for x, _ in model], [v / 2 ** 20 for _, v in model], "-o",
                       mfc="none", label=lab + " model")[0]
        if meas:
            a1.plot([x for x, _ in meas], [v / 2 ** 20 for _, v in meas], "s",
                    color=line.get_color(), label=lab + " measured")
    a1.set_xlabel("P (ranks)")
    a1.set_ylabel("MiB per rank")
    a1.set_title("communication per rank vs P")
    _legend(a1, fontsize=6)
    labels = ["%s %s P=%d" % (e.parts["scheme"], _variant(e), e.key[1]) for e in es]
    y = list(range(len(es)))
    for j, (c, col, lab) in enumerate((("peak_mem_bytes_per_rank", "tab:red", "measured"),
                                       ("peak_mem_model_bytes_per_rank", "tab:gray", "model"))):
        # An absent value (no memory model for linear/mlp) is no bar, not a bar of 0.
        a2.barh([v + (j - 0.5) * 0.4 for v in y],
                [e.value(c) / 2 ** 20 if e.value(c) is not None else float("nan") for e in es],
                height=0.4, color=col, label=lab)
    a2.set_yticks(y)
    a2.set_yticklabels(labels, fontsize=7)
    a2.set_xlabel("MiB per rank")
    a2.set_title("peak tensor memory per rank")
    _legend(a2, fontsize=7)
    a3.barh(y, [e.value("step_ms") or 0 for e in es], color="tab:green")
    a3.set_yticks(y)
    a3.set_yticklabels(labels, fontsize=7)
    a3.set_xlabel("ms")
    a3.set_title("step time")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return pl.save(fig, name)


def _schemes_side_by_side(pl, lay):
    """Per model shape: every scheme, variant and P in one table (bytes per rank measured and
    model, peak memory measured and model, step time) with its plots."""
    groups = _side_groups(lay)
    if not groups:
        return []
    out = ["<h3>Schemes side by side</h3><p>TP results grouped by model shape (fields case, b, "
           "s, h, nh, dtype, overlap, backend), one row per scheme, variant and P. The memory "
           "model is the scheme's count of the tensors live in the attention backward "
           "(docs/schemes.md), absent for cases without one; measured / model = 1 when that is "
           "the step's high-water mark.</p>"]
    for n, shape in enumerate(sorted(groups)):
        es = groups[shape]
        title = _shape_title(shape)
        out.append('<h4 class="shape">%s</h4>' % esc(title))
        out.append(_side_plot(pl, es, title, "layers-schemes-%d.png" % n))
        rows = []
        for e in es:
            vals = [e.value(c) for c in SIDE_COLUMNS]
            ratio = vals[2] / vals[3] if vals[2] and vals[3] else None
            rows.append([e.parts["scheme"], _variant(e), e.key[1]] + [fmt(v) for v in vals[:4]] +
                        [fmt(ratio), fmt(vals[4])])
        out.append(table(["scheme", "variant", "P", "bytes/rank measured", "bytes/rank model",
                          "peak mem measured", "peak mem model", "measured / model",
                          "step ms"], rows, cls="numbers side-by-side"))
    return out


def _others(e, field):
    """An entry's fields other than `field`, with its world size: what a pair shares."""
    return tuple(sorted((k, v) for k, v in e.parts.items() if k != field)) + (e.key[1],)


def _pair_rows(res, field, a_val, b_val, a_tag):
    """Layer cases present as both a (field = a_val) and b (field = b_val, every other field and
    the world size equal), as rows: scheme, case (the name without a_tag), ranks, step_ms a, step_ms b, b / a - 1 in %, the larger step cv
    %, the one-sided Mann-Whitney p that b is slower (with the sample counts), exposed comm a,
    exposed comm b, comm alone (a)."""
    rows = []
    bs = {_others(e, field): e for e in res.layers() if e.parts.get(field) == b_val}
    for (base, w), a in sorted(res.entries.items()):
        if a.kind != "layer" or a.parts.get(field) != a_val:
            continue
        b = bs.get(_others(a, field))
        if b is None:
            continue
        s_a, s_b = a.value("step_ms"), b.value("step_ms")
        change = 100.0 * (s_b / s_a - 1) if s_a and s_b else None
        cvs = [c for c in (a.cv_pct("step_ms"), b.cv_pct("step_ms")) if c is not None]
        x_a, x_b = a.samples("step_ms"), b.samples("step_ms")
        p = None
        if len(x_a) >= 2 and len(x_b) >= 2:
            p = mannwhitney.mannwhitneyu(x_b, x_a, alternative="greater")[1]
        rows.append([a.parts["scheme"], a.label.replace(a_tag, ""), w,
                     fmt(s_a), fmt(s_b), fmt(change), fmt(max(cvs)) if cvs else "-",
                     "%.3g (%d/%d)" % (p, len(x_b), len(x_a)) if p is not None else "-",
                     fmt(a.value("comm_exposed_ms")), fmt(b.value("comm_exposed_ms")),
                     fmt(a.value("comm_ms"))])
    return rows


_NOISE_NOTE = ("compare it with the step time's run-to-run noise (cv, from repetitions or "
               "rounds) and with the one-sided Mann-Whitney p (samples of each side; run "
               "//bench:layers with --rounds N so that both sides see the same drift of the "
               "machine). Exposed communication is the time the layer waited in communication "
               "calls (comm_exposed_ms); comm alone is the same collectives with no compute "
               "(comm_ms).")


def _overlap_table(res):
    """What overlap buys: every layer case measured with overlap on and off, side by side."""
    rows = _pair_rows(res, "overlap", "on", "off", "/overlap:on")
    if not rows:
        return ""
    return ("<h3>What overlap buys</h3><p>Cases measured with overlap on and off in these files. "
            "Gain = step time off / on - 1; " + _NOISE_NOTE + " Comm alone is the most overlap "
            "could hide.</p>" +
            table(["scheme", "case", "ranks", "step_ms on", "step_ms off", "gain %",
                   "step cv % (max)", "p off slower", "exposed comm ms on",
                   "exposed comm ms off", "comm alone ms"], rows, cls="numbers"))


def _backend_table(res):
    """The same TP layer over tpbench's ucx collectives and over the MPI library's."""
    rows = _pair_rows(res, "backend", "ucx", "mpi", "/backend:ucx")
    if not rows:
        return ""
    return ("<h3>ucx vs mpi (the peer)</h3><p>TP cases run on both backends in these files: "
            "the same compute, tpbench's collectives (ucx) against the MPI library's. "
            "mpi / ucx - 1 = how much slower the step is on mpi; " + _NOISE_NOTE + "</p>" +
            table(["scheme", "case", "ranks", "step_ms ucx", "step_ms mpi", "mpi vs ucx %",
                   "step cv % (max)", "p mpi slower", "exposed comm ms ucx",
                   "exposed comm ms mpi", "comm alone ms ucx"], rows, cls="numbers"))


VERDICT_LISTS = (("regressions", "regression"), ("improvements", "improve"),
                 ("inconclusive", "inconclusive"))


def section_baseline(pl, verdict, how):
    """The gate's verdict in detail: every timing comparison it did not call unchanged, the
    exact-metric failures, missing, unchecked and new benchmarks. No rule of the report's."""
    out = ['<section id="baseline"><h2>Against the baseline</h2>']
    if verdict is None:
        out.append("<p>no baseline or verdict given (--baseline, --verdict)</p></section>")
        return "".join(out)
    out.append("<p>The gate's verdict (%s): <b>%s</b>. Regression, improvement and "
               "inconclusive are the gate's decisions (docs/ci.md: noise class thresholds from "
               "the baseline's repetitions, Mann-Whitney U with a drift allowance, "
               "Benjamini-Hochberg over the run); unchanged comparisons are not listed.</p>"
               % (esc(how), esc(str(verdict.get("verdict", "?")).upper())))
    rows = []
    for key, status in VERDICT_LISTS:
        for e in verdict.get(key) or []:
            if not isinstance(e, dict):
                continue
            ch = e.get("change_pct")
            rows.append((e, status, ch if isinstance(ch, (int, float)) else None))
    nreg = sum(1 for r in rows if r[1] == "regression")
    out.append('<p id="regression-count">%d regression%s, %d improvement%s, %d inconclusive, '
               '%s unchanged (the gate\'s verdict)</p>'
               % (nreg, "s" * (nreg != 1), sum(1 for r in rows if r[1] == "improve"),
                  "s" * (sum(1 for r in rows if r[1] == "improve") != 1),
                  sum(1 for r in rows if r[1] == "inconclusive"), verdict.get("unchanged", "?")))
    plotted = [r for r in rows if r[2] is not None]
    if plotted:
        out.append(_baseline_plot(pl, plotted))
    if rows:
        out.append(_comparisons_table(rows))
    out.extend(_verdict_lists(verdict))
    out.append("</section>")
    return "".join(out)


def _baseline_plot(pl, plotted):
    """Median change of every listed comparison, coloured by the gate's status."""
    fig, ax = pl.plt.subplots(figsize=(10, 3.2))
    for status, col in (("improve", "tab:green"), ("inconclusive", "tab:gray"),
                        ("regression", "red")):
        pts = [(i, r[2]) for i, r in enumerate(plotted) if r[1] == status]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=12, color=col,
                       label=status)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("median change (%)")
    ax.set_xlabel("comparison (table order)")
    ax.grid(True, alpha=0.3)
    _legend(ax, fontsize=7)
    fig.tight_layout()
    return pl.save(fig, "baseline.png")


def _comparisons_table(rows):
    """The gate's comparisons (entry, status, change) with their statistics."""
    classes = [status for _, status, _ in rows]
    return table(["benchmark", "metric", "class", "baseline median", "median",
                  "change %", "threshold %", "p-value", "n", "status", "why"],
                 [(e.get("name", "?"), e.get("metric", "?"),
                   e.get("noise_class", e.get("size_class", "-")),
                   fmt(e.get("baseline_median")), fmt(e.get("median")),
                   "%+.2f" % ch if ch is not None else "-",
                   fmt(e.get("threshold_pct")),
                   "%.3g" % e["p_value"] if isinstance(e.get("p_value"), (int, float))
                   else "-",
                   "%s vs %s" % (e.get("n_baseline", "?"), e.get("n", "?")), status,
                   e.get("reason") or ("large effect" if e.get("rule") == "large_effect"
                                       else ""))
                  for e, status, ch in rows],
                 cls="numbers baseline", row_classes=classes)


def _verdict_lists(verdict):
    """Exact-metric failures, missing, unchecked and new benchmarks of the verdict."""
    out = []
    for key, title in (("exact_failures", "Exact-metric failures"),
                       ("missing", "In the baseline, missing from the results"),
                       ("unchecked", "Unchecked (no `wrong`: run with -c 0)"),
                       ("new", "New, not in the baseline")):
        items = verdict.get(key) or []
        if not items:
            continue
        out.append("<h3>%s (%d)</h3>" % (esc(title), len(items)))
        out.append(table(["benchmark", "detail"],
                         [(i.get("name", "?"), i.get("message") or
                           ("%s repetitions" % i["repetitions"] if "repetitions" in i else ""))
                          if isinstance(i, dict) else (i, "") for i in items],
                         cls="kv", row_classes=["regress" if key == "exact_failures" else ""] *
                         len(items)))
    return out


CSS = """
body{font-family:sans-serif;margin:1.5em;max-width:1200px;color:#222}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:12px;margin:.5em 0 1.2em}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f2f2f2}
td:first-child{text-align:left}
table.kv td{text-align:left}
tr.regress td{background:#fdd;color:#a00;font-weight:bold}
tr.improve td{background:#dfd}
tr.inconclusive td{background:#eee}
p.verdict{font-size:20px;font-weight:bold;padding:.3em .6em;display:inline-block}
p.verdict.pass{background:#dfd;color:#060}
p.verdict.fail{background:#fdd;color:#a00}
p.verdict.other{background:#eee;color:#444}
img{max-width:100%;display:block}
nav a{margin-right:.8em}
"""


def build(results_paths, out, baseline_paths=None, verdict_path=None, measure_limit=False):
    """Writes out/index.html (+ PNGs); returns the path of index.html. Raises ReportError."""
    res = load_results(results_paths)
    if not res.entries:
        raise ReportError("%s: no benchmark results in the file%s"
                          % (", ".join(results_paths), "s" * (len(results_paths) != 1)))
    if baseline_paths:
        load_results(baseline_paths, "baseline")  # the report's own checks of the files
    verdict, how = None, None
    if verdict_path:
        verdict, how = load_verdict(verdict_path), "from %s" % verdict_path
    elif baseline_paths:
        verdict, how = gate_verdict(results_paths, baseline_paths)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise ReportError("%s: cannot create the output folder: %s" % (out, e.strerror or e))

    limit = (None, "limit not measured")
    lim_vals = [c.get(LIMIT_KEY) for _, c in res.files if isinstance(c.get(LIMIT_KEY), (int, float))]
    if lim_vals:
        limit = (float(max(lim_vals)), "host memcpy %s GB/s (results context %s)"
                 % (fmt(float(max(lim_vals))), LIMIT_KEY))
    elif measure_limit:
        v = measure_memcpy_GBps()
        limit = (v, "host memcpy %s GB/s (1 thread, 64 MiB, measured at report time)" % fmt(v))

    pl = Plotter(out)
    colls = [c for c in COLLECTIVES if any(e.parts["coll"] == c for e in res.coll())]
    body = [top_notes(res, baseline_paths)] + [section_summary(res, verdict, limit)]
    for c in colls:
        body.append(section_collective(pl, res, c, limit))
    body.append(section_scaling(pl, res))
    body.append(section_groups(pl, res))
    body.append(section_layers(pl, res))
    body.append(section_baseline(pl, verdict, how))
    nav = "".join('<a href="#%s">%s</a>' % (a, t) for a, t in
                  [("summary", "summary")] + [("coll-" + c, c) for c in colls] +
                  [("scaling", "scaling"), ("groups", "groups"), ("layers", "TP schemes"),
                   ("baseline", "baseline")])
    title = "tpbench report: %s" % _ctx_union(res, "machine_profile")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>%s</title><style>%s</style></head><body>"
            "<h1>%s</h1><p>generated %s</p><nav>%s</nav>%s</body></html>\n"
            % (esc(title), CSS, esc(title),
               datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"), nav, "".join(body)))
    index = os.path.join(out, "index.html")
    write_atomically(index, page)
    return index


def top_notes(res, baseline_paths):
    """What the reader must know first: an incomplete sweep (bench/sweep.py's context keys
    incomplete/parts_missing) and results of different fault modes (context fault_mode;
    absent = fast, the only mode before it was recorded)."""
    notes = []
    for path, ctx in res.files:
        if str(ctx.get("incomplete", "")) == "true":
            notes.append("<strong>INCOMPLETE</strong> sweep: %s has no results for %s; finish it "
                         "with <code>bazel run //bench:sweep -- --resume %s</code>"
                         % (esc(path), esc(str(ctx.get("parts_missing", "some parts"))),
                            esc(os.path.dirname(os.path.abspath(path)))))
    modes = {str(c.get("fault_mode", "fast")) for _, c in res.files}
    if baseline_paths:
        modes |= {str(c.get("fault_mode", "fast"))
                  for _, c in load_results(baseline_paths, "baseline").files}
    if len(modes) > 1:
        notes.append("<strong>Different fault modes</strong> (%s): detect mode costs bandwidth "
                     "(docs/runtime.md); timings of the two modes are not comparable"
                     % esc(", ".join(sorted(modes))))
    return "".join('<p style="color:#a40000">%s</p>' % n for n in notes)

