// A tiny static server for a site folder with the headers CloudFront sends
// (serverless.yml's response headers policy, as `pipeline --serve` sends
// them: tools/offline-runner/src/site.rs) and the type each object is stored
// with. Scaffolding for the browser tests when no Rust build is at hand.
//
//   node tests/browser/serve.mjs DIR [PORT]     (PORT 0 or absent: any free port)
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "strict-transport-security": "max-age=63072000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "strict-origin-when-cross-origin",
};

const TYPES = {
  html: ["text/html; charset=utf-8"],
  css: ["text/css; charset=utf-8"],
  js: ["text/javascript; charset=utf-8"],
  json: ["application/json"],
  svg: ["image/svg+xml"],
  xml: ["application/atom+xml; charset=utf-8"],
};

/** The stored type (and encoding) of an object, or null for what is not served. */
export function contentType(rel) {
  if (rel.endsWith(".csv.gz")) return ["text/csv; charset=utf-8", "gzip"];
  const ext = rel.slice(rel.lastIndexOf(".") + 1);
  return rel.includes(".") ? TYPES[ext] || null : null;
}

/** Serves `dir` on 127.0.0.1; resolves to { url, close }. */
export function serve(dir, port = 0) {
  const root = resolve(dir);
  const server = createServer(async (req, res) => {
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, "http://x").pathname).replace(/^\//, "");
    } catch {
      rel = "";
    }
    if (rel === "") rel = "index.html";
    const safe = rel.split("/").every((p) => p !== "" && p !== ".." && !p.startsWith("."));
    const type = safe && contentType(rel);
    if (!type || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS }).end("not found\n");
      return;
    }
    try {
      const body = await readFile(join(root, rel));
      const headers = { "content-type": type[0], "cache-control": "no-cache", "content-length": body.length, ...SECURITY_HEADERS };
      if (type[1]) headers["content-encoding"] = type[1];
      res.writeHead(200, headers).end(req.method === "HEAD" ? undefined : body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS }).end("not found\n");
    }
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => {
      const { port: p } = server.address();
      ok({ url: `http://127.0.0.1:${p}/`, close: () => new Promise((done) => server.close(done)), server });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dir, port] = process.argv.slice(2);
  if (!dir) { console.error("usage: node tests/browser/serve.mjs DIR [PORT]"); process.exit(2); }
  const { url } = await serve(dir, Number(port || 0));
  console.log(`serving ${resolve(dir)} at ${url}`);
}
