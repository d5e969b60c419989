#!/usr/bin/env python3
"""Open an rxscan report.html in headless Chromium and check it through the DevTools protocol:
the page loads, shows one funnel plot per measure (and one trend chart per measure when asked),
every chart is a labelled image with a visible size, the page fits the width of a 1024-pixel
window (wide tables scroll inside their own box; nothing makes the whole page scroll sideways)
and, printed, the width of an A4 page (nothing cut off on paper), no resource is fetched, and
nothing is logged as an error (console, uncaught exception, browser log such as a Content-Security-Policy
violation). Exits 1 with the reasons otherwise.

    report_browser_check.py REPORT --measures N [--trends]
    report_browser_check.py --self-test     # a broken page must fail every check it breaks

Needs Chromium (/usr/bin/chromium, see install-chromium.sh) and websocket-client (PyPI).
"""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]

# The window the page is checked in (CSS pixels).
WIDTH, HEIGHT = 1024, 768
# Printed: the width between the report's 14 mm margins on A4 paper (182 mm at 96 px per inch),
# plus the 15 px the headless window keeps for a scroll bar.
PRINT_WIDTH = 688 + 15

# Evaluated with print styles: how wide the page is, and its widest tables.
PRINT_PROBE = """JSON.stringify({viewport: document.documentElement.clientWidth,
  pageWidth: document.documentElement.scrollWidth,
  tables: [...document.querySelectorAll('table')].map(t => Math.round(t.getBoundingClientRect().width))
          .filter(w => w > document.documentElement.clientWidth)})"""

# Evaluated in the page once it has loaded: what the checks need, as JSON.
PROBE = """JSON.stringify((() => {
  const viewport = document.documentElement.clientWidth;
  // The outermost elements that reach past the window's right edge (not inside a box that
  // scrolls them itself).
  const scrolls = el => getComputedStyle(el).overflowX === 'auto' || getComputedStyle(el).overflowX === 'scroll';
  const wide = [];
  const walk = el => {
    for (const c of el.children) {
      if (c.getBoundingClientRect().right > viewport + 1) {
        wide.push(c.tagName.toLowerCase() + (c.id ? '#' + c.id : '') + (c.className && typeof c.className === 'string' ? '.' + c.className : '') +
                  ' (' + Math.round(c.getBoundingClientRect().width) + ' px)');
      } else if (!scrolls(c)) {
        walk(c);
      }
    }
  };
  walk(document.body);
  // Positioned elements escape a scrolling box unless it contains them (position: relative).
  for (const e of document.querySelectorAll('*')) {
    const pos = getComputedStyle(e).position;
    if ((pos === 'absolute' || pos === 'fixed') && e.getBoundingClientRect().right > viewport + 1) {
      wide.push(e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className : '') +
                ' (position: ' + pos + ', right edge at ' + Math.round(e.getBoundingClientRect().right) + ' px)');
    }
  }
  const charts = [...document.querySelectorAll('svg')].map(s => {
    const r = s.getBoundingClientRect();
    return {kind: s.dataset.chart || null, role: s.getAttribute('role'),
            label: s.getAttribute('aria-label') || '',
            title: (s.querySelector('title') || {}).textContent || '',
            width: r.width, height: r.height};
  });
  return {title: document.title,
          h1: document.querySelectorAll('h1').length,
          tableHeaders: document.querySelectorAll('th[scope]').length,
          measureRows: document.querySelectorAll('#practices [data-measure]').length,
          docs: document.querySelectorAll('article.doc').length,
          resources: performance.getEntriesByType('resource').map(e => e.name),
          viewport, pageWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 5),
          charts};
})())"""


class Page:
    """One Chromium with one page, driven over the DevTools protocol."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="rxscan-chromium-")
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        port_file = pathlib.Path(self.profile, "DevToolsActivePort")
        deadline = time.time() + 60
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                self.log.seek(0)
                tail = self.log.read().decode(errors="replace")[-2000:]
                sys.exit(f"chromium did not start (no DevToolsActivePort); its stderr:\n{tail}")
            time.sleep(0.1)
        port = port_file.read_text().split("\n")[0].strip()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
            targets = [t for t in json.load(r) if t.get("type") == "page"]
        self.ws = websocket.create_connection(targets[0]["webSocketDebuggerUrl"], timeout=60)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, event, timeout=60):
        deadline = time.time() + timeout
        while not any(e.get("method") == event for e in self.events):
            if time.time() > deadline:
                raise TimeoutError(f"no {event} within {timeout} s")
            self.ws.settimeout(max(0.1, deadline - time.time()))
            self.events.append(json.loads(self.ws.recv()))

    def drain(self, seconds):
        """Collect the events that arrive within `seconds` (late console messages)."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            self.ws.settimeout(max(0.05, deadline - time.time()))
            try:
                self.events.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                break

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def errors_logged(events):
    """Every console error, uncaught exception and browser log error among the events."""
    found = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            found.append("console." + p["type"] + ": " + " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            found.append("exception: " + d.get("exception", {}).get("description", d.get("text", "")))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            entry = p["entry"]
            found.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")
    return found


def check(report, measures, trends):
    """The reasons the report fails, empty when it passes."""
    url = pathlib.Path(report).resolve().as_uri()
    page = Page()
    try:
        for domain in ("Page", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                  deviceScaleFactor=1, mobile=False)
        page.call("Page.navigate", url=url)
        page.wait_for("Page.loadEventFired")
        page.drain(1.0)
        probe = json.loads(page.call("Runtime.evaluate", expression=PROBE, returnByValue=True)
                           ["result"]["value"])
        page.call("Emulation.setEmulatedMedia", media="print")
        page.call("Emulation.setDeviceMetricsOverride", width=PRINT_WIDTH, height=HEIGHT,
                  deviceScaleFactor=1, mobile=False)
        printed = json.loads(page.call("Runtime.evaluate", expression=PRINT_PROBE,
                                       returnByValue=True)["result"]["value"])
        page.drain(0.5)
        problems = [f"logged an error: {e}" for e in errors_logged(page.events)]
    finally:
        page.close()
    if not probe["title"] or probe["h1"] != 1:
        problems.append(f"no title or not one h1: {probe['title']!r}, {probe['h1']} h1")
    if probe["tableHeaders"] == 0:
        problems.append("no table header with a scope")
    if probe["pageWidth"] > probe["viewport"]:
        problems.append(f"page wider than the window ({probe['pageWidth']} px > "
                        f"{probe['viewport']} px): {', '.join(probe['wide'])}")
    if printed["pageWidth"] > printed["viewport"]:
        problems.append(f"printed on A4, wider than the page ({printed['pageWidth']} px > "
                        f"{printed['viewport']} px; tables {printed['tables']} px): cut off on paper")
    if probe["resources"]:
        problems.append(f"fetched resources: {probe['resources']}")
    if measures is not None:
        for what, n in (("measures in the table", probe["measureRows"]),
                        ("measure docs", probe["docs"])):
            if n != measures:
                problems.append(f"{n} {what}, expected {measures}")
    kinds = [c["kind"] for c in probe["charts"]]
    funnels, trend_charts = kinds.count("funnel"), kinds.count("trend")
    if measures is not None and funnels != measures:
        problems.append(f"{funnels} funnel plots, expected one per measure ({measures})")
    if measures is not None and trend_charts != (measures if trends else 0):
        problems.append(f"{trend_charts} trend charts, expected {measures if trends else 0}")
    for i, c in enumerate(probe["charts"]):
        if c["role"] != "img" or not c["label"] or not c["title"]:
            problems.append(f"chart {i} ({c['kind']}) lacks role=img, aria-label or <title>")
        if c["width"] < 100 or c["height"] < 50:
            problems.append(f"chart {i} ({c['kind']}) renders at {c['width']}x{c['height']}")
    print(f"{report}: {funnels} funnel plots, {trend_charts} trend charts, "
          f"{probe['measureRows']} measures in the table, {len(errors_logged(page.events))} errors logged")
    return problems


def self_test():
    """A page that breaks each check must fail it: proves the checks can fail."""
    bad = """<!DOCTYPE html><html><head><title>bad</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
</head><body><h1>bad</h1><table><tr><th scope="col">x</th></tr></table>
<img src="https://example.invalid/x.png" alt="">
<svg data-chart="funnel" width="10" height="10"></svg>
<table><tr><td style="white-space: nowrap">""" + "a reason that does not wrap " * 40 + """</td></tr></table>
<div style="overflow-x: auto"><span style="position: absolute; left: 3000px">escapes its box</span></div>
<script>console.error("boom"); null.x;</script></body></html>"""
    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d, "bad.html")
        path.write_text(bad)
        problems = check(path, 1, False)
    wanted = ["Content Security Policy", "boom", "exception", "fetched resources",
              "lacks role=img", "renders at", "table", "page wider than the window", "position: absolute",
              "cut off on paper"]
    missing = [w for w in wanted if not any(w in p for p in problems)]
    if missing:
        sys.exit(f"self-test: the broken page passed checks it breaks: {missing}\n{problems}")
    print(f"self-test: the broken page fails as it should ({len(problems)} problems)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report", nargs="?")
    ap.add_argument("--measures", type=int)
    ap.add_argument("--trends", action="store_true")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        self_test()
        return
    if not args.report or args.measures is None:
        ap.error("give REPORT and --measures N, or --self-test")
    problems = check(args.report, args.measures, args.trends)
    if problems:
        print(f"FAIL {args.report}:", *problems, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    print(f"ok {args.report}")


if __name__ == "__main__":
    main()
