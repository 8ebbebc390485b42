import type { ExecutionContext, ExecutionResult } from "../executors/types.js";
import type { SubprocessExec } from "../gen/supervisor/v1/task.js";

/*
 * Init steps (TaskSpec.init): programs run one after another before the main exec, whatever its kind.
 * Each is framed on stdout by two marker lines, so that their output reads apart from the main's:
 *
 *   --- init 1/2: mkdir -p /tmp/work ---
 *   …the step's stdout and stderr…
 *   --- init 1/2 exited with code 0 ---
 *
 * The closing line says how the step ended: "exited with code N", "timed out", "was canceled" or
 * "failed: <why>" (it could not start). The first step that does not succeed ends the run: FAILED
 * (or TIMEOUT, CANCELED) with failed_init_step set, except for a cancel, which is no failure of the step.
 */

/** Runs one step: the runner's subprocess executor, with the run's environment added. */
export type StepRunner = (step: SubprocessExec, ctx: ExecutionContext) => Promise<ExecutionResult>;

// Characters that need no quoting for a reader to see where an argument ends.
const PLAIN = /^[\w@%+=:,./-]+$/;
const shown = (word: string) => (PLAIN.test(word) ? word : JSON.stringify(word));

/** The step as one line: the command and its arguments, quoted (as JSON strings) where they hold spaces and such. */
export function stepLine(step: SubprocessExec): string {
  return [step.command, ...step.args].map(shown).join(" ");
}

function ending(result: ExecutionResult): string {
  if (result.outcome === "timeout") return "timed out";
  if (result.outcome === "canceled") return "was canceled";
  if (result.exitCode !== undefined) return `exited with code ${result.exitCode}`;
  return `failed: ${result.error ?? "no exit code"}`;
}

/**
 * Runs `steps` in order with `runStep`, then `main`. The steps share the run's context: its deadline
 * (their time counts against the attempt's timeout), its cancel and its output. A step that does not
 * succeed ends the run with its result (its exit code, its outcome), and `main` does not run.
 */
export async function withInitSteps(
  steps: readonly SubprocessExec[],
  runStep: StepRunner,
  ctx: ExecutionContext,
  main: () => Promise<ExecutionResult>,
): Promise<ExecutionResult> {
  for (const [index, step] of steps.entries()) {
    const name = `init ${index + 1}/${steps.length}`;
    ctx.onOutput("stdout", Buffer.from(`--- ${name}: ${stepLine(step)} ---\n`));
    const result = await runStep(step, ctx);
    ctx.onOutput("stdout", Buffer.from(`--- ${name} ${ending(result)} ---\n`));
    if (result.outcome === "succeeded") continue;
    const told = ending(result);
    const detail = result.error && !told.includes(result.error) ? `: ${result.error}` : "";
    return {
      outcome: result.outcome,
      exitCode: result.exitCode,
      error: `init step ${index + 1} (${stepLine(step)}) ${told}${detail}`,
      failedInitStep: result.outcome === "canceled" ? undefined : index + 1,
    };
  }
  return main();
}
