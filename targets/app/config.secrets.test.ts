// The run's Postgres password: random per harness process, handed to its children, and kept out
// of every file the run directory keeps.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PG_CREDENTIALS, PG_PASSWORD_ENV, redactSecrets } from './config.ts';

describe('the run\'s Postgres password', () => {
  it('is random, not the old constant, and children inherit it', () => {
    expect(PG_CREDENTIALS.password).not.toBe('bench');
    expect(PG_CREDENTIALS.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(process.env[PG_PASSWORD_ENV]).toBe(PG_CREDENTIALS.password);
  });

  it('differs between two harness processes (two runs)', () => {
    const draw = () =>
      spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./targets/app/config.ts').then((m) => process.stdout.write(m.PG_CREDENTIALS.password))"], {
        env: { ...process.env, [PG_PASSWORD_ENV]: '' },
        encoding: 'utf8',
      }).stdout;
    const [a, b] = [draw(), draw()];
    expect(a).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(b).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(a).not.toBe(b);
  }, 20_000);

  it('is redacted from what the run directory keeps (launch.json, container.json)', () => {
    const env = { DATA_SOURCE_NAME: `postgresql://bench:${PG_CREDENTIALS.password}@127.0.0.1:5432/bench`, [PG_PASSWORD_ENV]: PG_CREDENTIALS.password };
    const kept = redactSecrets(JSON.stringify({ env }));
    expect(kept).not.toContain(PG_CREDENTIALS.password);
    expect(kept).toContain('postgresql://bench:<redacted>@127.0.0.1:5432/bench');
  });
});
