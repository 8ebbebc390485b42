import { type LabelSelector, type Operator, type Requirement, SelectorSyntaxError } from "@supervisor/sdk";
import { SelectorOperator } from "@supervisor/sdk/gen/supervisor/v1/task";

// The selector syntax (the parser) lives in the SDK, so the CLI and clients read selectors as the server does.
export {
  type LabelSelector,
  type Operator,
  parseLabelSelector,
  type Requirement,
  SelectorSyntaxError,
} from "@supervisor/sdk";

export function matchesSelector(selector: LabelSelector, labels: Record<string, string>): boolean {
  return selector.every(({ key, operator, values }) => {
    // Own properties only: a label map is plain data, "constructor" is not a label.
    const value = Object.hasOwn(labels, key) ? labels[key] : undefined;
    switch (operator) {
      case "exists":
        return value !== undefined;
      case "!exists":
        return value === undefined;
      case "in":
        return value !== undefined && values.includes(value);
      case "notin":
        // Kubernetes semantics: an absent label satisfies != and notin.
        return value === undefined || !values.includes(value);
      default:
        return false;
    }
  });
}

const OPERATOR_OF: Partial<Record<SelectorOperator, Operator>> = {
  [SelectorOperator.SELECTOR_OPERATOR_IN]: "in",
  [SelectorOperator.SELECTOR_OPERATOR_NOT_IN]: "notin",
  [SelectorOperator.SELECTOR_OPERATOR_EXISTS]: "exists",
  [SelectorOperator.SELECTOR_OPERATOR_DOES_NOT_EXIST]: "!exists",
};

/**
 * The structured RunnerSelector of a task spec as requirements. Keys and values
 * are not re-validated here (the spec schema does that on submit); an unknown
 * operator still throws, so a bad spec can never match every runner.
 */
export function selectorFromRunnerSelector(rs: {
  matchLabels: Record<string, string>;
  matchExpressions: { key: string; operator: number; values: string[] }[];
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

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function formatRequirement({ key, operator, values }: Requirement): string {
  switch (operator) {
    case "exists":
      return key;
    case "!exists":
      return `!${key}`;
    // One value uses the = / != form so that an empty value still reads back ("env=" rather than "env in ()").
    case "in":
      return values.length === 1 ? `${key}=${values[0]}` : `${key} in (${values.join(",")})`;
    case "notin":
      return values.length === 1 ? `${key}!=${values[0]}` : `${key} notin (${values.join(",")})`;
  }
}

/**
 * A stable text form, used to bind page tokens to the filter they were issued
 * for: requirements sorted by key then operator, values sorted, and exact
 * duplicates dropped, so the same filter spelled differently gets one form.
 * Parsed selectors read back to the same form.
 */
export function canonicalSelector(selector: LabelSelector): string {
  const entries = selector.map(({ key, operator, values }) => ({
    key,
    operator,
    text: formatRequirement({ key, operator, values: [...new Set(values)].sort(compareStrings) }),
  }));
  entries.sort(
    (a, b) => compareStrings(a.key, b.key) || compareStrings(a.operator, b.operator) || compareStrings(a.text, b.text),
  );
  return [...new Set(entries.map((e) => e.text))].join(",");
}
