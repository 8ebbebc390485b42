// On a shared machine: wait (bounded) until other processes are idle before a system's round.
import { loadMeter } from "../../lib/load.mjs";
import { sleep } from "../../lib/stats.mjs";

/** Waits until processes other than the bench use under 0.2 core over 3 s, for at most `maxSeconds`. */
export async function waitQuiet(maxSeconds, extraTicks) {
  const deadline = Date.now() + maxSeconds * 1000;
  while (Date.now() < deadline) {
    const meter = loadMeter({ extraTicks });
    await sleep(3_000);
    const { otherProcessesCores } = meter();
    if (otherProcessesCores < 0.2) return { waitedForQuiet: true };
    console.log(`  waiting for a quiet machine: other processes use ${otherProcessesCores} cores`);
  }
  console.log(`  the machine did not get quiet within ${maxSeconds} s; running anyway`);
  return { waitedForQuiet: false };
}
