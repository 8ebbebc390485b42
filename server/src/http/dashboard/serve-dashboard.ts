import type { IncomingMessage, ServerResponse } from "node:http";
import type { DashboardFiles } from "./dashboard-files.js";

/**
 * What the page may load and call: only this origin's own scripts, styles and API (the bundle has no
 * inline script or style, output colours are classes), and no framing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const COMMON_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** Assets are named by their content hash: they never change under a name, so browsers keep them a year. */
const ASSET_CACHE = "public, max-age=31536000, immutable";

const NOT_BUILT = [
  "The dashboard is not built in this installation.",
  "Run `npm run build` (npm ci runs it) to bundle it into server/dist/dashboard.",
  "The HTTP/JSON API is served under /v1/ (docs/http-api.md).",
  "",
].join("\n");

/**
 * Serves the dashboard's GET/HEAD requests: a hashed asset with a long cache, any other path
 * (/tasks, /tasks/<id>, /runners…) the single page index.html, never cached, so a new build is seen at
 * once; the page's own router reads the path.
 */
export function serveDashboard(files: DashboardFiles | undefined, request: IncomingMessage, response: ServerResponse) {
  const head = request.method === "HEAD";
  if (!files) {
    response.writeHead(503, {
      ...COMMON_HEADERS,
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
    });
    response.end(head ? undefined : NOT_BUILT);
    return;
  }
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  const asset = path.startsWith("/assets/") ? files.byPath.get(path) : undefined;
  if (path.startsWith("/assets/") && !asset) {
    response.writeHead(404, { ...COMMON_HEADERS, "content-type": "text/plain; charset=utf-8" });
    response.end(head ? undefined : "no such asset\n");
    return;
  }
  const file = asset ?? files.byPath.get(path === "/" ? "/index.html" : path) ?? files.index;
  const cache = asset ? ASSET_CACHE : "no-cache";
  response.writeHead(200, {
    ...COMMON_HEADERS,
    "content-type": file.contentType,
    "content-length": String(file.body.length),
    "cache-control": cache,
  });
  response.end(head ? undefined : file.body);
}
