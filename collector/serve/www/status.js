/* status.js - the coordinator's view: /api/status (owmesh status --json),
   refreshed in place. */
"use strict";
(function () {
  var q = owmesh.params();
  function row(cells, cls) {
    var tr = owmesh.el("tr");
    cells.forEach(function (c, i) { tr.appendChild(owmesh.el(i === 0 && cls === "th" ? "th" : "td", cls && cls !== "th" && i === cells.length - 1 ? { "class": cls } : {}, c)); });
    return tr;
  }
  function head(names) {
    var tr = owmesh.el("tr");
    names.forEach(function (n) { tr.appendChild(owmesh.el("th", {}, n)); });
    return tr;
  }
  function render(st) {
    var nodes = [head(["node", "state", "last seen", "generation (expected/acked/running)", "version", "last error"])];
    var streams = [head(["node", "stream", "source", "destination", "verdict", "evidence"])];
    st.nodes.forEach(function (n) {
      nodes.push(row([n.node, n.state, n.last_seen || "never",
        n.expected_generation + "/" + n.acked_generation + "/" + n.running_generation,
        n.software_version, n.last_error], null));
      n.streams.forEach(function (s) {
        streams.push(row([n.node, s.id, s.source, s.destination, s.state, s.evidence], null));
      });
    });
    var t = document.getElementById("nodes"); t.replaceChildren.apply(t, nodes);
    t = document.getElementById("streams"); t.replaceChildren.apply(t, streams);
    var parts = Object.keys(st.streams).filter(function (k) { return st.streams[k]; })
      .map(function (k) { return st.streams[k] + " " + k; });
    document.getElementById("summary").textContent = "coordinator " + st.coordinator +
      ", generation " + st.generation + ": " + st.nodes.length + " nodes; streams: " + (parts.join(", ") || "none");
  }
  function load() {
    return owmesh.api("/api/status").then(function (st) {
      owmesh.showError(null); render(st); owmesh.updated("updated " + owmesh.clock(Date.now()));
    }).catch(owmesh.showError);
  }
  owmesh.api("/api/config").then(function (cfg) {
    load();
    setInterval(load, Math.max(1, parseFloat(q.get("refresh") || cfg.refresh_s)) * 1000);
  }).catch(owmesh.showError);
})();
