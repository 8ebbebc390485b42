import { type RunnerSelector, SelectorOperator } from "./gen/supervisor/v1/task.js";
import { validateLabelKey, validateLabelValue } from "./labels.js";

/**
 * Kubernetes label selectors: the string syntax clients type
 * (`env=prod,tier!=db,gpu,!spot,region in (eu,us),zone notin (a)`) and the
 * structured RunnerSelector, both compiled to one list of requirements that
 * must all hold.
 */
export type Operator = "in" | "notin" | "exists" | "!exists";
export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}
export type LabelSelector = Requirement[];

/** A selector string that does not parse; the message names the 0-based position of the problem. */
export class SelectorSyntaxError extends Error {
  override readonly name = "SelectorSyntaxError";
}

// Bounds keep parsing and matching cheap for selectors that arrive over the wire.
const MAX_SELECTOR_LENGTH = 1024;
const MAX_REQUIREMENTS = 64;

/** Hand-written scanner: the grammar is tiny, and error positions matter to the person typing it. */
class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }
  atEnd(): boolean {
    this.skipSpace();
    return this.pos >= this.text.length;
  }
  peek(token: string): boolean {
    this.skipSpace();
    return this.text.startsWith(token, this.pos);
  }
  take(token: string): boolean {
    if (!this.peek(token)) return false;
    this.pos += token.length;
    return true;
  }
  expect(token: string): void {
    if (!this.take(token)) throw this.error(`expected "${token}"`);
  }
  /**
   * A run of characters up to the next separator, operator or space. Anything
   * else is swallowed so that label validation, not the scanner, explains
   * what is wrong with it.
   */
  word(): { text: string; start: number } {
    this.skipSpace();
    const start = this.pos;
    while (this.pos < this.text.length && !/[\s,()=!]/.test(this.text[this.pos]!)) this.pos++;
    return { text: this.text.slice(start, this.pos), start };
  }
  /** Describes what is at the current position, for "expected X, found Y" messages. */
  found(): string {
    this.skipSpace();
    return this.pos < this.text.length ? JSON.stringify(this.text[this.pos]) : "end of input";
  }
  error(message: string, at = this.pos): SelectorSyntaxError {
    return new SelectorSyntaxError(`${message} at position ${at}`);
  }
}

function parseKey(scanner: Scanner): string {
  const { text: key, start } = scanner.word();
  if (!key) throw scanner.error(`expected a label key, found ${scanner.found()}`);
  const problem = validateLabelKey(key);
  if (problem) throw scanner.error(`bad label key: ${problem}`, start);
  return key;
}

/** A value after =, == or !=; may be empty, as in Kubernetes (`env=` matches env=""). */
function parseSingleValue(scanner: Scanner): string {
  const { text: value, start } = scanner.word();
  const problem = validateLabelValue(value);
  if (problem) throw scanner.error(`bad label value: ${problem}`, start);
  return value;
}

/** "(a, b, c)": at least one value, none empty. */
function parseValueList(scanner: Scanner): string[] {
  if (!scanner.take("(")) throw scanner.error(`expected "(", found ${scanner.found()}`);
  const values: string[] = [];
  for (;;) {
    const { text: value, start } = scanner.word();
    if (!value) throw scanner.error(`expected a value, found ${scanner.found()}`);
    const problem = validateLabelValue(value);
    if (problem) throw scanner.error(`bad label value: ${problem}`, start);
    values.push(value);
    if (scanner.take(")")) return values;
    if (!scanner.take(",")) throw scanner.error(`expected "," or ")", found ${scanner.found()}`);
  }
}

function parseRequirement(scanner: Scanner): Requirement {
  if (scanner.take("!")) return { key: parseKey(scanner), operator: "!exists", values: [] };
  const key = parseKey(scanner);
  if (scanner.atEnd() || scanner.peek(",")) return { key, operator: "exists", values: [] };
  // "==" before "=", or "==" would read as "=" followed by a value starting with "=".
  if (scanner.take("==") || scanner.take("=")) return { key, operator: "in", values: [parseSingleValue(scanner)] };
  if (scanner.take("!=")) return { key, operator: "notin", values: [parseSingleValue(scanner)] };
  const { text: word, start } = scanner.word();
  if (word === "in" || word === "notin") return { key, operator: word, values: parseValueList(scanner) };
  throw scanner.error(`expected "=", "==", "!=", "in" or "notin" after key "${key}"`, word ? start : scanner.pos);
}

/** Parses the Kubernetes selector string syntax; "" (or only spaces) selects everything. */
export function parseLabelSelector(text: string): LabelSelector {
  if (text.length > MAX_SELECTOR_LENGTH) {
    throw new SelectorSyntaxError(`selector is ${text.length} characters long, at most ${MAX_SELECTOR_LENGTH} allowed`);
  }
  const scanner = new Scanner(text);
  const selector: LabelSelector = [];
  if (scanner.atEnd()) return selector;
  for (;;) {
    const start = scanner.pos;
    selector.push(parseRequirement(scanner));
    if (selector.length > MAX_REQUIREMENTS)
      throw scanner.error(`at most ${MAX_REQUIREMENTS} requirements allowed`, start);
    if (scanner.atEnd()) return selector;
    if (!scanner.take(",")) throw scanner.error(`expected "," or end of selector, found ${scanner.found()}`);
    if (scanner.atEnd()) throw scanner.error('expected a requirement after ","');
  }
}

const OPERATOR_ENUM: Record<Operator, SelectorOperator> = {
  in: SelectorOperator.SELECTOR_OPERATOR_IN,
  notin: SelectorOperator.SELECTOR_OPERATOR_NOT_IN,
  exists: SelectorOperator.SELECTOR_OPERATOR_EXISTS,
  "!exists": SelectorOperator.SELECTOR_OPERATOR_DOES_NOT_EXIST,
};

/** "gpu,zone in (a,b),!spot" → a task's RunnerSelector, in the syntax ListTasks filters use. */
export function runnerSelector(text: string): RunnerSelector {
  return {
    matchLabels: {},
    matchExpressions: parseLabelSelector(text).map((r) => ({
      key: r.key,
      operator: OPERATOR_ENUM[r.operator],
      values: r.values,
    })),
  };
}
