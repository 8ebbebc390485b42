import {
  create,
  type DescField,
  type DescMessage,
  type FileRegistry,
  fromJson,
  type JsonObject,
  type JsonValue,
  type Message,
  mergeFromJson,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import type { FieldViolation } from "@supervisor/sdk";
import { invalidArgument } from "../errors.js";
import type { HttpBinding } from "./http-rules.js";
import type { PathBindings } from "./path-template.js";

/** Well-known messages whose proto JSON is one string, so a query parameter or path segment can hold them. */
const STRING_MESSAGES = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.BoolValue",
]);

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A query parameter's field path, by proto names or JSON names ("filter.label_selector" or "filter.labelSelector"). */
function queryField(message: DescMessage, key: string): DescField[] | string {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const name of key.split(".")) {
    if (!current) return `${fields.map((f) => f.name).join(".")} has no fields`;
    const field: DescField | undefined = current.fields.find((f) => f.name === name || f.jsonName === name);
    if (!field) return `${current.typeName} has no field ${name}`;
    fields.push(field);
    current = field.fieldKind === "message" && !STRING_MESSAGES.has(field.message.typeName) ? field.message : undefined;
  }
  return fields;
}

/** One text value (query or path) as the proto JSON of a singular field of this kind. */
function jsonScalar(field: DescField, text: string): JsonValue {
  const kind = field.fieldKind === "list" ? field.listKind : field.fieldKind;
  if (kind === "enum") return /^-?\d+$/.test(text) ? Number(text) : text;
  if (kind === "message") {
    const typeName = field.message?.typeName ?? "";
    if (!STRING_MESSAGES.has(typeName)) throw new Error(`a ${typeName} is sent in a body, not a query parameter`);
    return typeName === "google.protobuf.BoolValue" ? jsonBool(text) : text;
  }
  if (kind === "map") throw new Error("a map is sent in a body, not a query parameter");
  if (field.fieldKind !== "list" && field.fieldKind !== "scalar") return text;
  // Every other scalar (numbers, int64 as text, bytes as base64) is read from a string.
  return field.scalar === ScalarType.BOOL ? jsonBool(text) : text;
}

function jsonBool(text: string): boolean {
  if (text === "true" || text === "1") return true;
  if (text === "false" || text === "0") return false;
  throw new Error(`${JSON.stringify(text)} is not a bool (true or false)`);
}

/** {"a": {"b": value}} for the path a.b, by JSON names. */
function nest(fields: readonly DescField[], value: JsonValue): JsonObject {
  let json: JsonValue = value;
  for (let i = fields.length - 1; i >= 0; i--) json = { [fields[i]!.jsonName]: json };
  return json as JsonObject;
}

const startsWith = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}.`);

export interface HttpRequestParts {
  variables: PathBindings;
  query: URLSearchParams;
  /** The parsed JSON body; undefined when the request had none. */
  body: JsonValue | undefined;
}

/**
 * The request message of a binding, as grpc-gateway and Envoy build it: the body (the whole request
 * for body "*", else the named field), then each path variable, then each query parameter naming a
 * field that neither the path nor the body carries (repeated fields by repeating the parameter). Every
 * bad part is one BadRequest violation named by its field path; any of them fails the request with
 * INVALID_ARGUMENT before a handler runs. Returns the request's protobuf bytes.
 */
export function requestBytes(binding: HttpBinding, parts: HttpRequestParts, registry: FileRegistry): Uint8Array {
  const input = binding.method.input;
  const violations: FieldViolation[] = [];
  let message: Message = create(input);
  if (parts.body !== undefined) {
    if (binding.body === "") {
      violations.push({
        field: "(request body)",
        description: "this route takes no body: send fields as query parameters",
      });
    } else {
      try {
        if (binding.body === "*") message = fromJson(input, parts.body, { registry });
        else {
          const fields = queryField(input, binding.body) as DescField[];
          mergeFromJson(input, message, nest(fields, parts.body), { registry });
        }
      } catch (error) {
        violations.push({ field: "(request body)", description: describe(error) });
      }
    }
  }
  const pathFields = [...parts.variables.keys()];
  for (const [path, value] of parts.variables) {
    const fields = queryField(input, path) as DescField[];
    try {
      mergeFromJson(input, message, nest(fields, jsonScalar(fields.at(-1)!, value)), { registry });
    } catch (error) {
      violations.push({ field: path, description: describe(error) });
    }
  }
  for (const key of new Set(parts.query.keys())) {
    const values = parts.query.getAll(key);
    const fields = queryField(input, key);
    if (typeof fields === "string") {
      violations.push({ field: key, description: `not a field of the request: ${fields}` });
      continue;
    }
    const path = fields.map((f) => f.name).join(".");
    const refused =
      binding.body === "*"
        ? "the body carries every field of this route"
        : binding.body && (startsWith(path, binding.body) || startsWith(binding.body, path))
          ? `the body carries ${binding.body}`
          : pathFields.some((p) => startsWith(path, p) || startsWith(p, path))
            ? "the path carries it"
            : undefined;
    if (refused) {
      violations.push({ field: path, description: `not a query parameter here: ${refused}` });
      continue;
    }
    const leaf = fields.at(-1)!;
    try {
      if (leaf.fieldKind !== "list" && values.length > 1)
        throw new Error(`given ${values.length} times; it is not repeated`);
      const json = leaf.fieldKind === "list" ? values.map((v) => jsonScalar(leaf, v)) : jsonScalar(leaf, values[0]!);
      mergeFromJson(input, message, nest(fields, json), { registry });
    } catch (error) {
      violations.push({ field: path, description: describe(error) });
    }
  }
  if (violations.length > 0) throw invalidArgument(violations);
  return toBinary(input, message);
}
