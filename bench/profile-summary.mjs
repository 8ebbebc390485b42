// node bench/profile-summary.mjs <file.cpuprofile> [top]: self time per function and per area.

import { summarizeProfile } from "./lib/profile.mjs";
import { printTable } from "./lib/stats.mjs";

const [path, top = "15"] = process.argv.slice(2);
if (!path) {
  console.error("usage: node bench/profile-summary.mjs <file.cpuprofile> [top]");
  process.exit(2);
}
const summary = summarizeProfile(path, Number(top));
console.log(`${summary.file}: ${summary.totalMs} ms sampled, ${summary.busyMs} ms not idle`);
printTable("top self time", summary.topSelf);
printTable("by area", summary.areas);
