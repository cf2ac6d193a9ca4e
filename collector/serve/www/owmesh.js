/* owmesh.js - what the pages of `owmesh serve` share: fetching the API,
   the page's own settings from its URL, elements, times. No library: the
   binary serves every byte the browser runs. */
"use strict";
var owmesh = (function () {
  function params() { return new URLSearchParams(window.location.search); }

  /* GET path?query as JSON; rejects with the server's error message. */
  function api(path, query) {
    var url = path + (query ? "?" + new URLSearchParams(query).toString() : "");
    return fetch(url, { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
        return body;
      });
    });
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  var SVGNS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function iso(ms) { return new Date(ms).toISOString().replace(".000Z", "Z"); }
  function clock(ms) { return new Date(ms).toISOString().substr(11, 8) + "Z"; }

  function updated(text) {
    var u = document.getElementById("updated");
    if (u) u.textContent = text;
  }

  function showError(e) {
    var p = document.getElementById("error");
    if (p) p.textContent = e ? String(e.message || e) : "";
  }

  /* Settings kept in the URL, so a view can be bookmarked and shared. */
  function remember(key, value) {
    var p = params();
    if (value === "" || value === null || value === false) p.delete(key);
    else p.set(key, value);
    var q = p.toString();
    history.replaceState(null, "", window.location.pathname + (q ? "?" + q : ""));
  }

  function age(s) {
    if (s === null || s === undefined) return "-";
    s = Math.round(s);
    if (s < 120) return s + "s";
    if (s < 7200) return Math.floor(s / 60) + "m" + ("0" + s % 60).slice(-2) + "s";
    if (s < 172800) return Math.floor(s / 3600) + "h" + ("0" + Math.floor(s % 3600 / 60)).slice(-2) + "m";
    return Math.floor(s / 86400) + "d" + ("0" + Math.floor(s % 86400 / 3600)).slice(-2) + "h";
  }

  return { params: params, api: api, el: el, svg: svg, iso: iso, clock: clock,
           updated: updated, showError: showError, remember: remember, age: age };
})();
