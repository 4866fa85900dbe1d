// report-pipeline: sort and filter for the published report (no framework,
// no third-party request). Each header becomes a sort button (WAI-ARIA APG
// sortable table); a filter box narrows the rows. The state lives in the
// URL (?sort=<column>&dir=asc|desc&q=<text>&p=<page>), so a view is a link.
// When the report is small enough (data-complete="true"), the whole report
// is fetched from its data chunks on first use and sorted and filtered
// whole; otherwise only this page is, and the page says so.
"use strict";
(function () {
  var table = document.getElementById("report");
  if (!table) return;
  var tbody = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var types = heads.map(function (th) { return th.getAttribute("data-type") || "text"; });
  var complete = table.getAttribute("data-complete") === "true";
  var pageSize = parseInt(table.getAttribute("data-page-size"), 10) || 100;
  var manifestUrl = table.getAttribute("data-manifest");
  var served = Array.prototype.map.call(tbody.rows, function (tr) {
    return Array.prototype.map.call(tr.cells, function (td) {
      return td.hasAttribute("data-v") ? td.getAttribute("data-v") : td.textContent;
    });
  });
  var state = readState();
  var all = null;
  var status = document.createElement("p");
  status.className = "status";
  status.setAttribute("role", "status");

  function readState() {
    var q = new URLSearchParams(location.search);
    var col = parseInt(q.get("sort"), 10);
    return {
      sort: isNaN(col) || col < 0 || col >= heads.length ? -1 : col,
      dir: q.get("dir") === "desc" ? "desc" : "asc",
      q: q.get("q") || "",
      p: Math.max(1, parseInt(q.get("p"), 10) || 1)
    };
  }
  function active() { return state.sort >= 0 || state.q !== ""; }
  function writeState() {
    var q = new URLSearchParams();
    if (state.sort >= 0) { q.set("sort", state.sort); q.set("dir", state.dir); }
    if (state.q) q.set("q", state.q);
    if (active() && state.p > 1) q.set("p", state.p);
    var s = q.toString();
    history.replaceState(null, "", location.pathname + (s ? "?" + s : ""));
  }
  function group(raw) {
    var m = /^(-?)(\d+)(\.\d*)?$/.exec(raw.replace(/^\+/, ""));
    if (!m || m[2].length <= 3) return raw;
    return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (m[3] || "");
  }
  function compare(col, dir) {
    var t = types[col], sign = dir === "desc" ? -1 : 1;
    return function (a, b) {
      var x = a[col], y = b[col];
      if (x === "" || y === "") return x === y ? 0 : (x === "" ? 1 : -1);
      if (t === "integer" || t === "decimal") return sign * (parseFloat(x) - parseFloat(y));
      if (t === "date" || t === "datetime") return sign * (x < y ? -1 : x > y ? 1 : 0);
      return sign * x.localeCompare(y, undefined, { numeric: true, sensitivity: "base" });
    };
  }
  function view(rows) {
    var out = rows;
    if (state.q) {
      var needle = state.q.toLowerCase();
      out = out.filter(function (r) { return r.some(function (c) { return c.toLowerCase().indexOf(needle) >= 0; }); });
    }
    if (state.sort >= 0) out = out.slice().sort(compare(state.sort, state.dir));
    return out;
  }
  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (c, i) {
      var td = document.createElement("td");
      if (types[i] === "integer" || types[i] === "decimal") {
        td.className = "num";
        if (c !== "") td.setAttribute("data-v", c);
        td.textContent = group(c);
      } else {
        td.textContent = c;
      }
      tr.appendChild(td);
    });
    return tr;
  }
  function fill(rows) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rows.forEach(function (r) { tbody.appendChild(row(r)); });
  }
  function marks() {
    heads.forEach(function (th, i) {
      var arrow = th.querySelector(".sort");
      if (i === state.sort) {
        th.setAttribute("aria-sort", state.dir === "asc" ? "ascending" : "descending");
        arrow.textContent = state.dir === "asc" ? "▲" : "▼";
      } else {
        th.removeAttribute("aria-sort");
        arrow.textContent = "";
      }
    });
  }
  function render() {
    marks();
    writeState();
    if (!active()) { fill(served); status.textContent = ""; pagers(null); return; }
    var rows = view(complete && all ? all : served);
    if (complete && all) {
      var pages = Math.max(1, Math.ceil(rows.length / pageSize));
      state.p = Math.min(state.p, pages);
      fill(rows.slice((state.p - 1) * pageSize, state.p * pageSize));
      pagers({ count: rows.length, pages: pages });
      writeState();
    } else {
      fill(rows);
    }
    status.textContent = rows.length.toLocaleString("en") + (rows.length === 1 ? " matching row" : " matching rows") +
      (complete && all ? " in the whole report" : " on this page");
  }
  function pagers(info) {
    Array.prototype.forEach.call(document.querySelectorAll("nav.pager"), function (nav) {
      if (!nav.hasAttribute("data-static")) nav.setAttribute("data-static", nav.innerHTML);
      if (!info) { nav.innerHTML = nav.getAttribute("data-static"); return; }
      while (nav.firstChild) nav.removeChild(nav.firstChild);
      var link = function (label, p, rel) {
        var el;
        if (p === state.p || p < 1 || p > info.pages) {
          el = document.createElement("span"); el.setAttribute("aria-disabled", "true");
        } else {
          el = document.createElement("a"); el.setAttribute("rel", rel);
          var q = new URLSearchParams(location.search); q.set("p", p); el.href = "?" + q.toString();
          el.addEventListener("click", function (ev) { ev.preventDefault(); state.p = p; render(); });
        }
        el.textContent = label; nav.appendChild(el); nav.appendChild(document.createTextNode(" "));
      };
      link("First", 1, "first"); link("Previous", state.p - 1, "prev");
      var range = document.createElement("span"); range.className = "range";
      var from = info.count ? (state.p - 1) * pageSize + 1 : 0, to = Math.min(info.count, state.p * pageSize);
      range.textContent = "Rows " + from.toLocaleString("en") + "–" + to.toLocaleString("en") + " of " +
        info.count.toLocaleString("en") + " (page " + state.p + " of " + info.pages + ")";
      nav.appendChild(range); nav.appendChild(document.createTextNode(" "));
      link("Next", state.p + 1, "next"); link("Last", info.pages, "last");
    });
  }
  function load() {
    if (!complete || all) return Promise.resolve();
    status.textContent = "Loading the whole report…";
    var base = manifestUrl.replace(/[^/]*$/, "");
    return fetch(manifestUrl).then(function (r) { return r.json(); }).then(function (m) {
      return Promise.all(m.data.chunks.map(function (c) { return fetch(base + c).then(function (r) { return r.json(); }); }));
    }).then(function (chunks) {
      all = [];
      chunks.forEach(function (c) { all = all.concat(c.rows); });
    }).catch(function () {
      complete = false;
      document.querySelector(".scope-note").hidden = false;
    });
  }
  function change() { load().then(render); }

  heads.forEach(function (th, i) {
    var b = document.createElement("button");
    b.type = "button";
    var label = document.createElement("span");
    label.textContent = th.textContent;
    var arrow = document.createElement("span");
    arrow.className = "sort";
    arrow.setAttribute("aria-hidden", "true");
    b.appendChild(label); b.appendChild(arrow);
    while (th.firstChild) th.removeChild(th.firstChild);
    th.appendChild(b);
    b.addEventListener("click", function () {
      state.dir = state.sort === i && state.dir === "asc" ? "desc" : "asc";
      state.sort = i; state.p = 1;
      change();
    });
  });
  var form = document.createElement("form");
  form.className = "filter";
  form.setAttribute("role", "search");
  var label = document.createElement("label");
  label.setAttribute("for", "filter");
  label.textContent = "Filter rows";
  var input = document.createElement("input");
  input.type = "search"; input.id = "filter"; input.value = state.q;
  form.appendChild(label); form.appendChild(input);
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  input.addEventListener("input", function () { state.q = input.value; state.p = 1; change(); });
  var wrap = document.querySelector(".table-wrap");
  wrap.parentNode.insertBefore(form, wrap);
  wrap.parentNode.insertBefore(status, wrap);
  if (active()) change();
})();
