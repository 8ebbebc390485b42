import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bwrapArgs } from "../../../sdk/src/executors/container/bwrap.js";
import { engineRunArgs } from "../../../sdk/src/executors/container/engine-cli.js";
import { detectContainerRuntime } from "../../../sdk/src/executors/container/runtime.js";
import type { ContainerExec } from "../../../sdk/src/gen/supervisor/v1/task.js";

const root = mkdtempSync(join(tmpdir(), "container-args-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = (more: Partial<ContainerExec> = {}): ContainerExec => ({
  image: root,
  command: "sh",
  args: ["-c", "echo hi"],
  env: { A: "1" },
  workingDir: "",
  mounts: [],
  network: false,
  ...more,
});

describe("bwrapArgs", () => {
  mkdirSync(join(root, "bin"));
  mkdirSync(join(root, "proc"));
  writeFileSync(join(root, "file"), "");
  symlinkSync("usr/lib", join(root, "lib"));

  it("rebuilds the image's top level read-only, fresh /proc /dev /tmp, exactly the env, / by default", async () => {
    const args = await bwrapArgs(spec(), root);
    expect(args.slice(0, 4)).toEqual(["--unshare-all", "--die-with-parent", "--tmpfs", "/"]);
    expect(args).not.toContain("--share-net");
    expect(args.join(" ")).toContain(`--ro-bind ${join(root, "bin")} /bin`);
    expect(args.join(" ")).toContain(`--ro-bind ${join(root, "file")} /file`);
    expect(args.join(" ")).toContain("--symlink usr/lib /lib");
    expect(args.join(" ")).not.toContain(join(root, "proc")); // mounted fresh, never from the image
    expect(args.join(" ")).toContain("--proc /proc --dev /dev --tmpfs /tmp --remount-ro / --clearenv --setenv A 1");
    expect(args.slice(-6)).toEqual(["--chdir", "/", "--", "sh", "-c", "echo hi"]);
  });

  it("shares the network only when asked, binds mounts before the root goes read-only", async () => {
    const mounts = [
      { source: "/srv/in", target: "/in", readOnly: true },
      { source: "/srv/out", target: "/out", readOnly: false },
    ];
    const args = (await bwrapArgs(spec({ network: true, mounts, workingDir: "/out" }), root)).join(" ");
    expect(args).toMatch(/^--unshare-all --share-net /);
    expect(args).toContain("--ro-bind /srv/in /in --bind /srv/out /out --remount-ro /");
    expect(args).toContain("--chdir /out -- sh");
  });
});

describe("engineRunArgs", () => {
  it("never pulls, no network by default, the spec's env, workdir and mounts", () => {
    const mounts = [{ source: "/srv/in", target: "/in", readOnly: true }];
    expect(engineRunArgs("docker", spec({ image: "alpine:3", mounts, workingDir: "/in" }), "n1")).toEqual([
      "run",
      "--rm",
      "--name",
      "n1",
      "--pull",
      "never",
      "--network",
      "none",
      "--env",
      "A=1",
      "--workdir",
      "/in",
      "--volume",
      "/srv/in:/in:ro",
      "alpine:3",
      "sh",
      "-c",
      "echo hi",
    ]);
  });

  it("podman runs a root filesystem path with --rootfs; network: true is the host's", () => {
    const args = engineRunArgs("podman", spec({ image: "/srv/rootfs", network: true }), "n2");
    expect(args.join(" ")).toContain("--network host");
    expect(args.join(" ")).toContain("--rootfs /srv/rootfs sh -c echo hi");
  });
});

describe("detectContainerRuntime", () => {
  it('"none" turns the kind off without trying anything', async () => {
    expect(await detectContainerRuntime("none")).toEqual({
      runtime: undefined,
      reason: "disabled by configuration (runtime none)",
    });
  });
});
