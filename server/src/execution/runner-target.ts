import type { RemoteRunner } from "./remote-runner.js";
import type { RunnerSession } from "./runner-session.js";

/**
 * A runner dispatch may give work to: one whose stream is on this server (a RunnerSession), or — on the
 * leader of several servers — one whose stream is on another server (a RemoteRunner), which that server
 * serves: it learns of the assign from the journal and sends it.
 */
export type RunnerTarget = RunnerSession | RemoteRunner;
