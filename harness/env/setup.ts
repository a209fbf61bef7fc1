// `bench setup`: installs what the native runtime needs on Debian/Ubuntu. Idempotent: it only
// installs what doctor finds missing, and says what it did.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { envError } from '../errors.ts';
import { components, type Component } from './components.ts';
import { inspect, noteOn, versionOf } from './doctor.ts';
import { repoRoot, toolsBin, which } from './which.ts';
import { ensureBundle } from '../../targets/app/bundle.ts';
import { installMaven } from './maven.ts';

/** The longest `mvn dependency:copy-dependencies` may take (12.7 s with an empty ~/.m2 here). */
export const MAVEN_TIMEOUT_S = 600;

export interface SetupOptions {
  /** also the tools tests and benchmarks use (wrk, chromium, docker.io; never k6, which the user installs) */
  all: boolean;
  dryRun: boolean;
  log: (line: string) => void;
}

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv, log: (l: string) => void): Promise<void> {
  log(`$ ${cmd} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (d: Buffer) => {
      tail = (tail + d.toString()).slice(-2000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (e) => reject(envError(`${cmd} could not start: ${e.message}`, 'is it installed?')));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(envError(`${cmd} ${args.slice(0, 3).join(' ')} failed (exit ${code}): ${tail.trim().split('\n').slice(-3).join(' | ')}`, 'see the output above')),
    );
  });
}

/**
 * Debian starts a package's system service on install: RabbitMQ, etcd and PowerDNS would listen on
 * every interface, and the harness starts its own instances on loopback anyway. A policy-rc.d that
 * exits 101 forbids the starts for the install. Put there only when the machine has none, and removed
 * afterwards only if put there here (the returned function); a machine's own policy is left alone.
 */
export function forbidServiceStarts(path = '/usr/sbin/policy-rc.d'): () => void {
  if (existsSync(path)) return () => {};
  writeFileSync(path, '#!/bin/sh\n# written by bench setup for one apt-get install: no service starts\nexit 101\n', { flag: 'wx' });
  chmodSync(path, 0o755);
  return () => rmSync(path, { force: true });
}

export async function setup(options: SetupOptions): Promise<{ installed: string[]; present: string[] }> {
  const wanted = components().filter((c) => c.required || (options.all && c.install.kind !== 'manual'));
  const status = await inspect(wanted);
  const missing = status.filter((s) => !s.path).map((s) => s.component);
  const present = status.filter((s) => s.path).map((s) => s.component.name);
  const installed: string[] = [];
  // the app starts from a prebuilt bundle: build it here rather than during the first deploy
  if (!options.dryRun) {
    const b = await ensureBundle({ repoRoot });
    options.log(`app bundle: ${b.built ? `built in ${b.seconds.toFixed(1)} s` : 'up to date'} (${b.dir})`);
  }
  if (missing.length === 0) {
    options.log('Nothing to install: every component is present.');
    return { installed, present };
  }
  const apt = [...new Set(missing.flatMap((c) => (c.install.kind === 'apt' ? c.install.packages : [])))];
  const goTools = missing.filter((c): c is Component & { install: { kind: 'go' } } => c.install.kind === 'go');
  const mavenJars = missing.filter((c): c is Component & { install: { kind: 'maven' } } => c.install.kind === 'maven');
  // Toxiproxy is built with Go: make sure Go comes with the apt batch when it is missing.
  if (goTools.length > 0 && !which('go', ['/usr/local/go/bin'])) apt.push('golang-go');
  // Kafka's jars come through Maven (and run on the Java a kind lists as its own requirement)
  if (mavenJars.length > 0 && !which('mvn')) apt.push('maven');
  if (apt.length > 0) {
    if (process.getuid?.() !== 0) {
      throw envError(`setup needs root to install ${apt.join(', ')}`, `run: sudo apt-get install -y ${apt.join(' ')}`);
    }
    if (!which('apt-get')) throw envError('apt-get not found: bench setup knows Debian and Ubuntu', `install by hand: ${apt.join(', ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (!options.dryRun) {
      await exec('apt-get', ['update', '-q'], env, options.log);
      const allowStarts = forbidServiceStarts();
      try {
        await exec('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...apt], env, options.log);
      } finally {
        allowStarts();
      }
    } else options.log(`would run: apt-get install -y ${apt.join(' ')}`);
    installed.push(...apt.map((p) => `${p} (apt)`));
  }
  const goComponent = components().find((c) => c.binary === 'go')!;
  for (const c of goTools) {
    const go = which('go', goComponent.paths);
    if (!go && !options.dryRun) throw envError(`go not found to build ${c.name}`, 'run: apt-get install -y golang-go');
    if (go) {
      // a too-old Go fails deep in the module download with a cryptic toolchain error: say it first
      const version = await versionOf(go, goComponent.versionArgs ?? ['version']);
      const { tooOld } = noteOn(goComponent, version);
      if (tooOld) throw envError(`${go} is ${version ?? 'an unknown version'}, too old to build ${c.name}: ${goComponent.minVersion!.why}`, goComponent.minVersion!.hint);
    } else options.log(`would check that the Go apt installs is >= ${goComponent.minVersion!.version} (Debian 12's golang-go is 1.19: too old)`);
    mkdirSync(toolsBin, { recursive: true });
    if (!options.dryRun) {
      await exec(go!, ['install', c.install.module], { ...process.env, GOBIN: toolsBin, CGO_ENABLED: '0' }, options.log);
      const built = join(toolsBin, c.install.binary);
      if (c.install.binary !== c.install.buildName && existsSync(built)) renameSync(built, join(toolsBin, c.install.buildName));
    } else options.log(`would build ${c.install.module} into ${toolsBin}`);
    installed.push(`${c.install.buildName} (go, ${c.install.module})`);
  }
  for (const c of mavenJars) {
    const mvn = which('mvn');
    if (!options.dryRun) {
      if (!mvn) throw envError(`mvn not found to assemble ${c.name}`, 'run: apt-get install -y maven');
      const t0 = performance.now();
      // bounded: a Maven Central that stops answering must not hold setup (and CI) forever
      const jars = await installMaven(c.install, c.name, mvn, (cmd, args) => exec('timeout', [String(MAVEN_TIMEOUT_S), cmd, ...args], process.env, options.log));
      options.log(`${c.name}: ${jars} jars in ${c.install.home}/libs (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    } else options.log(`would assemble ${c.install.artifacts.join(', ')} with mvn into ${c.install.home}/libs`);
    installed.push(`${c.name} (maven, ${c.install.home})`);
  }
  return { installed, present };
}
