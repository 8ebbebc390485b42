/**
 * fast-check arbitraries for the fuzz suite (test/fuzz.test.ts): valid and
 * mutated task specs and submits, label selectors, list/watch filters, page
 * tokens, runner hellos and Connect messages, and raw protobuf bytes.
 *
 * "valid" arbitraries produce requests that satisfy every documented rule of
 * proto/supervisor/v1 (so the server must not answer INVALID_ARGUMENT for
 * them); "mutated" ones start from a valid value and break one to three things
 * (they may still happen to be valid). Values that depend on the running server
 * (real task ids, real page tokens, the journal head) are *recipes* that the
 * test resolves at run time.
 */

import type {
  Backoff,
  BatchSubmitTasksRequest,
  ConnectRequest,
  ConnectRequest_BatchItem,
  ConnectRequest_Hello,
  Duration,
  Jitter,
  LabelSelectorRequirement,
  OutputStream,
  RunnerSelector,
  RunOutcome,
  SelectorOperator,
  SubmitTaskRequest,
  TaskFilter,
  TaskPhase,
  TaskSpec,
} from "@supervisor/sdk";
import fc from "fast-check";

// ---------------------------------------------------------------- strings

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Strings that tend to break parsers, validators, SQL and logs. */
export const NASTY_STRINGS = [
  "",
  " ",
  "\0",
  "a\0b",
  "\0\0\0",
  "\n",
  "\r\n",
  "\t",
  "\u00a0",
  "\u2028",
  "\u202e",
  "\ufeff",
  "\ud800",
  "\udfff",
  "é",
  "İ",
  "ß",
  "🙂",
  "👩‍👩‍👧",
  "..",
  "../../etc/passwd",
  "%00",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal "${x}" is the hostile input
  "${x}",
  "'; DROP TABLE tasks; --",
  '"',
  "\\",
  "null",
  "undefined",
  "NaN",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "-",
  "_",
  ".",
  "/",
  "a/",
  "/a",
  "a//b",
  "A.B/c",
  "a b",
  "a,b",
  "a=b",
  "(",
  ")",
  "!",
  "=",
  "0190c5e2-7b1d-7c3a-8f00-0123456789ab",
  "0190C5E2-7B1D-7C3A-8F00-0123456789AB",
  "0190c5e2-7b1d-7c3a-8f00-0123456789a",
  "0190c5e2-7b1d-7c3a-8f00-0123456789abc",
  "0190c5e2_7b1d_7c3a_8f00_0123456789ab",
];

export const nastyString = fc.constantFrom(...NASTY_STRINGS);

/** Lengths right at and past every documented bound (63, 128, 253, 1024, 4096, 32 KiB...). */
export const BOUNDARY_LENGTHS = [
  63, 64, 65, 128, 129, 253, 254, 256, 257, 1024, 1025, 4096, 4097, 32768, 32769, 70_000,
];

export const longString = fc
  .tuple(fc.constantFrom(...BOUNDARY_LENGTHS), fc.constantFrom("a", "Z", "é", "🙂", "\0", "-", "a."))
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));

/** Any string at all: ASCII, unicode graphemes, arbitrary code points, nasty and very long ones. */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 16 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 16 }) },
  { weight: 4, arbitrary: nastyString },
  { weight: 1, arbitrary: longString },
);

/** Printable text without NUL (valid wherever free text is allowed). */
const freeText = (maxLength: number) =>
  fc
    .oneof(fc.string({ maxLength }), fc.string({ unit: "grapheme", maxLength: Math.min(maxLength, 12) }))
    .filter((s) => !s.includes("\0"));

// ---------------------------------------------------------------- numbers and enums

export const int32 = fc.integer({ min: INT32_MIN, max: INT32_MAX });

/** Enum numbers no enum of the contract defines (and a few that some do, to keep mutations honest). */
export const badEnum = fc.oneof(fc.constantFrom(-1, 5, 8, 99, 1000, INT32_MAX, INT32_MIN), int32);

/** int64 values a ts-proto `number` field can carry (|x| <= 2^53 - 1): negative, zero, small, huge. */
export const safeInt64 = fc.oneof(
  fc.constantFrom(-1, 0, 1, 2, -(2 ** 31), 2 ** 31, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  fc.integer({ min: -1000, max: 1000 }),
  fc.maxSafeInteger(),
);

// ---------------------------------------------------------------- labels (Kubernetes syntax)

export const labelName = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,10}[A-Za-z0-9])?$/) },
  { weight: 1, arbitrary: fc.constant("a".repeat(63)) },
  { weight: 1, arbitrary: fc.constantFrom("env", "tier", "gpu", "spot", "region", "zone", "team", "pool") },
);
const dnsPrefix = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?){0,2}$/);
export const labelKey = fc.oneof(
  { weight: 4, arbitrary: labelName },
  { weight: 1, arbitrary: fc.tuple(dnsPrefix, labelName).map(([prefix, name]) => `${prefix}/${name}`) },
);
export const labelValue = fc.oneof({ weight: 1, arbitrary: fc.constant("") }, { weight: 6, arbitrary: labelName });
export const labelMap = (maxKeys = 6) => fc.dictionary(labelKey, labelValue, { maxKeys, noNullPrototype: true });

/** Keys and values that break the label rules (or look like they might). */
export const badLabelKey = fc.oneof(
  fc.constantFrom(
    "",
    "-a",
    "a-",
    "_a",
    "a b",
    "A/b",
    "a/",
    "/a",
    "a/b/c",
    "é",
    "a\0",
    "__proto__",
    "constructor",
    "x".repeat(64),
    `${"a".repeat(254)}/b`,
  ),
  anyString,
);
export const badLabelValue = fc.oneof(
  fc.constantFrom("-a", "a-", "a b", "é", "a\0", "x".repeat(64), "a/b", "a,b"),
  anyString,
);

/** A label map that is probably invalid: bad keys or values, or too many entries. */
export const badLabelMap: fc.Arbitrary<Record<string, string>> = fc.oneof(
  fc.tuple(labelMap(3), badLabelKey, labelValue).map(([labels, key, value]) => withEntry(labels, key, value)),
  fc.tuple(labelMap(3), labelKey, badLabelValue).map(([labels, key, value]) => withEntry(labels, key, value)),
  fc
    .constantFrom(65, 100, 1000)
    .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]))),
);

/** Adds an entry as an own property, even for keys such as "__proto__". */
function withEntry(record: Record<string, string>, key: string, value: string): Record<string, string> {
  const copy = { ...record };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

// ---------------------------------------------------------------- label selector strings

/** The selector of the issue and the docs; mutations start from it too. */
export const EXAMPLE_SELECTOR = "env=prod,tier!=db,gpu,!spot,region in (eu,us),zone notin (a)";

const space = fc.constantFrom("", "", "", " ", "  ", "\t");
const selectorValue = fc.oneof({ weight: 6, arbitrary: labelName }, { weight: 1, arbitrary: fc.constant("") });
const selectorRequirement = fc.oneof(
  labelKey,
  labelKey.map((key) => `!${key}`),
  fc.tuple(labelKey, space, fc.constantFrom("=", "==", "!="), space, selectorValue).map((p) => p.join("")),
  fc
    .tuple(
      labelKey,
      fc.constantFrom(" in ", " notin ", "  in\t"),
      space,
      fc.array(labelName, { minLength: 1, maxLength: 4 }),
      space,
    )
    .map(([key, op, s, values, s2]) => `${key}${op}${s}(${s}${values.join(`${s2},${s}`)}${s2})`),
);

/** Selectors the grammar accepts (at most 64 requirements, at most 1024 characters). */
export const validSelector: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom("", EXAMPLE_SELECTOR) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.array(selectorRequirement, { minLength: 1, maxLength: 6 }), space, space)
      .map(([requirements, before, after]) => `${before}${requirements.join(`${after},${before}`)}${after}`),
  },
);

/** Character-level edits of a string: delete, insert, replace, duplicate, truncate. */
export const stringEdit = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({
    op: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.constantFrom(
        "(",
        ")",
        ",",
        "=",
        "!",
        "==",
        "!=",
        " in ",
        " notin ",
        " ",
        "\t",
        "\0",
        "é",
        "🙂",
        "\\",
        '"',
        "'",
        "*",
        "/",
        "-",
        ".",
        "in",
        "()",
        ",,",
      ),
      anyString,
    ),
  }),
  fc.record({
    op: fc.constant("replace" as const),
    at: fc.nat(),
    text: fc.constantFrom("(", ")", ",", "=", "!", " ", "\0", "X", "é", "_", "-"),
  }),
  fc.record({ op: fc.constant("duplicate" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
);
export type StringEdit = typeof stringEdit extends fc.Arbitrary<infer T> ? T : never;

export function applyStringEdit(text: string, edit: StringEdit): string {
  const at = text.length === 0 ? 0 : edit.at % (text.length + 1);
  switch (edit.op) {
    case "delete":
      return text.slice(0, at) + text.slice(at + 1);
    case "insert":
      return text.slice(0, at) + edit.text + text.slice(at);
    case "replace":
      return text.slice(0, at) + edit.text + text.slice(at + 1);
    case "duplicate":
      return text.slice(0, at + edit.length) + text.slice(at, at + edit.length) + text.slice(at + edit.length);
    case "truncate":
      return text.slice(0, at);
  }
}

/** Valid selectors with one to four character edits, random strings, and oversized ones. */
export const mutatedSelector: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(validSelector, fc.array(stringEdit, { minLength: 1, maxLength: 4 }))
      .map(([text, edits]) => edits.reduce(applyStringEdit, text)),
  },
  { weight: 2, arbitrary: anyString },
  { weight: 1, arbitrary: fc.constantFrom(1025, 5000).map((n) => "a".repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom(65, 200).map((n) => Array.from({ length: n }, (_, i) => `k${i}`).join(",")) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "a in ()",
      "a in (",
      "a notin",
      "!",
      "!!a",
      "a=b=c",
      ",",
      "a,",
      ",a",
      "a in (b,,c)",
      "a in (b c)",
      "a!b",
      "a==",
      "()",
      "a in ((b))",
    ),
  },
);

export const anySelector = fc.oneof({ weight: 1, arbitrary: validSelector }, { weight: 2, arbitrary: mutatedSelector });

// ---------------------------------------------------------------- task specs

/** Slots shared across cases, so admission (DROP_IF_RUNNING / QUEUE / REPLACE) sees contention. */
export const SLOT_POOL = ["fuzz-a", "fuzz-b", "fuzz/c:d", "q.1"];
/** request ids shared across cases, so idempotent replays and REQUEST_ID_REUSED happen. */
export const REQUEST_ID_POOL = ["rid-1", "rid-2", "rid-3", "rid.4", "rid:5"];

const validSlot = fc.oneof(
  { weight: 6, arbitrary: fc.constant("") },
  { weight: 3, arbitrary: fc.constantFrom(...SLOT_POOL) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:/-]{1,30}$/) },
  { weight: 1, arbitrary: fc.constant("s".repeat(253)) },
);

const safeArg = freeText(30);
const envName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,15}$/);
const envMap = fc.dictionary(envName, safeArg, { maxKeys: 4, noNullPrototype: true });

/** JSON objects for embedded payloads: shallow mostly, sometimes a bit deeper, sometimes large (but valid). */
const jsonPayload: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), {
      maxKeys: 5,
      noNullPrototype: true,
    }),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 12 }).chain((depth) => nestedPayload(depth)) },
  { weight: 1, arbitrary: fc.constantFrom(50_000, 200_000).map((n) => ({ blob: "x".repeat(n) })) },
);

/** A payload nested `depth` levels, objects and lists alternating as chosen. */
export function nestedPayload(depth: number): fc.Arbitrary<Record<string, unknown>> {
  return fc.array(fc.boolean(), { minLength: depth, maxLength: depth }).map((useList) => {
    let value: unknown = 1;
    for (const list of useList) value = list ? [value] : { a: value };
    return { root: value };
  });
}

/**
 * A payload `{root: v}` whose deepest protobuf message sits exactly at
 * `messageDepth` when sent in a SubmitTaskRequest (SubmitTaskRequest=1,
 * TaskSpec=2, EmbeddedExec=3, Struct=4, its entry=5, root Value=6; each
 * object around v adds Struct+entry+Value = 3, each list ListValue+Value = 2).
 * ts-proto refuses to decode past depth 100, and responses nest a task one
 * level deeper than SubmitTaskRequest does: the boundary is where bugs live.
 */
export function payloadAtDepth(messageDepth: number): fc.Arbitrary<Record<string, unknown>> {
  const budget = messageDepth - 6;
  const options: [objects: number, lists: number][] = [];
  for (let objects = 0; objects * 3 <= budget; objects++)
    if ((budget - objects * 3) % 2 === 0) options.push([objects, (budget - objects * 3) / 2]);
  return fc.constantFrom(...options).chain(([objects, lists]) =>
    fc.array(fc.nat(), { minLength: objects + lists, maxLength: objects + lists }).map((order) => {
      const kinds = order.map((key, i) => ({ key, list: i >= objects })).sort((a, b) => a.key - b.key);
      let value: unknown = 1;
      for (const { list } of kinds) value = list ? [value] : { a: value };
      return { root: value };
    }),
  );
}

const subprocessExec = fc.record({
  command: fc.oneof(fc.constantFrom("echo", "true", "/bin/true", "/usr/bin/env"), fc.stringMatching(/^[a-z/]{1,20}$/)),
  args: fc.array(safeArg, { maxLength: 6 }),
  env: envMap,
  workingDir: fc.constantFrom("", "", "/tmp", "relative/dir"),
});
const embeddedExec = fc.record(
  {
    handler: fc.oneof(
      fc.constantFrom("resize-image", "h1", "a.b:c/d-e"),
      fc.stringMatching(/^[A-Za-z0-9._:/-]{1,40}$/),
    ),
    payload: jsonPayload,
  },
  { requiredKeys: ["handler"] },
);
const wasmExec = fc.record({
  modulePath: fc.constantFrom("/opt/m.wasm", "m.wasm", "./a/b.wasm"),
  args: fc.array(safeArg, { maxLength: 4 }),
  env: envMap,
});
export const validExec: fc.Arbitrary<NonNullable<TaskSpec["exec"]>> = fc.oneof(
  { weight: 4, arbitrary: subprocessExec.map((value) => ({ $case: "subprocess" as const, value })) },
  { weight: 2, arbitrary: embeddedExec.map((value) => ({ $case: "embedded" as const, value })) },
  { weight: 1, arbitrary: wasmExec.map((value) => ({ $case: "wasm" as const, value })) },
);

const msToDuration = (ms: number): Duration => ({
  seconds: Math.floor(ms / 1000),
  nanos: Math.round((ms % 1000) * 1e6),
});
const DAY_MS = 86_400_000;

/** (0, maxMs], including sub-millisecond ones. */
const positiveDuration = (maxMs: number): fc.Arbitrary<Duration> =>
  fc.oneof(
    fc.integer({ min: 1, max: maxMs }).map(msToDuration),
    fc.integer({ min: 1, max: 999_999_999 }).map((nanos) => ({ seconds: 0, nanos })),
    fc.constant(msToDuration(maxMs)),
  );

const validBackoff: fc.Arbitrary<Backoff> = fc
  .tuple(
    fc.integer({ min: 1, max: DAY_MS }),
    fc.integer({ min: 1, max: DAY_MS }),
    fc.constantFrom("none", "both", "initial", "max"),
    fc.oneof(fc.constant(0), fc.double({ min: 1, max: 100, noNaN: true })),
    fc.constantFrom(0, 1, 2, 3, 4),
  )
  .map(([a, b, which, multiplier, jitter]) => {
    const [low, high] = a <= b ? [a, b] : [b, a];
    const backoff: Backoff = { multiplier, jitter: jitter as Jitter };
    // Unset initial = 1 s, unset max = 30 s; max must not be below initial.
    if (which === "both") Object.assign(backoff, { initialDelay: msToDuration(low), maxDelay: msToDuration(high) });
    if (which === "initial") backoff.initialDelay = msToDuration(Math.min(low, 30_000));
    if (which === "max") backoff.maxDelay = msToDuration(Math.max(high, 1000));
    return backoff;
  });

const validRequirement: fc.Arbitrary<LabelSelectorRequirement> = fc
  .tuple(labelKey, fc.constantFrom(1, 2, 3, 4), fc.array(labelValue, { minLength: 1, maxLength: 3 }))
  .map(([key, operator, values]) => ({
    key,
    operator: operator as SelectorOperator,
    values: operator <= 2 ? values : [],
  }));

const validRunnerSelector: fc.Arbitrary<RunnerSelector> = fc.record({
  matchLabels: labelMap(3),
  matchExpressions: fc.array(validRequirement, { maxLength: 3 }),
});

/** Every documented rule satisfied: the server may refuse it for slot/idempotency reasons only. */
export const validSpec: fc.Arbitrary<TaskSpec> = fc
  .record(
    {
      slot: validSlot,
      exec: validExec,
      timeout: positiveDuration(7 * DAY_MS),
      restart: fc.constantFrom(0, 1, 2, 3),
      maxAttempts: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 }), fc.constant(1000)),
      backoff: validBackoff,
      admission: fc.constantFrom(0, 1, 2, 3),
      runnerSelector: validRunnerSelector,
      labels: labelMap(),
      priority: fc.oneof(fc.integer({ min: -10, max: 10 }), fc.constantFrom(INT32_MIN, INT32_MAX)),
      notBefore: fc.oneof(
        fc.date({ min: new Date(0), max: new Date(Date.now() + DAY_MS), noInvalidDate: true }),
        fc.constantFrom(new Date(0), new Date("9999-12-31T23:59:59.999Z")),
      ),
      trigger: fc.constantFrom(0, 1, 2, 3, 4),
    },
    { requiredKeys: ["slot", "exec", "restart", "maxAttempts", "admission", "labels", "priority", "trigger"] },
  )
  // restart NEVER (or unset) runs once: more attempts is a contradiction the server refuses.
  .map((spec) => (spec.restart <= 1 && spec.maxAttempts > 1 ? { ...spec, maxAttempts: 1 } : spec))
  // Fields added since (fan-out, init, pinning) at their defaults, as a client built before them sends.
  .map(
    (spec) =>
      ({
        placement: 0,
        maxFailed: 0,
        init: [],
        pinnedRunnerId: "",
        concurrency: [],
        rateLimits: [],
        ...spec,
      }) as TaskSpec,
  );

const validRequestId = fc.oneof(
  { weight: 4, arbitrary: fc.constant("") },
  { weight: 2, arbitrary: fc.constantFrom(...REQUEST_ID_POOL) },
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/) },
  { weight: 1, arbitrary: fc.constant("r".repeat(128)) },
);

// ---------------------------------------------------------------- spec mutations

type Mutation = (spec: TaskSpec) => TaskSpec;
const set =
  <K extends keyof TaskSpec>(key: K) =>
  (value: unknown): Mutation =>
  (spec) => ({ ...spec, [key]: value });
const setExec =
  (patch: (exec: NonNullable<TaskSpec["exec"]>) => NonNullable<TaskSpec["exec"]>): Mutation =>
  (spec) => ({ ...spec, exec: spec.exec ? patch(spec.exec) : spec.exec });

const badArgs = fc.oneof(
  fc.constant(Array.from({ length: 1025 }, () => "a")),
  fc.constant(Array.from({ length: 5000 }, (_, i) => String(i))),
  fc.constant(["ok", "a\0b"]),
  fc.constant(["x".repeat(32 * 1024 + 1)]),
  fc.array(anyString, { maxLength: 5 }),
);
const badEnv = fc.oneof(
  fc.constantFrom<Record<string, string>>(
    { "": "x" },
    { "A=B": "1" },
    { "A\0": "1" },
    { ["K".repeat(257)]: "v" },
    { OK: "a\0" },
    { OK: "v".repeat(32 * 1024 + 1) },
  ),
  fc.constant(Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`V${i}`, "1"]))),
  fc.dictionary(anyString, anyString, { maxKeys: 3, noNullPrototype: true }),
);
const badPath = fc.oneof(fc.constantFrom("", "\0", "/bin/\0sh", "p".repeat(4097)), anyString);
const badHandler = fc.oneof(fc.constantFrom("", "bad handler!", "h".repeat(129), "é", "a\0", "a b", "*"), anyString);

/** Payloads that break the 256 KiB bound, nest deeply, or carry odd keys. */
export const badPayload: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.constant({ blob: "x".repeat(256 * 1024 + 1) }),
  fc.constant({ many: Array.from({ length: 30_000 }, (_, i) => i) }),
  fc.integer({ min: 13, max: 60 }).chain((depth) => nestedPayload(depth)),
  fc.integer({ min: 94, max: 102 }).chain(payloadAtDepth),
  fc.constantFrom<Record<string, unknown>>(
    JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>,
    { constructor: { prototype: { x: 1 } } },
    { "": null, "\0": "\0", "🙂": [[], {}, [[[]]]] },
    { n: 1e308, m: -1e-308, z: -0 },
  ),
  fc.dictionary(anyString, fc.jsonValue({ maxDepth: 6 }), { maxKeys: 8, noNullPrototype: true }),
);

const badDuration: fc.Arbitrary<Duration> = fc.oneof(
  fc.constantFrom<Duration>(
    { seconds: 0, nanos: 0 },
    { seconds: -1, nanos: 0 },
    { seconds: 0, nanos: -1 },
    { seconds: 1, nanos: -1 },
    { seconds: -1, nanos: 999_999_999 },
    { seconds: 604_800, nanos: 1 },
    { seconds: 604_801, nanos: 0 },
    { seconds: 86_401, nanos: 0 },
    { seconds: 0, nanos: INT32_MAX },
    { seconds: 0, nanos: INT32_MIN },
    { seconds: 2 ** 40, nanos: 0 },
    { seconds: Number.MAX_SAFE_INTEGER, nanos: 999_999_999 },
    { seconds: Number.MIN_SAFE_INTEGER, nanos: 0 },
  ),
  fc.record({ seconds: safeInt64, nanos: int32 }),
);

const badRequirement: fc.Arbitrary<LabelSelectorRequirement> = fc.oneof(
  fc.record({
    key: labelKey,
    operator: fc.constantFrom(0, -1, 5, 99).map((n) => n as SelectorOperator),
    values: fc.array(labelValue, { maxLength: 2 }),
  }),
  fc.record({
    key: labelKey,
    operator: fc.constantFrom(1, 2).map((n) => n as SelectorOperator),
    values: fc.constant([] as string[]),
  }),
  fc.record({
    key: labelKey,
    operator: fc.constantFrom(3, 4).map((n) => n as SelectorOperator),
    values: fc.array(labelValue, { minLength: 1, maxLength: 2 }),
  }),
  fc.record({
    key: badLabelKey,
    operator: fc.constantFrom(1, 3).map((n) => n as SelectorOperator),
    values: fc.constant<string[]>(["v"]),
  }),
  fc.record({
    key: labelKey,
    operator: fc.constant(1 as SelectorOperator),
    values: fc.array(badLabelValue, { minLength: 1, maxLength: 2 }),
  }),
  fc.record({
    key: labelKey,
    operator: fc.constant(1 as SelectorOperator),
    values: fc.constant(Array.from({ length: 65 }, (_, i) => `v${i}`)),
  }),
);

const badSignature = fc.oneof(
  fc.record({
    keyId: fc.constantFrom("", "k", "k".repeat(129)),
    signature: fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
  }),
  fc.record({
    keyId: fc.constantFrom("k", "unknown-key"),
    signature: fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => Buffer.from(b)),
  }),
);

export const specMutation: fc.Arbitrary<Mutation> = fc.oneof(
  // slot
  fc.oneof(anyString, fc.constantFrom("s".repeat(254), "a b", "a\0", "é")).map(set("slot")),
  // exec
  fc.constant(set("exec")(undefined)),
  badPath.map((command) =>
    setExec((e) => ({
      $case: "subprocess",
      value: {
        command,
        args: [],
        env: {},
        workingDir: "",
        ...(e.$case === "subprocess" ? { args: e.value.args } : {}),
      },
    })),
  ),
  badArgs.map((args) =>
    setExec((e) => (e.$case === "embedded" ? e : ({ ...e, value: { ...e.value, args } } as typeof e))),
  ),
  badEnv.map((env) =>
    setExec((e) => (e.$case === "embedded" ? e : ({ ...e, value: { ...e.value, env } } as typeof e))),
  ),
  badPath.map((workingDir) =>
    setExec(() => ({ $case: "subprocess", value: { command: "echo", args: [], env: {}, workingDir } })),
  ),
  badHandler.map((handler) => setExec(() => ({ $case: "embedded", value: { handler } }))),
  badPayload.map((payload) => setExec(() => ({ $case: "embedded", value: { handler: "h1", payload } }))),
  badPath.map((modulePath) => setExec(() => ({ $case: "wasm", value: { modulePath, args: [], env: {} } }))),
  // timeout, backoff
  badDuration.map(set("timeout")),
  fc
    .record({
      initialDelay: fc.option(fc.oneof(badDuration, positiveDuration(DAY_MS)), { nil: undefined }),
      maxDelay: fc.option(fc.oneof(badDuration, positiveDuration(DAY_MS)), { nil: undefined }),
      multiplier: fc.oneof(
        fc.constantFrom(Number.NaN, Infinity, -Infinity, -1, 0.5, 0.999, 100.0001, 1e308, Number.MIN_VALUE, -0),
        fc.double(),
      ),
      jitter: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4), badEnum),
    })
    .map((backoff) => set("backoff")(backoff)),
  // enums and counts
  badEnum.map(set("restart")),
  badEnum.map(set("admission")),
  badEnum.map(set("trigger")),
  fc.oneof(fc.constantFrom(-1, 1001, INT32_MAX, INT32_MIN), int32).map(set("maxAttempts")),
  fc.constantFrom(INT32_MIN, INT32_MAX, -1).map(set("priority")),
  // selectors and labels
  fc
    .record({
      matchLabels: fc.oneof(labelMap(2), badLabelMap),
      matchExpressions: fc.array(fc.oneof(validRequirement, badRequirement), { minLength: 1, maxLength: 3 }),
    })
    .map(set("runnerSelector")),
  fc.constant(
    set("runnerSelector")({
      matchLabels: {},
      matchExpressions: Array.from({ length: 65 }, (_, i) => ({ key: `k${i}`, operator: 3, values: [] })),
    }),
  ),
  badLabelMap.map(set("labels")),
  // dates and signatures
  fc
    .constantFrom(
      new Date(-1),
      new Date(-8.64e15),
      new Date(8.64e15),
      new Date("+010000-01-01T00:00:00Z"),
      new Date("1969-12-31T23:59:59.999Z"),
    )
    .map(set("notBefore")),
  badSignature.map(set("signature")),
);

/** A valid spec with one to three mutations applied. */
export const mutatedSpec: fc.Arbitrary<TaskSpec> = fc
  .tuple(validSpec, fc.array(specMutation, { minLength: 1, maxLength: 3 }))
  .map(([spec, mutations]) => mutations.reduce((acc, mutate) => mutate(acc), spec));

const badRequestId = fc.oneof(fc.constantFrom("r".repeat(129), "a b", "a\0", "é", "rid/1", "rid,1", " "), anyString);

export interface SubmitCase {
  /** "valid": every field follows the contract; "mutated": something was broken on purpose. */
  kind: "valid" | "mutated";
  request: SubmitTaskRequest;
}

export const validSubmit: fc.Arbitrary<SubmitCase> = fc
  .record({ spec: validSpec, requestId: validRequestId })
  .map((request) => ({ kind: "valid" as const, request }));

export const mutatedSubmit: fc.Arbitrary<SubmitCase> = fc
  .oneof(
    { weight: 6, arbitrary: fc.record({ spec: mutatedSpec, requestId: validRequestId }) },
    { weight: 2, arbitrary: fc.record({ spec: validSpec, requestId: badRequestId }) },
    { weight: 1, arbitrary: fc.record({ spec: fc.constant(undefined), requestId: validRequestId }) },
    { weight: 1, arbitrary: fc.record({ spec: mutatedSpec, requestId: badRequestId }) },
  )
  .map((request) => ({ kind: "mutated" as const, request: request as SubmitTaskRequest }));

export const anySubmit = fc.oneof({ weight: 2, arbitrary: validSubmit }, { weight: 3, arbitrary: mutatedSubmit });

export interface BatchCase {
  kind: "valid" | "mutated";
  request: BatchSubmitTasksRequest;
}

const minimalSpec = (i: number): TaskSpec =>
  ({
    slot: "",
    init: [],
    placement: 0,
    maxFailed: 0,
    pinnedRunnerId: "",
    concurrency: [],
    rateLimits: [],
    exec: { $case: "subprocess", value: { command: "echo", args: [String(i)], env: {}, workingDir: "" } },
    restart: 0,
    maxAttempts: 0,
    admission: 0,
    labels: { batch: "big" },
    priority: 0,
    trigger: 0,
  }) as TaskSpec;

export const batchCase: fc.Arbitrary<BatchCase> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc.array(validSubmit, { minLength: 1, maxLength: 5 }).map((cases) => ({
      kind: "valid" as const,
      request: { requests: cases.map((c) => c.request), returnPartialSuccess: false },
    })),
  },
  {
    weight: 40,
    arbitrary: fc.array(anySubmit, { minLength: 1, maxLength: 6 }).map((cases) => ({
      kind: cases.every((c) => c.kind === "valid") ? ("valid" as const) : ("mutated" as const),
      request: { requests: cases.map((c) => c.request), returnPartialSuccess: false },
    })),
  },
  {
    weight: 3,
    arbitrary: fc.constant<BatchCase>({ kind: "mutated", request: { requests: [], returnPartialSuccess: false } }),
  },
  {
    weight: 2,
    arbitrary: fc.constant({
      kind: "mutated" as const,
      request: {
        requests: Array.from({ length: 1001 }, (_, i) => ({ spec: minimalSpec(i), requestId: "" })),
        returnPartialSuccess: false,
      },
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constant({
      kind: "valid" as const,
      request: {
        requests: Array.from({ length: 1000 }, (_, i) => ({ spec: minimalSpec(i), requestId: "" })),
        returnPartialSuccess: false,
      },
    }),
  },
);

// ---------------------------------------------------------------- ids, filters, page tokens, revisions (recipes)

/** How to pick a task/runner id: a real one (by index into the live pool), an edited real one, a fresh UUID, or any string. */
export type IdRecipe =
  | { kind: "known"; index: number }
  | { kind: "knownEdited"; index: number; edit: StringEdit }
  | { kind: "knownUpper"; index: number }
  | { kind: "uuid"; value: string }
  | { kind: "literal"; value: string };

export const idRecipe: fc.Arbitrary<IdRecipe> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("known" as const), index: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("knownEdited" as const), index: fc.nat(), edit: stringEdit }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("knownUpper" as const), index: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("uuid" as const), value: fc.uuid() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("literal" as const), value: anyString }) },
);

export function resolveId(recipe: IdRecipe, pool: readonly string[]): string {
  const known = pool.length > 0 ? pool[("index" in recipe ? recipe.index : 0) % pool.length]! : "";
  switch (recipe.kind) {
    case "known":
      return known;
    case "knownEdited":
      return applyStringEdit(known, recipe.edit);
    case "knownUpper":
      return known.toUpperCase();
    case "uuid":
    case "literal":
      return recipe.value;
  }
}

/** Phases: the defined ones, and numbers that are not phases. */
export const phaseNumber = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(1, 2, 3, 4, 5, 6, 7) },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom(0, -1, 8, 99), int32) },
);

/** A selector string and whether it is known to be valid (mutated ones may or may not parse). */
export interface SelectorCase {
  text: string;
  known: "valid" | "unknown";
}
export const selectorCase: fc.Arbitrary<SelectorCase> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ text: "", known: "valid" as const }) },
  { weight: 2, arbitrary: validSelector.map((text) => ({ text, known: "valid" as const })) },
  { weight: 3, arbitrary: mutatedSelector.map((text) => ({ text, known: "unknown" as const })) },
);

export interface FilterCase {
  filter: TaskFilter | undefined;
  selector: SelectorCase;
}

export const taskFilterCase: fc.Arbitrary<FilterCase> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ filter: undefined, selector: { text: "", known: "valid" as const } }) },
  {
    weight: 5,
    arbitrary: fc
      .record({
        slot: fc.oneof(
          { weight: 4, arbitrary: fc.constant("") },
          { weight: 2, arbitrary: fc.constantFrom(...SLOT_POOL) },
          { weight: 1, arbitrary: anyString },
          { weight: 1, arbitrary: fc.constant("s".repeat(254)) },
        ),
        phases: fc.array(phaseNumber, { maxLength: 4 }),
        selector: selectorCase,
        runnerId: fc.oneof(
          { weight: 6, arbitrary: fc.constant("") },
          { weight: 1, arbitrary: anyString },
          { weight: 1, arbitrary: fc.constant("r".repeat(254)) },
        ),
      })
      .map(({ slot, phases, selector, runnerId }) => ({
        filter: {
          slot,
          phases: phases as TaskPhase[],
          labelSelector: selector.text,
          runnerId,
          idPrefix: "",
          parentId: "",
        },
        selector,
      })),
  },
);

export const pageSize = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, 1, 2, 5, 50) },
  { weight: 1, arbitrary: fc.constantFrom(1000, 1001, INT32_MAX, -1, INT32_MIN) },
  { weight: 1, arbitrary: int32 },
);

/** Page tokens: none, random text, random base64, or a real token (same or other filter) used as is, cut, edited or re-forged. */
export type TokenRecipe =
  | { kind: "none" }
  | { kind: "literal"; value: string }
  | { kind: "real"; from: "same" | "other" }
  | { kind: "realEdited"; from: "same" | "other"; edit: StringEdit }
  | { kind: "forged"; from: "same" | "other"; after: unknown; v: unknown };

export const tokenRecipe: fc.Arbitrary<TokenRecipe> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "none" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("literal" as const),
      value: fc.oneof(
        anyString,
        fc.base64String({ maxLength: 80 }),
        fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString("base64url")),
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("real" as const),
      from: fc.constantFrom("same" as const, "other" as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("realEdited" as const),
      from: fc.constantFrom("same" as const, "other" as const),
      edit: stringEdit,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("forged" as const),
      from: fc.constantFrom("same" as const, "other" as const),
      after: fc.oneof(
        anyString,
        fc.constantFrom("", "0", "-1", "1e400", "NaN", "Infinity", "9007199254740993", "a".repeat(201)),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      v: fc.oneof(fc.constant(1), fc.constantFrom(0, 2, "1", null)),
    }),
  },
);

/** Re-encodes a real token with another cursor (tokens are base64url JSON `{v, after, filter}`). */
export function forgeToken(real: string, after: unknown, v: unknown): string {
  let filter: unknown = "";
  try {
    filter = (JSON.parse(Buffer.from(real, "base64url").toString("utf8")) as { filter?: unknown }).filter;
  } catch {
    // not a token we understand: forge with an empty filter key
  }
  return Buffer.from(JSON.stringify({ v, after, filter })).toString("base64url");
}

/** since_revision: absolute values (negative, huge) or relative to the journal head read just before. */
export type RevisionRecipe = { kind: "absolute"; value: number } | { kind: "fromHead"; delta: number };
export const revisionRecipe: fc.Arbitrary<RevisionRecipe> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("absolute" as const), value: fc.oneof(fc.constant(0), safeInt64) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("fromHead" as const),
      delta: fc.oneof(fc.constantFrom(0, -1, 1, 2, 1000), fc.integer({ min: -5000, max: 0 })),
    }),
  },
);

// ---------------------------------------------------------------- runners

export const validHello: fc.Arbitrary<ConnectRequest_Hello> = fc.record({
  name: fc.oneof(fc.stringMatching(/^fz-[A-Za-z0-9._:-]{1,20}$/), fc.constant(`fz-${"n".repeat(250)}`)),
  labels: labelMap(4),
  kinds: fc.uniqueArray(fc.constantFrom("subprocess", "wasm", "embedded:*", "embedded:h1", "embedded:resize-image"), {
    minLength: 1,
    maxLength: 4,
  }),
  capacity: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 1, max: 4 }) },
    { weight: 1, arbitrary: fc.constantFrom(10_000, 100) },
  ),
  version: fc.oneof(freeText(20), fc.constant("v".repeat(128))),
  activeRunIds: fc.oneof(
    { weight: 6, arbitrary: fc.array(fc.oneof(fc.uuid(), fc.string({ maxLength: 64 })), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.constantFrom(1000, 3000).map((n) => Array.from({ length: n }, (_, i) => `run-${i}`)) },
  ),
  instanceId: fc.oneof(fc.constant(""), fc.uuid(), fc.constant("i".repeat(128))),
  finishedRunIds: fc.array(fc.oneof(fc.uuid(), fc.string({ maxLength: 64 })), { maxLength: 4 }),
  acceptsBatches: fc.boolean(),
});

type HelloMutation = (hello: ConnectRequest_Hello) => ConnectRequest_Hello;
const helloMutation: fc.Arbitrary<HelloMutation> = fc.oneof(
  fc
    .oneof(anyString, fc.constantFrom("", "bad name", "n".repeat(254), "a\0", "é", "a/b"))
    .map((name) => (h: ConnectRequest_Hello) => ({ ...h, name })),
  fc
    .oneof(fc.constantFrom(0, -1, 10_001, INT32_MAX, INT32_MIN), int32)
    .map((capacity) => (h: ConnectRequest_Hello) => ({ ...h, capacity })),
  fc
    .oneof(
      fc.constant([] as string[]),
      fc.array(
        fc.oneof(
          anyString,
          fc.constantFrom("fortran", "", "embedded:", "embedded:a b", "SUBPROCESS", "wasm ", "embedded:é"),
        ),
        { minLength: 1, maxLength: 3 },
      ),
      fc.constant(Array.from({ length: 1025 }, () => "subprocess")),
      fc.constant<string[]>(["k".repeat(257)]),
    )
    .map((kinds) => (h: ConnectRequest_Hello) => ({ ...h, kinds })),
  badLabelMap.map((labels) => (h: ConnectRequest_Hello) => ({ ...h, labels })),
  fc.oneof(fc.constant("v".repeat(129)), anyString).map((version) => (h: ConnectRequest_Hello) => ({ ...h, version })),
  fc
    .oneof(
      fc.constant(Array.from({ length: 10_001 }, (_, i) => `r${i}`)),
      fc.array(fc.oneof(fc.constant("x".repeat(65)), anyString), { minLength: 1, maxLength: 3 }),
    )
    .map((activeRunIds) => (h: ConnectRequest_Hello) => ({ ...h, activeRunIds })),
  fc
    .oneof(fc.constant("i".repeat(129)), anyString)
    .map((instanceId) => (h: ConnectRequest_Hello) => ({ ...h, instanceId })),
  fc
    .oneof(
      fc.constant(Array.from({ length: 10_001 }, (_, i) => `f${i}`)),
      fc.array(fc.oneof(fc.constant("x".repeat(65)), anyString), { minLength: 1, maxLength: 3 }),
    )
    .map((finishedRunIds) => (h: ConnectRequest_Hello) => ({ ...h, finishedRunIds })),
);

export const mutatedHello: fc.Arbitrary<ConnectRequest_Hello> = fc
  .tuple(validHello, fc.array(helloMutation, { minLength: 1, maxLength: 3 }))
  .map(([hello, mutations]) => mutations.reduce((acc, mutate) => mutate(acc), hello));

/** A run id in a runner message: one the supervisor assigned to this connection (if any), or anything. */
export type RunIdRecipe = { kind: "assigned"; index: number } | { kind: "literal"; value: string };
const runIdRecipe: fc.Arbitrary<RunIdRecipe> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("assigned" as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("literal" as const), value: fc.oneof(fc.uuid(), anyString) }) },
);

/** A report about a run, with its run id still a recipe: alone, or an item of a batch. */
export type ReportStep =
  | { kind: "runStarted"; runId: RunIdRecipe }
  | { kind: "output"; runId: RunIdRecipe; stream: OutputStream; data: Uint8Array; seq: number }
  | {
      kind: "runFinished";
      runId: RunIdRecipe;
      exitCode?: number;
      outcome: RunOutcome;
      error: string;
      result?: Record<string, unknown>;
    };

/** A runner message with its run id still a recipe. */
export type RunnerStep =
  | { kind: "hello"; hello: ConnectRequest_Hello }
  | { kind: "empty" }
  | { kind: "heartbeat" }
  | { kind: "batch"; items: ReportStep[] }
  | ReportStep;

const outputData = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(64 * 1024, 64 * 1024 + 1, 1024 * 1024).map((n) => new Uint8Array(n).fill(0x41)),
  },
);

const reportStep: fc.Arbitrary<ReportStep> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("runStarted" as const), runId: runIdRecipe }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("output" as const),
      runId: runIdRecipe,
      stream: fc.oneof(fc.constantFrom(0, 1, 2), badEnum).map((n) => n as OutputStream),
      data: outputData,
      seq: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 20 }) }, { weight: 1, arbitrary: safeInt64 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        kind: fc.constant("runFinished" as const),
        runId: runIdRecipe,
        exitCode: int32,
        outcome: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4), badEnum).map((n) => n as RunOutcome),
        error: fc.oneof(fc.constant(""), anyString),
        result: fc.oneof(jsonPayload, badPayload),
      },
      { requiredKeys: ["kind", "runId", "outcome", "error"] },
    ),
  },
);

export const runnerStep: fc.Arbitrary<RunnerStep> = fc.oneof(
  { weight: 1, arbitrary: fc.oneof(validHello, mutatedHello).map((hello) => ({ kind: "hello" as const, hello })) },
  { weight: 1, arbitrary: fc.constant({ kind: "empty" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "heartbeat" as const }) },
  { weight: 11, arbitrary: reportStep },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("batch" as const), items: fc.array(reportStep, { maxLength: 5 }) }),
  },
);

/** A Connect stream's first message: a hello (valid or not) or something else. */
export type FirstStep =
  | { kind: "validHello"; hello: ConnectRequest_Hello }
  | { kind: "mutatedHello"; hello: ConnectRequest_Hello }
  | { kind: "other"; step: RunnerStep };
export const firstStep: fc.Arbitrary<FirstStep> = fc.oneof(
  { weight: 5, arbitrary: validHello.map((hello) => ({ kind: "validHello" as const, hello })) },
  { weight: 4, arbitrary: mutatedHello.map((hello) => ({ kind: "mutatedHello" as const, hello })) },
  {
    weight: 1,
    arbitrary: runnerStep.filter((s) => s.kind !== "hello").map((step) => ({ kind: "other" as const, step })),
  },
);

export function toConnectMessage(step: RunnerStep, assigned: readonly string[]): ConnectRequest["message"] {
  switch (step.kind) {
    case "hello":
      return { $case: "hello", value: step.hello };
    case "empty":
      return undefined;
    case "heartbeat":
      return { $case: "heartbeat", value: {} };
    case "batch":
      return {
        $case: "batch",
        value: { items: step.items.map((item) => ({ message: toReportMessage(item, assigned) })) },
      };
    default:
      return toReportMessage(step, assigned);
  }
}

function toReportMessage(step: ReportStep, assigned: readonly string[]): ConnectRequest_BatchItem["message"] {
  const runId = (recipe: RunIdRecipe) =>
    recipe.kind === "assigned"
      ? assigned.length > 0
        ? assigned[recipe.index % assigned.length]!
        : "0190c5e2-7b1d-7c3a-8f00-0123456789ab"
      : recipe.value;
  switch (step.kind) {
    case "runStarted":
      return { $case: "runStarted", value: { runId: runId(step.runId) } };
    case "output":
      return {
        $case: "output",
        value: { runId: runId(step.runId), stream: step.stream, data: Buffer.from(step.data), seq: step.seq },
      };
    case "runFinished":
      return {
        $case: "runFinished",
        value: {
          runId: runId(step.runId),
          exitCode: step.exitCode,
          outcome: step.outcome,
          error: step.error,
          result: step.result,
        },
      };
  }
}

// ---------------------------------------------------------------- raw protobuf bytes

const varint = (value: bigint): number[] => {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
};

type WireField = { field: number; wireType: number; payload: Uint8Array };

/** Random protobuf wire format: plausible field numbers, every wire type (also invalid ones), nested messages, overlong varints. */
export const wireMessage: fc.Arbitrary<Uint8Array> = fc.letrec<{ message: Uint8Array; field: WireField }>((tie) => ({
  message: fc.array(tie("field"), { maxLength: 6, depthIdentifier: "wire" }).map((fields) => {
    const parts: Uint8Array[] = [];
    for (const { field, wireType, payload } of fields) {
      parts.push(Uint8Array.from(varint((BigInt(field) << 3n) | BigInt(wireType))));
      if (wireType === 2) parts.push(Uint8Array.from(varint(BigInt(payload.length))));
      parts.push(payload);
    }
    return new Uint8Array(Buffer.concat(parts));
  }),
  field: fc.record({
    field: fc.oneof(
      { weight: 10, arbitrary: fc.integer({ min: 1, max: 16 }) },
      { weight: 1, arbitrary: fc.constantFrom(0, 19_000, 536_870_911) },
    ),
    wireType: fc.oneof(
      { weight: 10, arbitrary: fc.constantFrom(0, 1, 2, 5) },
      { weight: 1, arbitrary: fc.constantFrom(3, 4, 6, 7) },
    ),
    payload: fc.oneof(
      { depthIdentifier: "wire", maxDepth: 4 },
      { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => Uint8Array.from(varint(v))) },
      {
        weight: 1,
        arbitrary: fc.constant(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
      },
      { weight: 2, arbitrary: fc.uint8Array({ minLength: 4, maxLength: 8 }) },
      { weight: 3, arbitrary: anyString.map((s) => Uint8Array.from(Buffer.from(s))) },
      { weight: 3, arbitrary: tie("message") as fc.Arbitrary<Uint8Array> },
    ),
  }),
})).message;

/** Byte-level edits of an encoded message. */
export const byteEdit = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    op: fc.constant("set" as const),
    at: fc.nat(),
    value: fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12, 0x1a),
  }),
  fc.record({
    op: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }),
  }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("duplicate" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }) }),
);
export type ByteEdit = typeof byteEdit extends fc.Arbitrary<infer T> ? T : never;

export function applyByteEdit(bytes: Uint8Array, edit: ByteEdit): Uint8Array {
  const b = Buffer.from(bytes);
  const at = b.length === 0 ? 0 : edit.at % (b.length + 1);
  switch (edit.op) {
    case "flip":
      if (b.length === 0) return b;
      b[at % b.length] = b[at % b.length]! ^ (1 << edit.bit);
      return b;
    case "set":
      if (b.length === 0) return Buffer.from([edit.value]);
      b[at % b.length] = edit.value;
      return b;
    case "insert":
      return Buffer.concat([b.subarray(0, at), edit.bytes, b.subarray(at)]);
    case "delete":
      return Buffer.concat([b.subarray(0, at), b.subarray(at + edit.length)]);
    case "truncate":
      return b.subarray(0, at);
    case "duplicate":
      return Buffer.concat([
        b.subarray(0, at + edit.length),
        b.subarray(at, at + edit.length),
        b.subarray(at + edit.length),
      ]);
  }
}

/** Raw request bodies: random bytes, random wire format, or a valid encoding with byte edits. */
export function rawBody(validEncoding: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 64, maxLength: 4096 }) },
    { weight: 3, arbitrary: wireMessage },
    { weight: 1, arbitrary: validEncoding },
    {
      weight: 6,
      arbitrary: fc
        .tuple(validEncoding, fc.array(byteEdit, { minLength: 1, maxLength: 4 }))
        .map(([bytes, edits]) => edits.reduce(applyByteEdit, bytes)),
    },
  );
}
