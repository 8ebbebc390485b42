// list: ListTasks pages of 50 at 1 000 000 tasks (keyset paging), with and without a
// label selector, at random depths (start tokens from sampled ids, then 4 followed
// tokens). Seeded through the API with BatchSubmitTasks of 1000 from 4 clients (the
// seeding rate is reported). Baseline, same run and same database: the same page read
// with SQL OFFSET (opened read-only), and the same keyset read in SQL. On PostgreSQL
// (`--backend postgres`) the baselines run the same queries through pg on the server's database.

import { connectDatabase } from "../lib/backend.mjs";
import { closedLoop, ownConnection, submitRequest, taskClient, typicalSpec, unary } from "../lib/clients.mjs";
import { Database } from "../lib/deps.mjs";
import { startSupervisor } from "../lib/procs.mjs";
import { nowMs, printTable, round, summarize, target, writeResult } from "../lib/stats.mjs";

export const description = "ListTasks page of 50 at 1M tasks, with/without label selector (vs SQL OFFSET)";

const PAGE = 50;
const SEED_BATCH = 1000;
const SEED_CLIENTS = 4;
const SEED_IN_FLIGHT_PER_CLIENT = 2;
const SELECTOR = "shard=3";
const emptyFilter = { slot: "", phases: [], runnerId: "", idPrefix: "", parentId: "", labelSelector: "" };

/** Seeds up to `goal` tasks; if the pace says the goal would take more than `budgetMs`, scales down to `fallback`. */
async function seed(address, { goal, fallback, budgetMs }) {
  const clients = Array.from({ length: SEED_CLIENTS }, () => taskClient(address, ownConnection()));
  let target = goal;
  let submitted = 0;
  let next = 0;
  const t0 = nowMs();
  let scaledDown = false;
  const callLatencies = [];
  await Promise.all(
    clients.map((client) =>
      closedLoop({
        concurrency: SEED_IN_FLIGHT_PER_CLIENT,
        durationMs: budgetMs * 2,
        maxOps: Math.ceil(goal / SEED_BATCH),
        op: async () => {
          if (next >= target) return { tasks: [] };
          const base = next;
          const size = Math.min(SEED_BATCH, target - base);
          next += size;
          const t = nowMs();
          const response = await unary(
            client,
            "batchSubmitTasks",
            { requests: Array.from({ length: size }, (_, j) => submitRequest(typicalSpec(base + j))) },
            120_000,
          );
          callLatencies.push(nowMs() - t);
          submitted += response.tasks.length;
          const elapsed = nowMs() - t0;
          if (!scaledDown && submitted >= 100_000 && (elapsed / submitted) * goal > budgetMs && target > fallback) {
            scaledDown = true;
            target = Math.max(fallback, next);
          }
          return response;
        },
        units: (r) => r.tasks.length,
      }),
    ),
  );
  for (const c of clients) c.close();
  const elapsedMs = nowMs() - t0;
  return {
    tasks: submitted,
    goal,
    scaledDown,
    elapsedMs,
    tasksPerSec: (submitted / elapsedMs) * 1000,
    calls: callLatencies.length,
    callLatencyMs: summarize(callLatencies),
  };
}

/** Page tokens for arbitrary cursors: the server's own encoder and filter fingerprint (tokens are opaque to clients). */
async function tokenMaker() {
  try {
    const { encodePageToken } = await import("../../server/dist/validation/page-token.js");
    const { compileFilter } = await import("../../server/dist/core/task-filter.js");
    return (afterId, filter) => encodePageToken(afterId, compileFilter(filter).key);
  } catch (error) {
    throw new Error(
      `cannot build page tokens from this server build (${error.message}); bench/scenarios/list.mjs needs updating`,
    );
  }
}

function randomDepths(count, max, rng) {
  return Array.from({ length: count }, () => 1 + Math.floor(rng() * Math.max(1, max - 1)));
}

/** Deterministic PRNG, so two runs sample the same depths. */
function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** API pages: from each start depth, the page there and `follow` more by the returned tokens. */
async function apiPages(client, ids, depths, follow, filter, makeToken) {
  const latencies = [];
  let rows = 0;
  let shortPages = 0;
  for (const depth of depths) {
    let token = makeToken(ids[depth - 1], filter);
    for (let page = 0; page <= follow && token; page++) {
      const t = nowMs();
      const response = await unary(client, "listTasks", { pageSize: PAGE, pageToken: token, filter });
      latencies.push(nowMs() - t);
      rows += response.tasks.length;
      if (response.tasks.length < PAGE && response.nextPageToken) shortPages++;
      token = response.nextPageToken;
    }
  }
  return { pages: latencies.length, rows, shortPages, latencyMs: summarize(latencies) };
}

/**
 * The server's database for the SQL baselines: `ids()` (every id, newest first, with its shard label)
 * and `prepare(sqlite, postgres)` → { all(...params) } (a promise), on either backend.
 */
async function sqlReader(server) {
  if (server.backend === "postgres") {
    const client = await connectDatabase(server.db);
    return {
      ids: async () => (await client.query("SELECT id, labels->>'shard' AS shard FROM tasks ORDER BY id DESC")).rows,
      prepare: (_sqlite, postgres) => ({
        all: async (...params) => (await client.query(postgres, params)).rows,
      }),
      close: () => client.end(),
    };
  }
  const db = new Database(server.db, { readonly: true, fileMustExist: true });
  return {
    ids: async () =>
      db.prepare("SELECT id, json_extract(labels, '$.shard') AS shard FROM tasks ORDER BY id DESC").all(),
    prepare: (sqlite) => {
      const statement = db.prepare(sqlite);
      return { all: async (...params) => statement.all(...params) };
    },
    close: async () => db.close(),
  };
}

/** The same pages in SQL, in this process, bounded by count and time. */
async function sqlPages(statement, depths, args, budgetMs) {
  const latencies = [];
  const deadline = nowMs() + budgetMs;
  for (const depth of depths) {
    if (nowMs() > deadline) break;
    const t = nowMs();
    const rows = await statement.all(...args(depth));
    latencies.push(nowMs() - t);
    if (rows.length === 0) throw new Error("an SQL baseline page came back empty");
  }
  return { pages: latencies.length, latencyMs: summarize(latencies) };
}

export async function run(opts) {
  const goal = opts.quick ? 50_000 : (opts.tasks ?? 1_000_000);
  const starts = opts.quick ? 20 : 100;
  const follow = 4;
  const rng = mulberry32(42);
  const server = await startSupervisor();
  try {
    const makeToken = await tokenMaker();
    console.log(
      `seeding ${goal.toLocaleString("en-US")} tasks through BatchSubmitTasks (x${SEED_BATCH}, ${SEED_CLIENTS} clients)…`,
    );
    const seeding = await seed(server.address, { goal, fallback: opts.quick ? goal : 200_000, budgetMs: 180_000 });
    console.log(
      `seeded ${seeding.tasks.toLocaleString("en-US")} tasks in ${(seeding.elapsedMs / 1000).toFixed(1)} s (${Math.round(seeding.tasksPerSec)} tasks/s)${seeding.scaledDown ? " — scaled down: 1M would take more than 3 minutes" : ""}`,
    );
    const serverRss = server.rss();

    const db = await sqlReader(server);
    const all = [];
    const selected = [];
    for (const row of await db.ids()) {
      all.push(row.id);
      if (row.shard === "3") selected.push(row.id);
    }
    const client = taskClient(server.address);
    const plain = { ...emptyFilter };
    const bySelector = { ...emptyFilter, labelSelector: SELECTOR };
    // warm-up: a few pages of each
    await apiPages(client, all, randomDepths(10, all.length - PAGE * (follow + 1), rng), 0, plain, makeToken);
    await apiPages(
      client,
      selected,
      randomDepths(10, selected.length - PAGE * (follow + 1), rng),
      0,
      bySelector,
      makeToken,
    );

    const plainDepths = randomDepths(starts, all.length - PAGE * (follow + 1), rng);
    const selectorDepths = randomDepths(starts, selected.length - PAGE * (follow + 1), rng);
    const apiPlain = await apiPages(client, all, plainDepths, follow, plain, makeToken);
    const apiSelector = await apiPages(client, selected, selectorDepths, follow, bySelector, makeToken);
    const firstPage = [];
    for (let i = 0; i < 50; i++) {
      const t = nowMs();
      await unary(client, "listTasks", { pageSize: PAGE, pageToken: "", filter: plain });
      firstPage.push(nowMs() - t);
    }
    client.close();

    // Baselines on the same file, read-only, at the start depths (the followed pages sit just below them).
    const offsetPlain = db.prepare(
      "SELECT task FROM tasks ORDER BY id DESC LIMIT ? OFFSET ?",
      "SELECT task FROM tasks ORDER BY id DESC LIMIT $1 OFFSET $2",
    );
    const keysetPlain = db.prepare(
      "SELECT task FROM tasks WHERE id < ? ORDER BY id DESC LIMIT ?",
      "SELECT task FROM tasks WHERE id < $1 ORDER BY id DESC LIMIT $2",
    );
    const offsetSelector = db.prepare(
      "SELECT task FROM tasks WHERE json_extract(labels, '$.shard') = '3' ORDER BY id DESC LIMIT ? OFFSET ?",
      "SELECT task FROM tasks WHERE labels->>'shard' = '3' ORDER BY id DESC LIMIT $1 OFFSET $2",
    );
    const keysetSelector = db.prepare(
      "SELECT task FROM tasks WHERE id < ? AND json_extract(labels, '$.shard') = '3' ORDER BY id DESC LIMIT ?",
      "SELECT task FROM tasks WHERE id < $1 AND labels->>'shard' = '3' ORDER BY id DESC LIMIT $2",
    );
    const budget = opts.quick ? 5_000 : 30_000;
    const sqlOffsetPlain = await sqlPages(offsetPlain, plainDepths, (d) => [PAGE, d], budget);
    const sqlKeysetPlain = await sqlPages(keysetPlain, plainDepths, (d) => [all[d - 1], PAGE], budget);
    const sqlOffsetSelector = await sqlPages(offsetSelector, selectorDepths, (d) => [PAGE, d], budget);
    const sqlKeysetSelector = await sqlPages(keysetSelector, selectorDepths, (d) => [selected[d - 1], PAGE], budget);
    await db.close();

    const row = (what, r) => ({
      read: what,
      pages: r.pages,
      "p50 ms": r.latencyMs.p50,
      "p90 ms": r.latencyMs.p90,
      "p99 ms": r.latencyMs.p99,
      "max ms": r.latencyMs.max,
    });
    printTable(
      `list: pages of ${PAGE} at ${all.length.toLocaleString("en-US")} tasks (${selected.length.toLocaleString("en-US")} match ${SELECTOR}), random depths`,
      [
        row("ListTasks, no filter (keyset, via gRPC)", apiPlain),
        row(`ListTasks, selector ${SELECTOR} (via gRPC)`, apiSelector),
        row("ListTasks, first page, no filter", { pages: firstPage.length, latencyMs: summarize(firstPage) }),
        row("SQL OFFSET, no filter (baseline)", sqlOffsetPlain),
        row("SQL keyset, no filter", sqlKeysetPlain),
        row(`SQL OFFSET, ${SELECTOR} (baseline)`, sqlOffsetSelector),
        row(`SQL keyset, ${SELECTOR}`, sqlKeysetSelector),
      ],
    );
    const ratios = {
      offsetOverApiKeysetP50: sqlOffsetPlain.latencyMs.p50 / apiPlain.latencyMs.p50,
      offsetOverSqlKeysetP50: sqlOffsetPlain.latencyMs.p50 / sqlKeysetPlain.latencyMs.p50,
      selectorOffsetOverApiP50: sqlOffsetSelector.latencyMs.p50 / apiSelector.latencyMs.p50,
      selectorOffsetOverSqlKeysetP50: sqlOffsetSelector.latencyMs.p50 / sqlKeysetSelector.latencyMs.p50,
      apiOverSqlKeysetP50: apiPlain.latencyMs.p50 / sqlKeysetPlain.latencyMs.p50,
    };
    printTable("ratios (p50)", [
      { ratio: "SQL OFFSET / ListTasks (no filter)", value: round(ratios.offsetOverApiKeysetP50, 1) },
      { ratio: "SQL OFFSET / SQL keyset (no filter)", value: round(ratios.offsetOverSqlKeysetP50, 1) },
      { ratio: `SQL OFFSET / ListTasks (${SELECTOR})`, value: round(ratios.selectorOffsetOverApiP50, 1) },
      { ratio: `SQL OFFSET / SQL keyset (${SELECTOR})`, value: round(ratios.selectorOffsetOverSqlKeysetP50, 1) },
      { ratio: "ListTasks / SQL keyset (API overhead)", value: round(ratios.apiOverSqlKeysetP50, 1) },
    ]);
    const seedRows = [
      {
        seeding: `${seeding.tasks.toLocaleString("en-US")} tasks`,
        "tasks/s": round(seeding.tasksPerSec, 0),
        s: round(seeding.elapsedMs / 1000, 1),
        "scaled down": seeding.scaledDown ? "yes (to stay within ~3 min)" : "no",
        "server RSS MiB": round(serverRss / 2 ** 20, 0),
      },
    ];
    printTable("seeding", seedRows);
    // The brief gives no latency figure for list; what keyset paging promises is that depth costs nothing,
    // so the target line is: a page at a random depth costs no more than 1.5x the first page (p50).
    const depthCost = apiPlain.latencyMs.p50 / summarize(firstPage).p50;
    const targets = [
      target(`tasks seeded (1M asked${seeding.scaledDown ? "; scaled down" : ""})`, seeding.tasks, ">=", goal),
      target("ListTasks random-depth p50 / first-page p50", depthCost, "<=", 1.5, "x"),
      {
        target: "ListTasks p50 / p99, no filter",
        goal: "(reported)",
        measured: `${apiPlain.latencyMs.p50} / ${apiPlain.latencyMs.p99} ms`,
        met: "-",
      },
      {
        target: `ListTasks p50 / p99, ${SELECTOR}`,
        goal: "(reported)",
        measured: `${apiSelector.latencyMs.p50} / ${apiSelector.latencyMs.p99} ms`,
        met: "-",
      },
      {
        target: "SQL OFFSET / ListTasks keyset p50",
        goal: "(ratio)",
        measured: `${round(ratios.offsetOverApiKeysetP50, 1)}x`,
        met: "-",
      },
    ];
    printTable("targets", targets);
    return writeResult("list", {
      settings: {
        tasksGoal: goal,
        pageSize: PAGE,
        startDepths: starts,
        followedPagesPerStart: follow,
        selector: SELECTOR,
        labels: "shard=i%10 (+ team, env)",
        seedBatch: SEED_BATCH,
        seedClients: SEED_CLIENTS,
      },
      seeding: { ...seeding, serverRssBytes: serverRss },
      tasks: all.length,
      matchingSelector: selected.length,
      figures: {
        apiPlain,
        apiSelector,
        apiFirstPage: summarize(firstPage),
        sqlOffsetPlain,
        sqlKeysetPlain,
        sqlOffsetSelector,
        sqlKeysetSelector,
      },
      ratios,
      targets,
    });
  } finally {
    await server.stop();
  }
}
