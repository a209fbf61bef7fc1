// The run's Postgres password: random per harness process, handed to its children, and kept out
// of every file the run directory keeps.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PG_CREDENTIALS, PG_PASSWORD_ENV, REDIS_PASSWORD, REDIS_PASSWORD_ENV, redactSecrets } from './config.ts';

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

describe('the run\'s Redis password', () => {
  it('is random, apart from the Postgres one, and children inherit it', () => {
    expect(REDIS_PASSWORD).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(REDIS_PASSWORD).not.toBe(PG_CREDENTIALS.password);
    expect(process.env[REDIS_PASSWORD_ENV]).toBe(REDIS_PASSWORD);
  });

  it('a child given one uses it, a fresh process draws its own', () => {
    const draw = (given: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./targets/app/config.ts').then((m) => process.stdout.write(m.REDIS_PASSWORD))"], {
        env: { ...process.env, [REDIS_PASSWORD_ENV]: given },
        encoding: 'utf8',
      }).stdout;
    expect(draw('given-by-the-harness')).toBe('given-by-the-harness');
    const [a, b] = [draw(''), draw('')];
    expect(a).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(a).not.toBe(b);
  }, 20_000);

  it('is redacted from what the run directory keeps', () => {
    const kept = redactSecrets(JSON.stringify({ env: { REDIS_PASSWORD, [REDIS_PASSWORD_ENV]: REDIS_PASSWORD } }));
    expect(kept).not.toContain(REDIS_PASSWORD);
    expect(kept).toContain('"REDIS_PASSWORD":"<redacted>"');
  });
});
