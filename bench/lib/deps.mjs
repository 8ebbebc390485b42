// Third-party packages resolved the way the workspaces resolve them (not from bench/), so the bench
// uses the very grpc-js the SDK's generated clients use and the better-sqlite3 the server uses,
// however npm laid out node_modules.
import { createRequire } from "node:module";

const fromSdk = createRequire(new URL("../../sdk/package.json", import.meta.url));
const fromServer = createRequire(new URL("../../server/package.json", import.meta.url));

export const grpc = fromSdk("@grpc/grpc-js");
export const Database = fromServer("better-sqlite3");
export const pg = fromServer("pg");
