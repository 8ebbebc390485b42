import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { groupLiveness, signalGroup } from "../../../sdk/src/executors/process-group.js";
import { waitUntil } from "../../helpers/wait.js";

const stateOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
  } catch {
    return undefined; // gone
  }
};

const eventually = (check: () => boolean, what: string) => waitUntil(check, what, 5_000);

/** Spawns `sh -c script` and resolves with the first line it prints. */
function firstLine(script: string): { child: ChildProcess; line: Promise<string> } {
  const child = spawn("sh", ["-c", script], { stdio: ["ignore", "pipe", "ignore"] });
  const line = new Promise<string>((resolve) => {
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("\n")) resolve(text.slice(0, text.indexOf("\n")));
    });
  });
  return { child, line };
}

describe.skipIf(process.platform !== "linux")("groupLiveness", () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill("SIGKILL");
    child = undefined;
  });

  it("says a group of zombies is gone, although kill(-group, 0) still finds them", async () => {
    // The member leads a session of its own and exits; its parent is outside the group and never
    // reaps it (sleep does not wait): the group is left holding one zombie.
    const started = firstLine(`setsid sh -c 'echo $$' & exec sleep 300`);
    child = started.child;
    const member = Number(await started.line);
    await eventually(() => stateOf(member) === "Z", `member ${member} a zombie`);
    expect(signalGroup(member, 0)).toBe(true);
    expect(groupLiveness(member)()).toBe(false);
  });

  it("says a group with a running member is there, until that member is gone", async () => {
    child = spawn("sleep", ["300"], { detached: true, stdio: "ignore" });
    const hasRunningMember = groupLiveness(child.pid!);
    expect(hasRunningMember()).toBe(true);
    expect(hasRunningMember()).toBe(true); // the second look goes to the member found the first time
    child.kill("SIGKILL");
    await eventually(() => !hasRunningMember(), "the group gone");
  });

  it("says an empty group is gone", async () => {
    child = spawn("true", [], { detached: true, stdio: "ignore" });
    const { pid } = child;
    expect(pid).toBeDefined();
    // Not yet reaped or already gone: either way nothing in the group runs once `true` has exited.
    await eventually(() => !groupLiveness(pid!)(), "the group gone");
  });
});
