import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PG_CREDENTIALS, REDIS_PASSWORD, RABBITMQ_PASSWORD_ENV, redactSecrets } from '../app/config.ts';
import { amqpUrl, RABBITMQ_CREDENTIALS, rabbitEnv, rabbitPasswordHash, renderDefinitions, renderRabbitConfig } from './rabbitmq.ts';

const address = { host: '127.4.2.1', port: 5672 };

describe('rabbitmq config', () => {
  const conf = renderRabbitConfig({ address, dir: '/tmp/r/broker', memoryMb: 384 }).split('\n');
  it('listens on the host address only, AMQP and Prometheus', () => {
    expect(conf).toContain('listeners.tcp.default = 127.4.2.1:5672');
    expect(conf).toContain('prometheus.tcp.ip = 127.4.2.1');
    expect(conf.join('\n')).not.toMatch(/0\.0\.0\.0|::/);
  });
  it('holds no password and loads the run account from definitions', () => {
    expect(conf).toContain('load_definitions = /tmp/r/broker/definitions.json');
    expect(conf.join('\n')).not.toMatch(/default_pass|default_user/);
    expect(conf).toContain('total_memory_available_override_value = 384MB');
  });
  it('keeps every path and epmd to itself', () => {
    const env = rabbitEnv({ address, dir: '/tmp/r/broker', nodeName: 'bench-broker' });
    expect(env.RABBITMQ_MNESIA_BASE).toBe('/tmp/r/broker/mnesia');
    expect(env.RABBITMQ_LOG_BASE).toBe('/tmp/r/broker/log');
    expect(env.RABBITMQ_NODENAME).toBe('bench-broker@localhost');
    expect(env.ERL_EPMD_ADDRESS).toBe('127.0.0.1');
    expect(env.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS).toBe('-start_epmd false -kernel inet_dist_use_interface {127,4,2,1} -rabbit quorum_tick_interval 1000');
  });
});

describe('rabbitmq account', () => {
  it('hashes the password the way rabbit_password_hashing_sha256 does', () => {
    const salt = Buffer.from([1, 2, 3, 4]);
    const raw = Buffer.from(rabbitPasswordHash('pw', salt), 'base64');
    expect(raw.subarray(0, 4)).toEqual(salt);
    expect(raw.subarray(4)).toEqual(createHash('sha256').update(Buffer.from([1, 2, 3, 4, ...Buffer.from('pw')])).digest());
    // a fresh salt each time: two hashes of one password differ
    expect(rabbitPasswordHash('pw')).not.toBe(rabbitPasswordHash('pw'));
  });
  it('definitions give the user full rights on / and never name guest', () => {
    const d = JSON.parse(renderDefinitions('bench', 'HASH'));
    expect(d.users).toEqual([expect.objectContaining({ name: 'bench', password_hash: 'HASH' })]);
    expect(d.permissions).toEqual([{ user: 'bench', vhost: '/', configure: '.*', write: '.*', read: '.*' }]);
    expect(JSON.stringify(d)).not.toMatch(/guest/);
  });
  it('has a password drawn per run, apart from the others, that children inherit and the run directory never keeps', () => {
    expect(RABBITMQ_CREDENTIALS.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(RABBITMQ_CREDENTIALS.password).not.toBe(PG_CREDENTIALS.password);
    expect(RABBITMQ_CREDENTIALS.password).not.toBe(REDIS_PASSWORD);
    expect(process.env[RABBITMQ_PASSWORD_ENV]).toBe(RABBITMQ_CREDENTIALS.password);
    const kept = redactSecrets(JSON.stringify({ env: { [RABBITMQ_PASSWORD_ENV]: RABBITMQ_CREDENTIALS.password }, url: amqpUrl(address) }));
    expect(kept).not.toContain(RABBITMQ_CREDENTIALS.password);
    expect(kept).toContain('amqp://bench:<redacted>@127.4.2.1:5672/');
  });
  it('escapes the credentials in the URL', () => {
    expect(amqpUrl(address, { user: 'a b', password: 'p/w@' })).toBe('amqp://a%20b:p%2Fw%40@127.4.2.1:5672/');
  });
});
