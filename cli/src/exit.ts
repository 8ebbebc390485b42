/** Exit codes scripts can rely on (69 is sysexits' EX_UNAVAILABLE, 124 timeout(1)'s, 130 a Ctrl-C). */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNAVAILABLE: 69, TIMEOUT: 124, INTERRUPTED: 130 } as const;

/** A failure the command explains itself (not a usage mistake, not a server error): one line, then `exitCode`. */
export class CommandFailure extends Error {
  override readonly name = "CommandFailure";
  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILED,
  ) {
    super(message);
  }
}
