import { readdirSync, readFileSync } from "node:fs";

/** Signals a whole process group. False when nothing is left in it to signal. */
export function signalGroup(groupId: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-groupId, signal);
    return true;
  } catch (error) {
    // ESRCH: the group is empty. EPERM: someone is there (a member that switched user), out of our reach.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** State and process group of a process, from /proc/<pid>/stat (Linux); undefined when it is gone. */
function stateAndGroup(pid: string): { state: string; groupId: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after its last ")".
  const [state = "", , groupId] = stat.slice(stat.lastIndexOf(")") + 2).split(" ", 3);
  return { state, groupId: Number(groupId) };
}

const isRunningMember = (pid: string, groupId: number) => {
  const info = stateAndGroup(pid);
  return info !== undefined && info.groupId === groupId && info.state !== "Z";
};

/**
 * A question to ask again and again: does the group still have a member that
 * is not a zombie? kill(-group, 0) alone says yes for a group of zombies, and
 * where init does not reap orphans (some containers) they stay forever; a
 * zombie runs nothing and holds no pipe, so it does not count. On Linux the
 * answer then comes from /proc: one file for the member found alive last time,
 * a scan of /proc only once that one is gone. Elsewhere kill's answer stands.
 */
export function groupLiveness(groupId: number): () => boolean {
  let lastRunning: string | undefined;
  return () => {
    if (!signalGroup(groupId, 0)) return false;
    if (process.platform !== "linux") return true;
    if (lastRunning !== undefined && isRunningMember(lastRunning, groupId)) return true;
    let entries: string[];
    try {
      entries = readdirSync("/proc");
    } catch {
      return true; // no /proc to look at: kill's answer stands
    }
    lastRunning = entries.find((entry) => /^\d+$/.test(entry) && isRunningMember(entry, groupId));
    return lastRunning !== undefined;
  };
}
