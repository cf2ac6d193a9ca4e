/* grid.js - the live mesh grid: /api/grid (owmesh grid --json) every
   refresh interval, redrawn in place (no reload). One cell per direction,
   rows sources, columns destinations; every cell links to its pair page. */
"use strict";
(function () {
  var q = owmesh.params();
  var state = { stat: q.get("stat") || "loss", since: q.get("since") || "1h",
                task: q.get("task") || "", compact: q.get("compact") === "1",
                refresh: parseFloat(q.get("refresh") || "0"), last: null, timer: null };
  var statSel = document.getElementById("stat"), sinceSel = document.getElementById("since");
  var taskSel = document.getElementById("task"), compact = document.getElementById("compact");
  var table = document.getElementById("grid");
  document.body.dataset.refreshes = "0";

  function cellView(c) {
    if (state.stat !== "unmeasured") return { cls: c["class"], text: c.text };
    if (c.unmeasured_s > 0)
      return { cls: "unmeasured", text: owmesh.age(c.unmeasured_s) + (c.reason ? " " + c.reason : "") };
    if (c.sent !== null) return { cls: "good", text: "0s" };
    return { cls: c.expected ? "missing" : "none", text: c.expected ? "missing" : "" };
  }

  function legend(g) {
    var p = document.getElementById("legend");
    p.textContent = "";
    var what = state.stat === "unmeasured" ? "unmeasured time per path (not loss)"
      : g.stat + " (" + g.unit + "): " + g.rule;
    p.appendChild(document.createTextNode(what + "; " + g.from + " to " + g.to + ". "));
    [["good", "good"], ["warn", "warn"], ["crit", "crit"], ["missing", "missing (no data)"],
     ["unmeasured", "unmeasured (reason in tooltip)"], ["none", "not in the mesh"]]
      .forEach(function (l) {
        p.appendChild(owmesh.el("span", { "class": "swatch " + l[0] }));
        p.appendChild(document.createTextNode(l[1]));
      });
  }

  function render(g) {
    var cells = {}, inTask = {};
    g.cells.forEach(function (c) {
      if (state.task && c.task !== state.task) return;
      cells[c.src + "\u0000" + c.dst] = c;
      inTask[c.src] = inTask[c.dst] = true;
    });
    var nodes = g.nodes.filter(function (n) { return !state.task || inTask[n]; });
    var thead = owmesh.el("thead"), hr = owmesh.el("tr");
    hr.appendChild(owmesh.el("th", { "class": "corner" }, "src \\ dst"));
    nodes.forEach(function (n) { hr.appendChild(owmesh.el("th", { scope: "col" }, n)); });
    thead.appendChild(hr);
    var tbody = owmesh.el("tbody");
    nodes.forEach(function (s) {
      var tr = owmesh.el("tr");
      tr.appendChild(owmesh.el("th", { scope: "row" }, s));
      nodes.forEach(function (d) {
        var c = cells[s + "\u0000" + d];
        if (!c) { tr.appendChild(owmesh.el("td", { "class": "none" })); return; }
        var v = cellView(c);
        var td = owmesh.el("td", { "class": "cell " + v.cls, title: c.tooltip,
                                   "data-src": s, "data-dst": d });
        var a = owmesh.el("a", { href: "/pair?" + new URLSearchParams({ src: s, dst: d, since: state.since }) },
                          v.text || "\u00a0");
        td.appendChild(a);
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    table.className = "grid" + (state.compact ? " compact" : "");
    table.replaceChildren(thead, tbody);
    legend(g);
  }

  function load() {
    var stat = state.stat === "unmeasured" ? "loss" : state.stat;
    return owmesh.api("/api/grid", { stat: stat, since: state.since }).then(function (g) {
      state.last = g;
      owmesh.showError(null);
      render(g);
      var n = parseInt(document.body.dataset.refreshes, 10) + 1;
      document.body.dataset.refreshes = String(n);
      owmesh.updated("updated " + owmesh.clock(Date.now()) + ", every " + state.refresh + " s");
      if (n === 1 && window.performance) document.body.dataset.firstRenderMs = String(Math.round(performance.now()));
    }).catch(owmesh.showError);
  }

  function settings() {
    if (!Array.prototype.some.call(sinceSel.options, function (o) { return o.value === state.since; }))
      sinceSel.appendChild(owmesh.el("option", { value: state.since }, state.since));
    statSel.value = state.stat;
    sinceSel.value = state.since;
    compact.checked = state.compact;
  }

  statSel.addEventListener("change", function () { state.stat = statSel.value; owmesh.remember("stat", state.stat); load(); });
  sinceSel.addEventListener("change", function () { state.since = sinceSel.value; owmesh.remember("since", state.since); load(); });
  taskSel.addEventListener("change", function () {
    state.task = taskSel.value; owmesh.remember("task", state.task); if (state.last) render(state.last);
  });
  compact.addEventListener("change", function () {
    state.compact = compact.checked; owmesh.remember("compact", state.compact ? "1" : "");
    if (state.last) render(state.last);
  });
  settings();
  owmesh.api("/api/config").then(function (cfg) {
    cfg.tasks.forEach(function (t) { taskSel.appendChild(owmesh.el("option", { value: t }, t)); });
    taskSel.value = state.task;
    if (!state.refresh) state.refresh = cfg.refresh_s;
    if (!state.compact && cfg.nodes.length > 30 && !q.has("compact")) { state.compact = true; settings(); }
    return load();
  }).then(function () {
    state.timer = setInterval(load, Math.max(0.5, state.refresh) * 1000);
  }).catch(owmesh.showError);
})();
