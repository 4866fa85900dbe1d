// The run viewer (`asl view`, written by `make run` and served by
// `pipeline --serve` under /_run/) in a real browser: Debian's Chromium,
// driven by puppeteer-core.
//
// GIVEN the offline pipeline's published run
// THEN the view loads under the strict CSP with no violation, console error
// or failed request; every state of the definition is in the graph, the run's
// states green and the others grey; selecting a state in the graph shows its
// details with its input; the event filter keeps the matching events and says
// how many; axe-core finds no violation (light and dark); html-validate finds
// no error. Screenshots go to SCREENSHOT_DIR (run-view.png, run-view-dark.png).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";
import { HtmlValidate } from "html-validate";
import { openSite, ROOT } from "./site-source.mjs";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOT_DIR || mkdtempSync(join(tmpdir(), "view-screenshots-"));
const DEFINITION = JSON.parse(readFileSync(join(ROOT, "statemachine/report-pipeline.asl.json"), "utf8"));

let site, browser, profile, viewUrl;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  site = await openSite();
  if (site.kind !== "pipeline") return;
  viewUrl = new URL("_run/", site.base).href;
  profile = mkdtempSync(join(tmpdir(), "view-chromium-"));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
    userDataDir: profile,
  });
});

after(async () => {
  if (browser) await browser.close();
  if (site) await site.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const skip = (t) => {
  if (site.kind === "pipeline") return false;
  t.skip("the run view comes from the offline pipeline (PIPELINE_BIN; make test-browser)");
  return true;
};

async function open(url, { dark = false } = {}) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: dark ? "dark" : "light" }]);
  const problems = [];
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`CSP ${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on("console", (m) => { if (m.type() === "error") problems.push("console " + m.text()); });
  page.on("requestfailed", (r) => problems.push("failed " + r.url()));
  page.on("response", (r) => { if (r.status() >= 400) problems.push(r.status() + " " + r.url()); });
  page.on("pageerror", (e) => problems.push("script error " + e.message));
  await page.goto(url, { waitUntil: "networkidle0" });
  page.problems = async () => problems.concat(await page.evaluate(() => window.__csp));
  return page;
}

test("the run view loads under the strict CSP, every state drawn, the published run green", async (t) => {
  if (skip(t)) return;
  const page = await open(viewUrl);
  assert.deepEqual(await page.problems(), []);
  assert.equal(await page.$eval("header .status", (e) => e.textContent), "SUCCEEDED");
  const nodes = await page.$$eval("svg.graph a.state", (as) => as.map((a) => [a.getAttribute("aria-label"), a.getAttribute("class")]));
  const states = Object.keys(DEFINITION.States);
  assert.equal(nodes.length, states.length);
  for (const s of states) assert.ok(nodes.some(([label]) => label.startsWith(s + ": ")), `${s} in the graph`);
  const classOf = (s) => nodes.find(([label]) => label.startsWith(s + ": "))[1];
  for (const s of ["CreateReport", "WaitForReport", "PollReport", "IsReportReady", "DownloadReport", "UpdateSite", "Published"]) {
    assert.equal(classOf(s), "state succeeded", s);
  }
  for (const s of ["ReportFailed", "ReportTimedOut", "HasCause", "PipelineFailed", "PipelineFailedWithoutCause"]) {
    assert.equal(classOf(s), "state not-entered", s);
  }
  // The polling loop: Wait and Poll entered once per poll (the pipeline polls 4 times by default).
  const poll = nodes.find(([label]) => label.startsWith("PollReport: "))[0];
  assert.match(poll, /entered 4 times$/);
  await page.close();
});

test("selecting a state in the graph shows its details and its input", async (t) => {
  if (skip(t)) return;
  const page = await open(viewUrl);
  await page.click('svg.graph a.state[aria-label^="CreateReport: "]');
  await page.waitForFunction(() => location.hash === "#s-CreateReport");
  const shown = await page.$eval("#s-CreateReport", (s) => {
    const r = s.getBoundingClientRect();
    return { onScreen: r.top < innerHeight && r.bottom > 0, text: s.textContent, target: s.matches(":target") };
  });
  assert.ok(shown.onScreen && shown.target, "the details are on screen");
  assert.match(shown.text, /Input/);
  assert.match(shown.text, /status_url/, "CreateReport's output names the status URL");
  assert.deepEqual(await page.problems(), []);
  await page.close();
});

test("the event filter keeps the matching events and says how many", async (t) => {
  if (skip(t)) return;
  const page = await open(viewUrl + "#events");
  const rows = await page.$$eval("#events tbody tr", (trs) => trs.map((tr) => tr.textContent.toLowerCase()));
  const want = rows.filter((r) => r.includes("pollreport")).length;
  assert.ok(want > 0 && want < rows.length);
  await page.type("#filter-events", "PollReport");
  await page.waitForFunction((n) => document.querySelectorAll("#events tbody tr:not([hidden])").length === n, {}, want);
  assert.equal(await page.$eval("#events [role=status]", (s) => s.textContent), `${want} of ${rows.length} rows match`);
  assert.match(page.url(), /filter-events=PollReport/);
  await page.close();
});

test("axe-core finds no accessibility violation in the run view, light and dark", async (t) => {
  if (skip(t)) return;
  for (const [dark, shot] of [[false, "run-view.png"], [true, "run-view-dark.png"]]) {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    await page.setBypassCSP(true); // injecting axe: this pass only
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: dark ? "dark" : "light" }]);
    await page.goto(viewUrl + "#graph", { waitUntil: "networkidle0" });
    await page.screenshot({ path: join(SHOTS, shot) });
    await page.addScriptTag({ content: AXE });
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    assert.deepEqual(result.violations.map((v) => `${v.id}: ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`), [],
      dark ? "dark" : "light");
    await page.close();
  }
});

test("html-validate finds no error in the run view", async (t) => {
  if (skip(t)) return;
  const config = JSON.parse(readFileSync(join(ROOT, ".htmlvalidate.json"), "utf8"));
  const html = await (await fetch(viewUrl)).text();
  const report = await new HtmlValidate(config).validateString(html, "run view");
  const errors = report.results.flatMap((r) => r.messages.map((m) => `${m.line}:${m.column} ${m.ruleId} ${m.message}`));
  assert.deepEqual(errors, []);
});
