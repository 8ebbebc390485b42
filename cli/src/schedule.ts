import type { Schedule } from "@supervisor/sdk";
import type { Command } from "commander";
import { action, addConnectionOptions, type ConnectionOptions, connect } from "./connection.js";
import { json, table } from "./format.js";
import { keyValue, selectorText } from "./parsers.js";
import { SCHEDULE_HEADER, scheduleDetails, scheduleJson, scheduleRow, whenText } from "./schedule-format.js";
import {
  addScheduleOptions,
  checkScheduleFlags,
  collect,
  createRequest,
  jsonObject,
  type ScheduleOptions,
  type TriggerFlags,
  triggerOptions,
  updateRequest,
} from "./schedule-options.js";
import { addTaskOptions, changesTask } from "./task-options.js";

type Options = ScheduleOptions & ConnectionOptions;

const ID_ARGUMENT = "the schedule id (a DNS label: a-z, 0-9 and '-')";

const nextFire = (schedule: Schedule) => {
  const next = schedule.status?.nextFireTimes[0];
  if (next) return `next fire ${next.toISOString()}`;
  if (schedule.paused) return "paused";
  return whenText(schedule) === "on demand" ? "fired by `supervisor schedule trigger`" : "no more ticks";
};

/** The schedule as --json asks (proto JSON), or one line saying what happened. */
const printSchedule = (options: ConnectionOptions, schedule: Schedule, line: string) =>
  process.stdout.write(options.json ? `${scheduleJson.schedule(schedule)}\n` : `${line}\n`);

/** `schedule create|update`: the schedule flags, then the task flags (as `submit` takes them). */
export const withScheduleFlags = (command: Command, update: boolean) =>
  addConnectionOptions(addTaskOptions(addScheduleOptions(command, { update }), { defaults: !update }));

function registerCreate(schedule: Command): void {
  withScheduleFlags(
    schedule
      .command("create")
      .description(
        "create a schedule: schedule create <id> (--cron EXPR | --every DURATION) [options] -- command [args...]; " +
          "with neither, a named definition fired by `schedule trigger`",
      )
      .argument("<id>", ID_ARGUMENT)
      .argument("<command>", "program each fire runs (argv, never a shell)")
      .argument("[args...]", "its arguments"),
    false,
  ).action(
    action(async (id: string, program: string, args: string[], options: Options, self: Command) => {
      const request = createRequest(self, id, { command: program, args }, options);
      const client = connect(options);
      try {
        const created = await client.schedules.create(request.schedule!);
        printSchedule(options, created, `schedule ${created.id} created; ${nextFire(created)}`);
      } finally {
        client.close();
      }
    }),
  );
}

function registerUpdate(schedule: Command): void {
  withScheduleFlags(
    schedule
      .command("update")
      .description(
        "change a schedule: only the flags given change (a task flag or `-- command args` changes the template)",
      )
      .argument("<id>", ID_ARGUMENT)
      .argument("[command]", "a new program for the template")
      .argument("[args...]", "its arguments"),
    true,
  ).action(
    action(async (id: string, program: string | undefined, args: string[], options: Options, self: Command) => {
      const command = program === undefined ? undefined : { command: program, args };
      checkScheduleFlags(self, options, true); // before any call
      const client = connect(options);
      try {
        // The template is one mask path: a task flag changes the stored one, read first.
        const current = changesTask(self, program) ? (await client.schedules.get(id)).task : undefined;
        const request = updateRequest(self, id, options, command, current);
        const updated = await client.schedules.update(request.schedule!, request.updateMask);
        printSchedule(
          options,
          updated,
          `schedule ${updated.id} updated (generation ${updated.generation}); ${nextFire(updated)}`,
        );
      } finally {
        client.close();
      }
    }),
  );
}

function registerList(schedule: Command): void {
  addConnectionOptions(
    schedule
      .command("list")
      .description("list schedules by id: when, overlap, paused, next and last fire, counts")
      .option("-l, --selector <selector>", 'label selector over the schedules\' labels, e.g. "team=a"', selectorText),
  ).action(
    action(async (options: ConnectionOptions & { selector?: string }) => {
      const client = connect(options);
      try {
        const schedules: Schedule[] = [];
        let pageToken = "";
        do {
          const page = await client.schedules.listPage({ labelSelector: options.selector, pageSize: 1000, pageToken });
          // JSON: each page as ListSchedulesResponse, one per line (as `supervisor list --json`).
          if (options.json) process.stdout.write(`${scheduleJson.page(page)}\n`);
          schedules.push(...page.schedules);
          pageToken = page.nextPageToken;
        } while (pageToken);
        if (!options.json) process.stdout.write(table(SCHEDULE_HEADER, schedules.map(scheduleRow)));
      } finally {
        client.close();
      }
    }),
  );
}

/** get, delete, pause, unpause: one id, one call. */
function registerSimple(schedule: Command): void {
  addConnectionOptions(
    schedule
      .command("get")
      .description("show a schedule: its next 5 fire times and recent tasks")
      .argument("<id>", ID_ARGUMENT),
  ).action(
    action(async (id: string, options: ConnectionOptions) => {
      const client = connect(options);
      try {
        const found = await client.schedules.get(id);
        process.stdout.write(options.json ? `${scheduleJson.schedule(found)}\n` : scheduleDetails(found));
      } finally {
        client.close();
      }
    }),
  );
  addConnectionOptions(
    schedule
      .command("delete")
      .description("delete a schedule: it fires no more (the tasks it fired stay)")
      .argument("<id>", ID_ARGUMENT),
  ).action(
    action(async (id: string, options: ConnectionOptions) => {
      const client = connect(options);
      try {
        await client.schedules.delete(id);
        process.stdout.write(options.json ? "{}\n" : `schedule ${id} deleted\n`);
      } finally {
        client.close();
      }
    }),
  );
  for (const [name, description] of [
    ["pause", "pause a schedule: ticks while paused are not fired later (trigger still works)"],
    ["unpause", "unpause a schedule: it fires from its next tick after now"],
  ] as const) {
    addConnectionOptions(
      schedule
        .command(name)
        .description(description)
        .argument("<id>", ID_ARGUMENT)
        .option("--note <text>", "replaces the schedule's note (say why)"),
    ).action(
      action(async (id: string, options: ConnectionOptions & { note?: string }) => {
        const client = connect(options);
        try {
          const call = name === "pause" ? client.schedules.pause : client.schedules.unpause;
          const changed = await call.call(client.schedules, id, options.note ?? "");
          const line =
            name === "pause"
              ? `schedule ${changed.id} paused`
              : `schedule ${changed.id} unpaused; ${nextFire(changed)}`;
          printSchedule(options, changed, line);
        } finally {
          client.close();
        }
      }),
    );
  }
}

function registerTrigger(schedule: Command): void {
  addConnectionOptions(
    schedule
      .command("trigger")
      .description("fire a schedule's task now (paused or not), under its overlap policy; prints the task id")
      .argument("<id>", ID_ARGUMENT)
      .option("--arg <value>", "replaces the template's args (repeatable, in order)", collect)
      .option("--clear-args", "run with no args")
      .option("--env <key=value>", "added to the template's env (repeatable)", keyValue("--env"))
      .option("--label <key=value>", "added to the task's labels (repeatable)", keyValue("--label"))
      .option("--payload <json>", "replaces an embedded task's payload (a JSON object)", jsonObject)
      .option("--request-id <id>", "idempotency key (default: generated)"),
  ).action(
    action(async (id: string, flags: TriggerFlags & ConnectionOptions, self: Command) => {
      const request = triggerOptions(self, flags);
      const client = connect(flags);
      try {
        const task = await client.schedules.trigger(id, request);
        process.stdout.write(flags.json ? `${json.task(task)}\n` : `${task.id}\n`);
      } finally {
        client.close();
      }
    }),
  );
}

export function registerSchedule(program: Command): void {
  const schedule = program
    .command("schedule")
    .description("schedules: tasks fired by cron, at an interval, or on demand (create, list, get, update, ...)");
  registerCreate(schedule);
  registerList(schedule);
  registerSimple(schedule);
  registerUpdate(schedule);
  registerTrigger(schedule);
}
