"""Opens a generated report from disk (file://) in Debian's headless Chromium: the page loads
without console errors, every <img> loads (naturalWidth > 0), and a screenshot is saved as a
test output (report.png in $TEST_UNDECLARED_OUTPUTS_DIR).

Chromium has no stdlib-only driver, so the test loads a copy of the page with an inline script
that records errors (window 'error' events, resource load failures, console.error) and, on
load, checks every image; it writes the result into a <pre> that --dump-dom prints. Chromium's
own log (--enable-logging=stderr) must show no console message either. A second copy with a
broken image and a console error must be caught (the check itself is checked).
"""

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

TMP = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
os.environ["MPLCONFIGDIR"] = os.path.join(TMP, "mpl")

from reports import page as report  # noqa: E402  (the report's page: build, fmt)

CHROMIUM = "/usr/bin/chromium"
OUTPUTS = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or TMP

CHECK_SCRIPT = """<script>
window.__errs = [];
window.addEventListener('error', function (e) {
  var t = e.target;
  window.__errs.push(t && t.tagName ? 'load failed: ' + t.tagName + ' ' + (t.src || t.href)
                                    : 'error: ' + e.message);
}, true);
(function () {
  var ce = console.error;
  console.error = function () {
    window.__errs.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    ce.apply(console, arguments);
  };
})();
window.addEventListener('load', function () {
  var imgs = document.images, bad = [];
  for (var i = 0; i < imgs.length; i++)
    if (!imgs[i].complete || imgs[i].naturalWidth <= 0) bad.push(imgs[i].getAttribute('src'));
  var el = document.createElement('pre');
  el.id = 'tpbench-check';
  el.textContent = JSON.stringify({images: imgs.length, bad: bad, errors: window.__errs});
  document.body.appendChild(el);
});
</script>"""


def chromium(args, profile):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile,
           "--enable-logging=stderr", "--v=0"] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=90,
                       env=dict(os.environ, HOME=TMP))
    return p


def console_lines(stderr):
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


class BrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        data = os.path.join(HERE, "testdata")
        cls.out = os.path.join(TMP, "report")
        cls.index = report.build(
            [os.path.join(data, f) for f in ("results_small.json", "perf_small.json",
                                             "layers.json")],
            cls.out, [os.path.join(data, "baseline.json")], os.path.join(data, "verdict.json"))
        with open(cls.index) as f:
            cls.page = f.read()

    def run_check(self, page_text, name):
        path = os.path.join(self.out, name)
        with open(path, "w") as f:
            f.write(page_text.replace("<head>", "<head>" + CHECK_SCRIPT, 1))
        p = chromium(["--dump-dom", "file://" + path], tempfile.mkdtemp(dir=TMP))
        m = re.search(r'<pre id="tpbench-check">(.*?)</pre>', p.stdout, re.S)
        self.assertTrue(m, "no check result from chromium (rc %d):\n%s" % (p.returncode,
                                                                         p.stderr[-3000:]))
        return json.loads(html.unescape(m.group(1))), console_lines(p.stderr)

    def test_page_loads_clean(self):
        result, console = self.run_check(self.page, "check.html")
        n = len(re.findall(r"<img ", self.page))
        self.assertGreater(n, 10)
        self.assertEqual(result["images"], n)
        self.assertEqual(result["bad"], [])
        self.assertEqual(result["errors"], [])
        self.assertEqual(console, [])

    def test_check_catches_broken_pages(self):
        broken = self.page.replace("</body>", '<img src="missing.png"><script>'
                                   'console.error("boom")</script></body>')
        result, console = self.run_check(broken, "broken.html")
        self.assertEqual(result["bad"], ["missing.png"])
        self.assertIn("console.error: boom", result["errors"])
        self.assertTrue(any("missing.png" in e for e in result["errors"]), result["errors"])
        self.assertTrue(any("boom" in c for c in console), console)

    def test_screenshot(self):
        shot = os.path.join(OUTPUTS, "report.png")
        if os.path.exists(shot):
            os.unlink(shot)
        p = chromium(["--screenshot=" + shot, "--window-size=1280,2000", "--hide-scrollbars",
                      "file://" + self.index], tempfile.mkdtemp(dir=TMP))
        self.assertEqual(console_lines(p.stderr), [])
        self.assertTrue(os.path.exists(shot), p.stderr[-3000:])
        with open(shot, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        self.assertEqual((width, height), (1280, 2000))
        self.assertGreater(os.path.getsize(shot), 50000)  # not a blank page
        shutil.copy(self.index, os.path.join(OUTPUTS, "index.html"))


if __name__ == "__main__":
    if not os.access(CHROMIUM, os.X_OK):
        print("browser_test: %s is missing: run tools/setup.sh (packages chromium, "
              "chromium-driver)" % CHROMIUM, file=sys.stderr)
        sys.exit(1)
    unittest.main()
