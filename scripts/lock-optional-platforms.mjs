#!/usr/bin/env node
// The npm registry reachable from our build machines serves only the linux
// builds of @bufbuild/buf's platform packages, so `npm install` leaves the
// other platforms out of package-lock.json, and `npm ci` then refuses the lock
// as out of sync. This adds the missing entries (optional, with os/cpu, so npm
// skips them on other platforms) modelled on the linux-x64 one.
// Run after any `npm install` that rewrites the lock.
import { readFileSync, writeFileSync } from "node:fs";

const LOCK = new URL("../package-lock.json", import.meta.url);
const PLATFORMS = {
  "darwin-arm64": ["darwin", "arm64"],
  "darwin-x64": ["darwin", "x64"],
  "linux-aarch64": ["linux", "arm64"],
  "linux-armv7": ["linux", "arm"],
  "win32-arm64": ["win32", "arm64"],
  "win32-x64": ["win32", "x64"],
};

const lock = JSON.parse(readFileSync(LOCK, "utf8"));
const model = lock.packages["node_modules/@bufbuild/buf-linux-x64"];
if (!model) throw new Error("no @bufbuild/buf-linux-x64 entry in package-lock.json to model on");
let added = 0;
for (const [platform, [os, cpu]] of Object.entries(PLATFORMS)) {
  const key = `node_modules/@bufbuild/buf-${platform}`;
  if (lock.packages[key]) continue;
  const { integrity: _integrity, resolved: _resolved, ...rest } = model;
  lock.packages[key] = { ...rest, os: [os], cpu: [cpu] };
  added++;
}
const order = (a, b) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0);
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => order(a, b)));
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: added ${added} platform entr${added === 1 ? "y" : "ies"} for @bufbuild/buf`);
