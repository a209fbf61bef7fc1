// The Kafka kind's pure parts: server.properties for one KRaft node, the heap bound, the cluster id.
import { describe, expect, it } from 'vitest';
import { kafkaHeapMb, kafkaJvmArgs, kafkaRecipe, kafkaSidePorts, newClusterId, renderKafkaProperties } from './kafka.ts';

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
    expect(kafkaRecipe.ports).toEqual({ main: 9092, side: { controller: kafkaSidePorts.controller } });
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
  });

  it('requires its launcher (written by setup after the jars) and Java', () => {
    const launcher = kafkaRecipe.requires[0]!;
    expect(launcher.paths![0]).toMatch(/\/\.tools\/kafka\/4\.1\.1\/bin$/);
    expect(launcher.doctor!.install).toMatchObject({ kind: 'maven', artifacts: expect.arrayContaining(['org.apache.kafka:kafka_2.13:4.1.1', 'org.slf4j:slf4j-reload4j:1.7.36']) });
    expect(kafkaRecipe.requires.map((r) => r.binary)).toEqual(['kafka-java', 'java']);
  });
});
