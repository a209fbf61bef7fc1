// The record of every write a load sent, for the write checker: acknowledged writes with their
// send and acknowledgement times, and indeterminate ones (sent, no answer). The engine only keeps
// one when it is given a log (LoadOptions.writeLog), and a log keeps at most `memoryBound` records
// in memory: past that it spills them to a file, so a long load's memory stays flat however many
// writes it acknowledges (a generator that swells distorts what it measures).
import { appendFileSync, createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AcknowledgedWrite, IndeterminateWrite, WriteSink } from '../harness/load/types.ts';

/** Records held in memory before a spill (~100 bytes each: ~2 MB), a few seconds of writes at 5,000 req/s. */
export const DEFAULT_MEMORY_BOUND = 20_000;

export interface WriteLogOptions {
  /** where the spill file goes; default a fresh directory under the system's tmpdir, removed by close() */
  dir?: string;
  memoryBound?: number;
}

/** Every write of a load, in memory up to a bound and in a file past it. */
export class WriteLog implements WriteSink {
  readonly #bound: number;
  readonly #dir: string;
  readonly #ownDir: boolean;
  #acked: AcknowledgedWrite[] = [];
  #unknown: IndeterminateWrite[] = [];
  #spilled = 0;
  #file: string | null = null;
  #counts = { acknowledged: 0, indeterminate: 0 };

  constructor(o: WriteLogOptions = {}) {
    this.#bound = o.memoryBound ?? DEFAULT_MEMORY_BOUND;
    if (!(this.#bound >= 1)) throw new Error(`write log memory bound ${this.#bound} must be at least 1`);
    this.#ownDir = o.dir === undefined;
    this.#dir = o.dir ?? '';
  }

  acknowledged(w: AcknowledgedWrite): void {
    this.#counts.acknowledged++;
    this.#acked.push(w);
    if (this.#acked.length + this.#unknown.length >= this.#bound) this.#spill();
  }

  indeterminate(w: IndeterminateWrite): void {
    this.#counts.indeterminate++;
    this.#unknown.push(w);
    if (this.#acked.length + this.#unknown.length >= this.#bound) this.#spill();
  }

  /** How many of each were recorded. */
  get counts(): { acknowledged: number; indeterminate: number } {
    return { ...this.#counts };
  }

  /** Records written to the spill file so far (0: everything is in memory). */
  get spilled(): number {
    return this.#spilled;
  }

  /** The spill file, once there is one. */
  get file(): string | null {
    return this.#file;
  }

  // One synchronous append per `bound` records: a few hundred kilobytes at a time, so the load's
  // event loop pauses for about a millisecond every `bound` writes.
  #spill(): void {
    if (this.#file === null) {
      const dir = this.#ownDir ? mkdtempSync(join(tmpdir(), 'bench-writes-')) : this.#dir;
      this.#file = join(dir, 'writes.tsv');
    }
    // Values are the harness's own names (no tab, no newline): a tab-separated line per write.
    let text = '';
    for (const w of this.#acked) text += `a\t${w.id}\t${w.sentS}\t${w.atS}\t${w.value}\n`;
    for (const w of this.#unknown) text += `i\t${w.id}\t${w.sentS}\t\t${w.value}\n`;
    appendFileSync(this.#file, text, { mode: 0o600 });
    this.#spilled += this.#acked.length + this.#unknown.length;
    this.#acked = [];
    this.#unknown = [];
  }

  /** Every record, spilled ones first (for the checker: it holds them all while it checks). */
  async readAll(): Promise<{ acknowledged: AcknowledgedWrite[]; indeterminate: IndeterminateWrite[] }> {
    const acknowledged: AcknowledgedWrite[] = [];
    const indeterminate: IndeterminateWrite[] = [];
    if (this.#file !== null) {
      const lines = createInterface({ input: createReadStream(this.#file, 'utf8'), crlfDelay: Infinity });
      for await (const line of lines) {
        if (line === '') continue;
        const [k, id, sentS, atS, value] = line.split('\t') as [string, string, string, string, string];
        if (k === 'a') acknowledged.push({ id: Number(id), value, sentS: Number(sentS), atS: Number(atS) });
        else indeterminate.push({ id: Number(id), value, sentS: Number(sentS) });
      }
    }
    acknowledged.push(...this.#acked);
    indeterminate.push(...this.#unknown);
    return { acknowledged, indeterminate };
  }

  /** Removes the spill file (and its directory when the log made it). */
  close(): void {
    if (this.#file === null) return;
    rmSync(this.#ownDir ? join(this.#file, '..') : this.#file, { recursive: true, force: true });
    this.#file = null;
  }
}
