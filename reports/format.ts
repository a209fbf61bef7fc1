// Number and text formatting shared by every renderer, so the HTML report, summary.md, junit.xml
// and `bench compare` print the same figure the same way.

const intFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A number with thousands separators and at most `digits` decimals ("12,345.6"). */
export function fmtNum(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return intFormat.format(n);
  const abs = Math.abs(n);
  // Small numbers keep their significant digits: 0.0042 must not print as 0.
  const d = abs >= 100 ? Math.min(digits, 1) : abs >= 1 ? digits : abs >= 0.01 ? digits + 1 : 4;
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: d }).format(n);
}

/** A count with thousands separators ("1,234,567"). */
export const fmtCount = (n: number): string => (Number.isFinite(n) ? intFormat.format(Math.round(n)) : String(n));

/**
 * Milliseconds, readable at any scale: "0.42 ms", "3.2 ms", "123 ms", "1.23 s". null (nothing was
 * measured: no response in that window) is "n/a", never "0 ms".
 */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return 'n/a';
  if (!Number.isFinite(ms)) return String(ms);
  const abs = Math.abs(ms);
  if (abs >= 1000) return `${(ms / 1000).toFixed(abs >= 10_000 ? 1 : 2)} s`;
  if (abs >= 100) return `${Math.round(ms)} ms`;
  if (abs >= 10) return `${ms.toFixed(1).replace(/\.0$/, '')} ms`;
  if (abs >= 1 || ms === 0) return `${ms.toFixed(1).replace(/\.0$/, '')} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** Requests per second ("1,234 req/s", "12.5 req/s"). */
export const fmtRps = (rps: number): string => `${Math.abs(rps) >= 100 ? fmtCount(rps) : fmtNum(rps, 1)} req/s`;

/** A fraction as a percentage: 0.0123 -> "1.23%", a tiny non-zero value -> "<0.01%". */
export function fmtPct(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined) return 'n/a';
  if (!Number.isFinite(fraction)) return String(fraction);
  const pct = fraction * 100;
  if (pct === 0) return '0%';
  if (Math.abs(pct) < 0.01) return pct > 0 ? '<0.01%' : '>-0.01%';
  if (Math.abs(pct) >= 10) return `${pct.toFixed(1).replace(/\.0$/, '')}%`;
  return `${pct.toFixed(2).replace(/\.?0+$/, '')}%`;
}

/** A signed change in percent: +12.3%, -4.0%, 0%. */
export function fmtChangePct(pct: number): string {
  if (pct === Infinity) return '+∞%';
  if (pct === -Infinity) return '-∞%';
  if (!Number.isFinite(pct)) return 'n/a';
  if (pct === 0) return '0%';
  return `${pct > 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

/** Seconds as a duration: "850 ms", "42 s", "2 min 5 s", "1 h 3 min". */
export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return String(s);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${fmtNum(s, s < 10 ? 2 : 1)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return sec > 0 ? `${m} min ${sec} s` : `${m} min`;
}

/** A value of unknown unit (objective thresholds, drill figures): numbers compactly, null as "—". */
export function fmtValue(v: number | string | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  return fmtNum(v, 3);
}

/** An ISO timestamp as "2024-05-01 12:00:03 UTC"; anything unparseable is shown as given. */
export function fmtWhen(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '').replace(/Z$/, '')} UTC`;
}

/** The seconds between two ISO timestamps, or null when either does not parse. */
export function secondsBetween(fromIso: string, toIso: string): number | null {
  const a = Date.parse(fromIso);
  const b = Date.parse(toIso);
  return Number.isNaN(a) || Number.isNaN(b) ? null : (b - a) / 1000;
}

/** A fault window's span: "20–30 s", or "from 20 s" while it never ended. */
export const fmtWindow = (startS: number, endS: number | null): string =>
  endS === null ? `from ${fmtNum(startS, 1)} s (not ended)` : `${fmtNum(startS, 1)}–${fmtNum(endS, 1)} s`;
