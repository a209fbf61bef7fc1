import { describe, expect, it } from 'vitest';
import { whyNotRemovable } from '../state.ts';

// A Docker label naming a data directory is anyone's to write: reapDocker deletes only
// `<state root>/runs/<run id>` (removeRunDir: also lstat'ed, owned, and carrying the marker).
describe('a labelled data directory reapDocker may delete', () => {
  it('is only the state root\'s directory of that run', async () => {
    const root = '/tmp/bench-reap-test-root';
    for (const dir of ['/work/main/.runs/p2-x/data', '/tmp/r/data', '/data', '/srv/data', 'relative/run/data', '/tmp/../etc/x/data', '/tmp/r/logs', `${root}/runs/other-run`, `${root}/runs/r1/..`, `${root}/runs`]) {
      expect(await whyNotRemovable(dir, 'r1', root)).toMatch(/is not .*runs\/r1/);
    }
    // a run id cannot climb out either
    expect(await whyNotRemovable(`${root}/runs/../x`, '../x', root)).not.toBeNull();
    // the right place (absent here: nothing to refuse)
    expect(await whyNotRemovable(`${root}/runs/r1`, 'r1', root)).toBeNull();
  });
});
