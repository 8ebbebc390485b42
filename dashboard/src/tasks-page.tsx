// The tasks table: one server page at a time (ListTasks), filters in the URL, kept live by WatchTasks
// from the page's revision — no polling, no reload.
import { useEffect, useRef, useState } from "preact/hooks";
import { type ApiError, call, type Json, query } from "./api";
import { ErrorBanner, PhaseBadge } from "./common";
import { commandOf, labelsOf, relativeTime, shortEnum, shortId, TASK_PHASES } from "./format";
import { useKeys } from "./keys";
import { type Location, navigate } from "./router";
import { openStream } from "./stream";

export const PAGE_SIZE = 50;

/** The page token that led to each page token, for "newer": tokens only go forward. */
const previousPage = new Map<string, string>();

interface Filter {
  phase: string;
  selector: string;
  page: string;
}

const filterOf = (params: URLSearchParams): Filter => ({
  phase: params.get("phase") ?? "",
  selector: params.get("selector") ?? "",
  page: params.get("page") ?? "",
});

const urlOf = (f: Filter) => `/tasks${query({ phase: f.phase, selector: f.selector, page: f.page })}`;

const filterQuery = (f: Filter) => ({
  "filter.phases": f.phase ? [`TASK_PHASE_${f.phase}`] : undefined,
  "filter.label_selector": f.selector,
});

/** Newest first, as ListTasks pages: ids are time-ordered (UUIDv7). */
const byIdDesc = (a: Json, b: Json) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** Applies one watch event to the rows shown. Only the first page takes new tasks; others update in place. */
function applyEvent(rows: Json[], event: Json, firstPage: boolean): Json[] {
  const task = event.task;
  if (!task?.id) return rows;
  const index = rows.findIndex((r) => r.id === task.id);
  if (event.type === "EVENT_TYPE_DELETED") return index < 0 ? rows : rows.filter((r) => r.id !== task.id);
  if (index >= 0) return rows.map((r, i) => (i === index ? task : r));
  if (!firstPage) return rows;
  const oldest = rows[rows.length - 1];
  if (rows.length >= PAGE_SIZE && oldest && task.id < oldest.id) return rows;
  return [...rows, task].sort(byIdDesc).slice(0, PAGE_SIZE);
}

export function TasksPage({ loc }: { loc: Location }) {
  const filter = filterOf(loc.params);
  const [rows, setRows] = useState<Json[]>([]);
  const [next, setNext] = useState("");
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | undefined>();
  const [live, setLive] = useState<"connecting" | "live" | "reconnecting">("connecting");
  const [selected, setSelected] = useState(0);
  const [selectorText, setSelectorText] = useState(filter.selector);
  const [reloads, setReloads] = useState(0);
  const selectorInput = useRef<HTMLInputElement>(null);

  useEffect(() => setSelectorText(filter.selector), [filter.selector]);

  useEffect(() => {
    const controller = new AbortController();
    let close = () => {};
    setLoading(true);
    setError(undefined);
    const firstPage = filter.page === "";
    const path = `/v1/tasks${query({ page_size: PAGE_SIZE, page_token: filter.page, ...filterQuery(filter) })}`;
    call("GET", path, undefined, controller.signal)
      .then((answer) => {
        setRows(answer.tasks ?? []);
        setNext(answer.nextPageToken ?? "");
        setSelected(0);
        setLoading(false);
        const watch = `/v1/tasks:watch${query({ since_revision: answer.revision ?? "0", ...filterQuery(filter) })}`;
        close = openStream(watch, {
          message(event) {
            setLive("live");
            if (event.type !== "EVENT_TYPE_BOOKMARK") setRows((current) => applyEvent(current, event, firstPage));
          },
          dropped: () => setLive("reconnecting"),
          error(e) {
            // Fallen behind (WATCH_TOO_SLOW) or past the kept journal: read the page again and watch from there.
            if (e.reason === "WATCH_TOO_SLOW" || e.reason === "REVISION_COMPACTED") setReloads((n) => n + 1);
            else setError(e);
          },
        });
      })
      .catch((e: ApiError) => {
        if (controller.signal.aborted) return;
        setError(e);
        setLoading(false);
      });
    return () => {
      controller.abort();
      close();
    };
  }, [filter.phase, filter.selector, filter.page, reloads]);

  const go = (change: Partial<Filter>) => navigate(urlOf({ ...filter, page: "", ...change }));
  const older = () => {
    if (!next) return;
    previousPage.set(next, filter.page);
    go({ page: next });
  };
  const newer = () => filter.page && go({ page: previousPage.get(filter.page) ?? "" });
  const open = (task: Json | undefined) => task && navigate(`/tasks/${task.id}`);

  useKeys((key) => {
    if (key === "/") {
      selectorInput.current?.focus();
      return true;
    }
    if (key === "j") setSelected((s) => Math.min(s + 1, rows.length - 1));
    else if (key === "k") setSelected((s) => Math.max(s - 1, 0));
    else if (key === "Enter") open(rows[selected]);
    else if (key === "n") older();
    else if (key === "p") newer();
    else return false;
    return true;
  });

  useEffect(() => {
    document.querySelector(`tr[data-index="${selected}"]`)?.scrollIntoView({ block: "nearest" });
  }, [selected]);

  return (
    <div class="page">
      <div class="toolbar">
        <h1>Tasks</h1>
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            go({ selector: selectorText.trim() });
          }}
        >
          <label>
            Phase
            <select
              name="phase"
              value={filter.phase}
              onChange={(e) => go({ phase: (e.target as HTMLSelectElement).value })}
            >
              <option value="">all</option>
              {TASK_PHASES.map((p) => (
                <option value={shortEnum(p)}>{shortEnum(p).toLowerCase()}</option>
              ))}
            </select>
          </label>
          <label>
            Labels
            <input
              ref={selectorInput}
              name="selector"
              data-filter
              placeholder="env=prod,tier!=db   (press /)"
              value={selectorText}
              onInput={(e) => setSelectorText((e.target as HTMLInputElement).value)}
              onKeyDown={(e) => e.key === "Escape" && (e.target as HTMLInputElement).blur()}
            />
          </label>
          <button type="submit">Filter</button>
        </form>
        <span class={`live live-${live}`} title="updates from WatchTasks">
          {live}
        </span>
      </div>
      <ErrorBanner error={error} what="Could not list tasks" />
      <table class="table tasks" aria-busy={loading}>
        <thead>
          <tr>
            <th>id</th>
            <th>phase</th>
            <th>command</th>
            <th>slot</th>
            <th>labels</th>
            <th>attempt</th>
            <th>reason</th>
            <th>created</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((task, i) => (
            <tr
              key={task.id}
              data-task-id={task.id}
              data-index={i}
              class={i === selected ? "selected" : undefined}
              onClick={() => open(task)}
            >
              <td class="mono">
                <a href={`/tasks/${task.id}`}>{shortId(task.id)}</a>
              </td>
              <td>
                <PhaseBadge phase={task.status?.phase} />
              </td>
              <td class="mono ellipsis">{commandOf(task.spec)}</td>
              <td class="mono">{task.spec?.slot ?? ""}</td>
              <td class="ellipsis">{labelsOf(task.spec?.labels)}</td>
              <td>{task.status?.attempt ?? 0}</td>
              <td class="mono ellipsis">{task.status?.reason ?? ""}</td>
              <td title={task.createTime}>{relativeTime(task.createTime)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && rows.length === 0 && !error ? <p class="empty">No tasks match.</p> : null}
      <div class="pager">
        <button type="button" data-page="newer" disabled={!filter.page} onClick={newer}>
          ← Newer
        </button>
        <span>{filter.page ? "an older page" : "newest"}</span>
        <button type="button" data-page="older" disabled={!next} onClick={older}>
          Older →
        </button>
      </div>
    </div>
  );
}
