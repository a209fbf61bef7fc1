// The registry of bench dashboards: one entry per generated file. build.ts writes them, the tests
// compare the committed JSON with what this list builds now.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { overviewDashboard } from './overview.ts';
import { lbDashboard } from './lb.ts';
import { appDashboard } from './app.ts';
import { dbDashboard } from './db.ts';
import { cacheDashboard } from './cache.ts';
import { queueDashboard } from './queue.ts';

/** A registered dashboard: its generated file and how to build it. */
export interface DashboardDef {
  /** file name under dashboards/generated/ */
  file: string;
  build: () => Dashboard;
}

/** Every dashboard, overview first, then one per tier. */
export const DASHBOARDS: readonly DashboardDef[] = [
  { file: 'overview.json', build: overviewDashboard },
  { file: 'lb.json', build: lbDashboard },
  { file: 'app.json', build: appDashboard },
  { file: 'db.json', build: dbDashboard },
  { file: 'cache.json', build: cacheDashboard },
  { file: 'queue.json', build: queueDashboard },
];

/** Builds every dashboard; a duplicate file name or uid is an error. */
export function buildDashboards(defs: readonly DashboardDef[] = DASHBOARDS): Map<string, Dashboard> {
  const out = new Map<string, Dashboard>();
  const uids = new Set<string>();
  for (const def of defs) {
    if (out.has(def.file)) throw new Error(`dashboard file ${def.file} is listed twice`);
    const d = def.build();
    if (!d.uid) throw new Error(`dashboard ${def.file} has no uid`);
    if (uids.has(d.uid)) throw new Error(`dashboard uid ${d.uid} is used twice`);
    uids.add(d.uid);
    out.set(def.file, d);
  }
  return out;
}

/** The exact text a generated file holds: stable key order as built, two-space indent, final newline. */
export const dashboardJson = (d: Dashboard): string => `${JSON.stringify(d, null, 2)}\n`;
