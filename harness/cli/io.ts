// What a command may touch of the outside world, passed in so tests run commands in-process.
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** stdout is a terminal: live progress redraws one line instead of printing periodic lines */
  isTTY: boolean;
  /** aborted on SIGINT/SIGTERM: commands stop, tear down, and exit non-zero */
  signal: AbortSignal;
  /**
   * Ends the command as Ctrl-C does (stop, tear down), for a failure found outside its own flow (a
   * log stream that cannot be written); the command then exits with `reason`'s line and code.
   */
  abort?(reason: Error): void;
  cwd: string;
}

/** Sets the exit code a command ends with (0 unless set). */
export interface CommandResult {
  exitCode: number;
}
