import type { DispatchPause, PauseTarget } from "@supervisor/sdk";
import { DispatchPause as DispatchPauseMessage } from "@supervisor/sdk";
import type { Command } from "commander";
import { usageError } from "./command-line.js";
import { action, addConnectionOptions, type ConnectionOptions, connect } from "./connection.js";
import { age, table } from "./format.js";
import { selectorText } from "./parsers.js";
import { protoJson } from "./proto-json.js";

interface PauseOptions extends ConnectionOptions {
  slot?: string;
  key?: string;
  selector?: string;
  note?: string;
}

const KIND = { slot: "slot", concurrencyKey: "key", labelSelector: "labels" } as const;

const pauseRow = (pause: DispatchPause): string[] => [
  pause.id,
  pause.target ? KIND[pause.target.$case] : "",
  pause.target?.value ?? "",
  age(pause.createTime),
  pause.note,
];

const pauseJson = (pause: DispatchPause) =>
  JSON.stringify(protoJson("supervisor.v1.DispatchPause", DispatchPauseMessage.encode, pause));

/** supervisor pause <id> --slot S | --key K | -l SELECTOR [--note], resume <id>, pauses. */
export function registerPauses(program: Command): void {
  const pause = program
    .command("pause")
    .description("hold back the pending tasks of a slot, a concurrency key or a label selector (running ones go on)")
    .argument("<id>", "a name for the pause (a DNS label), for `supervisor resume <id>`")
    .option("--slot <slot>", "tasks of this slot")
    .option("--key <key>", "tasks holding this concurrency key")
    .option("-l, --selector <selector>", "tasks whose labels match", selectorText)
    .option("--note <text>", "why, for whoever reads `supervisor pauses`");
  addConnectionOptions(pause).action(
    action(async (id: string, options: PauseOptions) => {
      const targets: PauseTarget[] = [];
      if (options.slot !== undefined) targets.push({ slot: options.slot });
      if (options.key !== undefined) targets.push({ concurrencyKey: options.key });
      if (options.selector !== undefined) targets.push({ labelSelector: options.selector });
      if (targets.length !== 1) usageError(pause, "give exactly one of --slot, --key, -l/--selector");
      const client = connect(options);
      try {
        const stored = await client.dispatch.pause({ id, note: options.note ?? "", ...targets[0]! });
        process.stdout.write(options.json ? `${pauseJson(stored)}\n` : `paused ${stored.id}\n`);
      } finally {
        client.close();
      }
    }),
  );
  addConnectionOptions(
    program.command("resume").description("lift a dispatch pause: its tasks are dispatched at once").argument("<id>"),
  ).action(
    action(async (id: string, options: ConnectionOptions) => {
      const client = connect(options);
      try {
        const resumed = await client.dispatch.resume(id);
        process.stdout.write(options.json ? `${pauseJson(resumed)}\n` : `resumed ${resumed.id}\n`);
      } finally {
        client.close();
      }
    }),
  );
  addConnectionOptions(program.command("pauses").description("list the dispatch pauses")).action(
    action(async (options: ConnectionOptions) => {
      const client = connect(options);
      try {
        const pauses = await client.dispatch.list();
        if (options.json) for (const one of pauses) process.stdout.write(`${pauseJson(one)}\n`);
        else process.stdout.write(table(["ID", "KIND", "TARGET", "AGE", "NOTE"], pauses.map(pauseRow)));
      } finally {
        client.close();
      }
    }),
  );
}
