import type { IncomingMessage } from "node:http";
import type { JsonValue } from "@bufbuild/protobuf";
import { invalidArgument, requestTooLarge, unsupportedMediaType } from "../errors.js";

/** What is read past the limit (and thrown away) so the client gets its 413; a client sending more is cut off. */
const DISCARD_FACTOR = 4;

const isJson = (contentType: string) => /^application\/([\w.+-]+\+)?json(\s*;.*)?$/i.test(contentType.trim());

/** Reads the whole body, at most `limit` bytes; past it, reads on (up to a bound) and fails REQUEST_TOO_LARGE. */
function readBytes(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const declared = Number(request.headers["content-length"] ?? 0);
    if (declared > limit * DISCARD_FACTOR) {
      reject(requestTooLarge(limit)); // not worth reading: the caller closes the connection
      return;
    }
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > limit * DISCARD_FACTOR) request.destroy();
    });
    request.on("end", () => (size > limit ? reject(requestTooLarge(limit)) : resolve(Buffer.concat(chunks))));
    request.on("error", reject);
    request.on("close", () => size > limit && reject(requestTooLarge(limit)));
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The request's JSON body, or undefined when it sent none (an empty body, whatever its type). A body
 * must say it is JSON: a web page of another origin can POST text/plain without asking (no CORS
 * preflight), never application/json. Bad UTF-8 or bad JSON is INVALID_REQUEST at "(request body)".
 */
export async function readJsonBody(request: IncomingMessage, limit: number): Promise<JsonValue | undefined> {
  const bytes = await readBytes(request, limit);
  if (bytes.length === 0) return undefined;
  const contentType = request.headers["content-type"] ?? "";
  if (!isJson(contentType)) throw unsupportedMediaType(contentType || "(none)");
  try {
    return JSON.parse(utf8.decode(bytes)) as JsonValue;
  } catch (error) {
    throw invalidArgument([{ field: "(request body)", description: `not JSON: ${(error as Error).message}` }]);
  }
}
