import { status } from "@grpc/grpc-js";
import { ErrorReason, type TaskFilter } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { collect } from "./helpers/streams.js";

let server: TestServer;
let ids: string[];
beforeAll(async () => {
  server = await startTestServer();
  ids = [];
  for (let i = 0; i < 5; i++) {
    const { task } = await call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec("true")));
    ids.push(task!.id);
  }
});
afterAll(() => server.close());

const filter = (idPrefix: string): TaskFilter => ({
  slot: "",
  parentId: "",
  phases: [],
  runnerId: "",
  labelSelector: "",
  idPrefix,
});
const list = (idPrefix: string, pageSize = 0, pageToken = "") =>
  call(rpc(server.tasks, "listTasks"), { pageSize, pageToken, filter: filter(idPrefix) });

describe("TaskFilter.id_prefix", () => {
  it("lists exactly the tasks whose id starts with the prefix, in either case", async () => {
    const full = ids[2]!;
    expect((await list(full)).tasks.map((t) => t.id)).toEqual([full]);
    expect((await list(full.toUpperCase())).tasks.map((t) => t.id)).toEqual([full]);
    // Ids made in one burst share their time prefix: a short prefix matches them all, newest first.
    const shared = ids[0]!.slice(0, 4);
    const matching = ids.filter((id) => id.startsWith(shared)).reverse();
    expect((await list(shared)).tasks.map((t) => t.id)).toEqual(matching);
    expect((await list("ffffffff-ffff")).tasks).toEqual([]);
  });

  it("a page of 2 tells a unique prefix from an ambiguous one, and pages on with the same filter", async () => {
    const unique = await list(ids[4]!.slice(0, 35), 2);
    expect(unique.tasks.map((t) => t.id)).toEqual([ids[4]]);
    const shared = ids[0]!.slice(0, 4);
    const first = await list(shared, 2);
    expect(first.tasks).toHaveLength(2);
    expect(first.nextPageToken).not.toBe("");
    const rest = await list(shared, 0, first.nextPageToken);
    expect([...first.tasks, ...rest.tasks].map((t) => t.id).sort()).toEqual(
      ids.filter((id) => id.startsWith(shared)).sort(),
    );
    // The token is bound to the prefix.
    await expectError(list(`${shared}0`, 0, first.nextPageToken), status.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID");
  });

  it("filters a watch too", async () => {
    const { revision } = await list("");
    const { task } = await call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec("true")));
    const stream = server.tasks.watchTasks({ sinceRevision: 0, filter: filter(task!.id), sendInitial: true });
    const events = await collect(stream, (event) => event.type === 4); // up to the first BOOKMARK
    expect(events.filter((e) => e.task).map((e) => e.task!.id)).toEqual([task!.id]);
    expect(revision).toBeGreaterThan(0);
  });

  for (const bad of ["xyz", "0190c5e2 ", "0190c5e2-7b1d-7c3a-8f00-0123456789abc", "01%", "٣"]) {
    it(`refuses id_prefix ${JSON.stringify(bad)}: INVALID_ARGUMENT / INVALID_REQUEST at filter.id_prefix`, async () => {
      const error = await expectError(list(bad), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
      expect(error.fieldViolations.map((v) => v.field)).toEqual(["filter.id_prefix"]);
    });
  }

  it("refuses a bad id_prefix in a watch too", async () => {
    const stream = server.tasks.watchTasks({ sinceRevision: 0, filter: filter("not-hex"), sendInitial: false });
    await expectError(
      collect(stream, () => false),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
  });
});
