import { validateLabelKey, validateLabelValue } from "./labels.js";

/**
 * Kubernetes label selectors: the string syntax clients type
 * (`env=prod,tier!=db,gpu,!spot,region in (eu,us),zone notin (a)`) and the
 * structured RunnerSelector, both compiled to one list of requirements.
 */
export type Operator = "in" | "notin" | "exists" | "!exists";
export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}
export type LabelSelector = Requirement[];

export class SelectorSyntaxError extends Error {
  override readonly name = "SelectorSyntaxError";
}

export const MAX_SELECTOR_LENGTH = 1024;
export const MAX_REQUIREMENTS = 64;

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
  /** A run of key/value characters (anything but separators, operators and space). */
  word(): string {
    this.skipSpace();
    const start = this.pos;
    while (this.pos < this.text.length && !/[\s,()=!]/.test(this.text[this.pos]!)) this.pos++;
    return this.text.slice(start, this.pos);
  }
  error(message: string): SelectorSyntaxError {
    return new SelectorSyntaxError(`${message} at position ${this.pos} of ${JSON.stringify(this.text)}`);
  }
}

function checkKey(scanner: Scanner, key: string): void {
  if (!key) throw scanner.error("expected a label key");
  const problem = validateLabelKey(key);
  if (problem) throw scanner.error(`bad key: ${problem}`);
}

function checkValue(scanner: Scanner, value: string): void {
  const problem = validateLabelValue(value);
  if (problem) throw scanner.error(`bad value: ${problem}`);
}

function parseValueList(scanner: Scanner): string[] {
  scanner.expect("(");
  const values: string[] = [];
  for (;;) {
    const value = scanner.word();
    if (!value) throw scanner.error("expected a value");
    checkValue(scanner, value);
    values.push(value);
    if (scanner.take(")")) return values;
    if (!scanner.take(",")) throw scanner.error('expected "," or ")"');
  }
}

function parseRequirement(scanner: Scanner): Requirement {
  if (scanner.take("!")) {
    const key = scanner.word();
    checkKey(scanner, key);
    return { key, operator: "!exists", values: [] };
  }
  const key = scanner.word();
  checkKey(scanner, key);
  if (scanner.atEnd() || scanner.peek(",")) return { key, operator: "exists", values: [] };
  let operator: Operator;
  if (scanner.take("==") || scanner.take("=")) operator = "in";
  else if (scanner.take("!=")) operator = "notin";
  else {
    const word = scanner.word();
    if (word === "in") return { key, operator: "in", values: parseValueList(scanner) };
    if (word === "notin") return { key, operator: "notin", values: parseValueList(scanner) };
    throw scanner.error(`expected "=", "==", "!=", "in" or "notin" after "${key}"`);
  }
  const value = scanner.word();
  checkValue(scanner, value);
  return { key, operator, values: [value] };
}

export function parseLabelSelector(text: string): LabelSelector {
  if (text.length > MAX_SELECTOR_LENGTH) throw new SelectorSyntaxError(`selector is longer than ${MAX_SELECTOR_LENGTH} characters`);
  const scanner = new Scanner(text);
  const selector: LabelSelector = [];
  if (scanner.atEnd()) return selector;
  for (;;) {
    selector.push(parseRequirement(scanner));
    if (selector.length > MAX_REQUIREMENTS) throw new SelectorSyntaxError(`at most ${MAX_REQUIREMENTS} requirements`);
    if (scanner.atEnd()) return selector;
    scanner.expect(",");
    if (scanner.atEnd()) throw scanner.error("expected a requirement after \",\"");
  }
}

export function matchesSelector(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const { key, operator, values } of selector) {
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    switch (operator) {
      case "exists":
        if (!has) return false;
        break;
      case "!exists":
        if (has) return false;
        break;
      case "in":
        if (!has || !values.includes(labels[key]!)) return false;
        break;
      case "notin": // Kubernetes: an absent label satisfies != and notin
        if (has && values.includes(labels[key]!)) return false;
        break;
    }
  }
  return true;
}

/** SELECTOR_OPERATOR_* numbers of supervisor.v1.SelectorOperator. */
const OPERATORS: Record<number, Operator> = { 1: "in", 2: "notin", 3: "exists", 4: "!exists" };

export function selectorFromRunnerSelector(rs: {
  matchLabels: Record<string, string>;
  matchExpressions: { key: string; operator: number; values: string[] }[];
}): LabelSelector {
  const selector: LabelSelector = Object.entries(rs.matchLabels).map(([key, value]) => ({ key, operator: "in", values: [value] }));
  for (const expression of rs.matchExpressions) {
    const operator = OPERATORS[expression.operator];
    if (!operator) throw new SelectorSyntaxError(`unknown selector operator ${expression.operator} for key ${expression.key}`);
    selector.push({ key: expression.key, operator, values: [...expression.values] });
  }
  return selector;
}

/** A stable text form (sorted), used to bind page tokens to the filter they were issued for. */
export function canonicalSelector(selector: LabelSelector): string {
  return [...selector]
    .map((r) => ({ ...r, values: [...r.values].sort() }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.operator < b.operator ? -1 : a.operator > b.operator ? 1 : 0))
    .map((r) => `${r.operator === "!exists" ? "!" : ""}${r.key}${r.operator === "in" || r.operator === "notin" ? ` ${r.operator} (${r.values.join(",")})` : ""}`)
    .join(",");
}
