import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  RestartPolicy,
  RunPhase,
  type StreamTaskOutputResponse,
  SupervisorClient,
  subprocess,
  type Task,
  TaskPhase,
  TERMINAL_PHASES,
} from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { storeForTest } from "./helpers/backend.js";
import { startCli, stopChild } from "./helpers/cli.js";
import { freePort } from "./helpers/ports.js";
import { faultSeed, prng } from "./helpers/prng.js";
import { type RunnerProcess, startRunner } from "./helpers/runners.js";
import { tempDir } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

const TASKS = 200;
const KILLS = 10;
const TERMS = 5;
const TERMINAL = new Set<TaskPhase>(TERMINAL_PHASES);

/** What task i does: how long it runs, how many lines it prints, how it exits. Deterministic per seed. */
interface Plan {
  seconds: string;
  lines: number;
  exitCode: number;
}

const expectedOutput = (plan: Plan) => {
  const lines: string[] = [];
  for (let i = 1; i <= plan.lines; i++) lines.push(String(i));
  return Buffer.from(`${lines.join("\n")}\nend\n`);
};

async function allTasks(client: SupervisorClient): Promise<Task[]> {
  const tasks: Task[] = [];
  for await (const task of client.list({ pageSize: 1000 })) tasks.push(task);
  return tasks;
}

/**
 * The reliability acceptance run: 200 NEVER tasks on 2 runners, and the
 * supervisor killed 10 times with SIGKILL and stopped 5 times with SIGTERM
 * at random moments (seeded; replay with FUZZ_SEED). Every task must end with
 * the outcome its command really had, none may run twice, and every byte of
 * output up to the cap must be kept or marked as dropped.
 */
describe("chaos: the supervisor killed and stopped while runs end", () => {
  it(`${TASKS} tasks, ${KILLS} SIGKILLs and ${TERMS} SIGTERMs: true outcomes, no task run twice, output accounted for`, {
    timeout: 300_000,
  }, async () => {
    const random = prng(faultSeed("chaos"));
    const dir = tempDir("supervisor-chaos-");
    const db = await storeForTest(dir, "chaos.db");
    const log = join(dir, "executions.log");
    const listen = `127.0.0.1:${await freePort()}`;
    const serve = () => startCli(["serve", "--listen", listen, "--db", db], /serving on/).then((s) => s.child);
    let server = await serve();
    const runners: RunnerProcess[] = [];
    const client = new SupervisorClient({
      address: listen,
      retry: { maxAttempts: 1000, initialDelayMs: 20, maxDelayMs: 300, multiplier: 2 },
    });
    try {
      for (const name of ["chaos-a", "chaos-b"]) runners.push(await startRunner(listen, name, { capacity: 4 }));
      const plans: Plan[] = Array.from({ length: TASKS }, (_, i) => ({
        seconds: (0.05 + random() * 0.6).toFixed(2),
        // Most print a little; every tenth floods past the 1 MiB cap.
        lines: i % 10 === 0 ? 250_000 + Math.floor(random() * 100_000) : 1 + Math.floor(random() * 2000),
        exitCode: random() < 0.3 ? 1 + Math.floor(random() * 5) : 0,
      }));
      const specs = plans.map((plan) =>
        subprocess(
          "sh",
          [
            "-c",
            `echo "$SUPERVISOR_TASK_ID" >> ${log}; seq 1 ${plan.lines}; sleep ${plan.seconds}; echo end; exit ${plan.exitCode}`,
          ],
          { restart: RestartPolicy.RESTART_POLICY_NEVER },
        ),
      );
      const tasks = [
        ...(await client.submitBatch(specs.slice(0, 100))),
        ...(await client.submitBatch(specs.slice(100))),
      ];
      const planOf = new Map(tasks.map((task, i) => [task.id, plans[i]!]));

      const signals = [...Array(KILLS).fill("SIGKILL"), ...Array(TERMS).fill("SIGTERM")] as NodeJS.Signals[];
      for (let i = signals.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [signals[i], signals[j]] = [signals[j]!, signals[i]!];
      }
      for (const signal of signals) {
        await new Promise((resolve) => setTimeout(resolve, 200 + random() * 600)); // scenario pause: a random moment
        await stopChild(server, signal);
        server = await serve();
      }

      // Wait for the end (a patient client: the server has only just come back). Given up, one last look:
      // the checks below name the tasks still open.
      let byId = new Map<string, Task>();
      const allEnded = async () => {
        byId = new Map((await allTasks(client)).map((t) => [t.id, t]));
        return tasks.every((t) => TERMINAL.has(byId.get(t.id)?.status?.phase as TaskPhase));
      };
      await waitUntil(allEnded, "every task to end", 180_000, 200).catch(allEnded);

      const wrong: string[] = [];
      let lost = 0;
      let droppedTotal = 0;
      for (const task of tasks) {
        const plan = planOf.get(task.id)!;
        const stored = byId.get(task.id)!;
        const phase = plan.exitCode === 0 ? TaskPhase.TASK_PHASE_SUCCEEDED : TaskPhase.TASK_PHASE_FAILED;
        if (
          stored.status!.phase !== phase ||
          stored.status!.exitCode !== plan.exitCode ||
          stored.status!.attempt !== 1
        ) {
          wrong.push(`${task.id}: expected phase ${phase} exit ${plan.exitCode}, got ${JSON.stringify(stored.status)}`);
          continue;
        }
        const runs = await client.listRuns(task.id);
        lost += runs.filter((r) => r.phase === RunPhase.RUN_PHASE_LOST).length;
        // Output: each kept byte where it belongs, every gap announced with its exact size.
        const expected = expectedOutput(plan);
        const events: StreamTaskOutputResponse[] = [];
        for await (const event of client.output(task.id)) events.push(event);
        let end = 0;
        let kept = 0;
        let marked = 0;
        for (const event of events) {
          if (event.event?.$case === "truncated") marked += event.event.value.droppedBytes;
          if (event.event?.$case !== "chunk") continue;
          const { offset, data } = event.event.value;
          if (marked !== offset - end) wrong.push(`${task.id}: a gap of ${offset - end} bytes marked as ${marked}`);
          if (!data.equals(expected.subarray(offset, offset + data.length)))
            wrong.push(`${task.id}: bytes at ${offset}`);
          droppedTotal += marked;
          marked = 0;
          end = offset + data.length;
          kept += data.length;
        }
        droppedTotal += marked;
        if (marked !== expected.length - end) {
          wrong.push(
            `${task.id}: kept ${kept} of ${expected.length}; trailing gap ${expected.length - end} marked ${marked}`,
          );
        }
        if (runs[0]!.outputBytes !== expected.length) {
          wrong.push(`${task.id}: output_bytes ${runs[0]!.outputBytes}, the command printed ${expected.length}`);
        }
      }
      expect(wrong, "tasks whose record differs from what their command did").toEqual([]);
      const executions = readFileSync(log, "utf8").split("\n").filter(Boolean);
      const twice = executions.filter((id, i) => executions.indexOf(id) !== i);
      expect(twice, "NEVER tasks executed more than once").toEqual([]);
      expect(executions).toHaveLength(TASKS);
      expect(lost).toBe(0);
      console.log(
        `chaos: ${TASKS} tasks, ${KILLS} SIGKILLs + ${TERMS} SIGTERMs, 0 wrong outcomes, 0 run twice, ` +
          `0 lost runs, ${droppedTotal} output bytes dropped by the cap (all marked)`,
      );
    } finally {
      client.close();
      for (const runner of runners) await runner.stop("SIGKILL");
      await stopChild(server, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
