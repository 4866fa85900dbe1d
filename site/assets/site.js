// report-pipeline: sort and filter for the published report (no framework,
// no third-party request, no inline style: the pages' CSP is strict). Each
// header becomes a sort button (WAI-ARIA APG sortable table); a filter box
// narrows the rows. The state lives in the URL (?sort=<column>&dir=asc|desc
// &q=<text>&p=<page>), so a view is a link. When the report is small enough
// (data-complete="true"), the whole report is read from its gzip download
// on first use, then sorted, filtered and paged here; otherwise only this
// page's rows are, and the page says so. With no sort and no filter the
// page is exactly as served. Cells are built with textContent only.
"use strict";
(() => {
  const table = document.getElementById("report");
  if (!table || !table.tHead || !table.tBodies[0]) return;
  const tbody = table.tBodies[0];
  const heads = Array.from(table.tHead.rows[0].cells);
  const names = heads.map((th) => th.textContent.trim());
  const types = heads.map((th) => th.getAttribute("data-type") || "text");
  const numeric = types.map((t) => t === "integer" || t === "decimal");
  let complete = table.getAttribute("data-complete") === "true";
  const pageSize = parseInt(table.getAttribute("data-page-size"), 10) || 200;
  const manifestUrl = table.getAttribute("data-manifest");
  const caption = table.caption;
  const servedCaption = caption ? caption.textContent : "";
  const title = servedCaption.lastIndexOf(", rows ") > 0 ? servedCaption.slice(0, servedCaption.lastIndexOf(", rows ")) : servedCaption;
  const en = (n) => n.toLocaleString("en");
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  // A number cell's raw value: its data-v, or, where the renderer left that
  // out, its text without the thousands separators.
  const cellValue = (td) => (td.hasAttribute("data-v") ? td.getAttribute("data-v")
    : td.classList.contains("num") ? td.textContent.replace(/,/g, "") : td.textContent);
  // The rows as served: their nodes (put back untouched) and raw values.
  const served = Array.from(tbody.rows, (tr) => ({ tr, cells: Array.from(tr.cells, cellValue) }));
  const pagers = Array.from(document.querySelectorAll("nav.pager"), (nav) => ({ nav, nodes: Array.from(nav.childNodes) }));
  const pageIndex = document.querySelector("details.page-index");
  const scopeNote = document.querySelector(".scope-note");

  /** Thousands separators in the integer part, as the renderer's format_number. */
  function group(raw) {
    const t = raw.trim();
    const m = /^([+-]?)(\d*)(\.\d*)?$/.exec(t);
    if (!m || (m[2] === "" && (m[3] || ".").length < 2)) return raw;
    const sign = m[1], int = m[2], frac = m[3] || "";
    if (int.length <= 3 && sign === "" && t.length === raw.length) return raw;
    return (sign === "-" ? "-" : "") + int.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + frac;
  }

  function readState() {
    const q = new URLSearchParams(location.search);
    const col = parseInt(q.get("sort"), 10);
    return {
      sort: Number.isInteger(col) && col >= 0 && col < heads.length ? col : -1,
      dir: q.get("dir") === "desc" ? "desc" : "asc",
      q: q.get("q") || "",
      p: Math.max(1, parseInt(q.get("p"), 10) || 1),
    };
  }
  const state = readState();
  const active = () => state.sort >= 0 || state.q !== "";
  function query(p) {
    const q = new URLSearchParams();
    if (state.sort >= 0) { q.set("sort", state.sort); q.set("dir", state.dir); }
    if (state.q) q.set("q", state.q);
    if (active() && p > 1) q.set("p", p);
    const s = q.toString();
    return s ? "?" + s : "";
  }
  const writeState = () => history.replaceState(history.state, "", location.pathname + query(state.p) + location.hash);

  function compare(col, dir) {
    const t = types[col], sign = dir === "desc" ? -1 : 1;
    return (a, b) => {
      const x = a.cells[col] === undefined ? "" : a.cells[col], y = b.cells[col] === undefined ? "" : b.cells[col];
      // Empty cells last, whichever the direction.
      if (x === "" || y === "") return x === y ? 0 : x === "" ? 1 : -1;
      if (t === "integer" || t === "decimal") {
        const d = parseFloat(x) - parseFloat(y);
        return sign * (isNaN(d) ? collator.compare(x, y) : d);
      }
      if (t === "date" || t === "datetime") return sign * (x < y ? -1 : x > y ? 1 : 0);
      return sign * collator.compare(x, y);
    };
  }
  // A row matches when any cell contains the text, as stored or as shown.
  function matches(row, needle) {
    return row.cells.some((c, i) => c.toLowerCase().includes(needle) || (numeric[i] && group(c).toLowerCase().includes(needle)));
  }
  function view(rows) {
    let out = rows;
    if (state.q) {
      const needle = state.q.toLowerCase();
      out = out.filter((r) => matches(r, needle));
    }
    if (state.sort >= 0) out = out.slice().sort(compare(state.sort, state.dir));
    return out;
  }
  // The same markup the renderer writes for a row.
  function build(row) {
    if (row.tr) return row.tr;
    const tr = document.createElement("tr");
    row.cells.forEach((c, i) => {
      const td = document.createElement("td");
      if (numeric[i] && c !== "") {
        td.className = "num";
        const shown = group(c);
        if (shown.replace(/,/g, "") !== c) td.setAttribute("data-v", c);
        td.textContent = shown;
      } else {
        td.textContent = c;
      }
      tr.appendChild(td);
    });
    row.tr = tr;
    return tr;
  }
  function fill(rows) {
    const frag = document.createDocumentFragment();
    rows.forEach((r) => frag.appendChild(build(r)));
    tbody.replaceChildren(frag);
  }
  function marks() {
    heads.forEach((th, i) => {
      const arrow = th.querySelector(".sort");
      if (i === state.sort) {
        th.setAttribute("aria-sort", state.dir === "asc" ? "ascending" : "descending");
        arrow.textContent = state.dir === "asc" ? "▲" : "▼";
      } else {
        th.removeAttribute("aria-sort");
        arrow.textContent = "";
      }
    });
  }
  // Pager links for the whole-report view: ?…&p=N, followed here.
  function pagerNodes(count, pages, label) {
    const nodes = [];
    const link = (text, p, rel) => {
      let el;
      if (p === state.p || p < 1 || p > pages) {
        el = document.createElement("span");
        el.setAttribute("aria-disabled", "true");
      } else {
        el = document.createElement("a");
        el.rel = rel;
        el.href = location.pathname + query(p);
        el.addEventListener("click", (ev) => {
          if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
          ev.preventDefault();
          state.p = p;
          render();
          wrap.scrollTop = 0;
        });
      }
      el.textContent = text;
      nodes.push(document.createTextNode(" "), el);
    };
    link("First", 1, "first");
    link("Previous", state.p - 1, "prev");
    const range = document.createElement("span");
    range.className = "range";
    range.textContent = label;
    nodes.push(document.createTextNode(" "), range);
    link("Next", state.p + 1, "next");
    link("Last", pages, "last");
    return nodes;
  }
  function setPagers(info) {
    pagers.forEach(({ nav, nodes }) => nav.replaceChildren(...(info ? pagerNodes(info.count, info.pages, info.label) : nodes)));
  }
  function render() {
    marks();
    reset.hidden = !active();
    if (!active()) {
      fill(served);
      setPagers(null);
      if (caption) caption.textContent = servedCaption;
      if (pageIndex) pageIndex.hidden = false;
      status.textContent = "";
      writeState();
      return;
    }
    const whole = complete && all !== null;
    const rows = view(whole ? all : served);
    const what = (state.q ? ` matching “${state.q}”` : "") + (state.sort >= 0 ? `, sorted by ${names[state.sort]} (${state.dir}ending)` : "");
    if (whole) {
      const pages = Math.max(1, Math.ceil(rows.length / pageSize));
      state.p = Math.min(state.p, pages);
      const from = rows.length ? (state.p - 1) * pageSize + 1 : 0, to = Math.min(rows.length, state.p * pageSize);
      fill(rows.slice(from ? from - 1 : 0, to));
      const span = `rows ${en(from)}–${en(to)} of ${en(rows.length)}`;
      setPagers({ count: rows.length, pages, label: `Rows ${en(from)}–${en(to)} of ${en(rows.length)} (page ${state.p} of ${pages})` });
      if (caption) caption.textContent = `${title}, ${span}${what}`;
      if (pageIndex) pageIndex.hidden = true;
      status.textContent = `${en(rows.length)} matching ${rows.length === 1 ? "row" : "rows"} in the whole report`;
    } else {
      fill(rows);
      if (caption) caption.textContent = `${servedCaption}${what}, this page only`;
      status.textContent = `${en(rows.length)} matching ${rows.length === 1 ? "row" : "rows"} on this page`;
    }
    writeState();
  }

  // The report's CSV as rows of strings, cut as the renderer's reader (the
  // csv crate's defaults) cuts them: `,` between fields; a field that
  // starts with `"` is quoted, `""` in it is one `"`, and what follows its
  // closing quote up to the next `,` or line end is kept as it is; a line
  // ends at CR, LF or CRLF; blank lines are skipped. The header is row 0.
  function parseCsv(text) {
    const rows = [];
    const n = text.length;
    let row = [];
    let i = 0;
    let lineStart = true;
    // Where the unquoted text from `j` ends: at `,`, CR, LF or the end.
    const plainEnd = (j) => {
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d === 44 || d === 10 || d === 13) break;
      }
      return j;
    };
    while (i < n) {
      let c = text.charCodeAt(i);
      if (lineStart && (c === 10 || c === 13)) { i++; continue; }
      lineStart = false;
      let field = "";
      if (c === 34) {
        let from = ++i;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) { field += text.slice(from); i = n; break; }
          if (text.charCodeAt(q + 1) === 34) { field += text.slice(from, q + 1); i = from = q + 2; continue; }
          field += text.slice(from, q);
          i = q + 1;
          break;
        }
      }
      const end = plainEnd(i);
      row.push(field + text.slice(i, end));
      i = end;
      if (i >= n) break;
      c = text.charCodeAt(i++);
      if (c === 44) {
        if (i >= n) row.push("");
        continue;
      }
      rows.push(row);
      row = [];
      lineStart = true;
    }
    if (row.length) rows.push(row);
    return rows;
  }
  // The download is stored gzip-compressed with Content-Encoding: gzip, so
  // the browser hands over the CSV itself; from a server that sends the
  // stored bytes without that header, it is inflated here.
  function csvText(buf) {
    const b = new Uint8Array(buf);
    if (b[0] !== 0x1f || b[1] !== 0x8b) return Promise.resolve(new TextDecoder().decode(b));
    const inflated = new Blob([b]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(inflated).arrayBuffer().then((d) => new TextDecoder().decode(d));
  }

  // The whole report, read once from its download, when first asked for:
  // the rows are published once, as pages and as the CSV, and the gzip is
  // a fifth of what the rows weighed as JSON data chunks.
  let all = null;
  let loading = null;
  function load() {
    if (!complete || all) return Promise.resolve();
    if (loading) return loading;
    status.textContent = "Loading the whole report…";
    const base = new URL(manifestUrl, location.href);
    const get = (url) => fetch(url, { credentials: "same-origin" }).then((r) => {
      if (!r.ok) throw new Error(`${r.status} ${url}`);
      return r;
    });
    loading = get(base)
      .then((r) => r.json())
      .then((m) => {
        if (!m.data || !m.data.complete || !m.csv) throw new Error("the report is not whole");
        return get(new URL(m.csv, base))
          .then((r) => r.arrayBuffer())
          .then(csvText)
          .then((text) => {
            const rows = parseCsv(text).slice(1);
            // Only rows that are the manifest's, or none: the page alone.
            if (rows.length !== m.rows || rows.some((r) => r.length !== heads.length)) {
              throw new Error("the download does not match the manifest");
            }
            all = rows.map((cells) => ({ tr: null, cells }));
          });
      })
      .catch(() => {
        // The page alone, then, and say so.
        complete = false;
        if (scopeNote) scopeNote.hidden = false;
      });
    return loading;
  }
  const change = () => load().then(render);

  // Sort buttons in the headers.
  heads.forEach((th, i) => {
    const b = document.createElement("button");
    b.type = "button";
    const label = document.createElement("span");
    label.textContent = names[i];
    const arrow = document.createElement("span");
    arrow.className = "sort";
    arrow.setAttribute("aria-hidden", "true");
    b.append(label, arrow);
    th.replaceChildren(b);
    b.addEventListener("click", () => {
      state.dir = state.sort === i && state.dir === "asc" ? "desc" : "asc";
      state.sort = i;
      state.p = 1;
      change();
    });
  });

  // The filter box, a status line, and a way back to the page as served.
  const form = document.createElement("form");
  form.className = "filter";
  form.setAttribute("role", "search");
  form.setAttribute("aria-label", "Rows");
  const label = document.createElement("label");
  label.htmlFor = "filter";
  label.textContent = "Filter rows";
  const input = document.createElement("input");
  input.type = "search";
  input.id = "filter";
  input.autocomplete = "off";
  input.value = state.q;
  const reset = document.createElement("button");
  reset.type = "button";
  reset.className = "reset";
  reset.textContent = "Clear sort and filter";
  reset.hidden = true;
  form.append(label, input, reset);
  const status = document.createElement("p");
  status.className = "status";
  status.setAttribute("role", "status");
  form.addEventListener("submit", (ev) => ev.preventDefault());
  let timer = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.q = input.value; state.p = 1; change(); }, 150);
  });
  reset.addEventListener("click", () => {
    clearTimeout(timer);
    state.sort = -1; state.q = ""; state.p = 1; input.value = "";
    render();
    input.focus();
  });
  const wrap = table.closest(".table-wrap") || table;
  wrap.before(form, status);
  if (!complete && scopeNote) scopeNote.hidden = false;
  if (active()) change();
})();
