// Calls to the server's HTTP/JSON API (docs/http-api.md) with the session's token, and its errors.

const TOKEN_KEY = "supervisor.token";

/** Any proto JSON message: fields at their default are left out by the server, so read them with `?? default`. */
// biome-ignore lint/suspicious/noExplicitAny: proto JSON is read field by field, as the docs describe it
export type Json = any;

export const getToken = (): string | null => sessionStorage.getItem(TOKEN_KEY);
export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A google.rpc.Status answer: the HTTP status, the gRPC code and the ErrorInfo reason. */
export class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  static of(httpStatus: number, status: Json): ApiError {
    const info = (status?.details ?? []).find((d: Json) => String(d["@type"]).endsWith("google.rpc.ErrorInfo"));
    return new ApiError(httpStatus, status?.code ?? 2, info?.reason ?? "", status?.message ?? `HTTP ${httpStatus}`);
  }

  get unauthenticated(): boolean {
    return this.code === 16;
  }
  get permissionDenied(): boolean {
    return this.code === 7;
  }
}

type Listener = (error: ApiError) => void;
const unauthenticatedListeners = new Set<Listener>();

/** Called whenever a call answers 401: the app asks for a token. */
export function onUnauthenticated(listener: Listener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

export function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Turns a failed response into an ApiError (telling the app when it is a 401). */
export async function failure(response: Response): Promise<ApiError> {
  let status: Json;
  try {
    status = await response.json();
  } catch {
    status = { code: 2, message: `HTTP ${response.status} ${response.statusText}` };
  }
  const error = ApiError.of(response.status, status);
  if (error.unauthenticated) for (const listener of unauthenticatedListeners) listener(error);
  return error;
}

/** One unary call: `GET /v1/tasks?…` or `POST /v1/tasks/{id}:cancel` with a JSON body. */
export async function call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Json> {
  const headers: Record<string, string> = { ...authHeaders(), accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** A query string from pairs, a key repeated for a list, empty values left out. */
export function query(params: Record<string, string | number | readonly string[] | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === "") continue;
    if (Array.isArray(value)) for (const v of value) search.append(key, v);
    else search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** What the caller's role may do (GET /dashboard/session). */
export interface Session {
  name: string;
  role: string;
  authEnabled: boolean;
  may: Record<string, boolean>;
}

export const loadSession = (): Promise<Session> => call("GET", "/dashboard/session");
