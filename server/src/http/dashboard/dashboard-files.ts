import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Where `npm run build` puts the bundled dashboard (dashboard/build.mjs): server/dist/dashboard, from src or dist. */
export const DASHBOARD_DIR = fileURLToPath(new URL("../../../dist/dashboard/", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

export interface DashboardFile {
  body: Buffer;
  contentType: string;
}

/** The built dashboard, read once: URL path (`/index.html`, `/assets/main-3F2A.js`) → file. */
export interface DashboardFiles {
  index: DashboardFile;
  byPath: ReadonlyMap<string, DashboardFile>;
}

function* walk(dir: string, prefix: string): Generator<[string, string]> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path, `${prefix}${entry.name}/`);
    else yield [`${prefix}${entry.name}`, path];
  }
}

/**
 * Reads the built dashboard into memory (a few hundred KiB), so a request never touches the disk and
 * a path can only name a file that was there at start-up. Undefined when it was not built.
 */
export function loadDashboardFiles(dir = DASHBOARD_DIR): DashboardFiles | undefined {
  if (!existsSync(join(dir, "index.html"))) return undefined;
  const byPath = new Map<string, DashboardFile>();
  for (const [urlPath, file] of walk(dir, "/")) {
    byPath.set(urlPath, {
      body: readFileSync(file),
      contentType: CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
    });
  }
  return { index: byPath.get("/index.html")!, byPath };
}
