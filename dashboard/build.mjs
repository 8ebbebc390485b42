#!/usr/bin/env node
// Bundles the dashboard with esbuild into server/dist/dashboard, where the server serves it from
// (server/src/http/dashboard/dashboard-files.ts): hashed asset names (cached for a year) and an
// index.html naming them (never cached). Runs from the root `npm run build`, so `npm ci` builds it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "server", "dist", "dashboard");
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });

const result = await build({
  entryPoints: [join(here, "src", "main.tsx")],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  jsx: "automatic",
  jsxImportSource: "preact",
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
const script = outputs.find((f) => /^main-.*\.js$/.test(f));
const style = outputs.find((f) => /^main-.*\.css$/.test(f));
if (!script || !style) throw new Error(`esbuild wrote no main script or style: ${outputs.join(", ")}`);
const html = readFileSync(join(here, "src", "index.html"), "utf8")
  .replace("%SCRIPT%", `/assets/${script}`)
  .replace("%STYLE%", `/assets/${style}`);
writeFileSync(join(out, "index.html"), html);
writeFileSync(join(out, "favicon.svg"), readFileSync(join(here, "src", "favicon.svg")));
console.log(`dashboard: ${join("server", "dist", "dashboard")} (${script}, ${style})`);
