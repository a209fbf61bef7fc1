import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tarArchive } from './tar.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** `tar -tv` of the archive, by the system's tar: the format check that matters. */
async function list(buf: Buffer): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'bench-tar-'));
  dirs.push(d);
  await writeFile(join(d, 'a.tar'), buf);
  const r = spawnSync('tar', ['-tvf', join(d, 'a.tar')], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('tarArchive', () => {
  it('writes links, directories and files that tar reads back', async () => {
    const out = await list(
      tarArchive([
        { type: 'symlink', path: 'bin', target: 'usr/bin' },
        { type: 'dir', path: 'tmp', mode: 0o1777 },
        { type: 'file', path: 'etc/motd', content: 'hello\n' },
      ]),
    );
    expect(out).toMatch(/^lrwxrwxrwx .* bin -> usr\/bin$/m);
    expect(out).toMatch(/^drwxrwxrwt .* tmp\/$/m);
    expect(out).toMatch(/^-rw-r--r-- .* 6 .* etc\/motd$/m);
  });

  it('pads file bodies to whole blocks and ends with two zero blocks', () => {
    const buf = tarArchive([{ type: 'file', path: 'x', content: 'a'.repeat(513) }]);
    expect(buf.length).toBe(512 + 1024 + 1024);
    expect(buf.subarray(buf.length - 1024).every((b) => b === 0)).toBe(true);
  });

  it('splits a long path into ustar prefix and name', async () => {
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/file.ts`;
    expect(await list(tarArchive([{ type: 'file', path: long, content: 'x' }]))).toContain(long);
    expect(() => tarArchive([{ type: 'file', path: 'f'.repeat(101), content: '' }])).toThrow(/too long/);
  });
});
