import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServiceFile } from './service-files.ts';

describe('readServiceFile', () => {
  let root: string;
  let dir: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'bench-service-files-'));
    dir = join(root, 'cdn');
    await mkdir(join(dir, 'logs'), { recursive: true });
    await writeFile(join(dir, 'edge-access.log'), 'a b HIT\n');
    await writeFile(join(dir, 'logs', 'x.log'), 'x');
    await writeFile(join(root, 'secret'), 'not the service\'s');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('reads a file of the service directory, nested ones too', async () => {
    expect(await readServiceFile(dir, 'edge-access.log')).toBe('a b HIT\n');
    expect(await readServiceFile(dir, 'logs/x.log')).toBe('x');
    expect(await readServiceFile(dir, './logs/../edge-access.log')).toBe('a b HIT\n');
  });

  it('answers null for a file the service has not written', async () => {
    expect(await readServiceFile(dir, 'nope.log')).toBeNull();
  });

  it('refuses a path outside the service directory', async () => {
    await expect(readServiceFile(dir, '../secret')).rejects.toThrow(/not a file inside/);
    await expect(readServiceFile(dir, join(root, 'secret'))).rejects.toThrow(/not a file inside/);
  });

  it('throws on other failures (a directory is not a file)', async () => {
    await expect(readServiceFile(dir, 'logs')).rejects.toThrow(/EISDIR/);
  });
});
