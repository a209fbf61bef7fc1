// A minimal circuit breaker: after a failure, skip the dependency for `openMs`, then let calls
// through again (the next failure reopens it). It keeps a dead or hung Redis (or replica) from
// adding its timeout to every request; the first call after the pause is the probe.

/** Skips a dependency for a moment after it failed. `now` is injectable for tests. */
export class Breaker {
  private openUntil = 0;
  failures = 0;

  constructor(
    readonly openMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** true while calls should skip the dependency */
  isOpen(): boolean {
    return this.now() < this.openUntil;
  }

  fail(): void {
    this.failures += 1;
    this.openUntil = this.now() + this.openMs;
  }

  succeed(): void {
    this.openUntil = 0;
  }
}
