// The published site in a real browser: Debian's Chromium, driven by
// puppeteer-core, against the offline run's site as `pipeline --serve`
// serves it (with the headers CloudFront sends). `make test-browser`.
//
// GIVEN a report of 1,200 generated rows (two pages) published offline
// THEN the pages load with no CSP violation and no failed request; a numeric
// column sorts numerically across the whole report; the filter keeps only
// matching rows; paging links lead where they say; a permalink reloads the
// same view; axe-core finds no violation (light and dark); html-validate
// finds no error. Screenshots go to SCREENSHOT_DIR (docs/screenshots).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";
import { HtmlValidate } from "html-validate";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOT_DIR || join(root, "docs", "screenshots");
const ROWS = 1200;

let server, base, browser, work;

function waitForUrl(child) {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error("pipeline --serve did not start:\n" + seen)), 120_000);
    const look = (chunk) => {
      seen += chunk.toString();
      const m = /serving the site at (http:\/\/[^\s/]+\/)/.exec(seen);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on("data", look);
    child.stderr.on("data", look);
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`pipeline exited ${code}:\n${seen}`)); });
  });
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), "site-browser-"));
  mkdirSync(SHOTS, { recursive: true });
  const bin = process.env.PIPELINE_BIN || join(root, "target", "debug", "pipeline");
  server = spawn(bin, ["--rows", String(ROWS), "--work-dir", work, "--serve", "0", "--quiet"], {
    cwd: root, stdio: ["ignore", "pipe", "pipe"],
  });
  base = await waitForUrl(server);
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    userDataDir: join(work, "chromium"),
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill("SIGINT");
  if (work) rmSync(work, { recursive: true, force: true });
});

// A page that records CSP violations and failed requests.
async function open(path, { dark = false } = {}) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: dark ? "dark" : "light" }]);
  const problems = [];
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
  });
  page.on("requestfailed", (r) => problems.push("failed " + r.url()));
  page.on("response", (r) => { if (r.status() >= 400) problems.push(r.status() + " " + r.url()); });
  page.on("pageerror", (e) => problems.push("script error " + e.message));
  await page.goto(base + path, { waitUntil: "networkidle0" });
  page.problems = async () => problems.concat(await page.evaluate(() => window.__csp));
  return page;
}

const column = (page, i) => page.$$eval("#report tbody tr", (rows, i) => rows.map((r) => {
  const td = r.cells[i];
  return td.hasAttribute("data-v") ? td.getAttribute("data-v") : td.textContent;
}), i);

test("the latest report loads under the strict CSP with no violation and no failed request", async () => {
  const page = await open("index.html");
  assert.deepEqual(await page.problems(), []);
  const headers = await page.$$eval("#report thead th", (ths) => ths.map((th) => th.getAttribute("data-type")));
  assert.equal(headers[0], "integer");
  assert.equal(headers[3], "decimal");
  assert.ok((await column(page, 0)).length > 0);
  await page.screenshot({ path: join(SHOTS, "report-light.png") });
  await page.close();
});

test("sorting a numeric column orders the whole report by value, and a permalink keeps the view", async () => {
  const page = await open("index.html");
  const amount = await page.$$("#report thead th button");
  await amount[3].click();
  await page.waitForFunction(() => document.querySelector("#report thead th:nth-child(4)").getAttribute("aria-sort") === "ascending");
  let values = (await column(page, 3)).map(Number);
  const sorted = [...values].sort((a, b) => a - b);
  assert.deepEqual(values, sorted, "ascending by value");
  // The first rows are the smallest of the whole report, not of page 1 only.
  const manifest = await (await fetch(base + (await page.$eval("#report", (t) => t.dataset.manifest)))).json();
  assert.equal(manifest.rows, ROWS);
  assert.equal(manifest.data.complete, true);
  let all = [];
  for (const c of manifest.data.chunks) {
    const chunk = await (await fetch(base + "reports/" + manifest.report_id + "/" + c)).json();
    all = all.concat(chunk.rows.map((r) => Number(r[3])));
  }
  assert.equal(values[0], Math.min(...all));
  // Keyboard: Enter on the focused button sorts descending.
  await amount[3].focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector("#report thead th:nth-child(4)").getAttribute("aria-sort") === "descending");
  values = (await column(page, 3)).map(Number);
  assert.equal(values[0], Math.max(...all));
  const url = page.url();
  assert.match(url, /sort=3&dir=desc/);
  // A reload of the permalink finds the same view.
  const again = await open(url.slice(base.length));
  await again.waitForFunction(() => document.querySelector("#report thead th:nth-child(4)").getAttribute("aria-sort") === "descending");
  assert.deepEqual((await column(again, 3)).slice(0, 20), (await column(page, 3)).slice(0, 20));
  assert.deepEqual(await again.problems(), []);
  await again.close();
  await page.close();
});

test("the filter keeps exactly the matching rows of the whole report", async () => {
  const page = await open("index.html");
  const city = (await column(page, 2))[0];
  await page.type("#filter", city);
  await page.waitForFunction((c) => [...document.querySelectorAll("#report tbody tr")].every((r) => r.textContent.includes(c)), {}, city);
  const status = await page.$eval("[role=status]", (s) => s.textContent);
  const shown = Number(status.replace(/[^0-9].*$/, "").replace(/,/g, "") || status.split(" ")[0].replace(/,/g, ""));
  assert.ok(shown > 0, status);
  assert.match(page.url(), new RegExp("q=" + encodeURIComponent(city).replace(/%20/g, "(%20|\\+)")));
  await page.close();
});

test("paging links lead to the rows they name", async () => {
  const page = await open("index.html");
  const first = await page.$eval("nav.pager .range", (r) => r.textContent);
  assert.match(first, /^Rows 1–/);
  await Promise.all([page.waitForNavigation(), page.click("nav.pager a[rel=next]")]);
  const second = await page.$eval("nav.pager .range", (r) => r.textContent);
  assert.match(second, /\(page 2 of 2\)$/);
  assert.ok((await column(page, 0)).every((id) => Number(id) > 1));
  await Promise.all([page.waitForNavigation(), page.click("nav.pager a[rel=first]")]);
  assert.match(await page.$eval("nav.pager .range", (r) => r.textContent), /\(page 1 of 2\)$/);
  assert.deepEqual(await page.problems(), []);
  await page.close();
});

test("axe-core finds no accessibility violation, light and dark, on a report page and the archive", async () => {
  for (const [path, dark] of [["index.html", false], ["index.html", true], ["archive.html", false]]) {
    const page = await browser.newPage();
    // Injecting axe is the one thing the CSP must allow: this pass only.
    await page.setBypassCSP(true);
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: dark ? "dark" : "light" }]);
    await page.goto(base + path, { waitUntil: "networkidle0" });
    await page.addScriptTag({ content: AXE });
    const result = await page.evaluate(() => window.axe.run(document));
    assert.deepEqual(result.violations.map((v) => `${v.id}: ${v.nodes.length} node(s) ${v.help}`), [], `${path}${dark ? " (dark)" : ""}`);
    if (dark && path === "index.html") await page.screenshot({ path: join(SHOTS, "report-dark.png") });
    if (path === "archive.html") await page.screenshot({ path: join(SHOTS, "archive.png") });
    await page.close();
  }
});

test("html-validate finds no error in the pages", async () => {
  const validator = new HtmlValidate({ extends: ["html-validate:recommended"], rules: {
    // The pages' only inline formatting: numbers keep their raw value in data-v.
    "no-inline-style": "error",
  } });
  for (const path of ["index.html", "archive.html"]) {
    const html = await (await fetch(base + path)).text();
    const report = await validator.validateString(html);
    const errors = report.results.flatMap((r) => r.messages.filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message} (line ${m.line})`));
    assert.deepEqual(errors, [], path);
  }
});
