/**
 * Label selectors live in the SDK (`sdk/src/selector/`), so that the server's
 * parser and the SDK's `runnerSelector("…")` are one implementation. Re-exported
 * here under the server's names for the modules that import them from core.
 */
export {
  canonicalSelector,
  formatLabelSelector,
  type LabelSelector,
  matchesSelector,
  parseLabelSelector,
  type RequirementOperator as Operator,
  type SelectorRequirement as Requirement,
  SelectorSyntaxError,
  selectorFromRunnerSelector,
} from "@supervisor/sdk";
