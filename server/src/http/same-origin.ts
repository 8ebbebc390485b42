import type { IncomingMessage } from "node:http";
import { originForbidden } from "../errors.js";

const hostnameOf = (host: string) =>
  host
    .replace(/:\d+$/, "")
    .replace(/^\[|\]$/g, "")
    .toLowerCase();
const isLoopback = (hostname: string) =>
  hostname === "localhost" ||
  hostname.endsWith(".localhost") ||
  hostname === "::1" ||
  /^127\.\d+\.\d+\.\d+$/.test(hostname);

/**
 * Refuses what a web page elsewhere could make a browser send. Browsers name the page's origin in
 * Origin on every cross-origin fetch and form POST: one that is not this host is refused, so a page
 * cannot submit or cancel tasks through a user's browser (the API answers no CORS: the dashboard is
 * served from this origin). With authentication off (loopback only) the Host must be loopback too,
 * or a page on a name rebound to 127.0.0.1 would be same-origin (DNS rebinding).
 */
export function refuseForeignPages(request: IncomingMessage, authEnabled: boolean): void {
  const host = (request.headers.host ?? "").toLowerCase();
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let originHost: string;
    try {
      originHost = new URL(origin).host.toLowerCase();
    } catch {
      throw originForbidden("origin", origin); // "null" (a sandboxed page, a file) and anything unparsable
    }
    if (originHost !== host) throw originForbidden("origin", origin);
  }
  if (!authEnabled && !isLoopback(hostnameOf(host))) throw originForbidden("host", host || "(none)");
}
