/* completeness.js - expected vs measured: /api/completeness (owmesh
   completeness --json), refreshed in place. */
"use strict";
(function () {
  var q = owmesh.params();
  var since = q.get("since") || "1h", sel = document.getElementById("since");
  if (!Array.prototype.some.call(sel.options, function (o) { return o.value === since; }))
    sel.appendChild(owmesh.el("option", { value: since }, since));
  sel.value = since;
  function render(c) {
    var t = document.getElementById("paths");
    var head = owmesh.el("tr");
    ["src", "dst", "test", "newest", "age", "coverage", "status", "unmeasured"].forEach(function (h) {
      head.appendChild(owmesh.el("th", {}, h));
    });
    var rows = [head], counts = { ok: 0, stale: 0, missing: 0 };
    c.paths.forEach(function (p) {
      counts[p.status] = (counts[p.status] || 0) + 1;
      var tr = owmesh.el("tr");
      var link = owmesh.el("a", { href: "/pair?" + new URLSearchParams({ src: p.src, dst: p.dst, since: since }) }, p.src);
      var td = owmesh.el("td"); td.appendChild(link); tr.appendChild(td);
      [p.dst, p.test, p.newest || "never", owmesh.age(p.age_s), p.coverage_pct.toFixed(1) + "%"]
        .forEach(function (v) { tr.appendChild(owmesh.el("td", {}, v)); });
      tr.appendChild(owmesh.el("td", { "class": "st-" + p.status }, p.status));
      tr.appendChild(owmesh.el("td", {}, p.unmeasured_s > 0 ? owmesh.age(p.unmeasured_s) + " " + (p.reason || "") : "-"));
      rows.push(tr);
    });
    t.replaceChildren.apply(t, rows);
    document.getElementById("summary").textContent = c.paths.length + " expected paths: " +
      counts.ok + " ok, " + counts.stale + " stale, " + counts.missing + " missing";
    document.getElementById("silent").textContent = c.silent_nodes.length
      ? "silent nodes: " + c.silent_nodes.map(function (n) { return n.node; }).join(", ") : "";
  }
  function load() {
    return owmesh.api("/api/completeness", { since: since }).then(function (c) {
      owmesh.showError(null); render(c); owmesh.updated("updated " + owmesh.clock(Date.now()));
    }).catch(owmesh.showError);
  }
  sel.addEventListener("change", function () { since = sel.value; owmesh.remember("since", since); load(); });
  owmesh.api("/api/config").then(function (cfg) {
    load();
    setInterval(load, Math.max(1, parseFloat(q.get("refresh") || cfg.refresh_s)) * 1000);
  }).catch(owmesh.showError);
})();
