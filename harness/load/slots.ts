// The engine's in-flight slots: every request admitted and not yet done, in admission order (which
// is nearly deadline order, so the timeout sweep reads only the head), and each origin's queue of
// requests waiting for one of its connections. The scheduler (scheduler.ts) says when requests are
// due; these say where an admitted one is. No clock, no I/O.
import type { Transport } from './transport/types.ts';

// Request lifecycle: admitted -> QUEUED (all of its origin's connections busy) -> ON_WIRE -> DONE.
export const QUEUED = 1;
export const ON_WIRE = 2;
export const DONE = 3;

/** What a slot holds: a request with its state, its due time and its place in the in-flight list. */
export interface Slot<R> {
  state: number;
  readonly dueMs: number;
  prev: R | null;
  next: R | null;
}

/** The admitted requests, a doubly linked list through the requests themselves (no allocation). */
export class InFlight<R extends Slot<R>> {
  /** how many are admitted and not done */
  count = 0;
  head: R | null = null;
  private tail: R | null = null;

  admit(r: R): void {
    this.count++;
    r.prev = this.tail;
    if (this.tail) this.tail.next = r;
    else this.head = r;
    this.tail = r;
  }

  remove(r: R): void {
    if (r.prev) r.prev.next = r.next;
    else this.head = r.next;
    if (r.next) r.next.prev = r.prev;
    else this.tail = r.prev;
    r.prev = r.next = null;
    this.count--;
  }
}

/** One origin (base URL): its transport, how many of its requests are on the wire, and its queue. */
export class Origin<R extends Slot<R>> {
  onWire = 0;
  private queue: R[] = [];
  private head = 0;

  constructor(
    readonly transport: Transport,
    readonly connections: number,
  ) {}

  get queued(): number {
    return this.queue.length - this.head;
  }

  push(r: R): void {
    this.queue.push(r);
  }

  /** Prepends (a follow-up, such as a login's GET /api/me, goes before new arrivals). */
  unshift(r: R): void {
    if (this.head > 0) this.queue[--this.head] = r;
    else this.queue.unshift(r);
  }

  /** The due time of the oldest request waiting for a connection; NaN when none waits. */
  oldestQueuedDueMs(): number {
    // Requests that timed out while queued stay in the queue as DONE: step past them for good.
    while (this.head < this.queue.length && this.queue[this.head]!.state !== QUEUED) this.queue[this.head++] = undefined as unknown as R;
    return this.head < this.queue.length ? this.queue[this.head]!.dueMs : NaN;
  }

  shift(): R | undefined {
    while (this.head < this.queue.length) {
      const r = this.queue[this.head];
      this.queue[this.head++] = undefined as unknown as R;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (r.state === QUEUED) return r;
    }
    return undefined;
  }
}
