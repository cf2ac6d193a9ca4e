/* pair.js - one pair of nodes, both directions side by side: delay
   percentiles (min, p50, p90, p99) and loss over a chosen range, from
   /api/query (owmesh query --json) in buckets of about 1/150 of the range.
   Drag to zoom, hover for the exact values, log axis on demand. Plots are
   hand-written SVG: no charting library to vendor. */
"use strict";
(function () {
  var q = owmesh.params();
  var src = q.get("src") || "", dst = q.get("dst") || "";
  var W = 600, H = 330, L = 62, R = 12, T = 14, DH = 200, LT = 236, LH = 60;
  var SERIES = [["min_ms", "min", "#1e88e5"], ["50", "p50", "#43a047"],
                ["90", "p90", "#fb8c00"], ["99", "p99", "#e53935"]];
  var NICE = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
              43200, 86400];
  var range = { from: null, to: null }, history = [], logAxis = false;

  function parseSince(s) {
    var m = /^([0-9.]+)([smhdw]?)$/.exec(s || "1h");
    if (!m) return 3600;
    return parseFloat(m[1]) * ({ "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 })[m[2]];
  }

  function every(seconds) {
    var want = seconds / 150;
    for (var i = 0; i < NICE.length; i++) if (NICE[i] >= want) return NICE[i];
    return 86400;
  }

  function value(row, key) {
    if (key === "min_ms") return row.min_ms;
    return row.percentiles_ms ? row.percentiles_ms[key] : null;
  }

  function ticks(lo, hi, n) {
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n || 1)));
    [1, 2, 5, 10].some(function (m) { if ((hi - lo) / (step * m) <= n) { step *= m; return true; } return false; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
    return out;
  }

  /* 1, 2 and 5 times the powers of ten inside [lo, hi]. */
  function logTicks(lo, hi) {
    var out = [];
    for (var e = Math.floor(Math.log10(lo)); Math.pow(10, e) <= hi; e++)
      [1, 2, 5].forEach(function (m) { var v = +(m * Math.pow(10, e)).toPrecision(6); if (v >= lo && v <= hi) out.push(v); });
    return out;
  }

  /* Times on whole minutes, hours or days: about six of them. */
  function timeTicks(a, b) {
    var step = NICE.find(function (n) { return n >= (b - a) / 6; }) || 86400 * Math.ceil((b - a) / 6 / 86400);
    var out = [];
    for (var t = Math.ceil(a / step) * step; t <= b; t += step) out.push(t);
    return out;
  }

  function draw(panel, data, a, b) {
    var s = panel.querySelector("svg"), readout = panel.querySelector(".readout");
    s.setAttribute("viewBox", "0 0 " + W + " " + H);
    s.replaceChildren();
    var rows = data ? data.rows : [];
    var x = function (ms) { return L + (ms - a) / (b - a) * (W - L - R); };
    var lo = Infinity, hi = 0, maxLoss = 0;
    rows.forEach(function (r) {
      SERIES.forEach(function (k) { var v = value(r, k[0]); if (v !== null && v !== undefined) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
      if (r.loss_pct) maxLoss = Math.max(maxLoss, r.loss_pct);
    });
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    var useLog = logAxis && lo > 0;
    var ylo = useLog ? lo / 1.2 : 0, yhi = useLog ? hi * 1.2 : hi * 1.08 || 1;
    var y = function (v) {
      var f = useLog ? (Math.log(v) - Math.log(ylo)) / (Math.log(yhi) - Math.log(ylo)) : (v - ylo) / (yhi - ylo);
      return T + DH - f * DH;
    };
    var lossTop = maxLoss > 0 ? [1, 2, 5, 10, 20, 50, 100].find(function (t) { return t >= maxLoss; }) : 1;
    var ly = function (p) { return LT + LH - p / lossTop * LH; };
    // unmeasured time behind everything
    rows.forEach(function (r) {
      if (!(r.unmeasured_s > 0)) return;
      var x0 = x(Date.parse(r.start)), x1 = x(Date.parse(r.end));
      s.appendChild(owmesh.svg("rect", { x: x0, y: T, width: Math.max(1, x1 - x0), height: LT + LH - T,
        fill: "#bdbdbd", "fill-opacity": "0.5", "class": "unmeasured-band" }));
    });
    // axes
    s.appendChild(owmesh.svg("rect", { x: L, y: T, width: W - L - R, height: DH, fill: "none", stroke: "#9e9e9e" }));
    s.appendChild(owmesh.svg("rect", { x: L, y: LT, width: W - L - R, height: LH, fill: "none", stroke: "#9e9e9e" }));
    var yt = useLog ? logTicks(ylo, yhi) : ticks(ylo, yhi, 5);
    yt.forEach(function (v) {
      s.appendChild(owmesh.svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eeeeee" }));
      s.appendChild(owmesh.svg("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end", "font-size": 11 }, String(v)));
    });
    s.appendChild(owmesh.svg("text", { x: 4, y: T + 10, "font-size": 11, fill: "#616161" }, "ms"));
    [0, lossTop].forEach(function (p) {
      s.appendChild(owmesh.svg("text", { x: L - 4, y: ly(p) + 4, "text-anchor": "end", "font-size": 11 }, p + "%"));
    });
    s.appendChild(owmesh.svg("text", { x: 4, y: LT + 10, "font-size": 11, fill: "#616161" }, "loss"));
    timeTicks(a / 1000, b / 1000).forEach(function (t) {
      var px = x(t * 1000);
      s.appendChild(owmesh.svg("line", { x1: px, x2: px, y1: LT + LH, y2: LT + LH + 4, stroke: "#9e9e9e" }));
      var d = new Date(t * 1000).toISOString();
      var anchor = px > W - R - 20 ? "end" : px < L + 20 ? "start" : "middle";
      s.appendChild(owmesh.svg("text", { x: px, y: LT + LH + 16, "text-anchor": anchor, "font-size": 11 },
        (b - a) > 2 * 86400000 ? d.substr(5, 11).replace("T", " ") : d.substr(11, 5)));
    });
    // series
    SERIES.forEach(function (k) {
      var pts = [];
      rows.forEach(function (r) {
        var v = value(r, k[0]);
        if (v === null || v === undefined || (useLog && v <= 0)) { if (pts.length) pts.push(null); return; }
        pts.push([x((Date.parse(r.start) + Date.parse(r.end)) / 2), y(v)]);
      });
      var d = "", pen = false;
      pts.forEach(function (p) { if (!p) { pen = false; return; } d += (pen ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1); pen = true; });
      if (d) s.appendChild(owmesh.svg("path", { d: d, fill: "none", stroke: k[2], "stroke-width": 1.5, "class": "series series-" + k[1] }));
    });
    rows.forEach(function (r) {
      if (!r.loss_pct) return;
      var x0 = x(Date.parse(r.start)), x1 = x(Date.parse(r.end));
      s.appendChild(owmesh.svg("rect", { x: x0, y: ly(r.loss_pct), width: Math.max(1, x1 - x0), height: LT + LH - ly(r.loss_pct), fill: "#e53935", "class": "loss" }));
    });
    SERIES.forEach(function (k, i) {
      s.appendChild(owmesh.svg("rect", { x: L + 8 + i * 60, y: T + 6, width: 10, height: 10, fill: k[2] }));
      s.appendChild(owmesh.svg("text", { x: L + 22 + i * 60, y: T + 15, "font-size": 11 }, k[1]));
    });
    if (!rows.length)
      s.appendChild(owmesh.svg("text", { x: W / 2, y: T + DH / 2, "text-anchor": "middle", "font-size": 14, fill: "#757575" }, "no data in this range"));
    interact(s, readout, rows, x, a, b);
  }

  function toSvgX(s, ev) {
    var box = s.getBoundingClientRect();
    return (ev.clientX - box.left) / box.width * W;
  }

  function interact(s, readout, rows, x, a, b) {
    var cursor = owmesh.svg("line", { y1: T, y2: LT + LH, stroke: "#212121", "stroke-dasharray": "3 3", visibility: "hidden" });
    var sel = owmesh.svg("rect", { y: T, height: LT + LH - T, fill: "#1e88e5", "fill-opacity": "0.15", visibility: "hidden" });
    s.appendChild(cursor); s.appendChild(sel);
    var start = null;
    var unx = function (px) { return a + (px - L) / (W - L - R) * (b - a); };
    s.onmousemove = function (ev) {
      var px = toSvgX(s, ev);
      if (start !== null) {
        sel.setAttribute("x", Math.min(start, px)); sel.setAttribute("width", Math.abs(px - start));
        sel.setAttribute("visibility", "visible");
      }
      var t = unx(px), best = null;
      rows.forEach(function (r) { if (Date.parse(r.start) <= t && t < Date.parse(r.end)) best = r; });
      if (!best) { cursor.setAttribute("visibility", "hidden"); readout.textContent = ""; return; }
      cursor.setAttribute("x1", px); cursor.setAttribute("x2", px); cursor.setAttribute("visibility", "visible");
      readout.textContent = describe(best);
    };
    s.onmouseleave = function () { cursor.setAttribute("visibility", "hidden"); };
    s.onmousedown = function (ev) { start = toSvgX(s, ev); ev.preventDefault(); };
    s.onmouseup = function (ev) {
      if (start === null) return;
      var end = toSvgX(s, ev), p0 = Math.min(start, end), p1 = Math.max(start, end);
      start = null; sel.setAttribute("visibility", "hidden");
      if (p1 - p0 < 5) return;
      history.push([range.from, range.to]);
      setRange(unx(p0), unx(p1));
    };
  }

  function fmt(v) { return v === null || v === undefined ? "-" : v.toFixed(3); }

  function describe(r) {
    var p = r.percentiles_ms || {};
    return r.start + " to " + r.end + (r.partial ? " (partial)" : "") + "\n" +
      "min " + fmt(r.min_ms) + "  p50 " + fmt(p["50"]) + "  p90 " + fmt(p["90"]) + "  p99 " + fmt(p["99"]) + " ms\n" +
      "sent " + r.sent + "  lost " + r.lost + "  loss " + (r.loss_pct === null ? "-" : r.loss_pct.toFixed(3) + "%") +
      "  dups " + r.dups + "  unmeasured " + r.unmeasured_s + " s";
  }

  function exportLinks(panel, s, d, a, b, ev) {
    var box = panel.querySelector(".export");
    box.replaceChildren();
    var base = { src: s, dst: d, from: owmesh.iso(a), to: owmesh.iso(b), every: ev + "s", p: "50,90,99" };
    box.appendChild(document.createTextNode("export this range: "));
    box.appendChild(owmesh.el("a", { href: "/api/query.csv?" + new URLSearchParams(base), download: s + "-" + d + ".csv" }, "CSV"));
    box.appendChild(document.createTextNode(" \u00b7 "));
    box.appendChild(owmesh.el("a", { href: "/api/query?" + new URLSearchParams(base) }, "JSON"));
  }

  function loadPanel(id, s, d, a, b) {
    var panel = document.getElementById(id), ev = every((b - a) / 1000);
    panel.querySelector("h2").textContent = s + " \u2192 " + d;
    exportLinks(panel, s, d, a, b, ev);
    return owmesh.api("/api/query", { src: s, dst: d, from: owmesh.iso(a), to: owmesh.iso(b), every: ev + "s", p: "50,90,99" })
      .then(function (data) { draw(panel, data, a, b); panel.dataset.rows = String(data.rows.length); },
            function (e) { draw(panel, null, a, b); panel.dataset.rows = "0"; panel.querySelector(".readout").textContent = String(e.message || e); });
  }

  function load() {
    document.getElementById("from").value = owmesh.iso(range.from);
    document.getElementById("to").value = owmesh.iso(range.to);
    owmesh.remember("from", owmesh.iso(range.from)); owmesh.remember("to", owmesh.iso(range.to));
    owmesh.remember("since", "");
    return Promise.all([loadPanel("fwd", src, dst, range.from, range.to), loadPanel("rev", dst, src, range.from, range.to)])
      .then(function () { owmesh.updated("updated " + owmesh.clock(Date.now())); document.body.dataset.loaded = "1"; });
  }

  function setRange(a, b) { range.from = Math.round(a / 1000) * 1000; range.to = Math.round(b / 1000) * 1000; load(); }

  document.getElementById("title").textContent = src + " \u21c4 " + dst;
  document.getElementById("apply").onclick = function () {
    var a = Date.parse(document.getElementById("from").value), b = Date.parse(document.getElementById("to").value);
    if (isNaN(a) || isNaN(b) || b <= a) { owmesh.showError("from and to: ISO-8601 times, from before to"); return; }
    owmesh.showError(null); history.push([range.from, range.to]); setRange(a, b);
  };
  document.getElementById("unzoom").onclick = function () {
    var prev = history.pop();
    if (prev) setRange(prev[0], prev[1]);
    else { var w = range.to - range.from; setRange(range.from - w / 2, range.to + w / 2); }
  };
  document.getElementById("preset").onchange = function () {
    var v = this.value; if (!v) return;
    history.push([range.from, range.to]); setRange(nowMs - parseSince(v) * 1000, nowMs);
  };
  document.getElementById("log").onchange = function () { logAxis = this.checked; load(); };

  var nowMs = Date.now();
  owmesh.api("/api/config").then(function (cfg) {
    if (cfg.now) nowMs = Date.parse(cfg.now) || nowMs;
    var a = Date.parse(q.get("from") || ""), b = Date.parse(q.get("to") || "");
    if (isNaN(a) || isNaN(b)) { b = nowMs; a = b - parseSince(q.get("since")) * 1000; }
    range.from = a; range.to = b;
    return load();
  }).catch(owmesh.showError);
})();
