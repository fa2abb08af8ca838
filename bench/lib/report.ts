/** The shape of what each section reports, and the one table `npm run bench` prints. */
import { type Figure, round } from './stats';

/** A reported figure with what it is, and the target it is judged against (if any). */
export interface Row extends Figure {
  label: string;
  /** The target as the issue states it, e.g. `<= 250 KB`. */
  target?: string;
  /** Whether the median meets the target; `undefined` when there is no target. */
  met?: boolean;
}

export interface SectionResult {
  id: string;
  title: string;
  rows: Row[];
  /** Causes of missed targets, caveats, what was not measured. */
  notes: string[];
  /** Everything else worth keeping in results.json (per-item data, raw counts). */
  details?: unknown;
  /** Wall time the section took, ms. */
  elapsedMs?: number;
  /** Set when the section could not run to the end. */
  error?: string;
}

export function row(label: string, fig: Figure, target?: { text: string; met: boolean }): Row {
  return { label, ...fig, ...(target ? { target: target.text, met: target.met } : {}) };
}

function fmt(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  const abs = Math.abs(value);
  if (abs !== 0 && abs < 0.001) return value.toExponential(2);
  if (abs >= 1000) return String(Math.round(value));
  return String(round(value, abs < 1 ? 4 : 2));
}

/** Renders every section's rows as one plain-text table. */
export function renderTable(sections: SectionResult[]): string {
  const header = ['section', 'figure', 'median', 'min', 'max', 'n', 'unit', 'target', 'met'];
  const lines: string[][] = [header];
  for (const s of sections) {
    if (s.error)
      lines.push([s.id, `ERROR: ${s.error.split('\n')[0]?.slice(0, 100) ?? ''}`, '', '', '', '', '', '', '']);
    for (const r of s.rows) {
      lines.push([
        s.id,
        r.label,
        fmt(r.median),
        fmt(r.min),
        fmt(r.max),
        String(r.n),
        r.unit,
        r.target ?? '',
        r.met === undefined ? '' : r.met ? 'yes' : 'NO',
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  const out = lines.map((l) =>
    l
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out.join('\n');
}

/** A `Row` in the compact form results.json keeps (numbers rounded). */
export function rowJson(r: Row): Record<string, unknown> {
  return {
    label: r.label,
    unit: r.unit,
    n: r.n,
    min: round(r.min, 6),
    median: round(r.median, 6),
    max: round(r.max, 6),
    ...(r.p99 === undefined ? {} : { p99: round(r.p99, 6) }),
    ...(r.target === undefined ? {} : { target: r.target, met: r.met }),
  };
}
