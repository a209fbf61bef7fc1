import { describe, expect, it } from 'vitest';
import { daemonError, dockerSocketPath, isPortConflict, messageOf, portConflict } from './client.ts';

const errno = (code: string) => Object.assign(new Error(`connect ${code} /var/run/docker.sock`), { code });

describe('daemon errors, one line each', () => {
  it('no daemon: says where it looked and what to do', () => {
    for (const code of ['ENOENT', 'ECONNREFUSED']) {
      const e = daemonError(errno(code), '/var/run/docker.sock');
      expect(e.oneLine()).toBe('Docker daemon not reachable at /var/run/docker.sock — start Docker or use --runtime native');
      expect(e.exitCode).toBe(3);
    }
  });

  it('permission denied: names the socket and the docker group', () => {
    const e = daemonError(errno('EACCES'), '/var/run/docker.sock');
    expect(e.oneLine()).toMatch(/^permission denied on the Docker socket \/var\/run\/docker.sock — add your user to the docker group/);
    expect(e.oneLine()).not.toContain('\n');
  });

  it('a port taken between picking and binding is a port conflict', () => {
    const e = Object.assign(new Error('(HTTP code 500) server error - driver failed programming external connectivity: Bind for 127.0.0.1:41000 failed: port is already allocated'), {
      statusCode: 500,
      json: { message: 'driver failed programming external connectivity on endpoint x: Bind for 127.0.0.1:41000 failed: port is already allocated' },
    });
    expect(isPortConflict(e)).toBe(true);
    expect(portConflict('app', [41000], e).oneLine()).toMatch(/^cannot publish app on 127.0.0.1:41000: the port is taken .* — /);
    expect(isPortConflict(new Error('no such image'))).toBe(false);
  });

  it("prefers the daemon's own message", () => {
    expect(messageOf({ json: { message: 'No such container: x' } })).toBe('No such container: x');
    expect(messageOf(new Error('(HTTP code 404) no such container - gone'))).toBe('gone');
  });
});

describe('dockerSocketPath', () => {
  it('takes the explicit path, else a unix DOCKER_HOST, else the default', () => {
    expect(dockerSocketPath('/x.sock', { DOCKER_HOST: 'unix:///y.sock' })).toBe('/x.sock');
    expect(dockerSocketPath(undefined, { DOCKER_HOST: 'unix:///y.sock' })).toBe('/y.sock');
    expect(dockerSocketPath(undefined, { DOCKER_HOST: 'tcp://h:2375' })).toBe('/var/run/docker.sock');
    expect(dockerSocketPath(undefined, {})).toBe('/var/run/docker.sock');
  });
});
