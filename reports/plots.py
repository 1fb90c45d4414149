"""The report's plots: matplotlib (Agg) figures saved as PNG beside index.html, the axes and
legends they share, and the style of a series (backend: line style; algorithm: colour)."""

import collections
import html
import math
import os
import tempfile

from reports.model import fmt_size

BACKEND_STYLE = {"ucx": "-", "mpi": "--", "nccl": ":"}


class Plotter(object):
    def __init__(self, out):
        os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "tpbench-mpl"))
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        self.plt = plt
        self.out = out
        self.files = []

    def save(self, fig, name):
        path = os.path.join(self.out, name)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=self.out)
        os.close(fd)
        try:
            fig.savefig(tmp, format="png", dpi=96, bbox_inches="tight")
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            self.plt.close(fig)
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.files.append(name)
        return '<img src="%s" alt="%s">' % (html.escape(name, quote=True),
                                                html.escape(name, quote=True))


def series_label(p, world=None):
    s = "%s %s" % (p["backend"], p["algo"])
    if p["groups"]:
        s += " groups:%s" % p["groups"]
    if p["inplace"] not in ("", "0"):
        s += " inplace"
    if world is not None:
        s += " (%d ranks)" % world
    return s


# One line of a collective's plots: the fields that tell its cases apart, except the size.
Series = collections.namedtuple("Series", "backend algo dtype redop inplace root groups")


def series_key(e):
    return Series(*(e.parts[f] for f in Series._fields))


def series_marker(k):
    """Squares for concurrent groups, triangles in place, else circles."""
    return "s" if k.groups else ("^" if k.inplace not in ("", "0") else "o")


def _legend(ax, **kw):
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def _log2_axis(ax, sizes):
    sizes = [s for s in sizes if s > 0] or [1]
    lo, hi = int(math.floor(math.log2(min(sizes)))), int(math.ceil(math.log2(max(sizes))))
    ax.set_xscale("log", base=2)
    ax.set_xlim(2 ** lo / 1.5, 2 ** hi * 1.5)
    step = 1 if hi - lo <= 12 else (2 if hi - lo <= 24 else 3)
    ticks = [1 << k for k in range(lo, hi + 1, step)]
    ax.set_xticks(ticks)
    ax.set_xticklabels([fmt_size(t).replace(" ", "") for t in ticks], rotation=45, fontsize=7)


def _size_axes(ax, sizes, xlabel, ylabel, title, ncol=2):
    """The common finish of a plot against message size: log2 axis, labels, grid, legend."""
    _log2_axis(ax, sizes)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    _legend(ax, fontsize=7, ncol=ncol)


def _color_for(algos):
    import matplotlib
    cmap = matplotlib.colormaps["tab10"] if hasattr(matplotlib, "colormaps") else \
        matplotlib.cm.get_cmap("tab10")
    return {a: cmap(i % 10) for i, a in enumerate(algos)}
