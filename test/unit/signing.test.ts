import { generateKeyPairSync, sign } from "node:crypto";
import {
  AdmissionPolicy,
  Jitter,
  RestartPolicy,
  SIGNED_SPEC_TAG,
  SubprocessExec,
  signatureProblem,
  signedBytes,
  signSpec,
  subprocess,
  TaskSpec,
  Trigger,
  withSpecDefaults,
} from "@supervisor/sdk";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validSpec } from "../helpers/arbitraries.js";

const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const trusted = new Map([["release", publicKey]]);
const seconds = (s: number) => ({ seconds: s, nanos: 0 });

/** What the runner gets: the spec as the server stores it (defaults filled in), through the wire. */
const asStored = (spec: TaskSpec) => TaskSpec.decode(TaskSpec.encode(withSpecDefaults(spec)).finish());

describe("withSpecDefaults (the server's defaults, shared with the signer and the runner)", () => {
  const bare = subprocess("true");

  it("fills every default the proto documents", () => {
    expect(withSpecDefaults(bare)).toMatchObject({
      timeout: seconds(60),
      restart: RestartPolicy.RESTART_POLICY_NEVER,
      maxAttempts: 1,
      backoff: { initialDelay: seconds(1), maxDelay: seconds(30), multiplier: 2, jitter: Jitter.JITTER_FULL },
      admission: AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
      trigger: Trigger.TRIGGER_API,
      runnerSelector: { matchLabels: {}, matchExpressions: [] },
    });
  });

  it.each([
    ["NEVER, 0", RestartPolicy.RESTART_POLICY_NEVER, 0, 1],
    ["NEVER, 5 (one attempt whatever was asked)", RestartPolicy.RESTART_POLICY_NEVER, 5, 1],
    ["UNSPECIFIED, 5 (same as NEVER)", RestartPolicy.RESTART_POLICY_UNSPECIFIED, 5, 1],
    ["ON_FAILURE, 0", RestartPolicy.RESTART_POLICY_ON_FAILURE, 0, 3],
    ["ON_FAILURE, 7", RestartPolicy.RESTART_POLICY_ON_FAILURE, 7, 7],
    ["ALWAYS, 0 (unlimited)", RestartPolicy.RESTART_POLICY_ALWAYS, 0, 0],
    ["ALWAYS, 4", RestartPolicy.RESTART_POLICY_ALWAYS, 4, 4],
  ])("max_attempts for %s", (_, restart, maxAttempts, expected) => {
    expect(withSpecDefaults({ ...bare, restart, maxAttempts }).maxAttempts).toBe(expected);
  });

  it("keeps what the client set, and fills only the unset parts of a backoff", () => {
    const spec = withSpecDefaults({
      ...bare,
      timeout: seconds(5),
      admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE,
      backoff: { initialDelay: seconds(2), multiplier: 0, jitter: Jitter.JITTER_NONE },
    });
    expect(spec.timeout).toEqual(seconds(5));
    expect(spec.admission).toBe(AdmissionPolicy.ADMISSION_POLICY_QUEUE);
    expect(spec.backoff).toEqual({
      initialDelay: seconds(2),
      maxDelay: seconds(30),
      multiplier: 2,
      jitter: Jitter.JITTER_NONE,
    });
  });

  it("is idempotent on every valid spec (the server fills defaults; the runner's check fills them again)", () => {
    fc.assert(
      fc.property(validSpec, (spec) => {
        expect(withSpecDefaults(withSpecDefaults(spec))).toEqual(withSpecDefaults(spec));
      }),
      { numRuns: 300 },
    );
  });
});

describe("signedBytes", () => {
  const base = subprocess("deploy.sh", ["v2"], {
    slot: "deploy-web",
    env: { B: "2", A: "1" },
    timeout: seconds(30),
    restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
    maxAttempts: 2,
    backoff: { initialDelay: seconds(1), maxDelay: seconds(10), multiplier: 3, jitter: Jitter.JITTER_EQUAL },
    admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE,
    runnerSelector: { matchLabels: { pool: "release" }, matchExpressions: [] },
    notBefore: new Date("2030-01-02T03:04:05.678Z"),
  });

  it("is the SignedSpec/2 tag line, then the covered fields (a pinned test vector for other languages)", () => {
    const bytes = signedBytes(subprocess("echo", ["hi"], { env: { B: "", A: "1" }, slot: "s" }));
    expect(bytes.subarray(0, 27).toString()).toBe(`${SIGNED_SPEC_TAG}\n`);
    expect(SIGNED_SPEC_TAG).toBe("supervisor.v1.SignedSpec/2");
    expect(bytes.subarray(27).toString("hex")).toBe(GOLDEN_BODY_HEX);
  });

  it("a spec signed as sent verifies as stored, for every valid spec (defaults filled, through the wire)", () => {
    fc.assert(
      fc.property(validSpec, (spec) => {
        const signed = signSpec(spec, "release", privateKey);
        expect(signatureProblem(asStored(signed), trusted)).toBeUndefined();
        expect(signatureProblem(signed, trusted)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it("explicit defaults and left-out ones sign the same bytes", () => {
    const bare = subprocess("true");
    const explicit = subprocess("true", [], {
      timeout: seconds(60),
      restart: RestartPolicy.RESTART_POLICY_NEVER,
      maxAttempts: 1,
      backoff: { initialDelay: seconds(1), maxDelay: seconds(30), multiplier: 2, jitter: Jitter.JITTER_FULL },
      admission: AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
      runnerSelector: { matchLabels: {}, matchExpressions: [] },
    });
    expect(signedBytes(explicit)).toEqual(signedBytes(bare));
  });

  it("does not depend on the order maps were built in", () => {
    const reordered = {
      ...base,
      exec: {
        $case: "subprocess" as const,
        value: { ...(base.exec!.value as SubprocessExec), env: { A: "1", B: "2" } },
      },
    };
    expect(signedBytes(reordered)).toEqual(signedBytes(base));
  });

  const covered: [string, Partial<TaskSpec>][] = [
    ["slot", { slot: "deploy-api" }],
    ["timeout", { timeout: seconds(3600) }],
    ["restart", { restart: RestartPolicy.RESTART_POLICY_ALWAYS }],
    ["max_attempts", { maxAttempts: 1000 }],
    ["backoff", { backoff: { ...base.backoff!, multiplier: 1 } }],
    ["admission", { admission: AdmissionPolicy.ADMISSION_POLICY_REPLACE }],
    ["runner_selector", { runnerSelector: { matchLabels: { pool: "any" }, matchExpressions: [] } }],
    ["not_before", { notBefore: new Date("2030-01-02T03:04:05.679Z") }],
  ];
  it.each(covered)("covers %s", (_, change) => {
    expect(signedBytes({ ...base, ...change })).not.toEqual(signedBytes(base));
  });

  const informational: [string, Partial<TaskSpec>][] = [
    ["labels", { labels: { team: "web" } }],
    ["priority", { priority: 9 }],
    ["trigger", { trigger: Trigger.TRIGGER_CLI }],
  ];
  it.each(informational)("does not cover %s", (_, change) => {
    expect(signedBytes({ ...base, ...change })).toEqual(signedBytes(base));
  });

  it("a version 1 signature (over the exec message only) no longer verifies", () => {
    const exec = base.exec!.value as SubprocessExec;
    const v1Bytes = Buffer.concat([
      Buffer.from("supervisor.v1.SubprocessExec\n"),
      SubprocessExec.encode({ ...exec, env: { A: "1", B: "2" } }).finish(),
    ]);
    const v1Signed = { ...base, signature: { keyId: "release", signature: sign(null, v1Bytes, privateKey) } };
    expect(signatureProblem(v1Signed, trusted)).toMatch(/does not match/);
    expect(signatureProblem(signSpec(base, "release", privateKey), trusted)).toBeUndefined();
  });

  it("refuses to sign a spec without exec", () => {
    expect(() => signedBytes(TaskSpec.fromPartial({}))).toThrow(/without exec/);
  });
});

// TaskSpec{slot "s", subprocess{echo, [hi], env{A: "1", B: ""}}, timeout 60 s, restart NEVER, max_attempts 1,
// backoff{1 s, 30 s, x2, FULL}, admission DROP_IF_RUNNING, runner_selector{}}.
const GOLDEN_BODY_HEX =
  "0a0173" + // slot
  "12170a046563686f120268691a060a01411201311a030a0142" + // subprocess; the empty env value B is left out
  "2a02083c" + // timeout 60 s
  "3001" + // restart NEVER
  "3801" + // max_attempts 1
  "42130a0208011202081e1900000000000000402002" + // backoff 1 s, 30 s, x2 (a double), FULL
  "4801" + // admission DROP_IF_RUNNING
  "5200"; // runner_selector, set and empty
