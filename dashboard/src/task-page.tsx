// One task: status, explanation (ExplainTask), spec, runs, live output, fan-out children; cancel and
// rerun for roles that may. Kept live by a watch of this task alone (filter.id_prefix = its id).
import { useEffect, useState } from "preact/hooks";
import { type ApiError, call, type Json, query } from "./api";
import { ActionButton, ErrorBanner, PhaseBadge, Section } from "./common";
import { absoluteTime, commandOf, isTerminal, labelsOf, relativeTime, shortEnum, shortId } from "./format";
import { OutputView } from "./output-view";
import { navigate } from "./router";
import { openStream } from "./stream";

const PARENT_LABEL = "supervisor.dev/parent";

function Field({ name, children }: { name: string; children: preact.ComponentChildren }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{children}</dd>
    </>
  );
}

function Explanation({ task, refresh }: { task: Json; refresh: number }) {
  const [explain, setExplain] = useState<Json>();
  const [error, setError] = useState<ApiError>();
  useEffect(() => {
    const controller = new AbortController();
    call("GET", `/v1/tasks/${encodeURIComponent(task.id)}:explain`, undefined, controller.signal)
      .then(setExplain)
      .catch((e) => controller.signal.aborted || setError(e));
    return () => controller.abort();
  }, [task.id, refresh]);
  if (error) return <ErrorBanner error={error} what="Explain" />;
  if (!explain) return <p class="muted">…</p>;
  const blockers: Json[] = explain.blockers ?? [];
  const runners: Json[] = explain.runners ?? [];
  return (
    <div data-explain>
      {blockers.length === 0 ? (
        <p class="muted">{isTerminal(task) ? "Ended: nothing holds it." : "Nothing holds it back."}</p>
      ) : (
        <ul class="blockers">
          {blockers.map((b) => (
            <li>
              <code>{b.reason}</code> {b.message}
              {b.until ? <span class="muted"> (until {absoluteTime(b.until)})</span> : null}
            </li>
          ))}
        </ul>
      )}
      {runners.length > 0 ? (
        <table class="table compact">
          <thead>
            <tr>
              <th>runner</th>
              <th>fits</th>
              <th>load</th>
              <th>why not</th>
            </tr>
          </thead>
          <tbody>
            {runners.map((r) => (
              <tr>
                <td>{r.name || r.runnerId}</td>
                <td>{r.matches ? "yes" : "no"}</td>
                <td>
                  {r.running ?? 0}/{r.capacity ?? 0}
                  {r.draining ? " draining" : ""}
                </td>
                <td class="mono">{r.failedRequirement ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

function Runs({
  taskId,
  refresh,
  attempt,
  pick,
}: {
  taskId: string;
  refresh: number;
  attempt: number;
  pick: (n: number) => void;
}) {
  const [runs, setRuns] = useState<Json[]>([]);
  useEffect(() => {
    const controller = new AbortController();
    call(
      "GET",
      `/v1/tasks/${encodeURIComponent(taskId)}/runs${query({ page_size: 100 })}`,
      undefined,
      controller.signal,
    )
      .then((answer) => setRuns(answer.runs ?? []))
      .catch(() => {});
    return () => controller.abort();
  }, [taskId, refresh]);
  if (runs.length === 0) return <p class="muted">No runs yet.</p>;
  return (
    <table class="table compact" data-runs>
      <thead>
        <tr>
          <th>attempt</th>
          <th>phase</th>
          <th>runner</th>
          <th>exit</th>
          <th>started</th>
          <th>finished</th>
          <th>output</th>
          <th>error</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr class={run.attempt === attempt ? "selected" : undefined} onClick={() => pick(run.attempt)}>
            <td>{run.attempt}</td>
            <td>
              <PhaseBadge phase={run.phase} />
            </td>
            <td>{run.runnerName || run.runnerId}</td>
            <td>{run.exitCode ?? 0}</td>
            <td title={run.startTime}>{relativeTime(run.startTime)}</td>
            <td title={run.finishTime}>{relativeTime(run.finishTime)}</td>
            <td>
              {Number(run.outputBytes ?? 0).toLocaleString()} B{run.outputTruncated ? " (truncated)" : ""}
            </td>
            <td>{run.error ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The children of a fan-out parent: one server page of tasks labelled with its id. */
function Children({ parentId }: { parentId: string }) {
  const [children, setChildren] = useState<Json[]>();
  useEffect(() => {
    const controller = new AbortController();
    const path = `/v1/tasks${query({ page_size: 100, "filter.parent_id": parentId })}`;
    call("GET", path, undefined, controller.signal)
      .then((answer) => setChildren(answer.tasks ?? []))
      .catch(() => setChildren([]));
    return () => controller.abort();
  }, [parentId]);
  if (!children) return <p class="muted">…</p>;
  return (
    <table class="table compact" data-children>
      <thead>
        <tr>
          <th>child</th>
          <th>phase</th>
          <th>runner</th>
          <th>attempt</th>
          <th>updated</th>
        </tr>
      </thead>
      <tbody>
        {children.map((child) => (
          <tr onClick={() => navigate(`/tasks/${child.id}`)}>
            <td class="mono">
              <a href={`/tasks/${child.id}`}>{shortId(child.id)}</a>
            </td>
            <td>
              <PhaseBadge phase={child.status?.phase} />
            </td>
            <td>{child.spec?.pinnedRunnerId ?? child.status?.runnerId ?? ""}</td>
            <td>{child.status?.attempt ?? 0}</td>
            <td title={child.updateTime}>{relativeTime(child.updateTime)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function TaskPage({ id }: { id: string }) {
  const [task, setTask] = useState<Json>();
  const [error, setError] = useState<ApiError>();
  const [refresh, setRefresh] = useState(0);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    let close = () => {};
    setTask(undefined);
    setError(undefined);
    setAttempt(0);
    call("GET", `/v1/tasks/${encodeURIComponent(id)}`, undefined, controller.signal)
      .then(({ task: loaded }) => {
        setTask(loaded);
        const watch = `/v1/tasks:watch${query({ since_revision: loaded.revision ?? "0", "filter.id_prefix": id })}`;
        close = openStream(watch, {
          message(event) {
            if (event.task?.id !== id) return;
            if (event.type === "EVENT_TYPE_DELETED")
              setError(new Error("the task was deleted (retention)") as ApiError);
            else {
              setTask(event.task);
              setRefresh((n) => n + 1);
            }
          },
        });
      })
      .catch((e) => controller.signal.aborted || setError(e));
    return () => {
      controller.abort();
      close();
    };
  }, [id]);

  if (!task) return <div class="page">{error ? <ErrorBanner error={error} what="Task" /> : <p>Loading…</p>}</div>;
  const status = task.status ?? {};
  const terminal = isTerminal(task);
  const shownAttempt = attempt || status.attempt || 0;
  const parent = task.parentId || task.spec?.labels?.[PARENT_LABEL];
  return (
    <div class="page" data-task-page={task.id}>
      <div class="toolbar">
        <h1 class="mono">{task.id}</h1>
        <PhaseBadge phase={status.phase} />
        <div class="actions">
          {!terminal ? (
            <ActionButton
              method="CancelTask"
              label="Cancel"
              danger
              run={() => call("POST", `/v1/tasks/${encodeURIComponent(task.id)}:cancel`, { reason: "dashboard" })}
              done={(answer) => answer.task && setTask(answer.task)}
            />
          ) : (
            <ActionButton
              method="RerunTask"
              label="Rerun"
              run={() => call("POST", `/v1/tasks/${encodeURIComponent(task.id)}:rerun`, {})}
              done={(answer) => answer.task?.id && navigate(`/tasks/${answer.task.id}`)}
            />
          )}
        </div>
      </div>
      <ErrorBanner error={error} />
      <div class="grid">
        <Section title="Status">
          <dl class="fields" data-status>
            <Field name="phase">{shortEnum(status.phase) || "PENDING"}</Field>
            <Field name="reason">{status.reason ?? "—"}</Field>
            <Field name="message">{status.message ?? "—"}</Field>
            <Field name="attempt">{status.attempt ?? 0}</Field>
            <Field name="runner">{status.runnerId ?? "—"}</Field>
            <Field name="exit code">{status.exitCode ?? 0}</Field>
            <Field name="created">{absoluteTime(task.createTime)}</Field>
            <Field name="started">{absoluteTime(status.startTime)}</Field>
            <Field name="finished">{absoluteTime(status.finishTime)}</Field>
            {status.nextAttemptTime ? <Field name="next attempt">{absoluteTime(status.nextAttemptTime)}</Field> : null}
            {parent ? (
              <Field name="parent">
                <a href={`/tasks/${parent}`}>{shortId(parent)}</a>
              </Field>
            ) : null}
          </dl>
        </Section>
        <Section title="Explanation">
          <Explanation task={task} refresh={refresh} />
        </Section>
      </div>
      {status.fanOut ? (
        <Section title={`Fan-out children (${status.fanOut.children ?? 0})`}>
          <Children parentId={task.id} />
        </Section>
      ) : null}
      <Section title="Runs">
        <Runs taskId={task.id} refresh={refresh} attempt={shownAttempt} pick={setAttempt} />
      </Section>
      <Section title={`Output${shownAttempt ? ` — attempt ${shownAttempt}` : ""}`}>
        <OutputView
          key={`${shownAttempt}-${shortEnum(status.phase)}`}
          taskId={task.id}
          attempt={attempt}
          follow={!terminal}
        />
      </Section>
      <Section title="Spec">
        <p class="mono">{commandOf(task.spec)}</p>
        <p>{labelsOf(task.spec?.labels)}</p>
        <pre class="json">{JSON.stringify(task.spec, null, 2)}</pre>
      </Section>
    </div>
  );
}
