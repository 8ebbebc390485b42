import { execFile } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { promisify } from "node:util";
import { SupervisorClient, subprocess, type Task } from "@supervisor/sdk";
import { expect, it, onTestFinished } from "vitest";
import { startPostgres } from "../scripts/postgres-cluster.mjs";
import { describeOn } from "./helpers/backend.js";
import { REPO_ROOT, startCli, stopChild } from "./helpers/cli.js";
import { tempDir } from "./helpers/server.js";

const run = promisify(execFile);

/** The ```sh blocks of a markdown text (of its section `heading` only, if given), in order. */
function shellBlocks(path: string, heading?: string): string[] {
  let text = readFileSync(`${REPO_ROOT}/${path}`, "utf8");
  if (heading) {
    const start = text.indexOf(`\n${heading}\n`);
    expect(start, `${path} has a section "${heading}"`).toBeGreaterThan(-1);
    const rest = text.slice(start + heading.length + 2);
    const next = rest.search(/^#{1,3} /m);
    text = next === -1 ? rest : rest.slice(0, next);
  }
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

/** A block's commands, one per entry (a line ending in `\` goes on on the next). */
const commandsOf = (block: string) =>
  block
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);

/** `[NAME=value …] npx supervisor serve …`: the server the docs start, with the environment they give it. */
const SERVE = /^((?:[A-Z_]+=\S+ )*)npx supervisor (serve(?: .*)?)$/;

async function allTasks(client: SupervisorClient): Promise<string[]> {
  const ids: string[] = [];
  for await (const task of client.list({ pageSize: 1000 })) ids.push(task.id);
  return ids.sort();
}

// The postgres project only: it runs the PostgreSQL commands of docs/postgres.md and of the README as written,
// on a cluster of its own (they create a role, which is the cluster's, not a database's).
describeOn("postgres")("the PostgreSQL docs", () => {
  it("every command of docs/postgres.md and of the README's PostgreSQL section runs as written", {
    timeout: 120_000,
  }, async () => {
    const cluster = await startPostgres();
    onTestFinished(() => cluster.stop());
    const cwd = tempDir("supervisor-pg-docs-");
    onTestFinished(() => rmSync(cwd, { recursive: true, force: true }));
    // The docs' PostgreSQL is at localhost:5432; this one's psql, pg_dump and pg_restore come first on the PATH.
    const here = (command: string) => command.replaceAll("localhost:5432", `127.0.0.1:${cluster.port}`);
    const env = { ...process.env, PATH: `${cluster.bin}:${process.env.PATH}` };

    /** What each database holds, as far as the docs' commands made it: its tasks, by id. */
    const expected = new Map<string, string[]>();
    let dumped: string | undefined;
    const serve = async (assignments: string, args: string) => {
      const serveEnv = Object.fromEntries(
        assignments
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
      );
      const server = await startCli(
        [...args.split(/\s+/), "--listen", "127.0.0.1:0"],
        /serving on (\S+) \(db (postgres:\/\/\S+)\)/,
        { cwd, env: serveEnv },
      );
      onTestFinished(async () => {
        await stopChild(server.child, "SIGKILL");
      });
      const shown = new URL(server.match[2]!);
      expect(shown.password, "the serving line hides the password").toBe("***");
      const db = `${shown.host}${shown.pathname}`;
      const client = new SupervisorClient({ address: server.match[1]! });
      try {
        expect(await allTasks(client), `what ${db} holds`).toEqual((expected.get(db) ?? []).sort());
        const task: Task = await client.submit(subprocess("echo", ["from the docs"]));
        expected.set(db, [...(expected.get(db) ?? []), task.id]);
      } finally {
        client.close();
      }
      expect(await stopChild(server.child, "SIGTERM")).toBe(0);
    };
    const shell = async (command: string) => {
      await run("bash", ["-euo", "pipefail", "-c", command], { cwd, env });
      const dump = command.match(/^pg_dump .* postgres:\/\/[^@]+@([^/\s]+)(\/\S+)$/);
      if (dump) dumped = `${dump[1]}${dump[2]}`;
      const restore = command.match(/--dbname=postgres:\/\/[^@]+@([^/\s]+)(\/\S+)/);
      if (restore) expected.set(`${restore[1]}${restore[2]}`, [...(expected.get(dumped!) ?? [])]);
    };

    const blocks = [...shellBlocks("docs/postgres.md"), ...shellBlocks("README.md", "### PostgreSQL")];
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    let served = 0;
    for (const block of blocks) {
      for (const command of commandsOf(block).map(here)) {
        const serving = command.match(SERVE);
        if (serving) {
          await serve(serving[1]!, serving[2]!);
          served++;
        } else await shell(command);
      }
    }
    expect(served).toBe(5); // docs: serve, serve the restored copy; README: --db, SUPERVISOR_DB, --config
    expect(dumped).toBeDefined();
    // The restored copy held what the original held when it was dumped; the original went on from there.
    const [original, restored] = [...expected.keys()];
    expect(restored).toMatch(/_restored$/);
    expect(expected.get(original!)).toHaveLength(4);
    expect(expected.get(restored!)).toHaveLength(2);
    expect(expected.get(restored!)![0]).toBe(expected.get(original!)![0]);
  });
});
