// Shared steps of the process faults: wait for a signal to take effect, and bring a service back.
import type { StartedService } from '../../harness/runtime/types.ts';
import type { FaultContext } from './types.ts';

/** Resolves when `svc.isRunning()` equals `running`, or throws after `timeoutMs`. */
export async function waitRunning(svc: StartedService, running: boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (svc.isRunning() !== running) {
    if (Date.now() > deadline) throw new Error(`${svc.name} still ${running ? 'not running' : 'running'} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Takes a service down (SIGKILL or graceful stop) unless another fault already holds it down. */
export async function takeDown(ctx: FaultContext, svc: StartedService, how: 'kill' | 'stop'): Promise<boolean> {
  if (!ctx.holds.acquire(`service:${svc.name}`)) return false;
  try {
    if (how === 'kill') {
      await svc.signal('SIGKILL');
      await waitRunning(svc, false);
    } else {
      await svc.stop();
    }
  } catch (err) {
    ctx.holds.release(`service:${svc.name}`);
    throw err;
  }
  return true;
}

/** Releases the hold; when it was the last one and `restart`, starts the service and waits for it. */
export async function bringBack(ctx: FaultContext, svc: StartedService, restart: boolean): Promise<void> {
  if (!ctx.holds.release(`service:${svc.name}`)) return;
  if (restart && !svc.isRunning()) {
    ctx.progress(`${svc.name}: starting again`);
    await svc.start();
  }
}
