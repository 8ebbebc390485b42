import { type LabelSelectorRequirement, RunnerSelector, SelectorOperator } from "../gen/supervisor/v1/task.js";
import { fromInput, type RunnerSelectorInput } from "../input.js";
import { formatLabelSelector } from "./format.js";
import { type LabelSelector, parseLabelSelector, type RequirementOperator, SelectorSyntaxError } from "./parse.js";

const OPERATOR_OF: Partial<Record<SelectorOperator, RequirementOperator>> = {
  [SelectorOperator.SELECTOR_OPERATOR_IN]: "in",
  [SelectorOperator.SELECTOR_OPERATOR_NOT_IN]: "notin",
  [SelectorOperator.SELECTOR_OPERATOR_EXISTS]: "exists",
  [SelectorOperator.SELECTOR_OPERATOR_DOES_NOT_EXIST]: "!exists",
};

const ENUM_OF: Record<RequirementOperator, SelectorOperator> = {
  in: SelectorOperator.SELECTOR_OPERATOR_IN,
  notin: SelectorOperator.SELECTOR_OPERATOR_NOT_IN,
  exists: SelectorOperator.SELECTOR_OPERATOR_EXISTS,
  "!exists": SelectorOperator.SELECTOR_OPERATOR_DOES_NOT_EXIST,
};

/**
 * The structured RunnerSelector of a task spec as requirements. Keys and values
 * are not re-validated here (the spec schema does that on submit); an unknown
 * operator still throws, so a bad spec can never match every runner.
 */
export function selectorFromRunnerSelector(rs: {
  matchLabels: Record<string, string>;
  matchExpressions: readonly { key: string; operator: number; values: readonly string[] }[];
}): LabelSelector {
  const selector: LabelSelector = Object.entries(rs.matchLabels).map(([key, value]) => ({
    key,
    operator: "in",
    values: [value],
  }));
  for (const expression of rs.matchExpressions) {
    const operator = OPERATOR_OF[expression.operator as SelectorOperator];
    if (!operator)
      throw new SelectorSyntaxError(`unknown selector operator ${expression.operator} for key "${expression.key}"`);
    selector.push({ key: expression.key, operator, values: [...expression.values] });
  }
  return selector;
}

/**
 * Requirements as a RunnerSelector: `key=value` (one value, first of its key)
 * goes to matchLabels, everything else to matchExpressions in order.
 */
export function runnerSelectorFromLabelSelector(selector: LabelSelector): RunnerSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  for (const { key, operator, values } of selector) {
    // A second "key=" for the same key cannot share the map entry; it stays an expression (and matches nothing).
    if (operator === "in" && values.length === 1 && !Object.hasOwn(matchLabels, key)) matchLabels[key] = values[0]!;
    else matchExpressions.push({ key, operator: ENUM_OF[operator], values: [...values] });
  }
  return { matchLabels, matchExpressions };
}

/**
 * `"gpu,zone in (a,b),!spot"` → RunnerSelector, with the syntax ListTasks
 * filters use. Throws SelectorSyntaxError naming the position of a problem.
 */
export function runnerSelector(text: string): RunnerSelector {
  return runnerSelectorFromLabelSelector(parseLabelSelector(text));
}

/** A RunnerSelector (parts may be left out) in the selector string syntax: matchLabels first, then expressions. */
export function formatRunnerSelector(rs: RunnerSelectorInput): string {
  return formatLabelSelector(selectorFromRunnerSelector(fromInput(RunnerSelector, rs)));
}
