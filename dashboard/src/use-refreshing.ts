// Runners and schedules have no watch stream: their pages read again every few seconds and after each action.
import { useEffect, useState } from "preact/hooks";
import { type ApiError, call, type Json } from "./api";

export function useRefreshing(path: string, everyMs: number) {
  const [data, setData] = useState<Json>();
  const [error, setError] = useState<ApiError>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    call("GET", path, undefined, controller.signal)
      .then((answer) => {
        setData(answer);
        setError(undefined);
      })
      .catch((e) => controller.signal.aborted || setError(e));
    const timer = setTimeout(() => setTick((n) => n + 1), everyMs);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [path, tick]);
  return { data, error, reload: () => setTick((n) => n + 1) };
}
