import type { TaskSpec } from "@supervisor/sdk";
import type { z } from "zod";

/**
 * Fields the contract has and this server does not serve yet (issue 19, built next): a spec that sets
 * one is refused, naming the field, rather than stored and run as if it were not there. Each line goes
 * when its feature lands.
 */
type NotYetFields = Partial<Pick<TaskSpec, "init">> & {
  exec?: { $case: string };
};

export function refuseNotYetServed(spec: NotYetFields, ctx: z.RefinementCtx): void {
  const refuse = (path: string[], what: string) =>
    ctx.addIssue({ code: "custom", path, message: `${what} is not served by this server yet` });
  if (spec.init?.length) refuse(["init"], "init steps");
  if (spec.exec?.$case === "container") refuse(["exec", "value"], "the container kind");
}
