// Small pieces every page uses: phase badges, error banners, buttons that call the API by role.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import type { ApiError, Json } from "./api";
import { shortEnum } from "./format";
import { useMay } from "./session";

export function PhaseBadge({ phase }: { phase: string | undefined }) {
  const name = shortEnum(phase) || "PENDING";
  return <span class={`badge phase-${name.toLowerCase()}`}>{name}</span>;
}

export function ErrorBanner({ error, what }: { error: ApiError | Error | undefined; what?: string }) {
  if (!error) return null;
  const api = error as Partial<ApiError>;
  const denied = api.code === 7;
  return (
    <div class={`banner ${denied ? "banner-denied" : "banner-error"}`} role="alert" data-error-reason={api.reason}>
      <strong>{denied ? "Refused (PERMISSION_DENIED)" : (what ?? "Failed")}</strong>
      {api.reason ? <code>{api.reason}</code> : null} {error.message}
    </div>
  );
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" id={id}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/**
 * A button for one write RPC (`method`, e.g. "CancelTask"): disabled with the reason when the role may
 * not call it, busy while the call runs, and the server's refusal shown beside it if it comes anyway.
 */
export function ActionButton(props: {
  method: string;
  label: string;
  run: () => Promise<Json>;
  done?: (answer: Json) => void;
  confirm?: string;
  danger?: boolean;
}) {
  const may = useMay(props.method);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const click = async () => {
    if (props.confirm && !window.confirm(props.confirm)) return;
    setBusy(true);
    setError(undefined);
    try {
      props.done?.(await props.run());
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button
        type="button"
        class={props.danger ? "danger" : undefined}
        disabled={!may.allowed || busy}
        title={may.why}
        data-action={props.method}
        onClick={click}
      >
        {props.label}
      </button>
      {!may.allowed ? <span class="hint">{may.why}</span> : null}
      {error ? <ErrorBanner error={error} what={`${props.label} failed`} /> : null}
    </span>
  );
}
