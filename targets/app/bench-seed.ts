// Prints how long seeding takes: SQLite, one Postgres, and K Postgres shards (throwaway servers).
//   node bin/run-ts.js targets/app/bench-seed.ts [users=1e6] [shards=2]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedPostgres, seedSqlite } from './seed.ts';
import { shardRanges } from './store/shard-router.ts';
import { startPostgres, type StartedPostgres } from './testing/pg-fixture.ts';

const users = Number(process.argv[2] ?? 1e6);
const k = Number(process.argv[3] ?? 2);
const fmt = (s: number) => `${s.toFixed(2)} s (${Math.round(users / s).toLocaleString('en')} rows/s)`;

const dir = mkdtempSync(join(tmpdir(), 'bench-seed-'));
const servers: StartedPostgres[] = [];
try {
  const lite = await seedSqlite(join(dir, 'users.db'), users, 42);
  console.log(`sqlite     ${users} users: ${fmt(lite.seconds)}`);

  const one = await startPostgres();
  servers.push(one);
  const single = await seedPostgres([{ name: 'main', range: [0, null], primary: one.endpoint }], 'range', users, 42);
  console.log(`postgres   ${users} users, 1 shard: ${fmt(single.seconds)}`);

  for (let i = 1; i < k; i++) servers.push(await startPostgres());
  const shards = shardRanges(users, k).map((range, i) => ({ name: `shard-${i}`, range, primary: servers[i].endpoint }));
  const multi = await seedPostgres(shards, 'range', users, 42);
  console.log(`postgres   ${users} users, ${k} shards in parallel: ${fmt(multi.seconds)} ${JSON.stringify(multi.perShard)}`);
} finally {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
}
