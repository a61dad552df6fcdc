const started = performance.now();

/** A progress line with the time since the benchmark started, so slow steps stand out. */
export function log(message: string): void {
  const s = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${s}s] ${message}\n`);
}

/** Time a step and log how long it took. */
export async function step<T>(label: string, work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  log(`${label} …`);
  const result = await work();
  log(`${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return result;
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export type Cell = string | number | null | undefined;

/** A plain-text table: numbers right-aligned, everything else left-aligned. */
export function table(columns: string[], rows: Cell[][]): string {
  const text = rows.map((r) => columns.map((_, i) => format(r[i])));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[], raw?: Cell[]) =>
    cells.map((c, i) => (typeof raw?.[i] === 'number' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map((r, i) => line(r, rows[i]))].join('\n');
}

function format(cell: Cell): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) return String(cell);
    return Number.isInteger(cell) ? String(cell) : cell.toFixed(Math.abs(cell) >= 100 ? 0 : 2);
  }
  return cell;
}

/** The one machine-readable line every benchmark ends with. */
export function benchLine(name: string, metrics: Record<string, number | boolean | string>): void {
  process.stdout.write(`BENCH ${JSON.stringify({ name, metrics })}\n`);
}
