import { EventType, type ListTasksResponse } from "@supervisor/sdk";
import { type Command, Option } from "commander";
import { usageError } from "./command-line.js";
import { action, addConnectionOptions, connect } from "./connection.js";
import { type FilterOptions, filterFrom, withFilter } from "./filters.js";
import { json, LiveTable, TASK_HEADER, table, taskRow, WIDE_TASK_HEADER, wideTaskRow } from "./format.js";
import { integer } from "./parsers.js";
import { interruptible, printChanges } from "./watch.js";

interface ListOptions extends FilterOptions {
  limit: number;
  pageToken?: string;
  all?: boolean;
  output: "table" | "wide" | "json";
  watch?: boolean;
}

export function registerList(program: Command): void {
  addConnectionOptions(
    withFilter(program.command("list").description("list tasks, newest first"))
      .addOption(new Option("--limit <n>", "tasks per page").argParser(integer(1, 1000)).default(50))
      .option("--page-token <token>", "continue from a previous page")
      .option("--all", "every page, not just the first")
      .addOption(
        new Option("-o, --output <format>", "table, wide (more columns) or json (as --json)")
          .choices(["table", "wide", "json"])
          .default("table"),
      )
      .option("-w, --watch", "after the list, print changes as they happen (until Ctrl-C)"),
  ).action(
    action(async (options: ListOptions, self: Command) => {
      if (options.json && self.getOptionValueSource("output") === "cli" && options.output !== "json")
        usageError(self, `--json and -o ${options.output} ask for two formats: give one`);
      if (options.watch && options.pageToken)
        usageError(self, "--watch follows on from the newest tasks, --page-token lists older ones: give one");
      const format = options.json ? "json" : options.output;
      const [header, row] = format === "wide" ? [WIDE_TASK_HEADER, wideTaskRow] : [TASK_HEADER, taskRow];
      const client = connect(options);
      const signal = options.watch ? interruptible() : undefined;
      try {
        const filter = filterFrom(options);
        const pages: ListTasksResponse[] = [];
        let pageToken = options.pageToken ?? "";
        do {
          const page = await client.listPage({ filter, pageSize: options.limit, pageToken });
          pages.push(page);
          // JSON: each page as ListTasksResponse, next_page_token and revision included, one per line.
          if (format === "json") process.stdout.write(`${json.page(page)}\n`);
          pageToken = page.nextPageToken;
        } while (options.all && pageToken);
        const tasks = pages.flatMap((page) => page.tasks);
        if (!options.watch) {
          if (format !== "json") {
            process.stdout.write(table(header, tasks.map(row)));
            if (pageToken) process.stderr.write(`more: --page-token ${pageToken} (or --all)\n`);
          }
          return;
        }
        // From the first page's revision: a change made while later pages were read is printed, never missed.
        const live = format === "json" ? undefined : new LiveTable(header, tasks.map(row));
        return await printChanges(
          client,
          { filter, sinceRevision: pages[0]!.revision },
          {
            json: format === "json",
            row: (event, task) => {
              const cells = row(task);
              if (event.type === EventType.EVENT_TYPE_DELETED) cells[1] = "DELETED";
              live!.row(cells);
            },
          },
          signal!,
        );
      } finally {
        client.close();
      }
    }),
  );
}
