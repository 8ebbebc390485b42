import { type DispatchPause, ErrorReason, type FieldViolation } from "@supervisor/sdk";
import { CONCURRENCY_KEY_PATTERN } from "../core/concurrency.js";
import { parseLabelSelector, SelectorSyntaxError } from "../core/selector.js";
import { invalidArgument } from "../errors.js";
import { NAME_PATTERN, noNul } from "./common.js";

/** A pause id: a DNS label (RFC 1123), as a Kubernetes object name. */
export const PAUSE_ID_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_NOTE = 1024;
const MAX_SELECTOR = 4096;

/** A pause id in a request: required, a DNS label. */
export function validatePauseId(id: string, field: string): string {
  if (!id) throw invalidArgument([{ field, description: "required" }]);
  if (!PAUSE_ID_PATTERN.test(id)) {
    throw invalidArgument([
      { field, description: "a DNS label: 1..63 of [a-z0-9-], starting and ending with a letter or digit" },
    ]);
  }
  return id;
}

/** PauseDispatch's pause: id, exactly one target, note. Returns the pause as it is stored (create_time set). */
export function validatePause(pause: DispatchPause | undefined, nowMs: number): DispatchPause {
  if (!pause) throw invalidArgument([{ field: "pause", description: "required" }]);
  const violations: FieldViolation[] = [];
  if (!pause.id) violations.push({ field: "pause.id", description: "required" });
  else if (!PAUSE_ID_PATTERN.test(pause.id)) {
    violations.push({
      field: "pause.id",
      description: "a DNS label: 1..63 of [a-z0-9-], starting and ending with a letter or digit",
    });
  }
  if (pause.note.length > MAX_NOTE || !noNul(pause.note)) {
    violations.push({ field: "pause.note", description: `at most ${MAX_NOTE} characters, no NUL` });
  }
  let selectorBad = false;
  const target = pause.target;
  if (!target) {
    violations.push({
      field: "pause.target",
      description: "required: set one of slot, concurrency_key, label_selector",
    });
  } else if (target.$case === "slot") {
    if (target.value.length > 253 || !NAME_PATTERN.test(target.value)) {
      violations.push({ field: "pause.slot", description: "1..253 characters of [A-Za-z0-9._:/-]" });
    }
  } else if (target.$case === "concurrencyKey") {
    if (!CONCURRENCY_KEY_PATTERN.test(target.value)) {
      violations.push({ field: "pause.concurrency_key", description: "1..253 characters of [A-Za-z0-9._:/-]" });
    }
  } else {
    const problem = selectorProblem(target.value);
    if (problem) {
      selectorBad = problem.syntax;
      violations.push({ field: "pause.label_selector", description: problem.description });
    }
  }
  if (violations.length > 0) {
    const onlySelector = selectorBad && violations.length === 1;
    throw invalidArgument(violations, onlySelector ? ErrorReason.LABEL_SELECTOR_INVALID : ErrorReason.INVALID_REQUEST);
  }
  return { id: pause.id, target, note: pause.note, createTime: new Date(nowMs) };
}

/** An empty selector would match every task: a pause of everything says so with a selector that does. */
function selectorProblem(text: string): { description: string; syntax: boolean } | undefined {
  if (!text.trim()) {
    return {
      description: "required: a selector such as tier=batch (an empty one would match every task)",
      syntax: false,
    };
  }
  if (text.length > MAX_SELECTOR || !noNul(text)) {
    return { description: `at most ${MAX_SELECTOR} characters, no NUL`, syntax: false };
  }
  try {
    parseLabelSelector(text);
    return undefined;
  } catch (error) {
    if (error instanceof SelectorSyntaxError) return { description: error.message, syntax: true };
    throw error;
  }
}
