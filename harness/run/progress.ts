// Live progress of a load: one redrawn line on a terminal, a plain line every few seconds when
// the output is a pipe or a CI log.
import type { SeriesPoint } from '../../reports/schema.ts';

export interface LiveProgress {
  second(point: SeriesPoint, totalS: number): void;
  done(): void;
}

export function liveProgress(write: (text: string) => void, isTTY: boolean, everyS = 5): LiveProgress {
  let drawn = false;
  return {
    second(p, totalS) {
      const line = `  t=${String(Math.round(p.t)).padStart(4)}s${totalS > 0 ? `/${totalS}s` : ''}  target ${p.targetRate.toFixed(0).padStart(6)}/s  done ${String(p.requests).padStart(6)}/s  errors ${String(p.errors).padStart(5)}  dropped ${String(p.dropped).padStart(5)}  p50 ${p.p50 === null ? 'n/a' : `${p.p50.toFixed(1)} ms`}  p99 ${p.p99 === null ? 'n/a' : `${p.p99.toFixed(1)} ms`}`;
      if (isTTY) {
        write(`\r\x1b[2K${line}`);
        drawn = true;
      } else if (Math.round(p.t) % everyS === 0) write(`${line}\n`);
    },
    done() {
      if (drawn) write('\n');
      drawn = false;
    },
  };
}
