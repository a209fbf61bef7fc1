// Apache Kafka 4 in KRaft mode, one node that is its own controller, as phase 6's broker under
// `--broker kafka`. Debian packages no Kafka: `bench setup --all` assembles its jars from Maven
// Central into the project's .tools/kafka/<version>/libs (harness/env/maven.ts) with a small
// launcher beside them (bin/kafka-java: java with those jars on the classpath), and that launcher
// is the requirement: setup writes it only after every jar is in place.
//
// Both listeners (clients and the controller) are on the host's own loopback address; the log
// dirs are in the service's directory, formatted by StorageTool at prepare; the heap is bounded by
// the host's memory size. Readiness is a metadata request answered by the broker, not an open port
// (the port opens before the controller has elected itself). Under `--runtime docker` the same
// launch runs in a container (the `docker` hooks at the end: the format in a one-off container,
// the listeners on the container's alias).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { BenchError } from '../../harness/errors.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import { runCommand } from '../../harness/runtime/process.ts';
import { repoRoot } from '../../harness/env/which.ts';
import type { Endpoint } from '../../harness/topology/plan.ts';
import { kafkaPing } from './kafka-client.ts';
import type { ComponentKind, NativeContext, NativeLaunch } from './types.ts';

export { kafkaClient, kafkaPing } from './kafka-client.ts';

/** A broker takes no config of its own. */
const kafkaConfig = z.object({ kind: z.literal('kafka') }).strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    kafka: Omit<z.infer<typeof kafkaConfig>, 'kind'>;
  }
}

export const KAFKA_VERSION = '4.1.1';
/** The Maven coordinates setup copies with their dependencies (94 jars for 4.1.1). slf4j-reload4j:
 *  Kafka logs through slf4j, and without a binding every line of it is dropped. */
export const KAFKA_ARTIFACTS: readonly string[] = [
  `org.apache.kafka:kafka_2.13:${KAFKA_VERSION}`,
  `org.apache.kafka:kafka-storage:${KAFKA_VERSION}`,
  `org.apache.kafka:kafka-tools:${KAFKA_VERSION}`,
  'org.slf4j:slf4j-reload4j:1.7.36',
];
/** The Prometheus JMX exporter, as a -javaagent of the broker's JVM (Kafka's figures are JMX beans). */
export const JMX_EXPORTER_VERSION = '1.0.1';
export const JMX_EXPORTER_ARTIFACT = `io.prometheus.jmx:jmx_prometheus_javaagent:${JMX_EXPORTER_VERSION}`;
/** Where setup assembles this version (the launcher in bin/, the jars in libs/, the agent in
 *  agents/). The exporter's version is in the name: the launcher is what tells an install apart
 *  from none, so an assembly made before the agent was part of it must not pass for one. */
export const kafkaHome = (root: string = repoRoot) => join(root, '.tools', 'kafka', `${KAFKA_VERSION}+jmx${JMX_EXPORTER_VERSION}`);
export const KAFKA_LAUNCHER = 'kafka-java';
/** The agent's jar, beside the libs (not on the classpath), found from the launcher's path
 *  (<home>/bin/<launcher>). Pure. */
export const kafkaAgentJar = (launcher: string) => join(dirname(dirname(launcher)), 'agents', `jmx_prometheus_javaagent-${JMX_EXPORTER_VERSION}.jar`);

/** Ports beside the clients' listener, on the same address: the controller's, and the JMX
 *  exporter agent's HTTP server (what Prometheus scrapes, job `kafka`). */
export const kafkaSidePorts = { controller: 9093, prometheus: 9404 } as const;

/** Apache's own image of this version (Kafka in /opt/kafka, its JRE on the image's PATH). */
export const KAFKA_OFFICIAL_IMAGE = `apache/kafka:${KAFKA_VERSION}`;
/** The image's launcher of a class with Kafka's jars on the classpath: what kafka-java is here. */
export const KAFKA_IMAGE_RUN_CLASS = '/opt/kafka/bin/kafka-run-class.sh';

/**
 * A launch of the launcher (`kafka-java <JVM flags> <main class> <args>`) as the official image's
 * kafka-run-class.sh takes it: the class and its arguments, the JVM's flags in its environment
 * (the heap in KAFKA_HEAP_OPTS, the rest in KAFKA_OPTS, which the script splits on spaces: the
 * run's paths have none). The reload4j config is left out: the image's Kafka logs through log4j2,
 * with the script's own config (warnings to the console). Pure.
 */
export function runClassLaunch(launch: NativeLaunch): NativeLaunch {
  const main = launch.args.findIndex((a) => !a.startsWith('-'));
  if (main < 0) throw new BenchError('internal', `kafka launch without a main class: ${launch.args.join(' ')}`);
  const jvm = launch.args.slice(0, main);
  const heap = jvm.filter((a) => /^-Xm[sx]/.test(a));
  const opts = jvm.filter((a) => !/^-Xm[sx]/.test(a) && !a.startsWith('-Dlog4j.configuration='));
  return { ...launch, command: KAFKA_IMAGE_RUN_CLASS, args: launch.args.slice(main), env: { ...launch.env, KAFKA_HEAP_OPTS: heap.join(' '), KAFKA_OPTS: opts.join(' ') } };
}

/** The exporter agent for an official-image broker: the image has none, so this machine's (from
 *  bench setup), mounted read-only at the same path. Throws when setup has not fetched it. */
function officialAgentJar(root: string): string {
  const jar = kafkaAgentJar(join(kafkaHome(root), 'bin', KAFKA_LAUNCHER));
  if (!existsSync(jar)) {
    throw new BenchError('environment', `the Kafka image has no JMX exporter agent, and this machine's ${jar} is missing`, 'run: bench setup --all (it fetches the agent), or use --images local');
  }
  return jar;
}

/** The single node's id (its own voter). */
const NODE_ID = 1;

/**
 * The heap, in MB, for a host of `memoryMb`: half of it (the rest is page cache, metaspace and
 * direct buffers, which Kafka leans on), between 128 and 1024. Pure.
 */
export function kafkaHeapMb(memoryMb: number): number {
  return Math.max(128, Math.min(1024, Math.floor(memoryMb / 2)));
}

export interface KafkaConfigInput {
  address: Endpoint;
  dir: string;
  /** default partitions of a topic created without a count (phase 6 creates its own) */
  partitions: number;
}

/** server.properties for one KRaft node on `address`. Pure. */
export function renderKafkaProperties(c: KafkaConfigInput): string {
  const h = c.address.host;
  return [
    '# rendered by targets/services/kafka.ts',
    'process.roles=broker,controller',
    `node.id=${NODE_ID}`,
    `controller.quorum.voters=${NODE_ID}@${h}:${kafkaSidePorts.controller}`,
    // both listeners on the host's loopback address: never 0.0.0.0
    `listeners=PLAINTEXT://${h}:${c.address.port},CONTROLLER://${h}:${kafkaSidePorts.controller}`,
    `advertised.listeners=PLAINTEXT://${h}:${c.address.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(c.dir, 'data')}`,
    `num.partitions=${c.partitions}`,
    // one node: the internal topics cannot have more replicas than there are brokers
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'min.insync.replicas=1',
    // topics are declared by their users with their partition counts: a typo must not create one
    'auto.create.topics.enable=false',
    // the first consumer of a group starts at once (the default waits 3 s for others to join)
    'group.initial.rebalance.delay.ms=0',
    // the floor of a (classic-protocol, kafkajs) consumer's session timeout: a dead consumer's
    // partitions move to the rest of its group after that timeout, so workers ask for a short one
    'group.min.session.timeout.ms=3000',
    // a small machine: few threads
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'log.cleaner.threads=1',
    '',
  ].join('\n');
}

/** log4j (reload4j) config: warnings to the console (the runtime's log), nothing else. Pure. */
export function renderKafkaLog4j(): string {
  return [
    'log4j.rootLogger=WARN, stdout',
    'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
    'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
    '',
  ].join('\n');
}

/** A KRaft cluster id: 16 random bytes, base64url without padding (what StorageTool expects). */
export function newClusterId(bytes: Buffer = randomBytes(16)): string {
  const id = bytes.toString('base64url');
  // StorageTool's argument parser takes an id that starts with '-' (1 draw in 64) for a flag and
  // refuses to format: draw again, as Kafka's own Uuid.randomUuid does
  return id.startsWith('-') ? newClusterId() : id;
}

function hostMemoryMb(ctx: NativeContext): number {
  return ctx.plan.hosts.find((h) => h.name === ctx.service.host)?.size.memoryMb ?? 512;
}

/**
 * The JMX exporter's rules (config.yaml, written at prepare): which of the broker's beans become
 * which kafka_* series. Only the beans listed are walked (a scrape of every bean costs the broker
 * CPU a small machine does not have); a bean no rule matches is not exported. Consumer-group lag is
 * NOT here: a broker has no JMX bean for it (lag is the log-end offset minus a group's committed
 * offset, and only the consumers' own client beans carry it); per-partition log-end offsets are,
 * and bench samples the lag itself through the admin API (harness/run/kafka-lag.ts). Pure.
 */
export function renderJmxExporterConfig(): string {
  return [
    '# rendered by targets/services/kafka.ts',
    'lowercaseOutputName: true',
    'lowercaseOutputLabelNames: true',
    'includeObjectNames:',
    '  - "kafka.server:type=ReplicaManager,*"',
    '  - "kafka.server:type=BrokerTopicMetrics,*"',
    '  - "kafka.network:type=RequestMetrics,name=RequestsPerSec,*"',
    '  - "kafka.controller:type=KafkaController,*"',
    '  - "kafka.log:type=Log,*"',
    'rules:',
    // partitions led by this broker, under-replicated ones (always 0 on one node: a replica count
    // above 1 cannot be declared here; a non-zero one is a broken broker)
    '  - pattern: "kafka.server<type=ReplicaManager, name=(PartitionCount|LeaderCount|UnderReplicatedPartitions|UnderMinIsrPartitionCount|OfflineReplicaCount)><>Value"',
    '    name: kafka_server_replicamanager_$1',
    '    type: GAUGE',
    // messages and bytes in/out, per topic and broker-wide (Meter: its Count is a counter)
    '  - pattern: "kafka.server<type=BrokerTopicMetrics, name=(MessagesInPerSec|BytesInPerSec|BytesOutPerSec|FailedProduceRequestsPerSec|FailedFetchRequestsPerSec), topic=(.+)><>Count"',
    '    name: kafka_server_brokertopicmetrics_$1_total',
    '    labels: { topic: "$2" }',
    '    type: COUNTER',
    '  - pattern: "kafka.server<type=BrokerTopicMetrics, name=(MessagesInPerSec|BytesInPerSec|BytesOutPerSec|FailedProduceRequestsPerSec|FailedFetchRequestsPerSec)><>Count"',
    '    name: kafka_server_brokertopicmetrics_$1_total',
    '    type: COUNTER',
    // requests by API (Produce, Fetch, OffsetCommit...) and protocol version
    '  - pattern: "kafka.network<type=RequestMetrics, name=RequestsPerSec, request=(.+), version=(.+)><>Count"',
    '    name: kafka_network_requestmetrics_requests_total',
    '    labels: { request: "$1", version: "$2" }',
    '    type: COUNTER',
    '  - pattern: "kafka.controller<type=KafkaController, name=(ActiveControllerCount|OfflinePartitionsCount|GlobalPartitionCount|GlobalTopicCount)><>Value"',
    '    name: kafka_controller_$1',
    '    type: GAUGE',
    // per partition: the log's start and end offsets and its size on disk
    '  - pattern: "kafka.log<type=Log, name=(LogEndOffset|LogStartOffset|Size), topic=(.+), partition=(.+)><>Value"',
    '    name: kafka_log_$1',
    '    labels: { topic: "$2", partition: "$3" }',
    '    type: GAUGE',
    '',
  ].join('\n');
}

/** The -javaagent flag: the exporter's HTTP server on the broker's own address (never 0.0.0.0). Pure. */
export function kafkaAgentArg(jar: string, host: string, configPath: string): string {
  return `-javaagent:${jar}=${host}:${kafkaSidePorts.prometheus}:${configPath}`;
}

/** The JVM's flags for a host of `memoryMb`, logging configured from `dir`. Pure. */
export function kafkaJvmArgs(memoryMb: number, dir: string): string[] {
  const heap = kafkaHeapMb(memoryMb);
  return [
    `-Xmx${heap}m`,
    `-Xms${Math.min(heap, 128)}m`,
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`,
    // what Kafka's own start scripts pass (its log4j files name it); ours writes to the console only
    `-Dkafka.logs.dir=${join(dir, 'logs')}`,
  ];
}

/** The files of a node in its directory: server.properties on the service's address, logging, the
 *  exporter's rules, the (empty) log and data dirs. */
async function writeKafkaFiles(ctx: NativeContext): Promise<void> {
  await mkdir(join(ctx.dir, 'data'), { recursive: true });
  await mkdir(join(ctx.dir, 'logs'), { recursive: true });
  await writeFile(join(ctx.dir, 'server.properties'), renderKafkaProperties({ address: ctx.service.address, dir: ctx.dir, partitions: 1 }));
  await writeFile(join(ctx.dir, 'log4j.properties'), renderKafkaLog4j());
  await writeFile(join(ctx.dir, 'jmx-exporter.yaml'), renderJmxExporterConfig());
}

const STORAGE_FORMAT_TIMEOUT_MS = 60_000;

/**
 * StorageTool's format of the log dir, as a launch: it writes meta.properties (cluster id, node id)
 * there, and the server refuses an unformatted one. A JVM of its own, a small heap. Natively run
 * on this machine; under Docker in a one-off container of the broker's image and mounts.
 */
function storageFormatLaunch(ctx: NativeContext): NativeLaunch {
  return {
    command: ctx.bin(KAFKA_LAUNCHER),
    // a run of a second or two: C1 only and the serial collector start the JVM with ~40% less CPU
    // (0.9 s of user CPU instead of 1.5 s, 2.1-2.4 s instead of 2.8-3.2 s of wall time, measured
    // on a loaded 2-core machine)
    args: ['-Xmx128m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', `-Dlog4j.configuration=file:${join(ctx.dir, 'log4j.properties')}`, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', join(ctx.dir, 'server.properties')],
    cwd: ctx.dir,
  };
}

/** The broker's launch, the exporter agent's jar at `agentJar`. */
function kafkaLaunch(ctx: NativeContext, agentJar: string): NativeLaunch {
  return {
    command: ctx.bin(KAFKA_LAUNCHER),
    args: [
      ...kafkaJvmArgs(hostMemoryMb(ctx), ctx.dir),
      kafkaAgentArg(agentJar, ctx.service.address.host, join(ctx.dir, 'jmx-exporter.yaml')),
      'kafka.Kafka',
      join(ctx.dir, 'server.properties'),
    ],
    cwd: ctx.dir,
  };
}

export const kafkaRecipe: ComponentKind = {
  kind: 'kafka',
  config: kafkaConfig,
  ports: { main: 9092, side: { ...kafkaSidePorts } },
  // the report's cache/queue row
  tier: 'cache',
  // Apache's own image; --images local runs this machine's Java and the jars setup assembled
  image: { official: KAFKA_OFFICIAL_IMAGE },
  scrape: { job: 'kafka', sidePort: 'prometheus' },
  requires: [
    {
      binary: KAFKA_LAUNCHER,
      paths: [join(kafkaHome(), 'bin')],
      debianPackage: '',
      // the image's own "java with Kafka's jars on the classpath" (runClassLaunch)
      inImage: KAFKA_IMAGE_RUN_CLASS,
      doctor: {
        name: `Kafka ${KAFKA_VERSION}`,
        neededFor: 'phase 6 --broker kafka',
        versionArgs: ['--version'],
        install: { kind: 'maven', artifacts: [...KAFKA_ARTIFACTS], home: kafkaHome(), launcher: KAFKA_LAUNCHER, agents: [JMX_EXPORTER_ARTIFACT] },
      },
    },
    // the image is built on eclipse-temurin, whose JRE is at /opt/java/openjdk
    { binary: 'java', debianPackage: 'openjdk-17-jre-headless', inImage: '/opt/java/openjdk/bin/java', doctor: { name: 'Java', neededFor: 'Kafka (phase 6 --broker kafka)', versionArgs: ['-version'] } },
  ],
  async prepare(ctx) {
    await writeKafkaFiles(ctx);
    const step = storageFormatLaunch(ctx);
    await runCommand(step.command, step.args, { cwd: step.cwd, timeoutMs: STORAGE_FORMAT_TIMEOUT_MS, signal: ctx.signal });
  },
  launch(ctx) {
    return kafkaLaunch(ctx, kafkaAgentJar(ctx.bin(KAFKA_LAUNCHER)));
  },
  async ready(ctx) {
    const at = ctx.service.address;
    await waitFor.until(`a Kafka metadata answer at ${at.host}:${at.port}`, async (left) => {
      await kafkaPing(at, Math.min(left, 3_000));
      return true;
    }, { timeoutMs: 90_000, signal: ctx.signal });
  },
  // In a container the node's listeners are on its alias (Kafka binds the address the name resolves
  // to: the container's, never 0.0.0.0), and it advertises that alias: what the other containers
  // resolve. The services and the harness pin every connection to the address they dialled (a
  // Toxiproxy edge, a published port: kafka-client.ts), so the advertised name is never dialled
  // from outside the network. The exporter agent listens on the alias too; Docker publishes it on
  // 127.0.0.1 with the other side ports. Readiness is the native one, through the published port.
  docker: {
    async prepare(ctx, { native, runStep }) {
      if (ctx.mode === 'official') officialAgentJar(ctx.repoRoot);
      await writeKafkaFiles(native);
      const step = storageFormatLaunch(native);
      await runStep('kafka-format', ctx.mode === 'official' ? runClassLaunch(step) : step, STORAGE_FORMAT_TIMEOUT_MS);
    },
    async process(ctx, { native, toProcess }) {
      if (ctx.mode === 'local') return toProcess(kafkaRecipe.launch(native));
      const jar = officialAgentJar(ctx.repoRoot);
      const proc = await toProcess(runClassLaunch(kafkaLaunch(native, jar)));
      return { ...proc, readOnly: [...proc.readOnly, dirname(jar)] };
    },
  },
};
