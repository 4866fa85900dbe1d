// A hand-written site in the published layout (the markup UpdateSite's
// templates write: functions/update-site/templates/site/), so the browser
// side (site/assets/*) can be tested without building the Rust renderer.
//
//   node tests/browser/fixture.mjs OUT_DIR      writes the site into OUT_DIR
//
// Two reports: the latest, "r-2026-12-04", 450 rows of every column type in
// 3 pages of 200, loadable whole from its download (data.complete) for
// whole-report sort and filter; and an older "r-2026-12-03", 250 rows in 2 pages marked too
// large to load whole (data.complete false: this page only, the note shows).
// The cells are chosen to catch a string sort (9, 10, 100, negatives,
// decimals, empties), grouping (1234567.5 → 1,234,567.5) and escaping
// (<script>, &, quotes). Deterministic: the same bytes every run.
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const HERE = dirname(fileURLToPath(import.meta.url));
export const ASSETS_DIR = resolve(HERE, "..", "..", "site", "assets");
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'";
export const TITLE = "Sales report";
export const PAGE_SIZE = 200;

export const COLUMNS = [
  { name: "id", type: "integer" },
  { name: "customer", type: "text" },
  { name: "city", type: "text" },
  { name: "amount", type: "decimal" },
  { name: "day", type: "date" },
  { name: "updated", type: "datetime" },
  { name: "paid", type: "boolean" },
  { name: "note", type: "text" },
];

const NAMES = ["Ada", "Grace", "Linus", "Édith", "Zoë", "Ōta", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Niklaus", "李雷", "Sophie", "Alan"];
const CITIES = ["Lisbon", "Berlin", "Osaka", "Nairobi", "Lima", "Oslo", "Québec", "São Paulo", "Tromsø", "Zürich"];
// Amounts whose string order is not their numeric order.
const AMOUNTS = ["9", "10", "100", "-5", "-1200", "0.5", "1234567.5", "", "99.99", "1000", "-0.25", "250000", "7", "12.5", "3000000", "", "42", "-87654.321"];
const NOTES = ["", "<script>alert(1)</script>", "fish & chips", "\"quoted\" and 'single'", "a > b < c", "plain", "multi word note", "ünïcödé", "row 10 of many", "2 < 10"];

// A small deterministic generator (no Math.random: the same site each run).
function lcg(seed) {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
}

export function reportRows(count, seed) {
  const rnd = lcg(seed);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const rows = [];
  for (let i = 1; i <= count; i++) {
    // Some amounts from the list, others drawn (with a few large ones).
    const amount = i % 3 === 0 ? pick(AMOUNTS) : ((rnd() - 0.3) * (i % 7 === 0 ? 1e6 : 1e3)).toFixed(i % 4 === 0 ? 0 : 2);
    const day = new Date(Date.UTC(2026, 0, 1) + Math.floor(rnd() * 330) * 86400000).toISOString().slice(0, 10);
    const at = new Date(Date.UTC(2026, 0, 1) + Math.floor(rnd() * 330 * 86400) * 1000).toISOString().replace(".000Z", "Z");
    rows.push([
      String(i),
      pick(NAMES),
      pick(CITIES),
      amount,
      i % 37 === 0 ? "" : day,
      at,
      rnd() < 0.5 ? "true" : "false",
      pick(NOTES),
    ]);
  }
  return rows;
}

/** As the renderer escapes a cell (functions/update-site/src/render.rs). */
export function esc(s) {
  return String(s).replace(/["&'<>]/g, (c) => ({ '"': "&#34;", "&": "&#38;", "'": "&#39;", "<": "&#60;", ">": "&#62;" })[c]);
}

/** Thousands separators in the integer part, as columns.rs format_number does. */
export function formatNumber(raw) {
  const t = raw.trim();
  const m = /^([+-]?)(\d*)(\.\d*)?$/.exec(t);
  if (!m || (m[2] === "" && (m[3] || ".").length < 2)) return raw;
  const [, sign, int, frac = ""] = m;
  if (int.length <= 3 && sign === "" && t.length === raw.length) return raw;
  return (sign === "-" ? "-" : "") + int.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + frac;
}

const count = (n) => formatNumber(String(n));
const isNum = (type) => type === "integer" || type === "decimal";

function pager(report, page, pages, first, last, rows, label) {
  const link = (text, to, rel, enabled) => enabled
    ? ` <a rel="${rel}" href="${report}page-${to}.html">${text}</a>`
    : ` <span aria-disabled="true">${text}</span>`;
  return `<nav class="pager" aria-label="${label}">` +
    link("First", 1, "first", page > 1) +
    link("Previous", page - 1, "prev", page > 1) +
    ` <span class="range">Rows ${count(first)}–${count(last)} of ${count(rows)} (page ${page} of ${pages})</span>` +
    link("Next", page + 1, "next", page < pages) +
    link("Last", pages, "last", page < pages) +
    "</nav>";
}

function pageIndex(report, page, pages, rows) {
  let s = '<details class="page-index"><summary>All pages</summary><ol>';
  for (let p = 1; p <= pages; p++) {
    const first = (p - 1) * PAGE_SIZE + 1, last = Math.min(p * PAGE_SIZE, rows);
    s += `<li value="${p}"><a href="${report}page-${p}.html"${p === page ? ' aria-current="page"' : ""}>${count(first)}–${count(last)}</a></li>`;
  }
  return s + "</ol></details>";
}

const human = (t) => t.slice(0, 10) + " " + t.slice(11, 16) + " UTC";

// A number cell as the renderer writes it: data-v only where the shown text
// minus its commas is not the raw value.
function numberCell(c) {
  const shown = formatNumber(c);
  const v = shown.replace(/,/g, "") === c ? "" : ` data-v="${esc(c)}"`;
  return `<td class="num"${v}>${esc(shown)}</td>`;
}

function pageHtml(r, page, root, report) {
  const rows = r.rows.length;
  const pages = Math.ceil(rows / PAGE_SIZE);
  const slice = r.rows.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const first = (page - 1) * PAGE_SIZE + 1, last = first + slice.length - 1;
  const top = pager(report, page, pages, first, last, rows, "Pages");
  const bottom = pager(report, page, pages, first, last, rows, "Pages, bottom");
  const body = slice.map((cells) => "<tr>" + cells.map((c, i) => isNum(COLUMNS[i].type) && c !== ""
    ? numberCell(c)
    : `<td>${esc(c)}</td>`).join("") + "</tr>\n").join("");
  const next = r.next ? ` <span class="next">Next report expected by <time datetime="${r.next}">${r.next}</time>.</span>` : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="referrer" content="strict-origin-when-cross-origin">
<meta name="generator" content="report-pipeline">
<title>${esc(TITLE)} – rows ${count(first)}–${count(last)} of ${count(rows)}</title>
<link rel="stylesheet" href="${root}assets/site.css">
<link rel="icon" href="${root}assets/favicon.svg" type="image/svg+xml">
<link rel="alternate" type="application/atom+xml" title="${esc(TITLE)}" href="${root}feed.xml">
<script src="${root}assets/site.js" defer></script>
</head>
<body>
<header class="site"><a class="home" href="${root}index.html">${esc(TITLE)}</a> <nav aria-label="Site"><a href="${root}index.html">Latest</a> <a href="${root}archive.html">Archive</a></nav></header>
<main>
<h1>${esc(TITLE)}</h1>
<p class="meta">Report <code>${r.id}</code>, generated <time datetime="${r.created}">${human(r.created)}</time>. ${count(rows)} rows, ${COLUMNS.length} columns.${next}</p>
<p class="downloads"><a href="${report}report.csv.gz" download="${r.id}.csv.gz">Download CSV (gzip)</a> · <a href="${report}manifest.json">manifest.json</a></p>
${top}
<section class="table-wrap" aria-labelledby="caption" tabindex="0">
<table id="report" data-manifest="${report}manifest.json" data-page="${page}" data-page-size="${PAGE_SIZE}" data-rows="${rows}" data-complete="${r.complete}">
<caption id="caption">${esc(TITLE)}, rows ${count(first)}–${count(last)} of ${count(rows)}</caption>
<thead><tr>${COLUMNS.map((c) => `<th scope="col" data-type="${c.type}">${esc(c.name)}</th>`).join("")}</tr></thead>
<tbody>${body}</tbody>
</table>
</section>
${bottom}
${pageIndex(report, page, pages, rows)}
<p class="scope-note"${r.complete ? " hidden" : ""}>Sorting and filtering apply to this page only: the report is too large to load whole in the browser.</p>
</main>
<footer><a href="${root}archive.html">Archive</a> · <a href="${root}feed.xml">Atom feed</a></footer>
</body>
</html>`;
}

function csv(rows) {
  const field = (c) => /[",\n\r]/.test(c) ? '"' + c.replace(/"/g, '""') + '"' : c;
  return [COLUMNS.map((c) => c.name), ...rows].map((r) => r.map(field).join(",")).join("\r\n") + "\r\n";
}

function archiveHtml(reports) {
  const rowsHtml = reports.map((r) => `<tr><td><a href="reports/${r.id}/page-1.html">${r.id}</a></td><td><time datetime="${r.created}">${human(r.created)}</time></td><td class="num">${count(r.rows.length)}</td><td class="num">${r.sizeText}</td><td>${esc(r.changes)}</td></tr>\n`).join("");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="referrer" content="strict-origin-when-cross-origin">
<meta name="generator" content="report-pipeline">
<title>${esc(TITLE)} – archive</title>
<link rel="stylesheet" href="assets/site.css">
<link rel="icon" href="assets/favicon.svg" type="image/svg+xml">
<link rel="alternate" type="application/atom+xml" title="${esc(TITLE)}" href="feed.xml">
</head>
<body>
<header class="site"><a class="home" href="index.html">${esc(TITLE)}</a> <nav aria-label="Site"><a href="index.html">Latest</a> <a href="archive.html" aria-current="page">Archive</a></nav></header>
<main>
<h1>${esc(TITLE)}: every report</h1>
<section class="table-wrap" aria-labelledby="caption" tabindex="0">
<table>
<caption id="caption">Published reports, newest first</caption>
<thead><tr><th scope="col">Report</th><th scope="col">Created</th><th scope="col" data-type="integer">Rows</th><th scope="col" data-type="integer">Size</th><th scope="col">Changes since the one before</th></tr></thead>
<tbody>
${rowsHtml}</tbody>
</table>
</section>
</main>
<footer><a href="feed.xml">Atom feed</a></footer>
</body>
</html>`;
}

function feedXml(reports) {
  const entries = reports.map((r) => `<entry>
<title>${esc(TITLE)}: ${r.id}</title>
<id>urn:report-pipeline:fixture/${r.id}</id>
<updated>${r.created}</updated>
<link rel="alternate" href="reports/${r.id}/page-1.html"/>
<summary>${count(r.rows.length)} rows, ${r.sizeText}. ${esc(r.changes)}</summary>
</entry>
`).join("");
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>${esc(TITLE)}</title>
<id>urn:report-pipeline:fixture</id>
<updated>${reports[0].created}</updated>
<link rel="alternate" href="index.html"/>
${entries}</feed>`;
}

/** The reports of the fixture, newest first. */
export function fixtureReports() {
  return [
    { id: "r-2026-12-04", created: "2026-12-04T06:00:00Z", next: "2026-12-05T06:00:00Z", rows: reportRows(450, 4), complete: true, changes: "200 rows added, 0 removed, 17 changed" },
    { id: "r-2026-12-03", created: "2026-12-03T06:00:00Z", next: null, rows: reportRows(250, 3), complete: false, changes: "First report" },
  ];
}

/** Writes the fixture site into `out` (assets copied from site/assets). */
export function writeFixture(out, { assets = ASSETS_DIR } = {}) {
  const reports = fixtureReports();
  const put = (rel, body) => {
    const p = join(out, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, body);
  };
  for (const r of reports) {
    const dir = `reports/${r.id}/`;
    const text = csv(r.rows);
    r.sizeText = `${Math.max(1, Math.round(Buffer.byteLength(text) / 1024))} KB`;
    put(dir + "report.csv.gz", gzipSync(text));
    const pages = Math.ceil(r.rows.length / PAGE_SIZE);
    for (let p = 1; p <= pages; p++) put(`${dir}page-${p}.html`, pageHtml(r, p, "../../", ""));
    put(dir + "manifest.json", JSON.stringify({
      report_id: r.id, title: TITLE, created_at: r.created, generated_at: r.created,
      rows: r.rows.length, columns: COLUMNS, page_size: PAGE_SIZE, pages,
      bytes_csv: Buffer.byteLength(text), csv: "report.csv.gz",
      data: { complete: r.complete },
    }, null, 2));
  }
  put("index.html", pageHtml(reports[0], 1, "", `reports/${reports[0].id}/`));
  put("archive.html", archiveHtml(reports));
  put("feed.xml", feedXml(reports));
  mkdirSync(join(out, "assets"), { recursive: true });
  for (const f of readdirSync(assets)) copyFileSync(join(assets, f), join(out, "assets", f));
  return { reports, latest: reports[0] };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) { console.error("usage: node tests/browser/fixture.mjs OUT_DIR"); process.exit(2); }
  writeFixture(resolve(out));
  console.log(`fixture site written to ${resolve(out)}`);
}
