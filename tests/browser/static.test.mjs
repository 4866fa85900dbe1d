// Fast checks on a site's files, without a browser (the same site the
// browser tests use: site-source.mjs; skipped when only a URL is known).
//
// GIVEN every file of the published site
// THEN no HTML has inline script or style, a style attribute or an event
// handler attribute; every table has a caption and scoped headers; a page
// holds at most 5,000 cells; every relative link and source (pages, archive,
// feed) resolves to a file; the manifest agrees with the pages; the
// download is a gzip of the CSV with the manifest's header and rows;
// the assets make no third-party request and never set inline style.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { gunzipSync } from "node:zlib";
import { parseCsv } from "./csv.mjs";
import { openSite, ROOT } from "./site-source.mjs";

const MAX_CELLS = 5000;
let site, files;

before(async () => {
  site = await openSite();
  files = [];
  if (!site.dir) return;
  const walk = (d) => readdirSync(d).forEach((n) => {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else files.push(relative(site.dir, p).split(sep).join("/"));
  });
  walk(site.dir);
  files.sort();
});
after(async () => { if (site) await site.close(); });

const read = (rel) => readFileSync(join(site.dir, rel), "utf8");
const htmlFiles = () => files.filter((f) => f.endsWith(".html"));
// The start tags of a page (attributes inside them), comments dropped.
const tags = (html) => html.replace(/<!--[\s\S]*?-->/g, "").match(/<[a-zA-Z][^>]*>/g) || [];

test("no inline script or style, no style attribute, no event handler attribute", (t) => {
  if (!site.dir) return t.skip("no site folder (SITE_URL only)");
  assert.ok(htmlFiles().length >= 3, "pages, index and archive");
  for (const f of htmlFiles()) {
    const html = read(f);
    for (const tag of tags(html)) {
      assert.ok(!/^<script\b/i.test(tag) || /\ssrc="[^"]+"/.test(tag), `${f}: inline script ${tag}`);
      assert.ok(!/^<style\b/i.test(tag), `${f}: <style>`);
      assert.ok(!/\sstyle\s*=/i.test(tag), `${f}: style attribute in ${tag}`);
      assert.ok(!/\son[a-z]+\s*=/i.test(tag), `${f}: event handler attribute in ${tag}`);
      assert.ok(!/\s(href|src)\s*=\s*"\s*javascript:/i.test(tag), `${f}: javascript: URL in ${tag}`);
    }
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'; style-src 'self'/, `${f}: CSP meta`);
  }
});

test("every table has a caption and scoped headers; a page holds at most 5,000 cells", (t) => {
  if (!site.dir) return t.skip("no site folder (SITE_URL only)");
  for (const f of htmlFiles()) {
    const html = read(f);
    const tables = html.split(/<table\b/).slice(1);
    assert.ok(tables.length >= 1, `${f}: a table`);
    for (const tbl of tables) {
      const body = tbl.slice(0, tbl.indexOf("</table>"));
      assert.match(body, /^[^>]*>\s*<caption\b[^>]*>[^<]+/, `${f}: a table's first child is a non-empty caption`);
      for (const th of body.match(/<th\b[^>]*>/g) || []) assert.match(th, /\sscope="(col|row)"/, `${f}: ${th}`);
    }
    const cells = (html.match(/<td\b/g) || []).length;
    assert.ok(cells <= MAX_CELLS, `${f}: ${cells} cells`);
  }
});

test("every relative link and source resolves to a file of the site", (t) => {
  if (!site.dir) return t.skip("no site folder (SITE_URL only)");
  const broken = [];
  const check = (f, url) => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith("#") || url.startsWith("//")) return;
    const path = url.replace(/[?#].*$/, "");
    if (path === "") return;
    const target = resolve(join(site.dir, dirname(f)), decodeURIComponent(path));
    if (!target.startsWith(resolve(site.dir) + sep) || !existsSync(target) || statSync(target).isDirectory()) broken.push(`${f} → ${url}`);
  };
  for (const f of htmlFiles()) {
    for (const tag of tags(read(f))) {
      for (const [, , url] of tag.matchAll(/\s(href|src|data-manifest)="([^"]*)"/g)) check(f, url.replace(/&amp;|&#38;/g, "&"));
    }
  }
  // The feed's links are relative to the site's root (where feed.xml is).
  if (files.includes("feed.xml")) {
    for (const [, url] of read("feed.xml").matchAll(/<link\b[^>]*\shref="([^"]*)"/g)) check("feed.xml", url);
  }
  assert.deepEqual(broken, []);
  // The archive reaches every report, and every report's pages are linked.
  assert.ok(files.includes("archive.html") && files.includes("index.html") && files.includes("feed.xml"));
  const archive = read("archive.html");
  for (const m of files.filter((f) => /^reports\/[^/]+\/manifest\.json$/.test(f))) {
    assert.ok(archive.includes(`href="${m.replace("manifest.json", "page-1.html")}"`), `archive links ${m}`);
  }
});

test("each manifest agrees with its pages and its download", (t) => {
  if (!site.dir) return t.skip("no site folder (SITE_URL only)");
  const manifests = files.filter((f) => /^reports\/[^/]+\/manifest\.json$/.test(f));
  assert.ok(manifests.length >= 1);
  for (const mf of manifests) {
    const dir = mf.replace("manifest.json", "");
    const m = JSON.parse(read(mf));
    for (const k of ["report_id", "title", "created_at", "rows", "columns", "page_size", "pages", "bytes_csv", "csv", "data"]) assert.ok(k in m, `${mf}: ${k}`);
    assert.equal(dir, `reports/${m.report_id}/`);
    assert.ok(!Number.isNaN(Date.parse(m.created_at)), `${mf}: created_at is a date`);
    assert.equal(m.pages, Math.max(1, Math.ceil(m.rows / m.page_size)), `${mf}: pages`);
    for (const c of m.columns) assert.ok(["integer", "decimal", "date", "datetime", "boolean", "text"].includes(c.type), `${mf}: ${c.type}`);
    for (let p = 1; p <= m.pages; p++) {
      const html = read(`${dir}page-${p}.html`);
      const first = (p - 1) * m.page_size + 1, last = Math.min(m.rows, p * m.page_size);
      assert.match(html, new RegExp(`data-page="${p}" data-page-size="${m.page_size}" data-rows="${m.rows}" data-complete="${m.data.complete}"`));
      assert.ok(html.includes(`Rows ${first.toLocaleString("en")}–${last.toLocaleString("en")} of ${m.rows.toLocaleString("en")} (page ${p} of ${m.pages})`), `${dir}page-${p}.html: range`);
      const types = [...html.matchAll(/<th scope="col" data-type="([a-z]+)">/g)].map((x) => x[1]);
      assert.deepEqual(types, m.columns.map((c) => c.type), `${dir}page-${p}.html: column types`);
      assert.equal((html.match(/<tr>/g) || []).length - 1, last - first + 1, `${dir}page-${p}.html: rows`);
      assert.equal(/<p class="scope-note" hidden>/.test(html), m.data.complete, `${dir}page-${p}.html: the scope note shows when the data is not whole`);
    }
    assert.ok(!files.includes(`${dir}page-${m.pages + 1}.html`), "no page past the last");
    // The rows are published once: as pages, and as the download the page
    // script reads to sort and filter a whole report.
    assert.deepEqual(Object.keys(m.data), ["complete"], `${mf}: data`);
    assert.ok(!files.some((f) => f.startsWith(`${dir}data/`)), `${mf}: no data chunks`);
    const raw = gunzipSync(readFileSync(join(site.dir, dir, m.csv)));
    assert.equal(raw.length, m.bytes_csv, `${mf}: bytes_csv`);
    const rows = parseCsv(raw);
    assert.deepEqual(rows[0], m.columns.map((c) => c.name), `${mf}: the CSV's header`);
    assert.equal(rows.length - 1, m.rows, `${mf}: the download holds every row`);
  }
  // index.html is the latest report's first page, seen from the root.
  const index = read("index.html");
  const id = /data-manifest="reports\/([^/]+)\/manifest\.json"/.exec(index)[1];
  const page1 = read(`reports/${id}/page-1.html`);
  const body = (h) => /<tbody>([\s\S]*)<\/tbody>/.exec(h)[1];
  assert.equal(body(index), body(page1));
});

test("the assets: a few KB, no third-party request, no inline style, no eval, no HTML from data", () => {
  const js = readFileSync(join(ROOT, "site", "assets", "site.js"), "utf8");
  const css = readFileSync(join(ROOT, "site", "assets", "site.css"), "utf8");
  assert.ok(js.length < 16_000, `site.js is ${js.length} bytes`);
  assert.ok(css.length < 8_000, `site.css is ${css.length} bytes`);
  assert.doesNotMatch(js, /\.style\b|\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\("style"/);
  assert.doesNotMatch(js + css, /https?:\/\//, "no absolute URL (no third-party request)");
  assert.doesNotMatch(css, /@import|@font-face|url\(/, "no web fonts or other requests from the stylesheet");
  assert.match(css, /thead th\{[^}]*position:sticky/);
  assert.match(css, /@media \(prefers-color-scheme:dark\)/);
  assert.match(css, /@media print/);
});
