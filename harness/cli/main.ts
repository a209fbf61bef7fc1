// The `bench` command: parses arguments, runs one command, and maps errors to exit codes. This
// is the only place that calls process.exit; Ctrl-C aborts the command, which tears down what it
// started, and the process then exits 130 (an interrupted run is never a success).
import { Command, CommanderError } from 'commander';
import { asBenchError, BenchError, ExitCode } from '../errors.ts';
import type { CliIO } from './io.ts';
import { commands } from './index.ts';
import { version } from '../run/version.ts';

/** Runs the CLI in-process and resolves to the exit code (tests call this directly). */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const setExit = (code: number) => {
    exitCode = Math.max(exitCode, code);
  };
  const program = new Command('bench')
    .description('load-testing and chaos benchmark harness for the scaling ladder of a web system')
    .version(version)
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  for (const register of commands) register(program, io, setExit);
  program.commands.forEach((c) => c.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) }));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its one-line message (help and version exit 0).
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage;
    }
    const e = io.signal.aborted && !(err instanceof BenchError && err.code !== 'interrupted') ? (abortedFor(io) ?? new BenchError('interrupted', 'interrupted', 'everything this run started was stopped')) : asBenchError(err);
    io.err(`bench: ${e.oneLine()}\n`);
    if (e.code === 'internal' && io.env.BENCH_DEBUG) io.err(`${(e.cause as Error)?.stack ?? ''}\n`);
    return e.exitCode;
  }
  if (io.signal.aborted) {
    const reason = abortedFor(io);
    if (reason) {
      io.err(`bench: ${reason.oneLine()}\n`);
      return reason.exitCode;
    }
    return ExitCode.interrupted;
  }
  return exitCode;
}

/** The failure an abort carried (CliIO.abort), or null for Ctrl-C. */
function abortedFor(io: CliIO): BenchError | null {
  const r: unknown = io.signal.reason;
  return r instanceof BenchError && r.code !== 'interrupted' ? r : null;
}

/** The process entry: real stdio, signals wired to an AbortController. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      process.stderr.write(`\nbench: ${sig} received: stopping and tearing down (again to force)\n`);
      controller.abort(new BenchError('interrupted', `interrupted by ${sig}`));
    } else {
      process.stderr.write('bench: forced exit; `bench down` removes what is left\n');
      process.exit(ExitCode.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `bench status | head`: the reader left. Output stops quietly and the command runs on to its
  // end (a run still tears down); any other stdout error is a real one.
  let stdoutGone = false;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    stdoutGone = true;
  });
  const io: CliIO = {
    abort: (reason) => {
      process.stderr.write(`\nbench: ${reason.message}: stopping and tearing down\n`);
      controller.abort(reason instanceof BenchError ? reason : new BenchError('environment', reason.message, 'see the message above', { cause: reason }));
    },
    out: (t) => {
      if (!stdoutGone) process.stdout.write(t);
    },
    err: (t) => process.stderr.write(t),
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
    signal: controller.signal,
    cwd: process.cwd(),
  };
  const code = await runCli(process.argv.slice(2), io);
  // Let stdout drain before exiting (piped output is asynchronous).
  if (stdoutGone) process.exit(code);
  process.stdout.write('', () => process.exit(code));
}

if (process.argv[1] && /bench(\.js)?$|main\.ts$/.test(process.argv[1])) {
  await main();
}
