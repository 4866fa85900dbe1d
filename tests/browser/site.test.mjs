// The published site in a real browser: Debian's Chromium, driven by
// puppeteer-core, against the site as CloudFront serves it (the same
// headers). `npm run test:browser` tests the fixture site (fixture.mjs, no
// Rust build); `make test-browser` the offline pipeline's (PIPELINE_BIN);
// SITE_DIR / SITE_URL any other (site-source.mjs).
//
// GIVEN the latest report of a site, paged, loadable whole from its download
// THEN pages load with no CSP violation, no console error and no failed
// request (and read whole without JavaScript); a numeric column sorts by
// value across the whole report, ascending and descending, by click and by
// keyboard, with aria-sort on that header only; the filter keeps exactly the
// matching rows of the whole report and says how many; static and script
// pager links lead to the rows they name; a permalink reloads the same view;
// clearing returns the page as served; a report too large to load whole
// sorts its page only and says so; the whole report read from the download
// is every row, cell for cell, however the server sends the gzip; axe-core finds no violation (light, dark,
// archive); html-validate finds no error in any page. Screenshots go to
// SCREENSHOT_DIR (default: a temporary folder, printed).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";
import { HtmlValidate } from "html-validate";
import { gunzipSync, gzipSync } from "node:zlib";
import { parseCsv } from "./csv.mjs";
import { openSite, ROOT } from "./site-source.mjs";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOT_DIR || mkdtempSync(join(tmpdir(), "site-screenshots-"));

let site, browser, profile, manifest, reportBase, all, csvText, numCol, textCol;

const getJson = async (url) => {
  const r = await fetch(url);
  assert.equal(r.status, 200, url);
  return r.json();
};

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  site = await openSite();
  profile = mkdtempSync(join(tmpdir(), "site-chromium-"));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    userDataDir: profile,
  });
  // The latest report, whole, as the test's reference.
  const html = await (await fetch(site.base + "index.html")).text();
  const href = /data-manifest="([^"]+)"/.exec(html)[1];
  reportBase = new URL(href, site.base);
  manifest = await getJson(reportBase);
  assert.equal(manifest.data.complete, true, "the latest report must be loadable whole for these tests");
  // Node's fetch inflates what is sent with Content-Encoding: gzip; the
  // bytes as stored are gzip either way.
  const got = Buffer.from(await (await fetch(new URL(manifest.csv, reportBase))).arrayBuffer());
  csvText = got[0] === 0x1f && got[1] === 0x8b ? gunzipSync(got).toString("utf8") : got.toString("utf8");
  all = parseCsv(csvText).slice(1);
  assert.equal(all.length, manifest.rows);
  const types = manifest.columns.map((c) => c.type);
  numCol = types.indexOf("decimal") >= 0 ? types.indexOf("decimal") : types.indexOf("integer");
  textCol = types.indexOf("text");
  assert.ok(numCol >= 0 && textCol >= 0, "a numeric and a text column");
  console.log(`# site: ${site.kind} at ${site.base}; ${manifest.rows} rows, ${manifest.pages} pages; screenshots in ${SHOTS}`);
});

after(async () => {
  if (browser) await browser.close();
  if (site) await site.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

// A page that records CSP violations, console errors, script errors and
// failed or refused requests.
async function open(path, { dark = false, js = true } = {}) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  await page.setJavaScriptEnabled(js);
  await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: dark ? "dark" : "light" }]);
  const problems = [];
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`CSP ${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on("console", (m) => { if (m.type() === "error") problems.push("console " + m.text()); });
  page.on("requestfailed", (r) => problems.push("failed " + r.url() + " " + (r.failure() || {}).errorText));
  page.on("response", (r) => { if (r.status() >= 400) problems.push(r.status() + " " + r.url()); });
  page.on("pageerror", (e) => problems.push("script error " + e.message));
  await page.goto(new URL(path, site.base).href, { waitUntil: "networkidle0" });
  page.problems = async () => problems.concat(js ? await page.evaluate(() => window.__csp) : []);
  return page;
}

// Sort and filter done, the whole report loaded when asked for.
const settled = (page) => page.waitForFunction(() => {
  const s = document.querySelector("[role=status]");
  return s && !s.textContent.startsWith("Loading");
});
const column = (page, i) => page.$$eval("#report tbody tr", (rows, i) => rows.map((r) => {
  const td = r.cells[i];
  if (td.hasAttribute("data-v")) return td.getAttribute("data-v");
  return td.classList.contains("num") ? td.textContent.replace(/,/g, "") : td.textContent;
}), i);
const range = (page) => page.$eval("nav.pager .range", (r) => r.textContent);
const ariaSorts = (page) => page.$$eval("#report thead th", (ths) => ths.map((th) => th.getAttribute("aria-sort")));
const en = (n) => n.toLocaleString("en");

// The reference: the whole report sorted by value, empty cells last.
function sortedValues(col, dir) {
  const vals = all.map((r) => r[col]);
  const full = vals.filter((v) => v !== "").sort((a, b) => (dir === "asc" ? 1 : -1) * (parseFloat(a) - parseFloat(b)));
  return full.concat(vals.filter((v) => v === ""));
}
const pageRange = (p, count, size = manifest.page_size) => {
  const pages = Math.max(1, Math.ceil(count / size));
  return `Rows ${en(count ? (p - 1) * size + 1 : 0)}–${en(Math.min(count, p * size))} of ${en(count)} (page ${p} of ${pages})`;
};

test("every page loads under the strict CSP: no violation, console error or failed request; readable without JavaScript", async () => {
  const paths = ["index.html", "archive.html"];
  for (let p = 1; p <= manifest.pages; p++) paths.push(`reports/${manifest.report_id}/page-${p}.html`);
  for (const path of paths) {
    const page = await open(path);
    assert.deepEqual(await page.problems(), [], path);
    await page.close();
  }
  // Without JavaScript the page is complete: the rows, the pager, no filter.
  const page = await open("index.html", { js: false });
  assert.equal((await column(page, 0)).length, Math.min(manifest.page_size, manifest.rows));
  assert.equal(await range(page), pageRange(1, manifest.rows));
  assert.equal(await page.$("#filter"), null);
  assert.deepEqual(await page.problems(), []);
  await page.close();
  // The download is the gzip the headers say it is.
  const csv = await fetch(new URL(manifest.csv, reportBase));
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get("content-type"), /^text\/csv/);
  assert.match(await csv.text(), new RegExp("^" + manifest.columns[0].name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
});

test("a numeric column sorts by value across the whole report, by click and by keyboard, with aria-sort", async () => {
  const page = await open("index.html");
  const buttons = await page.$$("#report thead th button");
  assert.equal(buttons.length, manifest.columns.length);
  await buttons[numCol].click();
  await settled(page);
  await page.waitForFunction((c) => document.querySelectorAll("#report thead th")[c].getAttribute("aria-sort") === "ascending", {}, numCol);
  const expected = sortedValues(numCol, "asc").slice(0, manifest.page_size);
  const values = await column(page, numCol);
  assert.deepEqual(values, expected, "the first page is the smallest values of the whole report, by value");
  if (site.kind === "fixture") {
    // Meaningful: string order differs, and page 1 as served did not hold these rows.
    const strings = [...all.map((r) => r[numCol])].sort().slice(0, manifest.page_size);
    assert.notDeepEqual(values, strings);
    const page1 = new Set(all.slice(0, manifest.page_size).map((r) => r[numCol]));
    assert.ok(values.some((v) => !page1.has(v)), "rows from later pages");
  }
  // Only the sorted header carries aria-sort.
  const sorts = await ariaSorts(page);
  assert.deepEqual(sorts.filter((s) => s !== null), ["ascending"]);
  assert.equal(await page.$eval(`#report thead th:nth-child(${numCol + 1}) button .sort`, (s) => s.getAttribute("aria-hidden")), "true");
  assert.equal(await range(page), pageRange(1, manifest.rows));
  assert.match(await page.$eval("#report caption", (c) => c.textContent), /sorted by .* \(ascending\)$/);
  assert.match(page.url(), new RegExp(`[?&]sort=${numCol}&dir=asc(&|$)`));

  // Keyboard: Enter on the focused button sorts descending.
  await page.focus(`#report thead th:nth-child(${numCol + 1}) button`);
  await page.keyboard.press("Enter");
  await page.waitForFunction((c) => document.querySelectorAll("#report thead th")[c].getAttribute("aria-sort") === "descending", {}, numCol);
  assert.deepEqual(await column(page, numCol), sortedValues(numCol, "desc").slice(0, manifest.page_size));
  assert.match(page.url(), new RegExp(`[?&]sort=${numCol}&dir=desc(&|$)`));
  // Space too (it is a button): back to ascending.
  await page.keyboard.press("Space");
  await page.waitForFunction((c) => document.querySelectorAll("#report thead th")[c].getAttribute("aria-sort") === "ascending", {}, numCol);
  assert.deepEqual(await page.problems(), []);
  await page.close();
});

test("the script's pager pages through the sorted whole report (next, last, first)", async () => {
  const page = await open(`index.html?sort=${numCol}&dir=asc`);
  await settled(page);
  const expected = sortedValues(numCol, "asc");
  const size = manifest.page_size, pages = Math.ceil(manifest.rows / size);
  assert.ok(pages >= 2, "a report of at least two pages");
  await page.click("nav.pager a[rel=next]");
  await page.waitForFunction(() => /[?&]p=2(&|$)/.test(location.search));
  assert.equal(await range(page), pageRange(2, manifest.rows));
  assert.deepEqual(await column(page, numCol), expected.slice(size, 2 * size));
  // (On a report of two pages, Next has led to the last.)
  if (pages > 2) await page.click("nav.pager a[rel=last]");
  await page.waitForFunction((n) => new RegExp(`[?&]p=${n}(&|$)`).test(location.search), {}, pages);
  assert.equal(await range(page), pageRange(pages, manifest.rows));
  assert.deepEqual(await column(page, numCol), expected.slice((pages - 1) * size));
  assert.equal(await page.$("nav.pager a[rel=next]"), null, "no Next link on the last page");
  await page.click("nav.pager a[rel=first]");
  await page.waitForFunction(() => !/[?&]p=/.test(location.search));
  assert.equal(await range(page), pageRange(1, manifest.rows));
  assert.deepEqual(await page.problems(), []);
  await page.close();
});

test("the filter keeps exactly the matching rows of the whole report, and the status counts them", async () => {
  const page = await open("index.html");
  // A term from a text column, in other case: matching ignores case.
  const term = all.map((r) => r[textCol]).find((v) => v.length >= 4).slice(0, 4).toUpperCase();
  const needle = term.toLowerCase();
  const want = all.filter((r) => r.some((c) => c.toLowerCase().includes(needle)));
  assert.ok(want.length > 0 && want.length < all.length);
  await page.type("#filter", term);
  await page.waitForFunction(() => /[?&]q=/.test(location.search));
  await settled(page);
  const status = await page.$eval("[role=status]", (s) => s.textContent);
  assert.equal(status, `${en(want.length)} matching ${want.length === 1 ? "row" : "rows"} in the whole report`);
  const texts = await page.$$eval("#report tbody tr", (rows) => rows.map((r) => r.textContent.toLowerCase()));
  assert.equal(texts.length, Math.min(want.length, manifest.page_size));
  assert.ok(texts.every((t) => t.includes(needle)), "every row shown matches");
  assert.deepEqual(await column(page, 0), want.slice(0, manifest.page_size).map((r) => r[0]), "in report order");
  assert.equal(await range(page), pageRange(1, want.length));
  assert.ok(new URL(page.url()).searchParams.get("q") === term);
  assert.deepEqual(await page.problems(), []);
  await page.close();
});

test("cells are text: markup in the data is shown, never run", async () => {
  const hostile = all.find((r) => r.some((c) => c.includes("<script")));
  if (!hostile) return;
  const page = await open("index.html?q=" + encodeURIComponent("<script"));
  await settled(page);
  assert.equal(await page.$$eval("#report tbody script", (s) => s.length), 0);
  const texts = await page.$$eval("#report tbody tr", (rows) => rows.map((r) => r.textContent));
  assert.ok(texts.length > 0 && texts.every((t) => t.includes("<script")));
  assert.deepEqual(await page.problems(), []);
  await page.close();
});

test("a permalink reloads the same view, and clearing returns the page as served", async () => {
  const first = await open("index.html");
  const served = await column(first, 0);
  const term = all[0][textCol].slice(0, 3);
  await first.type("#filter", term);
  await first.waitForFunction(() => /[?&]q=/.test(location.search));
  await first.click(`#report thead th:nth-child(${numCol + 1}) button`);
  await first.click(`#report thead th:nth-child(${numCol + 1}) button`);
  await first.waitForFunction((c) => document.querySelectorAll("#report thead th")[c].getAttribute("aria-sort") === "descending", {}, numCol);
  await settled(first);
  const url = first.url();
  assert.match(url, new RegExp(`sort=${numCol}&dir=desc&q=`));
  const view = await column(first, numCol);
  const status = await first.$eval("[role=status]", (s) => s.textContent);

  const again = await open(url);
  await again.waitForFunction((c) => document.querySelectorAll("#report thead th")[c].getAttribute("aria-sort") === "descending", {}, numCol);
  await settled(again);
  assert.deepEqual(await column(again, numCol), view);
  assert.equal(await again.$eval("#filter", (i) => i.value), term);
  assert.equal(await again.$eval("[role=status]", (s) => s.textContent), status);
  assert.deepEqual(await again.problems(), []);
  await again.close();

  // Clearing: the rows, pager, caption and address as served.
  await first.click(".filter .reset");
  await first.waitForFunction(() => location.search === "");
  assert.deepEqual(await column(first, 0), served);
  assert.deepEqual((await ariaSorts(first)).filter((s) => s !== null), []);
  assert.equal(await range(first), pageRange(1, manifest.rows));
  assert.equal(await first.$eval(".filter .reset", (b) => b.hidden), true);
  assert.deepEqual(await first.problems(), []);
  await first.close();
});

test("the static pager links lead to the pages they name (next, last, first)", async () => {
  const page = await open("index.html");
  assert.ok(manifest.pages >= 2, "a report of at least two pages");
  assert.equal(await range(page), pageRange(1, manifest.rows));
  await Promise.all([page.waitForNavigation({ waitUntil: "networkidle0" }), page.click("nav.pager a[rel=next]")]);
  assert.match(page.url(), /page-2\.html$/);
  assert.equal(await range(page), pageRange(2, manifest.rows));
  assert.deepEqual(await column(page, 0), all.slice(manifest.page_size, 2 * manifest.page_size).map((r) => r[0]));
  if (manifest.pages > 2) await Promise.all([page.waitForNavigation({ waitUntil: "networkidle0" }), page.click("nav.pager a[rel=last]")]);
  assert.equal(await range(page), pageRange(manifest.pages, manifest.rows));
  assert.equal(await page.$("nav.pager a[rel=next]"), null);
  assert.deepEqual(await page.$$eval("nav.pager:first-of-type [aria-disabled=true]", (d) => d.map((x) => x.textContent)), ["Next", "Last"]);
  await Promise.all([page.waitForNavigation({ waitUntil: "networkidle0" }), page.click("nav.pager a[rel=first]")]);
  assert.match(page.url(), /page-1\.html$/);
  assert.equal(await range(page), pageRange(1, manifest.rows));
  assert.deepEqual(await page.problems(), []);
  await page.close();
});

test("a report too large to load whole sorts and filters its page only, and says so", async (t) => {
  // Any report of the archive whose data is not complete.
  const archive = await (await fetch(site.base + "archive.html")).text();
  let partial = null;
  for (const [, href] of archive.matchAll(/<a href="(reports\/[^"]+\/)page-1\.html"/g)) {
    const m = await getJson(new URL(href + "manifest.json", site.base));
    if (!m.data.complete) { partial = { href, m }; break; }
  }
  if (!partial) { t.skip("no report in this site is too large to load whole"); return; }
  const page = await open(partial.href + "page-1.html");
  assert.equal(await page.$eval(".scope-note", (n) => n.hidden), false);
  const served = await column(page, numCol);
  await page.click(`#report thead th:nth-child(${numCol + 1}) button`);
  await settled(page);
  const values = await column(page, numCol);
  const nonEmpty = served.filter((v) => v !== "").sort((a, b) => parseFloat(a) - parseFloat(b));
  assert.deepEqual(values, nonEmpty.concat(served.filter((v) => v === "")), "this page's rows, by value");
  assert.match(await page.$eval("[role=status]", (s) => s.textContent), /on this page$/);
  assert.equal(await range(page), pageRange(1, partial.m.rows, partial.m.page_size), "the pager stays as served");
  assert.deepEqual(await page.problems(), []);
  await page.close();
});

test("when the whole report cannot be fetched, the page alone is sorted and the page says so", async () => {
  const page = await browser.newPage();
  await page.setRequestInterception(true);
  page.on("request", (r) => (/\/report\.csv\.gz$/.test(r.url()) ? r.respond({ status: 404, contentType: "text/plain", body: "gone" }) : r.continue()));
  await page.goto(new URL("index.html", site.base).href, { waitUntil: "networkidle0" });
  assert.equal(await page.$eval(".scope-note", (n) => n.hidden), true);
  const served = await column(page, numCol);
  await page.click(`#report thead th:nth-child(${numCol + 1}) button`);
  await settled(page);
  const nonEmpty = served.filter((v) => v !== "").sort((a, b) => parseFloat(a) - parseFloat(b));
  assert.deepEqual(await column(page, numCol), nonEmpty.concat(served.filter((v) => v === "")));
  assert.equal(await page.$eval(".scope-note", (n) => n.hidden), false);
  assert.match(await page.$eval("[role=status]", (s) => s.textContent), /on this page$/);
  await page.close();
});

test("the whole report is read from the download, every row cell for cell, however the gzip is sent", async () => {
  // The reference: the whole report sorted by value (stable), empty last.
  const num = (r) => r[numCol];
  const order = all.map((r, i) => [r, i]).sort(([a, i], [b, j]) => {
    const x = num(a), y = num(b);
    if (x === "" || y === "") return x === y ? i - j : x === "" ? 1 : -1;
    return parseFloat(x) - parseFloat(y) || i - j;
  }).map(([r]) => r);
  const rows = (page) => page.$$eval("#report tbody tr", (trs) => trs.map((tr) => Array.from(tr.cells, (td) => (
    td.hasAttribute("data-v") ? td.getAttribute("data-v") : td.classList.contains("num") ? td.textContent.replace(/,/g, "") : td.textContent))));
  // AS SERVED (Content-Encoding: gzip, the browser inflates it), and as a
  // server that sends the stored bytes without that header does
  for (const stored of [false, true]) {
    const page = await browser.newPage();
    await page.setRequestInterception(true);
    page.on("request", (r) => (stored && /\/report\.csv\.gz$/.test(r.url())
      ? r.respond({ status: 200, contentType: "application/gzip", body: gzipSync(csvText) })
      : r.continue()));
    await page.goto(new URL(`index.html?sort=${numCol}&dir=asc`, site.base).href, { waitUntil: "networkidle0" });
    await settled(page);
    // THEN the first page is the whole report's first rows by value, each
    // cell as the CSV holds it (quotes, commas, line breaks and all)
    assert.equal(await page.$eval(".scope-note", (n) => n.hidden), true, `stored=${stored}: the whole report`);
    assert.deepEqual(await rows(page), order.slice(0, manifest.page_size), `stored=${stored}`);
    assert.equal(await range(page), pageRange(1, manifest.rows));
    await page.close();
  }
});

test("axe-core finds no accessibility violation: report page light and dark, sorted view, archive", async () => {
  const cases = [
    ["index.html", false, "report-light.png"],
    ["index.html", true, "report-dark.png"],
    [`index.html?sort=${numCol}&dir=desc&q=a`, true, "report-sorted-dark.png"],
    ["archive.html", false, "archive.png"],
    ["archive.html", true, "archive-dark.png"],
  ];
  for (const [path, dark, shot] of cases) {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    // Injecting axe is the one thing the CSP must allow: this pass only.
    await page.setBypassCSP(true);
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: dark ? "dark" : "light" }]);
    await page.goto(new URL(path, site.base).href, { waitUntil: "networkidle0" });
    if (path.includes("?")) await settled(page);
    await page.screenshot({ path: join(SHOTS, shot) });
    await page.addScriptTag({ content: AXE });
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    assert.deepEqual(result.violations.map((v) => `${v.id}: ${v.nodes.length} node(s) ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`), [],
      `${path}${dark ? " (dark)" : ""}`);
    await page.close();
  }
});

test("printed, the page is the whole table: no navigation, filter or sort marks, nothing sticky or clipped", async () => {
  const page = await open(`index.html?sort=${numCol}&dir=asc`);
  await settled(page);
  await page.emulateMediaType("print");
  const shown = await page.evaluate(() => {
    const display = (sel) => [...document.querySelectorAll(sel)].map((e) => getComputedStyle(e).display);
    const wrap = getComputedStyle(document.querySelector(".table-wrap"));
    return {
      hidden: [...display("nav.pager"), ...display(".filter"), ...display("header.site nav"), ...display("[role=status]"), ...display("th button .sort")],
      th: getComputedStyle(document.querySelector("#report thead th")).position,
      overflow: wrap.overflowX + " " + wrap.overflowY + " " + wrap.maxHeight,
      rows: document.querySelectorAll("#report tbody tr").length,
    };
  });
  assert.ok(shown.hidden.length >= 4 && shown.hidden.every((d) => d === "none"), JSON.stringify(shown.hidden));
  assert.equal(shown.th, "static");
  assert.equal(shown.overflow, "visible visible none");
  assert.ok(shown.rows > 0);
  const pdf = await page.pdf({ format: "A4" });
  assert.ok(pdf.length > 1000);
  assert.deepEqual(await page.problems(), []);
  await page.close();
});

// Every HTML file of the site (from its folder when known, else the pages
// the links reach).
async function htmlFiles() {
  if (site.dir) {
    const out = [];
    const walk = (d) => readdirSync(d).forEach((n) => {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith(".html")) out.push(relative(site.dir, p).split("\\").join("/"));
    });
    walk(site.dir);
    return out.sort();
  }
  const out = ["index.html", "archive.html"];
  for (let p = 1; p <= manifest.pages; p++) out.push(`reports/${manifest.report_id}/page-${p}.html`);
  return out;
}

test("html-validate finds no error in any page", async () => {
  const config = JSON.parse(readFileSync(join(ROOT, ".htmlvalidate.json"), "utf8"));
  const validator = new HtmlValidate(config);
  const files = await htmlFiles();
  assert.ok(files.length >= 3);
  for (const path of files) {
    const html = site.dir ? readFileSync(join(site.dir, path), "utf8") : await (await fetch(site.base + path)).text();
    const report = await validator.validateString(html, path);
    const errors = report.results.flatMap((r) => r.messages.filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message} (line ${m.line})`));
    assert.deepEqual(errors, [], path);
  }
});
