// How busy the machine was during a scenario, and how much of that was not us:
// machine-wide busy CPU (/proc/stat) minus this process and its reaped children
// (/proc/self/stat utime, stime, cutime, cstime). Other work on a 2-core machine skews every figure.
import { readFileSync } from "node:fs";

const HZ = 100;

function machineTicks() {
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number);
  return {
    busy: user + nice + system + irq + softirq + steal,
    iowait,
    total: user + nice + system + idle + iowait + irq + softirq + steal,
  };
}

function ownTicks() {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime stime cutime cstime
}

/**
 * Call at the start; the returned function, called once every child has exited, gives average cores used.
 * `extraTicks()` counts the bench's processes that are not its children (a server started as a daemon).
 */
export function loadMeter({ extraTicks = () => 0 } = {}) {
  const m0 = machineTicks();
  const o0 = ownTicks() + extraTicks();
  const t0 = Date.now();
  return () => {
    const m1 = machineTicks();
    const seconds = (Date.now() - t0) / 1000;
    const busyCores = (m1.busy - m0.busy) / HZ / seconds;
    const oursCores = (ownTicks() + extraTicks() - o0) / HZ / seconds;
    return {
      seconds: Math.round(seconds * 10) / 10,
      machineBusyCores: Math.round(busyCores * 100) / 100,
      benchCores: Math.round(oursCores * 100) / 100,
      otherProcessesCores: Math.round(Math.max(0, busyCores - oursCores) * 100) / 100,
      iowaitCores: Math.round(((m1.iowait - m0.iowait) / HZ / seconds) * 100) / 100,
    };
  };
}
