import { methodNotAllowed, routeNotFound } from "../errors.js";
import type { HttpBinding } from "./http-rules.js";
import { matchPath, type PathBindings } from "./path-template.js";

export interface Route {
  binding: HttpBinding;
  /** Field path → value of each path variable. */
  variables: PathBindings;
}

/**
 * Picks the binding for a request as grpc-gateway does: among the templates that match the path, one
 * with a verb wins over one without (so `/v1/tasks/x:cancel` is never GetTask of "x:cancel"); then the
 * HTTP method decides. A path no template matches is ROUTE_NOT_FOUND (404); a path matched only for
 * other methods is METHOD_NOT_ALLOWED (405, metadata allow).
 */
export class Router {
  constructor(private readonly bindings: readonly HttpBinding[]) {}

  route(httpMethod: string, path: string): Route {
    let matches: Route[] = [];
    for (const binding of this.bindings) {
      const variables = matchPath(binding.template, path);
      if (variables) matches.push({ binding, variables });
    }
    if (matches.some((m) => m.binding.template.verb)) matches = matches.filter((m) => m.binding.template.verb);
    if (matches.length === 0) throw routeNotFound(httpMethod, path);
    const chosen = matches.filter((m) => m.binding.httpMethod === httpMethod);
    if (chosen.length === 0) {
      throw methodNotAllowed(httpMethod, path, [...new Set(matches.map((m) => m.binding.httpMethod))].sort());
    }
    // Among equals, the one with more literal segments (/v1/tasks/{id}/runs over a template ending in **).
    const literals = (r: Route) => r.binding.template.segments.filter((s) => s.kind === "literal").length;
    return chosen.reduce((best, r) => (literals(r) > literals(best) ? r : best));
  }
}
