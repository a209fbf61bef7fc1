// For the phases' integration tests: bring a phase up on the native runtime in a private state
// root and a machine-wide reserved slot, with small helpers to talk to its services.
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { request } from 'undici';
import { createNativeRuntime } from '../../../harness/runtime/native.ts';
import { disposeAfterFailedUp, processesMentioning, testRoot, type TestRoot } from '../../../harness/runtime/testing/run-helpers.ts';
import type { Deployment } from '../../../harness/runtime/types.ts';
import { plan, serviceOf, type DeployPlan } from '../../../harness/topology/plan.ts';
import type { PhaseOptions } from '../../../harness/topology/types.ts';
import { phases } from '../index.ts';

export interface PhaseUnderTest {
  plan: DeployPlan;
  dep: Deployment;
  /** http://ip:port of a service (its own address, not through a proxy) */
  url(service: string): string;
  /** what the runtime printed while starting, for a failure's message */
  progress: string[];
  dispose(): Promise<void>;
  /** Stops the phase like dispose() and says what of it outlived the stop: the pids of its
   *  services still alive, and any process that mentions its run directory (Patroni's detached
   *  PostgreSQL would). Both empty for a clean stop. */
  disposeReportingLeftovers(): Promise<{ alive: number[]; mentioning: { pid: number; cmdline: string }[] }>;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Deploys phase `n` with `options` (Toxiproxy on every edge, no Prometheus). */
export async function deployPhase(n: number, options: PhaseOptions, name: string): Promise<PhaseUnderTest> {
  const t: TestRoot = await testRoot(name);
  const progress: string[] = [];
  const p = plan(phases.get(n)!.topology(options), { runId: `${name}-${process.pid}`, slot: t.slot, proxies: true, prometheus: false });
  let dep: Deployment;
  try {
    dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress: (l) => progress.push(l) });
  } catch (e) {
    await disposeAfterFailedUp(t, p.runId, e);
    throw e;
  }
  return {
    plan: p,
    dep,
    progress,
    url: (service) => {
      const a = serviceOf(p, service).address;
      return `http://${a.host}:${a.port}`;
    },
    async dispose() {
      await dep.down();
      await t.dispose();
    },
    async disposeReportingLeftovers() {
      const pids = [...dep.services.values()].map((s) => Number(s.id));
      await dep.down();
      const left = { alive: pids.filter(isAlive), mentioning: processesMentioning(join(t.root, 'runs', p.runId)) };
      await t.dispose();
      return left;
    },
  };
}

/** The suite's afterAll for a phase from deployPhase: stops it, and expects none of its services
 *  alive and no process mentioning its run directory (Patroni's detached PostgreSQL would). */
export function disposeCleanAfterAll(phase: () => PhaseUnderTest | undefined): void {
  afterAll(async () => {
    const ph = phase();
    if (!ph) return;
    const left = await ph.disposeReportingLeftovers();
    expect(left.alive).toEqual([]);
    expect(left.mentioning).toEqual([]);
  }, 90_000);
}

export interface JsonResponse<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** One HTTP request with a JSON body (if any); answers the parsed JSON (or the text). */
export async function http<T = any>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
  const res = await request(url, {
    method: method as 'GET',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.statusCode, headers: res.headers, body: parsed as T };
}

/** Creates users with explicit ids through `base` (the balancer): the seeder for a handful of rows. */
export async function createUsers(base: string, ids: readonly number[]): Promise<void> {
  for (const id of ids) {
    const res = await http('POST', `${base}/api/users`, { id, name: `user ${id}`, email: `u${id}@example.test` });
    if (res.status !== 201) throw new Error(`POST /api/users id ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  }
}
