// Schedules: next fire times, pause/unpause, trigger now.
import { call, type Json, query } from "./api";
import { ActionButton, ErrorBanner } from "./common";
import { absoluteTime, commandOf, relativeTime, shortEnum } from "./format";
import { navigate } from "./router";
import { useRefreshing } from "./use-refreshing";

const when = (spec: Json) => spec?.cron ?? (spec?.interval ? `every ${spec.interval}` : "—");

export function SchedulesPage() {
  const { data, error, reload } = useRefreshing(`/v1/schedules${query({ page_size: 1000 })}`, 5000);
  const schedules: Json[] = data?.schedules ?? [];
  return (
    <div class="page">
      <div class="toolbar">
        <h1>Schedules</h1>
        <span class="muted">{schedules.length} shown</span>
      </div>
      <ErrorBanner error={error} what="Could not list schedules" />
      <table class="table" data-schedules>
        <thead>
          <tr>
            <th>id</th>
            <th>when</th>
            <th>runs</th>
            <th>next fires</th>
            <th>last fired</th>
            <th>fired</th>
            <th>overlap</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {schedules.map((s) => {
            const next: string[] = s.status?.nextFireTimes ?? [];
            const recent: string[] = s.status?.recentTaskIds ?? [];
            return (
              <tr data-schedule={s.id} class={s.paused ? "paused" : undefined}>
                <td class="mono">
                  {s.id}
                  {s.paused ? <span class="badge state-draining">PAUSED</span> : null}
                  {s.note ? <div class="muted">{s.note}</div> : null}
                </td>
                <td class="mono">
                  {when(s.spec)}
                  {s.spec?.timeZone ? <span class="muted"> {s.spec.timeZone}</span> : null}
                </td>
                <td class="mono ellipsis">{commandOf(s.task)}</td>
                <td>
                  {s.paused
                    ? "—"
                    : next.slice(0, 3).map((t) => (
                        <div title={absoluteTime(t)}>
                          {relativeTime(t)} <span class="muted">{absoluteTime(t)}</span>
                        </div>
                      ))}
                </td>
                <td>
                  {recent[0] ? (
                    <a href={`/tasks/${recent[0]}`}>{relativeTime(s.status?.lastFireTime)}</a>
                  ) : (
                    relativeTime(s.status?.lastFireTime)
                  )}
                </td>
                <td>{s.status?.fired ?? 0}</td>
                <td>{shortEnum(s.overlap)}</td>
                <td class="actions">
                  {s.paused ? (
                    <ActionButton
                      method="UnpauseSchedule"
                      label="Unpause"
                      run={() => call("POST", `/v1/schedules/${encodeURIComponent(s.id)}:unpause`, {})}
                      done={reload}
                    />
                  ) : (
                    <ActionButton
                      method="PauseSchedule"
                      label="Pause"
                      run={() => call("POST", `/v1/schedules/${encodeURIComponent(s.id)}:pause`, { note: "dashboard" })}
                      done={reload}
                    />
                  )}
                  <ActionButton
                    method="TriggerSchedule"
                    label="Trigger"
                    run={() => call("POST", `/v1/schedules/${encodeURIComponent(s.id)}:trigger`, {})}
                    done={(answer) => (answer.task?.id ? navigate(`/tasks/${answer.task.id}`) : reload())}
                  />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {data && schedules.length === 0 ? <p class="empty">No schedules.</p> : null}
    </div>
  );
}
