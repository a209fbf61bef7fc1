// RabbitMQ 3.10 (Debian's rabbitmq-server) as the broker of phase 6, started natively with
// everything of its own: node name, mnesia, logs, plugins and config in the service's directory,
// AMQP on the host's loopback address, its own epmd on its own port, and a user+password drawn
// per run (guest is never created: definitions loaded at boot skip the default user).
//
// epmd: rabbitmq-server would start `epmd -daemon`, which leaves the process group and outlives
// the node. The launch starts epmd itself (not daemonized) inside the service's process group,
// before the node, and records its pid in epmd.pid: the runtime's group stop takes it down with
// the node, and a test checks that pid is gone after down(). The node starts only once that epmd
// answers (`epmd -names`, bounded), and with `-start_epmd false`: a node that finds no epmd fails
// to start instead of leaving a daemon behind.
import { createHash, randomBytes } from 'node:crypto';
import { chown, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import amqp from 'amqplib';
import { z } from 'zod';
import { waitFor } from '../../harness/runtime/wait.ts';
import type { Endpoint } from '../../harness/topology/plan.ts';
import { RABBITMQ_PASSWORD, RABBITMQ_PASSWORD_ENV } from '../app/config.ts';
import type { ComponentKind, NativeContext } from './types.ts';

/** A broker takes no config of its own. */
const rabbitmqConfig = z.object({ kind: z.literal('rabbitmq') }).strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    rabbitmq: Omit<z.infer<typeof rabbitmqConfig>, 'kind'>;
  }
}

export { RABBITMQ_PASSWORD_ENV };

/** The per-run broker account (never guest); its password is drawn with the run's others (app/config.ts). */
export const RABBITMQ_CREDENTIALS = { user: 'bench', password: RABBITMQ_PASSWORD, vhost: '/' } as const;

/** Ports beside AMQP, on the host's own address (so two brokers on two hosts never clash). */
export const rabbitmqSidePorts = {
  /** the rabbitmq_prometheus plugin */
  prometheus: 15692,
} as const;

/** Where the recipe keeps epmd's port (chosen free at prepare, kept for restarts) and its pid. */
export const EPMD_PORT_FILE = 'epmd.port';
/**
 * Where it keeps the Erlang distribution port, chosen free on 127.0.0.1 at prepare. Not a fixed
 * 25672: the node listens on its host's address, but RabbitMQ's prelaunch checks the port on its
 * node's host name (localhost), so two brokers started at once on one machine (two runs, two test
 * files) refused each other with `dist_port_already_used` when both used 25672.
 */
export const DIST_PORT_FILE = 'dist.port';
export const EPMD_PID_FILE = 'epmd.pid';

const RABBIT_BIN_DIRS = ['/usr/lib/rabbitmq/bin'];

/** The broker's Prometheus endpoint. */
export function rabbitmqMetricsEndpoint(address: Endpoint): Endpoint {
  return { host: address.host, port: rabbitmqSidePorts.prometheus };
}

/** An amqp:// URL for the run's account at `at`. Pure. */
export function amqpUrl(at: Endpoint, credentials: { user: string; password: string } = RABBITMQ_CREDENTIALS): string {
  return `amqp://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@${at.host}:${at.port}/`;
}

/**
 * RabbitMQ's password hash (rabbit_password_hashing_sha256): base64(salt ++ sha256(salt ++ password)),
 * with a 4-byte salt. The definitions file holds this, never the password. Pure given the salt.
 */
export function rabbitPasswordHash(password: string, salt: Buffer = randomBytes(4)): string {
  const digest = createHash('sha256').update(Buffer.concat([salt, Buffer.from(password, 'utf8')])).digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

/** definitions.json loaded at boot: the vhost, the run's user with full rights on it. Pure given the hash. */
export function renderDefinitions(user: string, passwordHash: string): string {
  return JSON.stringify({
    users: [{ name: user, password_hash: passwordHash, hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['administrator'] }],
    vhosts: [{ name: '/' }],
    permissions: [{ user, vhost: '/', configure: '.*', write: '.*', read: '.*' }],
  }, null, 2) + '\n';
}

export interface RabbitConfigInput {
  address: Endpoint;
  dir: string;
  memoryMb: number;
}

/** rabbitmq.conf (new-style). It holds no secret: the user comes from definitions.json. Pure. */
export function renderRabbitConfig(c: RabbitConfigInput): string {
  return [
    '# rendered by targets/services/rabbitmq.ts',
    `listeners.tcp.default = ${c.address.host}:${c.address.port}`,
    // the run's account is not guest, and it must log in over the host's loopback address
    'loopback_users = none',
    `load_definitions = ${join(c.dir, 'definitions.json')}`,
    `prometheus.tcp.ip = ${c.address.host}`,
    `prometheus.tcp.port = ${rabbitmqSidePorts.prometheus}`,
    // per-queue series (backlog, consumers per queue): phase 6 has a handful of queues
    'prometheus.return_per_object_metrics = true',
    // the host's size, not the machine's RAM, is what the broker may count on; it blocks
    // publishers at 0.4 of it (its default watermark)
    `total_memory_available_override_value = ${c.memoryMb}MB`,
    // the machine's disk is shared: a 50 MB floor keeps the broker from raising a disk alarm
    // because of other engineers' files, while still catching a full disk
    'disk_free_limit.absolute = 50MB',
    // warnings and worse reach the runtime's log (stdout); everything goes to the log dir
    'log.console = true',
    'log.console.level = warning',
    'log.file.level = info',
    '',
  ].join('\n');
}

/** How often a quorum queue publishes its figures (RabbitMQ's default 5,000 ms). */
export const QUORUM_TICK_MS = 1000;

/** The environment of rabbitmq-server: every path in `dir` (ERL_EPMD_PORT and RABBITMQ_DIST_PORT are
 *  set by the launch's shell, from the files prepare wrote). Pure. */
export function rabbitEnv(c: { address: Endpoint; dir: string; nodeName: string }): Record<string, string> {
  const ip = c.address.host.split('.').join(',');
  return {
    // the Erlang cookie lands in $HOME
    HOME: c.dir,
    RABBITMQ_CONF_ENV_FILE: join(c.dir, 'rabbitmq-env.conf'),
    RABBITMQ_NODENAME: `${c.nodeName}@localhost`,
    RABBITMQ_CONFIG_FILE: join(c.dir, 'rabbitmq.conf'),
    RABBITMQ_MNESIA_BASE: join(c.dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(c.dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS: 'rabbitmq_prometheus',
    RABBITMQ_ENABLED_PLUGINS_FILE: join(c.dir, 'enabled_plugins'),
    RABBITMQ_PLUGINS_EXPAND_DIR: join(c.dir, 'plugins-expand'),
    RABBITMQ_PID_FILE: join(c.dir, 'rabbitmq.pid'),
    // distribution on the host's address only, never all interfaces; quorum queues refresh their
    // per-queue figures (ready, unacked: the Prometheus per-object series) at each tick, every 5 s
    // by default: a run samples the backlog once a second (harness/run/queue-sampler.ts)
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: `-start_epmd false -kernel inet_dist_use_interface {${ip}} -rabbit quorum_tick_interval ${QUORUM_TICK_MS}`,
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
}

/** A port free on 127.0.0.1 now (epmd always listens there, shared by every engineer's brokers). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Opens an AMQP connection as the run's user and closes it: proves the listener and the account. */
export async function amqpPing(at: Endpoint, timeoutMs = 2_000): Promise<void> {
  const conn = await amqp.connect(amqpUrl(at), { timeout: timeoutMs });
  conn.on('error', () => {});
  await conn.close();
}

/**
 * Writes the broker's files into its directory: the config (as `confName`, listening at
 * `address`), the definitions, an empty env file, the plugins, epmd's and the distribution's ports.
 */
async function writeRabbitFiles(ctx: NativeContext, address: Endpoint, confName: string): Promise<void> {
  const owner = await stat(ctx.dir);
  const files: [string, string][] = [
    [confName, renderRabbitConfig({ address, dir: ctx.dir, memoryMb: hostMemoryMb(ctx) })],
    ['definitions.json', renderDefinitions(RABBITMQ_CREDENTIALS.user, rabbitPasswordHash(RABBITMQ_CREDENTIALS.password))],
    // no /etc/rabbitmq/rabbitmq-env.conf: the system's settings must not leak into the run
    ['rabbitmq-env.conf', '# empty: every setting comes from the environment\n'],
    ['enabled_plugins', '[rabbitmq_prometheus].\n'],
    [EPMD_PORT_FILE, `${await freeLoopbackPort()}\n`],
    [DIST_PORT_FILE, `${await freeLoopbackPort()}\n`],
  ];
  for (const [name, text] of files) {
    const file = join(ctx.dir, name);
    await writeFile(file, text, { mode: 0o600 });
    // the node runs as the directory's owner (rabbitmq when the harness is root)
    await chown(file, owner.uid, owner.gid).catch(() => {});
  }
}

/**
 * In a container the broker listens on its alias's address on the run network, which RabbitMQ's
 * listeners and Erlang's distribution take only as an IP: prepare renders the config with this
 * placeholder, and the container's start puts the address its alias resolves to in its place.
 */
export const DOCKER_ADDRESS_PLACEHOLDER = '@ADDR@';
/** The template prepare writes in a container's directory; the start renders rabbitmq.conf from it. */
export const DOCKER_CONF_TEMPLATE = 'rabbitmq.conf.tmpl';

/**
 * The shell prologue of a container's start: resolves `$ALIAS` (the service's alias) in the
 * container, renders rabbitmq.conf from the template with that address, and binds the Erlang
 * distribution to it (never every interface). Pure.
 */
export function dockerStartPrologue(alias: string): string {
  return [
    `ip=$(getent hosts ${alias} | cut -d' ' -f1 | head -n1)`,
    `[ -n "$ip" ] || { echo "rabbitmq: ${alias} does not resolve in the container" >&2; exit 3; }`,
    `sed "s/${DOCKER_ADDRESS_PLACEHOLDER}/$ip/g" ${DOCKER_CONF_TEMPLATE} > rabbitmq.conf`,
    `RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-start_epmd false -kernel inet_dist_use_interface {$(echo "$ip" | tr . ,)} -rabbit quorum_tick_interval ${QUORUM_TICK_MS}"`,
    'export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS',
  ].join(' && ');
}

function hostMemoryMb(ctx: NativeContext): number {
  return ctx.plan.hosts.find((h) => h.name === ctx.service.host)?.size.memoryMb ?? 512;
}

export const rabbitmqRecipe: ComponentKind = {
  kind: 'rabbitmq',
  config: rabbitmqConfig,
  ports: { main: 5672, side: { ...rabbitmqSidePorts } },
  // the report's cache/queue row
  tier: 'cache',
  // doctor lists it without asking its version: rabbitmq-server has no version flag (it would
  // start a node), and `rabbitmqctl version` leaves an epmd daemon listening on every interface.
  // pinned to Debian's 3.10 that --images local runs; its user is rabbitmq (999:999) in the image
  image: { official: 'rabbitmq:3.10.25', users: { rabbitmq: '999:999' } },
  scrape: { job: 'rabbitmq', sidePort: 'prometheus' },
  requires: [
    { binary: 'rabbitmq-server', paths: RABBIT_BIN_DIRS, debianPackage: 'rabbitmq-server', inImage: '/opt/rabbitmq/sbin/rabbitmq-server', doctor: { name: 'RabbitMQ', neededFor: 'message broker (phase 6)', versionArgs: null } },
    // the official image builds Erlang from source under /usr/local
    { binary: 'epmd', debianPackage: 'erlang-base', inImage: '/usr/local/bin/epmd' },
  ],
  async prepare(ctx) {
    await writeRabbitFiles(ctx, ctx.service.address, 'rabbitmq.conf');
  },
  launch(ctx) {
    const env = rabbitEnv({ address: ctx.service.address, dir: ctx.dir, nodeName: `bench-${ctx.service.name}` });
    return {
      command: '/bin/sh',
      // epmd's port from the file prepare wrote (launch is also called before prepare, so it reads
      // no file itself); epmd first, in this process group, its pid kept; the node once it answers
      // (at most 10 s: past that the node starts anyway and, with -start_epmd false, says why it cannot)
      args: ['-c', `ERL_EPMD_PORT=$(cat ${EPMD_PORT_FILE}) && RABBITMQ_DIST_PORT=$(cat ${DIST_PORT_FILE}) && export ERL_EPMD_PORT RABBITMQ_DIST_PORT && { "$1" -address 127.0.0.1 -port "$ERL_EPMD_PORT" & echo $! > ${EPMD_PID_FILE}; } && i=0 && until "$1" -port "$ERL_EPMD_PORT" -names >/dev/null 2>&1 || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.1; done && exec "$2"`, 'rabbitmq', ctx.bin('epmd'), ctx.bin('rabbitmq-server')],
      env,
      cwd: ctx.dir,
      // when root: Debian's rabbitmq user, as the field notes say
      user: 'rabbitmq',
    };
  },
  async ready(ctx) {
    await rabbitReady(ctx.service.address, rabbitmqMetricsEndpoint(ctx.service.address), ctx.signal);
  },
  docker: {
    async prepare(ctx, { native }) {
      await writeRabbitFiles(native, { host: DOCKER_ADDRESS_PLACEHOLDER, port: native.service.address.port }, DOCKER_CONF_TEMPLATE);
    },
    async process(ctx, { native, toProcess }) {
      const launch = rabbitmqRecipe.launch(native);
      const [flag, script, ...rest] = launch.args;
      return toProcess({ ...launch, args: [flag!, `${dockerStartPrologue(native.service.address.host)} && ${script!}`, ...rest] });
    },
    async ready(ctx) {
      // the metrics port is published beside AMQP, at its own host port
      await rabbitReady(ctx.service.address, ctx.published(rabbitmqSidePorts.prometheus), ctx.signal);
    },
  },
};

/** Ready: the run's user logs in over AMQP, and the Prometheus plugin answers. */
async function rabbitReady(at: Endpoint, metrics: Endpoint, signal: AbortSignal): Promise<void> {
  await waitFor.until(`AMQP login at ${at.host}:${at.port}`, async (left) => {
    await amqpPing(at, Math.min(left, 2_000));
    return true;
  }, { timeoutMs: 90_000, signal });
  await waitFor.http(`http://${metrics.host}:${metrics.port}/metrics`, { status: 200, body: /^rabbitmq_build_info/m, timeoutMs: 15_000, signal });
}

/** epmd's pid as the launch recorded it (null when the file is missing). */
export async function epmdPid(dir: string): Promise<number | null> {
  const text = await readFile(join(dir, EPMD_PID_FILE), 'utf8').catch(() => '');
  const n = Number(text.trim());
  return Number.isInteger(n) && n > 0 ? n : null;
}
