// The geo record's text and the config checks (the server itself: pdns.int.test.ts).
import { describe, expect, it } from 'vitest';
import type { PlannedService } from '../../harness/topology/plan.ts';
import { answersFirstChoice, firstHost, pdnsConfigProblems, renderGeoLua, renderPdnsConf, resolvePdnsConfig, zoneRecords, type PdnsConfig } from './pdns.ts';

const URL_ = 'http://api.bench.test:8000/health';

const config: PdnsConfig = {
  zone: 'bench.test',
  name: 'api',
  ttlSeconds: 5,
  health: { port: 8000, path: '/health' },
  views: [
    { name: 'us-east', clients: ['127.5.210.0/24'], prefer: [['127.5.200.1'], ['127.5.201.1', '127.5.202.1']] },
    { name: 'eu', clients: ['127.5.212.0/24'], prefer: [['127.5.202.1'], ['127.5.200.1']] },
  ],
};

describe('pdns', () => {
  it('renders view() over ifurlup preference sets; the last view also takes every other client', () => {
    expect(renderGeoLua(config)).toBe(
      `A "view({{{'127.5.210.0/24'}, ifurlup('http://api.bench.test:8000/health', {{'127.5.200.1'},{'127.5.201.1','127.5.202.1'}})},` +
        `{{'127.5.212.0/24','0.0.0.0/0'}, ifurlup('http://api.bench.test:8000/health', {{'127.5.202.1'},{'127.5.200.1'}})}})"`,
    );
    expect(zoneRecords(config).map((r) => [r.name, r.type, r.ttl])).toEqual([
      ['bench.test', 'SOA', 60],
      ['bench.test', 'NS', 60],
      ['api.bench.test', 'LUA', 5],
    ]);
  });

  it('drains candidates: the views that list one pick by percentage between their preference and the preference without them', () => {
    const full = renderGeoLua(config);
    // 100 % (and no drain) is the record as deployed, byte for byte: what a drill's revert writes back
    expect(renderGeoLua(config, { addresses: ['127.5.200.1'], percent: 100 })).toBe(full);
    expect(renderGeoLua(config, { addresses: [], percent: 0 })).toBe(full);
    expect(renderGeoLua(config, { addresses: ['127.5.200.1'], percent: 75 })).toBe(
      `A "view({{{'127.5.210.0/24'}, (pickwrandom({{75,'0.0.0.1'},{25,'0.0.0.0'}})=='0.0.0.1' and ifurlup('${URL_}', {{'127.5.200.1'},{'127.5.201.1','127.5.202.1'}}) or ifurlup('${URL_}', {{'127.5.201.1','127.5.202.1'}}))},` +
        `{{'127.5.212.0/24','0.0.0.0/0'}, (pickwrandom({{75,'0.0.0.1'},{25,'0.0.0.0'}})=='0.0.0.1' and ifurlup('${URL_}', {{'127.5.202.1'},{'127.5.200.1'}}) or ifurlup('${URL_}', {{'127.5.202.1'}}))}})"`,
    );
    // at 0 % the drained address is no candidate at all; a drained member of a tied set leaves the rest of the set
    expect(renderGeoLua(config, { addresses: ['127.5.201.1'], percent: 0 })).toBe(
      `A "view({{{'127.5.210.0/24'}, ifurlup('${URL_}', {{'127.5.200.1'},{'127.5.202.1'}})},` + `{{'127.5.212.0/24','0.0.0.0/0'}, ifurlup('${URL_}', {{'127.5.202.1'},{'127.5.200.1'}})}})"`,
    );
    // a view whose every candidate is drained keeps them: a view must answer something
    const lone: PdnsConfig = { ...config, views: [{ name: 'x', clients: ['127.5.210.0/24'], prefer: [['127.5.200.1']] }] };
    expect(renderGeoLua(lone, { addresses: ['127.5.200.1'], percent: 0 })).toBe(renderGeoLua(lone));
  });

  it('refuses a drain that is not a whole percentage of IPv4 addresses', () => {
    expect(() => renderGeoLua(config, { addresses: ['127.5.200.1'], percent: 12.5 })).toThrow(/drain 12.5 % is not a whole percentage/);
    expect(() => renderGeoLua(config, { addresses: ['127.5.200.1'], percent: 101 })).toThrow(/drain 101 %/);
    expect(() => renderGeoLua(config, { addresses: ["1'); os.exit()"], percent: 50 })).toThrow(/drained 1'\); os.exit\(\) is not an IPv4 address/);
  });

  it('refuses what would be pasted into the LUA text unchecked', () => {
    const bad: PdnsConfig = { ...config, name: "api'", health: { port: 8000, path: "/x'); os.exit()" }, views: [{ name: 'x', clients: ['10.0.0.0'], prefer: [['a.b.c.d'], []] }] };
    expect(pdnsConfigProblems(bad)).toEqual([
      "name api' is not a DNS label",
      "health path /x'); os.exit() must be a plain absolute path",
      'view x: 10.0.0.0 is not an IPv4 CIDR',
      'view x: an empty set of candidates',
      'view x: a.b.c.d is not an IPv4 address',
    ]);
    expect(() => renderGeoLua(bad)).toThrow(/invalid geo DNS config/);
    expect(pdnsConfigProblems(config)).toEqual([]);
  });

  it('binds its own address, keeps no cache and no daemon', () => {
    const conf = renderPdnsConf({ ip: '127.5.9.1', port: 5300, dir: '/d' });
    expect(conf).toContain('local-address=127.5.9.1\n');
    expect(conf).toContain('enable-lua-records=yes\n');
    expect(conf).toMatch(/^cache-ttl=0$/m);
    expect(conf).toMatch(/^query-cache-ttl=0$/m);
    expect(conf).toMatch(/^daemon=no$/m);
    expect(conf).not.toContain('0.0.0.0');
  });

  it('answersFirstChoice: addresses of the first set and nothing else', () => {
    const view = { prefer: [['127.5.200.1', '127.5.200.2'], ['127.5.201.1']] };
    expect(answersFirstChoice(['127.5.200.2'], view)).toBe(true);
    expect(answersFirstChoice(['127.5.200.1', '127.5.200.2'], view)).toBe(true);
    expect(answersFirstChoice(['127.5.200.1', '127.5.201.1'], view)).toBe(false);
    expect(answersFirstChoice(['127.5.201.1'], view)).toBe(false);
    expect(answersFirstChoice([], view)).toBe(false);
  });

  it('firstHost: the first usable address of a block', () => {
    expect(firstHost('127.5.210.0/24')).toBe('127.5.210.1');
    expect(firstHost('127.5.210.77/24')).toBe('127.5.210.1');
    expect(firstHost('127.0.0.0/8')).toBe('127.0.0.1');
    expect(firstHost('127.5.210.9/32')).toBe('127.5.210.9');
  });

  it('resolves service names to their host address and client regions to their source block', () => {
    const services = [{ name: 'lb-eu', address: { host: '127.5.8.1', port: 8000 } }] as PlannedService[];
    const named: PdnsConfig = { ...config, views: [{ name: 'eu', clients: ['client-region:2'], prefer: [['lb-eu'], ['127.5.200.1']] }] };
    expect(resolvePdnsConfig(named, { slot: 5, services }).views).toEqual([{ name: 'eu', clients: ['127.5.0.102/32'], prefer: [['127.5.8.1'], ['127.5.200.1']] }]);
    expect(() => resolvePdnsConfig({ ...named, views: [{ name: 'x', clients: ['127.5.0.0/24'], prefer: [['lb-nowhere']] }] }, { slot: 5, services })).toThrow(/lb-nowhere is neither an address nor a service/);
  });
});
