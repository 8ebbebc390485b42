import { type DescField, type DescMessage, type DescMethod, type FileRegistry, getOption } from "@bufbuild/protobuf";
import { type PathTemplate, parseTemplate } from "./path-template.js";

/** One HTTP binding of one RPC: a google.api.http rule or one of its additional_bindings. */
export interface HttpBinding {
  /** The gRPC method path without the leading "/", e.g. "supervisor.v1.TaskService/GetTask". */
  rpc: string;
  method: DescMethod;
  /** GET, POST, PUT, PATCH, DELETE or a custom verb. */
  httpMethod: string;
  template: PathTemplate;
  /** "*" (the whole request), a field of the request, or "" (no body: the rest from the query). */
  body: string;
  /** The response field sent as the body; "" = the whole response. */
  responseBody: string;
}

/** The services the HTTP API serves: every supervisor service (RunnerService.Connect has no rule). */
export const HTTP_SERVICES = [
  "supervisor.v1.TaskService",
  "supervisor.v1.RunnerService",
  "supervisor.v1.ScheduleService",
  "supervisor.v1.DispatchService",
];

type Rule = {
  pattern: { case: string | undefined; value?: unknown };
  body: string;
  responseBody: string;
  additionalBindings: Rule[];
};

/** A field path such as "schedule.id" resolved through the message's fields; throws when a name is unknown. */
export function resolveFieldPath(message: DescMessage, path: string): DescField[] {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const name of path.split(".")) {
    const field: DescField | undefined = current?.fields.find((f) => f.name === name);
    if (!field) throw new Error(`${message.typeName} has no field ${path}`);
    fields.push(field);
    current = field.fieldKind === "message" ? field.message : undefined;
  }
  return fields;
}

function bindingOf(method: DescMethod, rule: Rule): HttpBinding {
  const rpc = `${method.parent.typeName}/${method.name}`;
  const { case: verb, value } = rule.pattern;
  if (!verb) throw new Error(`${rpc}: an http rule without a pattern`);
  const custom = value as { kind: string; path: string };
  const httpMethod = verb === "custom" ? custom.kind.toUpperCase() : verb.toUpperCase();
  const template = parseTemplate(verb === "custom" ? custom.path : (value as string));
  // Checked once at start-up, so a rule the transcoder cannot serve fails the build's tests, not a request.
  for (const variable of template.variables) {
    const leaf = resolveFieldPath(method.input, variable.fieldPath.join(".")).at(-1)!;
    if (leaf.fieldKind !== "scalar")
      throw new Error(`${rpc}: path variable ${variable.fieldPath.join(".")} is not a scalar`);
  }
  if (rule.body && rule.body !== "*") resolveFieldPath(method.input, rule.body);
  if (rule.responseBody) resolveFieldPath(method.output, rule.responseBody);
  if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
    throw new Error(`${rpc}: a client stream has no HTTP mapping`);
  }
  return { rpc, method, httpMethod, template, body: rule.body, responseBody: rule.responseBody };
}

/** Every HTTP binding of the services, from their google.api.http options in the descriptor set. */
export function httpBindings(registry: FileRegistry, services: readonly string[] = HTTP_SERVICES): HttpBinding[] {
  const extension = registry.getExtension("google.api.http");
  if (!extension) throw new Error("the descriptor set lacks google/api/annotations.proto (run npm run gen)");
  const bindings: HttpBinding[] = [];
  for (const name of services) {
    const service = registry.getService(name);
    if (!service) throw new Error(`the descriptor set lacks ${name}`);
    for (const method of service.methods) {
      const rule = getOption(method, extension) as unknown as Rule;
      if (!rule.pattern.case) continue; // no rule: not on HTTP (Connect)
      bindings.push(bindingOf(method, rule));
      for (const more of rule.additionalBindings) bindings.push(bindingOf(method, more));
    }
  }
  return bindings;
}
