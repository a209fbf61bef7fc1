import { describe, expect, it } from 'vitest';
import {
  containerName,
  dockerSafe,
  harnessLabel,
  labelFilters,
  networkAlias,
  networkName,
  parseHarnessLabel,
  serviceLabels,
  stepContainerName,
  volumeName,
} from './labels.ts';

describe('names', () => {
  it('names the network, containers and volumes after the run and the service', () => {
    expect(networkName('p2-20260101-abc')).toBe('bench-p2-20260101-abc');
    expect(containerName('r1', 'pg-primary')).toBe('bench-r1-pg-primary');
    expect(volumeName('r1', 'app-2')).toBe('bench-r1-app-2');
    expect(stepContainerName('r1', 'pg-primary', 'initdb')).toBe('bench-r1-pg-primary-initdb');
  });

  it('turns anything Docker refuses into dashes, and never starts with one', () => {
    expect(dockerSafe('Run 1/x')).toBe('run-1-x');
    expect(dockerSafe('-.x')).toBe('x');
    expect(dockerSafe('')).toBe('x');
    expect(networkAlias('db_1.main')).toBe('db-1-main');
  });
});

describe('labels', () => {
  it('marks every resource as bench-managed, with the run, service and kind', () => {
    expect(serviceLabels('r1', 'app', 'app')).toEqual({ 'bench.managed': 'true', 'bench.run': 'r1', 'bench.service': 'app', 'bench.kind': 'app' });
  });

  it('filters on the managed label, and on the run when given', () => {
    expect(labelFilters()).toEqual({ label: ['bench.managed=true'] });
    expect(labelFilters('r1')).toEqual({ label: ['bench.managed=true', 'bench.run=r1'] });
  });

  it('round-trips the harness label and rejects junk', () => {
    expect(parseHarnessLabel(harnessLabel(42, 12345))).toEqual({ pid: 42, startTime: 12345 });
    expect(parseHarnessLabel(harnessLabel(42, null))).toEqual({ pid: 42, startTime: null });
    expect(parseHarnessLabel('x:1')).toBeNull();
    expect(parseHarnessLabel(undefined)).toBeNull();
  });
});
