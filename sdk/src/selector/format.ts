import type { LabelSelector, SelectorRequirement } from "./parse.js";

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function formatRequirement({ key, operator, values }: SelectorRequirement): string {
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

/** The selector string syntax, requirements in the order given; parseLabelSelector reads it back. */
export function formatLabelSelector(selector: LabelSelector): string {
  return selector.map(formatRequirement).join(",");
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
