import { describe, expect, it } from "vitest";
import { routingKind, supportsKind, taskKind } from "../../../sdk/src/executors/index.js";
import { TaskSpec } from "../../../sdk/src/gen/supervisor/v1/task.js";

const withExec = (exec: TaskSpec["exec"]) => ({ exec }) as TaskSpec;

describe("taskKind", () => {
  it("names the executor a spec needs", () => {
    expect(
      taskKind(withExec({ $case: "subprocess", value: { command: "true", args: [], env: {}, workingDir: "" } })),
    ).toBe("subprocess");
    expect(taskKind(withExec({ $case: "wasm", value: { modulePath: "/m.wasm", args: [], env: {} } }))).toBe("wasm");
    expect(taskKind(withExec({ $case: "embedded", value: { handler: "resize", payload: {} } }))).toBe(
      "embedded:resize",
    );
    const container = {
      image: "/srv/rootfs",
      command: "sh",
      args: [],
      env: {},
      workingDir: "",
      mounts: [],
      network: false,
    };
    expect(taskKind(withExec({ $case: "container", value: container }))).toBe("container");
    expect(taskKind(withExec(undefined))).toBeUndefined();
  });
});

describe("supportsKind", () => {
  it("matches kinds exactly", () => {
    expect(supportsKind(["subprocess"], "subprocess")).toBe(true);
    expect(supportsKind(["subprocess"], "wasm")).toBe(false);
    expect(supportsKind(["embedded:resize"], "embedded:resize")).toBe(true);
    expect(supportsKind(["embedded:resize"], "embedded:other")).toBe(false);
  });

  it("lets embedded:* cover every handler, and nothing else", () => {
    expect(supportsKind(["embedded:*"], "embedded:anything")).toBe(true);
    expect(supportsKind(["embedded:*"], "subprocess")).toBe(false);
  });
});

describe("routingKind", () => {
  const step = { command: "true", args: [], env: {}, workingDir: "" };
  const embedded = (init: (typeof step)[]) =>
    TaskSpec.fromPartial({ exec: { $case: "embedded", value: { handler: "resize", payload: {} } }, init });

  it("adds subprocess to the kind of a task with init steps (a runner runs them as subprocesses)", () => {
    expect(routingKind(embedded([]))).toBe("embedded:resize");
    expect(routingKind(embedded([step]))).toBe("embedded:resize+subprocess");
    expect(routingKind(TaskSpec.fromPartial({ exec: { $case: "subprocess", value: step }, init: [step] }))).toBe(
      "subprocess",
    );
  });

  it("is supported only by a runner that runs every part", () => {
    expect(supportsKind(["embedded:*", "subprocess"], "embedded:resize+subprocess")).toBe(true);
    expect(supportsKind(["embedded:*"], "embedded:resize+subprocess")).toBe(false);
    expect(supportsKind(["subprocess"], "embedded:resize+subprocess")).toBe(false);
  });
});
