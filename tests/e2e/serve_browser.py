#!/usr/bin/env python3
"""serve_browser.py - drive Debian's headless Chromium over the DevTools
protocol on a pipe (--remote-debugging-pipe: no port, no websocket, no
package beyond Python's standard library) against `owmesh serve`.

    serve_browser.py CHROMIUM BASE_URL SHOTS_DIR IMPORT_SCRIPT

Checks, each printed as "PASS: what" or "FAIL: what":
  - the grid renders a cell per expected or measured path, each a link to
    its pair page; the unmeasured path is hatched grey with its reason in
    the tooltip, the expected path without data is grey "missing";
  - after IMPORT_SCRIPT stores data for b -> c, the same page (no reload:
    a marker set in the page survives) shows b -> c measured;
  - the a -> b link opens the pair page with both directions plotted, and
    hovering a plot reads out exact values;
  - the completeness page lists every expected path.
Screenshots go to SHOTS_DIR.

    serve_browser.py --first-render CHROMIUM URL [SCREENSHOT]

prints the time from navigation to the grid's first render (bench_serve)."""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

TIMEOUT = 20.0


class Browser:
    def __init__(self, chromium, profile):
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()

        def wire():  # the child's fd 3 reads our commands, fd 4 writes replies
            # Through fresh copies: a pipe end may already be fd 3 or 4, and
            # dup2 onto itself would keep its close-on-exec flag.
            r, w = os.dup(to_r), os.dup(from_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
             "--remote-debugging-pipe", "--user-data-dir=" + profile, "about:blank"],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self.out, self.inp = to_w, from_r
        self.buf = b""
        self.next_id = 0
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})

    def call(self, method, params=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self.out, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise RuntimeError("%s: %s" % (method, reply["error"]))
                    return reply.get("result", {})
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        raise RuntimeError("%s: no answer in %s s" % (method, TIMEOUT))

    def eval(self, expr):
        r = self.call("Runtime.evaluate",
                      {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError("%s: %s" % (expr, r["exceptionDetails"].get("text")))
        return r["result"].get("value")

    def wait(self, expr, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.eval(expr):
                    return True
            except RuntimeError:  # the page is still loading: no body yet
                pass
            time.sleep(0.1)
        return False

    def goto(self, url):
        self.call("Page.navigate", {"url": url})

    def shot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


results = []


def check(what, ok):
    results.append(ok)
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)


CELL = "document.querySelector('td.cell[data-src=\"%s\"][data-dst=\"%s\"]')"


def cell_class(b, src, dst):
    return b.eval("(function(){var c=%s; return c ? c.className : null;})()" % (CELL % (src, dst)))


def first_render(chromium, url, shot=None):
    """bench_serve's figure: navigation start to the grid drawn, in ms."""
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(chromium, profile)
        try:
            b.goto(url)
            ok = b.wait("document.body && document.body.dataset.refreshes >= 1", timeout=60)
            ms = float(b.eval("document.body.dataset.firstRenderMs")) if ok else float("inf")
            cells = b.eval("document.querySelectorAll('td.cell').length")
            if shot:
                b.shot(shot)
        finally:
            b.close()
    print("%-40s %8.0f ms (%s cells; limit 1000 ms: %s)" % (
        "grid page first render (Chromium)", ms, cells, "met" if ms < 1000 else "NOT met"))
    return 0 if ok else 1


def main():
    if sys.argv[1] == "--first-render":
        return first_render(*sys.argv[2:5])
    chromium, base, shots, import_script = sys.argv[1:5]
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(chromium, profile)
        try:
            run(b, base, shots, import_script)
        finally:
            b.close()
    return 0 if all(results) else 1


def run(b, base, shots, import_script):
    b.goto(base + "/?since=2h&refresh=1")
    check("grid: rendered", b.wait("document.body.dataset.refreshes >= 1"))
    print("first-render-ms %s" % b.eval("document.body.dataset.firstRenderMs"), flush=True)
    cells = b.eval("Array.from(document.querySelectorAll('td.cell')).map(function(c){"
                   "return [c.dataset.src, c.dataset.dst, c.className, c.title,"
                   " c.querySelector('a').getAttribute('href')];})")
    names = sorted((c[0], c[1]) for c in cells)
    want = sorted([("a", "b"), ("a", "c"), ("b", "a"), ("b", "c"), ("c", "a"), ("c", "b")])
    check("grid: a cell per path of the mesh (%s)" % names, names == want)
    check("grid: every cell links to its pair page",
          all(c[4].startswith("/pair?src=%s&dst=%s" % (c[0], c[1])) for c in cells))
    by = {(c[0], c[1]): c for c in cells}
    ab = by.get(("a", "b"), [None] * 5)
    check("grid: a -> b measured (%s)" % ab[2], ab[2] and any(
        k in ab[2] for k in ("good", "warn", "crit")))
    ac = by.get(("a", "c"), [None] * 5)
    check("grid: a -> c unmeasured, hatched grey (%s)" % ac[2], ac[2] and "unmeasured" in ac[2])
    check("grid: a -> c tooltip gives the reason (%s)" % ac[3], ac[3] and "peer down" in ac[3])
    ca = by.get(("c", "a"), [None] * 5)
    check("grid: c -> a expected without data is missing (%s)" % ca[2],
          ca[2] and "missing" in ca[2])
    check("grid: b -> c missing before the import", "missing" in (cell_class(b, "b", "c") or ""))
    b.shot(os.path.join(shots, "serve-grid.png"))

    # Live: new data, the same page (the marker survives: no reload).
    b.eval("window.owmeshMarker = 42; document.body.dataset.refreshes")
    before = int(b.eval("document.body.dataset.refreshes"))
    rc = subprocess.call(["sh", import_script])
    check("import of b -> c", rc == 0)
    updated = b.wait("(function(){var c=%s; return c && !/missing/.test(c.className);})()"
                     % (CELL % ("b", "c")))
    check("grid: b -> c measured after the import, without a reload (%s)"
          % cell_class(b, "b", "c"), updated)
    check("grid: the same page (marker kept, refreshed %s -> %s times)"
          % (before, b.eval("document.body.dataset.refreshes")),
          b.eval("window.owmeshMarker") == 42)
    b.shot(os.path.join(shots, "serve-grid-updated.png"))

    # Compact mode for big meshes.
    b.eval("document.getElementById('compact').click()")
    check("grid: compact mode", b.wait("document.getElementById('grid').classList.contains('compact')"))
    b.eval("document.getElementById('compact').click()")

    # Click-through to the pair page.
    href = ab[4] or "/pair?src=a&dst=b"
    b.goto(base + href)
    check("pair: loaded", b.wait("document.body.dataset.loaded === '1'"))
    for panel, what in (("fwd", "a -> b"), ("rev", "b -> a")):
        n = b.eval("document.querySelectorAll('#%s path.series').length" % panel)
        check("pair: %s plotted (%s delay series)" % (what, n), n == 4)
    # 01:03 of 00:00-02:00, inside a -> b's data: the plot spans x 62 to 588 of 600.
    b.eval("(function(){var s=document.querySelector('#fwd svg'), r=s.getBoundingClientRect();"
           "var x = (62 + 526 * 63 / 120) / 600;"
           "s.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + r.width*x,"
           " clientY: r.top + r.height*0.3, bubbles: true}));})()")
    readout = b.eval("document.querySelector('#fwd .readout').textContent")
    check("pair: hover reads out exact values (%r)" % readout,
          "p50 " in readout and "sent 600" in readout and "p50 -" not in readout)
    csv = b.eval("document.querySelector('#fwd .export a').getAttribute('href')")
    check("pair: export link (%s)" % csv, csv.startswith("/api/query.csv?src=a&dst=b"))
    b.eval("document.getElementById('log').click()")
    check("pair: log axis redraws", b.wait("document.querySelectorAll('#fwd path.series').length == 4"))
    b.shot(os.path.join(shots, "serve-pair.png"))

    b.goto(base + "/completeness?since=2h")
    check("completeness: every expected path listed",
          b.wait("document.querySelectorAll('#paths tr').length == 7"))
    b.shot(os.path.join(shots, "serve-completeness.png"))


if __name__ == "__main__":
    sys.exit(main())
