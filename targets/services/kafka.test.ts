// The Kafka kind's pure parts: server.properties for one KRaft node, the heap bound, the cluster id,
// the JMX exporter agent's flag and rules.
import { describe, expect, it } from 'vitest';
import { JMX_EXPORTER_ARTIFACT, kafkaAgentArg, kafkaAgentJar, kafkaHeapMb, kafkaJvmArgs, kafkaRecipe, kafkaSidePorts, newClusterId, renderJmxExporterConfig, renderKafkaProperties } from './kafka.ts';

/** The rules' patterns and names, in order, from the rendered YAML (no YAML parser in the tree). */
function rulesOf(yaml: string): { pattern: RegExp; name: string }[] {
  const patterns = [...yaml.matchAll(/^ {2}- pattern: "(.+)"$/gm)].map((m) => new RegExp(`^${m[1]!}$`));
  const names = [...yaml.matchAll(/^ {4}name: (.+)$/gm)].map((m) => m[1]!);
  expect(names).toHaveLength(patterns.length);
  return patterns.map((pattern, i) => ({ pattern, name: names[i]! }));
}

/** The name the exporter gives a bean attribute (as it formats it: `domain<k=v, ...><>attr`):
 *  the first rule that matches, $n substituted; null: not exported. */
function exported(yaml: string, bean: string): string | null {
  for (const r of rulesOf(yaml)) {
    const m = r.pattern.exec(bean);
    if (m) return r.name.replace(/\$(\d)/g, (_, n: string) => m[Number(n)]!);
  }
  return null;
}

describe('kafka kind', () => {
  const props = renderKafkaProperties({ address: { host: '127.4.2.1', port: 9092 }, dir: '/run/x/broker', partitions: 3 });

  it('is one node that is its own controller, both listeners on the host address only', () => {
    expect(props).toMatch(/^process\.roles=broker,controller$/m);
    expect(props).toMatch(/^controller\.quorum\.voters=1@127\.4\.2\.1:9093$/m);
    expect(props).toMatch(/^listeners=PLAINTEXT:\/\/127\.4\.2\.1:9092,CONTROLLER:\/\/127\.4\.2\.1:9093$/m);
    expect(props).not.toMatch(/0\.0\.0\.0|localhost|:\/\/:/);
    expect(props).toMatch(/^log\.dirs=\/run\/x\/broker\/data$/m);
    expect(props).toMatch(/^offsets\.topic\.replication\.factor=1$/m);
    expect(props).toMatch(/^auto\.create\.topics\.enable=false$/m);
    expect(kafkaRecipe.ports).toEqual({ main: 9092, side: { controller: 9093, prometheus: 9404 } });
    expect(kafkaSidePorts).toEqual({ controller: 9093, prometheus: 9404 });
  });

  it('bounds the heap by the host memory size', () => {
    expect(kafkaHeapMb(512)).toBe(256);
    expect(kafkaHeapMb(100)).toBe(128);
    expect(kafkaHeapMb(16_384)).toBe(1024);
    expect(kafkaJvmArgs(768, '/d')).toContain('-Xmx384m');
  });

  it('draws a cluster id StorageTool accepts: 16 bytes, base64url, no padding', () => {
    const id = newClusterId(Buffer.alloc(16, 0xff));
    expect(id).toBe('_____________________w');
    expect(newClusterId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // an id starting with '-' is parsed as a flag by StorageTool: never drawn
    expect(Buffer.alloc(16, 0xf8).toString('base64url')).toMatch(/^-/);
    expect(newClusterId(Buffer.alloc(16, 0xf8))).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it('requires its launcher (written by setup after the jars) and Java', () => {
    const launcher = kafkaRecipe.requires[0]!;
    // the exporter's version is in the home's name: an assembly without the agent is not taken for one
    expect(launcher.paths![0]).toMatch(/\/\.tools\/kafka\/4\.1\.1\+jmx1\.0\.1\/bin$/);
    expect(launcher.doctor!.install).toMatchObject({ kind: 'maven', artifacts: expect.arrayContaining(['org.apache.kafka:kafka_2.13:4.1.1', 'org.slf4j:slf4j-reload4j:1.7.36']), agents: [JMX_EXPORTER_ARTIFACT] });
    // the agent is not among the classpath's artifacts
    expect((launcher.doctor!.install as { artifacts: string[] }).artifacts.some((a) => a.includes('jmx'))).toBe(false);
    expect(kafkaRecipe.requires.map((r) => r.binary)).toEqual(['kafka-java', 'java']);
  });

  it('starts the JMX exporter agent on the host address and its prometheus side port; Prometheus scrapes job kafka', () => {
    const jar = kafkaAgentJar('/t/.tools/kafka/4.1.1+jmx1.0.1/bin/kafka-java');
    expect(jar).toBe('/t/.tools/kafka/4.1.1+jmx1.0.1/agents/jmx_prometheus_javaagent-1.0.1.jar');
    expect(kafkaAgentArg(jar, '127.4.2.1', '/run/x/broker/jmx-exporter.yaml')).toBe(`-javaagent:${jar}=127.4.2.1:9404:/run/x/broker/jmx-exporter.yaml`);
    expect(kafkaRecipe.scrape).toEqual({ job: 'kafka', sidePort: 'prometheus' });
  });

  it('the rules export the topic/partition figures, under-replicated partitions and request rates; nothing else', () => {
    const yaml = renderJmxExporterConfig();
    expect(yaml).toMatch(/^lowercaseOutputName: true$/m);
    expect(exported(yaml, 'kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>Value')).toBe('kafka_server_replicamanager_UnderReplicatedPartitions');
    expect(exported(yaml, 'kafka.server<type=ReplicaManager, name=PartitionCount><>Value')).toBe('kafka_server_replicamanager_PartitionCount');
    expect(exported(yaml, 'kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec, topic=jobs.video><>Count')).toBe('kafka_server_brokertopicmetrics_MessagesInPerSec_total');
    expect(exported(yaml, 'kafka.server<type=BrokerTopicMetrics, name=BytesOutPerSec><>Count')).toBe('kafka_server_brokertopicmetrics_BytesOutPerSec_total');
    expect(exported(yaml, 'kafka.network<type=RequestMetrics, name=RequestsPerSec, request=Produce, version=11><>Count')).toBe('kafka_network_requestmetrics_requests_total');
    expect(exported(yaml, 'kafka.log<type=Log, name=LogEndOffset, topic=jobs.video, partition=3><>Value')).toBe('kafka_log_LogEndOffset');
    expect(exported(yaml, 'kafka.controller<type=KafkaController, name=OfflinePartitionsCount><>Value')).toBe('kafka_controller_OfflinePartitionsCount');
    // negative controls: a meter's rates (the counter is the figure), beans no rule names
    expect(exported(yaml, 'kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec, topic=jobs.video><>OneMinuteRate')).toBeNull();
    expect(exported(yaml, 'kafka.server<type=KafkaRequestHandlerPool, name=RequestHandlerAvgIdlePercent><>Count')).toBeNull();
    expect(exported(yaml, 'kafka.network<type=RequestMetrics, name=TotalTimeMs, request=Produce><>Count')).toBeNull();
    // every exported name is kafka_*; every walked bean domain is one a rule names
    for (const r of rulesOf(yaml)) expect(r.name).toMatch(/^kafka_/);
    const walked = [...yaml.matchAll(/^ {2}- "(kafka\.[a-z]+):/gm)].map((m) => m[1]);
    expect(walked.length).toBeGreaterThan(0);
    for (const d of walked) expect(rulesOf(yaml).some((r) => r.pattern.source.startsWith(`^${d!.replace('.', '\\.')}<`) || r.pattern.source.startsWith(`^${d}<`))).toBe(true);
  });
});
