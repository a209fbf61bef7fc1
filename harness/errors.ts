// Errors with a code and a hint, mapped to exit codes in one place (harness/cli/main.ts).

/** Exit codes of the `bench` command. */
export const ExitCode = {
  ok: 0,
  /** thresholds or a drill's hypothesis failed */
  failed: 1,
  /** bad usage: a flag, an argument, a config file */
  usage: 2,
  /** the environment lacks a piece: a binary, a port, a daemon */
  environment: 3,
  /** interrupted by SIGINT/SIGTERM (128 + signal number is what shells report) */
  interrupted: 130,
  /** an unexpected internal failure */
  internal: 70,
} as const;

export type BenchErrorCode = 'usage' | 'environment' | 'failed' | 'interrupted' | 'internal';

/** An error a user can act on: `message` says what is wrong, `hint` what to do. */
export class BenchError extends Error {
  constructor(
    readonly code: BenchErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BenchError';
  }

  /** One line for a terminal: "what is wrong — what to do". */
  oneLine(): string {
    return this.hint ? `${this.message} — ${this.hint}` : this.message;
  }

  get exitCode(): number {
    return ExitCode[this.code];
  }
}

export const usageError = (message: string, hint?: string) => new BenchError('usage', message, hint);
export const envError = (message: string, hint?: string) => new BenchError('environment', message, hint);

/** Normalise anything thrown into a BenchError (unknown errors become 'internal'). */
export function asBenchError(err: unknown): BenchError {
  if (err instanceof BenchError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BenchError('internal', message, undefined, { cause: err });
}
