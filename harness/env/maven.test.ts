// The Maven step of setup: the pom it generates, the launcher, and the install's all-or-nothing
// rename (a fake mvn that copies two jars, and one that copies none).
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installMaven, parseArtifact, renderLauncher, renderPom } from './maven.ts';

describe('maven', () => {
  it('renders a pom holding exactly the declared dependencies', () => {
    const pom = renderPom(['org.apache.kafka:kafka_2.13:4.1.1', 'org.slf4j:slf4j-reload4j:1.7.36']);
    expect(pom.match(/<dependency>/g)).toHaveLength(2);
    expect(pom).toContain('<groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>4.1.1</version>');
    expect(pom).toContain('<packaging>pom</packaging>');
  });

  it('refuses what is not group:artifact:version', () => {
    expect(() => parseArtifact('org.apache.kafka:kafka_2.13')).toThrow(/not a Maven coordinate/);
    expect(() => parseArtifact('a:b:<c>')).toThrow(/not a Maven coordinate/);
  });

  it('assembles into a scratch dir and renames it into place; the launcher answers --version', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maven-'));
    try {
      const home = join(root, 'kafka', '9.9');
      const fakeMvn = async (_cmd: string, args: string[]) => {
        const out = args.find((a) => a.startsWith('-DoutputDirectory='))!.split('=')[1]!;
        await mkdir(out, { recursive: true });
        await writeFile(join(out, 'a.jar'), '');
        await writeFile(join(out, 'b.jar'), '');
      };
      expect(await installMaven({ artifacts: ['g:a:1'], home, launcher: 'x-java' }, 'X 9.9', 'mvn', fakeMvn)).toBe(2);
      expect(existsSync(`${home}.partial`)).toBe(false);
      expect(readdirSync(join(home, 'libs')).sort()).toEqual(['a.jar', 'b.jar']);
      expect(statSync(join(home, 'bin', 'x-java')).mode & 0o111).not.toBe(0);
      expect(execFileSync(join(home, 'bin', 'x-java'), ['--version']).toString().trim()).toBe('X 9.9 (2 jars)');

      // mvn that copied nothing: no launcher appears, the earlier install stays as it was
      const emptyMvn = async (_cmd: string, args: string[]) => {
        await mkdir(args.find((a) => a.startsWith('-DoutputDirectory='))!.split('=')[1]!, { recursive: true });
      };
      await expect(installMaven({ artifacts: ['g:a:1'], home, launcher: 'x-java' }, 'X 9.9', 'mvn', emptyMvn)).rejects.toThrow(/no jar/);
      expect(readdirSync(join(home, 'libs'))).toHaveLength(2);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('the launcher runs java with every jar of libs/ on the classpath', () => {
    expect(renderLauncher('K')).toContain('exec "${JAVA:-java}" -cp "$home/libs/*" "$@"');
  });

  it('copies agents alone into agents/, beside libs/ (never on the classpath)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maven-'));
    try {
      const home = join(root, 'k');
      const calls: string[][] = [];
      const fakeMvn = async (_cmd: string, args: string[]) => {
        calls.push(args);
        const out = args.find((a) => a.startsWith('-DoutputDirectory='))!.split('=')[1]!;
        await mkdir(out, { recursive: true });
        await writeFile(join(out, args.includes('dependency:copy') ? 'agent.jar' : 'a.jar'), '');
      };
      expect(await installMaven({ artifacts: ['g:a:1'], home, launcher: 'x-java', agents: ['g:agent:2'] }, 'X', 'mvn', fakeMvn)).toBe(1);
      expect(calls[1]).toEqual(expect.arrayContaining(['dependency:copy', '-Dartifact=g:agent:2']));
      expect(readdirSync(join(home, 'libs'))).toEqual(['a.jar']);
      expect(readdirSync(join(home, 'agents'))).toEqual(['agent.jar']);

      // an agent mvn did not copy: no install
      const noAgent = async (_cmd: string, args: string[]) => {
        const out = args.find((a) => a.startsWith('-DoutputDirectory='))!.split('=')[1]!;
        await mkdir(out, { recursive: true });
        if (!args.includes('dependency:copy')) await writeFile(join(out, 'a.jar'), '');
      };
      await expect(installMaven({ artifacts: ['g:a:1'], home: join(root, 'k2'), launcher: 'x-java', agents: ['g:agent:2'] }, 'X', 'mvn', noAgent)).rejects.toThrow(/0 of 1 agent/);
      expect(existsSync(join(root, 'k2'))).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
