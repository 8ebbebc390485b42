// Keyboard shortcuts: a page registers the keys it answers; typing in a field never triggers them.
import { useEffect, useRef } from "preact/hooks";

const typing = (target: EventTarget | null) =>
  target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));

/** Calls `onKey(key)` for plain key presses outside fields; it returns true when it used the key. */
export function useKeys(onKey: (key: string, event: KeyboardEvent) => boolean | undefined): void {
  const handler = useRef(onKey);
  handler.current = onKey;
  useEffect(() => {
    const listener = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      if (handler.current(event.key, event)) event.preventDefault();
    };
    addEventListener("keydown", listener);
    return () => removeEventListener("keydown", listener);
  }, []);
}

export const SHORTCUTS: [string, string][] = [
  ["/", "focus the filter"],
  ["j / k", "next / previous row"],
  ["Enter", "open the selected row"],
  ["n / p", "older / newer page"],
  ["g o", "overview"],
  ["g t", "tasks"],
  ["g r", "runners"],
  ["g s", "schedules"],
  ["t", "light / dark theme"],
  ["Esc", "leave a field, close this help"],
  ["?", "this help"],
];
