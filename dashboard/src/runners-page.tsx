// Runners: capacity bars, state, drain and undrain for roles that may.
import { call, type Json, query } from "./api";
import { ActionButton, ErrorBanner } from "./common";
import { labelsOf, relativeTime, shortEnum } from "./format";
import { useRefreshing } from "./use-refreshing";

export function CapacityBar({ used, total }: { used: number; total: number }) {
  const percent = total > 0 ? Math.min(100, Math.round((used / total) * 100)) : 0;
  return (
    <span class="capacity" title={`${used} of ${total}`}>
      <progress max={total || 1} value={used} />
      <span>
        {used}/{total}
      </span>
      <span class="muted">{percent}%</span>
    </span>
  );
}

export function RunnersPage() {
  const { data, error, reload } = useRefreshing(`/v1/runners${query({ page_size: 1000 })}`, 3000);
  const runners: Json[] = data?.runners ?? [];
  return (
    <div class="page">
      <div class="toolbar">
        <h1>Runners</h1>
        <span class="muted">{runners.length} shown</span>
      </div>
      <ErrorBanner error={error} what="Could not list runners" />
      <table class="table" data-runners>
        <thead>
          <tr>
            <th>name</th>
            <th>state</th>
            <th>capacity</th>
            <th>kinds</th>
            <th>labels</th>
            <th>heartbeat</th>
            <th>version</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {runners.map((r) => {
            const state = shortEnum(r.state);
            return (
              <tr data-runner={r.name}>
                <td title={r.id}>{r.name}</td>
                <td>
                  <span class={`badge state-${state.toLowerCase()}`}>{state}</span>
                </td>
                <td>
                  <CapacityBar used={r.running ?? 0} total={r.capacity ?? 0} />
                </td>
                <td>{(r.kinds ?? []).join(", ")}</td>
                <td class="ellipsis">{labelsOf(r.labels)}</td>
                <td title={r.lastHeartbeatTime}>{relativeTime(r.lastHeartbeatTime)}</td>
                <td class="mono">{r.version ?? ""}</td>
                <td>
                  {state === "DRAINING" ? (
                    <ActionButton
                      method="UndrainRunner"
                      label="Undrain"
                      run={() => call("POST", `/v1/runners/${encodeURIComponent(r.id)}:undrain`, {})}
                      done={reload}
                    />
                  ) : state === "CONNECTED" ? (
                    <ActionButton
                      method="DrainRunner"
                      label="Drain"
                      run={() => call("POST", `/v1/runners/${encodeURIComponent(r.id)}:drain`, {})}
                      done={reload}
                    />
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {data && runners.length === 0 ? <p class="empty">No runners connected.</p> : null}
    </div>
  );
}
