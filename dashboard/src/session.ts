// Who the page acts as: the session's role decides which buttons are offered (the server decides the rest).
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Session } from "./api";

export const SessionContext = createContext<Session | undefined>(undefined);

/**
 * Whether the role may call `method` (e.g. "CancelTask"), and if not, why — to show beside a disabled button.
 * Unknown (session not loaded yet) allows: the server still refuses.
 */
export function useMay(method: string): { allowed: boolean; why?: string } {
  const session = useContext(SessionContext);
  if (session?.may[method] !== false) return { allowed: true };
  return {
    allowed: false,
    why: `read-only: the ${session.role} role (token "${session.name}") may not call ${method}`,
  };
}
