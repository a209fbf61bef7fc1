// The CLI in-process: every bad input gets one line and the right exit code, before anything
// starts (no state file, no process).
import { describe, expect, it } from 'vitest';
import { runCli } from './main.ts';
import type { CliIO } from './io.ts';

function capture(env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const io: CliIO = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env,
    isTTY: false,
    signal: new AbortController().signal,
    cwd: process.cwd(),
  };
  return { io, out: () => out, err: () => err };
}

async function bench(args: string[], env: Record<string, string> = {}) {
  const c = capture(env);
  const code = await runCli(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

describe('bench CLI: bad input', () => {
  it.each([
    [['run'], /--phase is required/],
    [['run', '--phase', '9'], /--phase 9 is out of range — use a value from 1 to 7/],
    [['run', '--phase', 'two'], /--phase "two" is not a whole number/],
    [['run', '--phase', '2', '--users', 'lots'], /--users "lots" is not a whole number — write it like 1e6/],
    [['run', '--phase', '2', '--users', '0'], /--users 0 is out of range/],
    [['run', '--phase', '2', '--duration', 'soon'], /--duration "soon" is not a duration/],
    [['run', '--phase', '2', '--rate', '-5'], /--rate "-5" is not a positive rate/],
    [['run', '--phase', '2', '--runtime', 'podman'], /--runtime "podman" is not one of native, docker, auto/],
    [['run', '--phase', '2', '--workload', 'nope'], /--workload "nope" is not a workload — choose one of mixed/],
    [['run', '--phase', '2', '--workload', '__proto__'], /--workload "__proto__" is not a workload/],
    [['run', '--phase', '2', '--workload', 'constructor'], /--workload "constructor" is not a workload/],
    [['run', '--phase', '2', '--workload', 'toString'], /--workload "toString" is not a workload/],
    [['run', '--phase', '3', '--app-servers', '0'], /--app-servers 0 is out of range/],
    [['run', '--phase', '3', '--replicas', '-1'], /--replicas -1 is out of range/],
    [['run', '--phase', '5', '--shards', '0'], /--shards 0 is out of range/],
    [['run', '--phase', '5', '--users', '3', '--shards', '4'], /--shards 4 is more than --users 3/],
    [['run', '--phase', '7', '--regions', '2'], /--regions 2 is out of range/],
    [['run', '--phase', '7', '--regions', '4'], /--regions 4 is out of range/],
    [['run', '--phase', '7', '--wan-latency', 'us-east=45ms'], /--wan-latency us-east=45ms is not <region>:<region>=<ms>/],
    [['up', '--phase', '7', '--wan-latency', 'us-east:ap=45ms'], /--wan-latency us-east:ap=45ms: no region ap in this deployment/],
    [['drill', 'datacenter-outage', '--phase', '7', '--wan-latency', 'us-east:eu=0'], /--wan-latency us-east:eu=0: a one-way latency is above 0 and at most 500 ms/],
    [['run', '--phase', '7', '--wan-latency', 'us-east:eu=45,eu:us-east=50'], /--wan-latency names eu:us-east twice/],
    [['run', '--phase', '6', '--wan-latency', 'us-east:eu=45'], /--wan-latency: phase 6 has no such option/],
    [['run', '--phase', '3', '--duration', '30s', '--chaos', 'kill:app-1@40s'], /chaos kill on app-1 at 40 s starts after the load ends \(30 s\)/],
    [['drill', 'dead-server', '--phase', '3', '--target', 'app-9'], /app-9 is not an app server \(drill dead-server\)/],
    [['drill', 'replica-loss', '--phase', '3', '--target', 'pg-nope'], /pg-nope is not a read replica/],
    [['run', '--phase', '2', '--prometheus-url', 'ftp://x'], /--prometheus-url "ftp:\/\/x" is not an http\(s\) URL/],
  ])('%j fails with one clear line and exit 2', async (args, message) => {
    const r = await bench(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('an unknown command or flag is a usage error', async () => {
    expect((await bench(['frobnicate'])).code).toBe(2);
    const r = await bench(['run', '--phase', '2', '--frob']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option '--frob'/);
  });

  it('reads BENCH_USERS from the environment, and flags win over it', async () => {
    expect((await bench(['run', '--phase', '2'], { BENCH_USERS: 'many' })).err).toMatch(/--users "many"/);
    expect((await bench(['run', '--phase', '2', '--users', 'x'], { BENCH_USERS: '10' })).err).toMatch(/--users "x"/);
  });

  it('compare on a missing file says so, exit 2', async () => {
    const r = await bench(['compare', '/nonexistent/base.json', '/nonexistent/head.json']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/base\.json/);
  });

  it('a command aborted for a failure (CliIO.abort) exits with that failure\'s line and code, Ctrl-C with 130', async () => {
    const { BenchError } = await import('../errors.ts');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const root = await mkdtemp('/tmp/bench-main-abort-');
    try {
      for (const [reason, code, line] of [
        [new BenchError('environment', 'writing the log x failed: ENOSPC', 'check the disk'), 3, /bench: writing the log x failed: ENOSPC — check the disk/],
        [new BenchError('interrupted', 'interrupted by SIGINT'), 130, /^$/],
      ] as const) {
        const c = capture({ BENCH_STATE_DIR: root, DOCKER_HOST: 'unix:///nonexistent.sock' });
        const ac = new AbortController();
        ac.abort(reason);
        c.io.signal = ac.signal;
        expect(await runCli(['status'], c.io)).toBe(code);
        expect(c.err()).toMatch(line);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('help and version exit 0', async () => {
    expect((await bench(['--help'])).code).toBe(0);
    const v = await bench(['--version']);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^\d+\.\d+\.\d+/);
  });
});
