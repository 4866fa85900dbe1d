// Where the browser tests find the site, from the environment:
//
//   SITE_URL=http://…/      a site already served (with the CloudFront headers);
//                           SITE_DIR may name its folder for the file checks
//   PIPELINE_BIN=path       run the offline pipeline twice (a report too large
//                           to load whole, then the latest with `--serve`) and
//                           test what it published (make test-browser)
//   SITE_DIR=dir            serve that folder with serve.mjs
//   (none)                  generate the fixture site (fixture.mjs) into a
//                           temporary folder, with site/assets copied in
//
// open() resolves to { kind, base, dir (or null), close }.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFixture } from "./fixture.mjs";
import { serve } from "./serve.mjs";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const PIPELINE_ROWS = 1200;

// A first run whose data limit is below its size publishes a report that is
// too large to load whole (sorted and filtered per page); the second, served,
// run is the latest report, loadable whole. Both share the embedded S3 data.
function earlierPartialReport(bin, work) {
  const child = spawn(bin, ["--rows", "900", "--work-dir", work, "--quiet"], {
    cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, SITE_DATA_MAX_BYTES: "1000" },
  });
  let err = "";
  child.stderr.on("data", (c) => { err += c; });
  return new Promise((ok, fail) => child.on("exit", (code) =>
    code === 0 ? ok() : fail(new Error(`pipeline (partial report) exited ${code}:\n${err}`))));
}

function pipeline(bin, work) {
  const child = spawn(bin, ["--rows", String(PIPELINE_ROWS), "--work-dir", work, "--serve", "0", "--quiet"], {
    cwd: ROOT, stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((ok, fail) => {
    let seen = "";
    const timer = setTimeout(() => fail(new Error("pipeline --serve did not start:\n" + seen)), 120_000);
    const look = (chunk) => {
      seen += chunk.toString();
      const url = /serving the site at (http:\/\/[^\s/]+\/)/.exec(seen);
      if (url) {
        clearTimeout(timer);
        const page = /published page: (.*index\.html)/.exec(seen);
        ok({ child, base: url[1], dir: page ? dirname(page[1].trim()) : null });
      }
    };
    child.stdout.on("data", look);
    child.stderr.on("data", look);
    child.on("exit", (code) => { clearTimeout(timer); fail(new Error(`pipeline exited ${code}:\n${seen}`)); });
  });
}

export async function openSite() {
  const env = process.env;
  if (env.SITE_URL) {
    const base = env.SITE_URL.endsWith("/") ? env.SITE_URL : env.SITE_URL + "/";
    return { kind: "url", base, dir: env.SITE_DIR ? resolve(env.SITE_DIR) : null, close: async () => {} };
  }
  if (env.PIPELINE_BIN) {
    const work = mkdtempSync(join(tmpdir(), "site-pipeline-"));
    await earlierPartialReport(resolve(ROOT, env.PIPELINE_BIN), work);
    const { child, base, dir } = await pipeline(resolve(ROOT, env.PIPELINE_BIN), work);
    return {
      kind: "pipeline", base, dir, work,
      close: async () => { child.kill("SIGINT"); rmSync(work, { recursive: true, force: true }); },
    };
  }
  let dir, made = null;
  if (env.SITE_DIR) {
    dir = resolve(env.SITE_DIR);
  } else {
    made = mkdtempSync(join(tmpdir(), "site-fixture-"));
    dir = join(made, "site");
    writeFixture(dir);
  }
  const server = await serve(dir);
  return {
    kind: made ? "fixture" : "dir", base: server.url, dir,
    close: async () => { await server.close(); if (made) rmSync(made, { recursive: true, force: true }); },
  };
}
