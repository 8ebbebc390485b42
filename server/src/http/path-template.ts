/**
 * google.api.http path templates (google/api/http.proto):
 *
 *   Template = "/" Segments [ Verb ] ;   Segments = Segment { "/" Segment } ;
 *   Segment  = "*" | "**" | LITERAL | Variable ;
 *   Variable = "{" FieldPath [ "=" Segments ] "}" ;   Verb = ":" LITERAL ;
 *
 * `{id}` is `{id=*}`: one segment. `**` (alone or in a variable) takes the rest of the path and must
 * come last. Parsed once when the routes are built; `matchPath` runs per request.
 */

type Segment = { kind: "literal"; text: string } | { kind: "one" } | { kind: "rest" };

interface Variable {
  /** The request field, e.g. ["schedule", "id"]. */
  fieldPath: string[];
  /** Its segments: [start, end) in `segments` (end = Infinity when it ends in `**`). */
  start: number;
  end: number;
}

export interface PathTemplate {
  /** As written in the proto. */
  text: string;
  segments: Segment[];
  variables: Variable[];
  /** The custom-method verb after ":", e.g. "cancel"; "" for none. */
  verb: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL = /^[A-Za-z0-9._~!$&'()+,;=@-]+$/;

export class TemplateSyntaxError extends Error {
  override readonly name = "TemplateSyntaxError";
}

export function parseTemplate(text: string): PathTemplate {
  const fail = (why: string): never => {
    throw new TemplateSyntaxError(`path template ${JSON.stringify(text)}: ${why}`);
  };
  if (!text.startsWith("/")) fail("must start with /");
  let body = text.slice(1);
  let verb = "";
  // The verb follows the last "}" or "/": a ":" inside {a=b:c} is not one (and not allowed anyway).
  const colon = body.lastIndexOf(":");
  if (colon > Math.max(body.lastIndexOf("}"), body.lastIndexOf("/"))) {
    verb = body.slice(colon + 1);
    body = body.slice(0, colon);
    if (!LITERAL.test(verb)) fail(`bad verb ${JSON.stringify(verb)}`);
  }
  const segments: Segment[] = [];
  const variables: Variable[] = [];
  const parseSegment = (part: string) => {
    if (part === "*") segments.push({ kind: "one" });
    else if (part === "**") segments.push({ kind: "rest" });
    else if (LITERAL.test(part)) segments.push({ kind: "literal", text: part });
    else fail(`bad segment ${JSON.stringify(part)}`);
  };
  for (const part of splitOutsideBraces(body, fail)) {
    if (!part.startsWith("{")) {
      parseSegment(part);
      continue;
    }
    if (!part.endsWith("}")) fail(`bad variable ${JSON.stringify(part)}`);
    const inner = part.slice(1, -1);
    const equals = inner.indexOf("=");
    const fieldPath = (equals < 0 ? inner : inner.slice(0, equals)).split(".");
    if (!fieldPath.every((name) => IDENT.test(name))) fail(`bad field path in ${part}`);
    const start = segments.length;
    if (equals < 0) parseSegment("*");
    else for (const sub of inner.slice(equals + 1).split("/")) parseSegment(sub);
    variables.push({ fieldPath, start, end: segments.length });
  }
  const rest = segments.findIndex((s) => s.kind === "rest");
  if (rest >= 0 && rest !== segments.length - 1) fail("** must be the last segment");
  for (const v of variables) if (v.end === segments.length && rest >= 0) v.end = Number.POSITIVE_INFINITY;
  if (new Set(variables.map((v) => v.fieldPath.join("."))).size !== variables.length) fail("a field bound twice");
  return { text, segments, variables, verb };
}

/** Splits on "/" except inside {…} (a variable's own segments). */
function splitOutsideBraces(body: string, fail: (why: string) => never): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of body) {
    if (char === "{") depth++;
    if (char === "}") depth--;
    if (depth < 0 || depth > 1) fail("unbalanced braces");
    if (char === "/" && depth === 0) {
      parts.push(current);
      current = "";
    } else current += char;
  }
  if (depth !== 0) fail("unbalanced braces");
  parts.push(current);
  return parts;
}

/** Field path (dotted) → value, for a path that matches; undefined when it does not. */
export type PathBindings = Map<string, string>;

/**
 * Matches a request path (as sent: percent-encoded, no query) against the template. Each segment is
 * percent-decoded; a variable of several segments gets them joined with "/". A variable never
 * matches an empty segment, so `/v1/tasks/` is no task's path.
 */
export function matchPath(template: PathTemplate, rawPath: string): PathBindings | undefined {
  if (!rawPath.startsWith("/")) return undefined;
  let path = rawPath.slice(1);
  if (template.verb) {
    if (!path.endsWith(`:${template.verb}`)) return undefined;
    path = path.slice(0, -(template.verb.length + 1));
  }
  const raw = path.split("/");
  let parts: string[];
  try {
    parts = raw.map((part) => decodeURIComponent(part));
  } catch {
    return undefined; // a malformed %-escape is no route's path
  }
  const { segments } = template;
  const hasRest = segments.at(-1)?.kind === "rest";
  if (hasRest ? parts.length < segments.length - 1 : parts.length !== segments.length) return undefined;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.kind === "rest") break;
    const part = parts[i]!;
    if (segment.kind === "literal" ? part !== segment.text : part === "") return undefined;
  }
  const bindings: PathBindings = new Map();
  for (const variable of template.variables) {
    const value = parts.slice(variable.start, variable.end === Number.POSITIVE_INFINITY ? undefined : variable.end);
    if (value.length === 0 || value.some((part) => part === "")) return undefined;
    bindings.set(variable.fieldPath.join("."), value.join("/"));
  }
  return bindings;
}
