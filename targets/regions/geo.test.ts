// Client sources and the geo DNS's views from the latency table, pure.
import { describe, expect, it } from 'vitest';
import { pdnsConfigProblems } from '../services/pdns.ts';
import { clientSource, geoViews, preferenceRanks } from './geo.ts';
import { DEFAULT_ONE_WAY_MS, parseLatencyOverrides } from './latency.ts';

const regions = ['us-east', 'us-west', 'eu'];

describe('geo', () => {
  it('prefers the own region, then the nearest; equal distances share a rank', () => {
    expect(preferenceRanks('us-east', regions, DEFAULT_ONE_WAY_MS)).toEqual([['us-east'], ['us-west'], ['eu']]);
    expect(preferenceRanks('eu', regions, DEFAULT_ONE_WAY_MS)).toEqual([['eu'], ['us-east', 'us-west']]);
    expect(preferenceRanks('eu', regions, parseLatencyOverrides('us-west:eu=70'))).toEqual([['eu'], ['us-east'], ['us-west']]);
  });

  it('gives each client region its own source on the control /24, clear of the hosts', () => {
    expect(clientSource(7, 0)).toBe('127.7.0.100');
    expect(clientSource(7, 2)).toBe('127.7.0.102');
    expect(() => clientSource(7, 100)).toThrow(/outside 0..99/);
  });

  it('builds one view per client region that the pdns kind accepts', () => {
    const views = geoViews(7, regions, regions, DEFAULT_ONE_WAY_MS, (c, s) => `127.7.${200 + regions.indexOf(c)}.${1 + regions.indexOf(s)}`);
    expect(views[0]).toEqual({ name: 'us-east', clients: ['127.7.0.100/32'], prefer: [['127.7.200.1'], ['127.7.200.2'], ['127.7.200.3']] });
    expect(views[2]).toEqual({ name: 'eu', clients: ['127.7.0.102/32'], prefer: [['127.7.202.3'], ['127.7.202.1', '127.7.202.2']] });
    expect(pdnsConfigProblems({ zone: 'bench.test', name: 'api', ttlSeconds: 5, health: { port: 8000, path: '/health' }, views })).toEqual([]);
  });
});
