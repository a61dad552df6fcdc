import { Space } from 'antd';
import { newKey } from '../../shared/api.js';
import { ApiError } from '../../shared/api.js';
import { api } from '../client.js';
import { useBase } from '../kit/context.js';
import { CsvImport, parseCsvLine, splitCsv, type ImportResult } from '../kit/CsvImport.js';

const BATCH = 200;
const PARALLEL = 4;

interface BulkReport { rows: number; credited: number; replayed: number; errors: Array<{ line: number; code: string; message: string }> }

/**
 * Bulk credits go to POST /bulk-credits in batches of lines, each batch under its own
 * Idempotency-Key (the run's key plus the batch number), so a retried batch credits nothing twice.
 */
async function bulkCredits(base: string, csv: string, progress: (done: number, total: number) => void): Promise<ImportResult> {
  const { header, lines } = splitCsv(csv);
  const runKey = newKey();
  const result: ImportResult = { done: 0, failed: 0, errors: [] };
  progress(0, lines.length);
  for (let i = 0; i < lines.length; i += BATCH) {
    const batch = lines.slice(i, i + BATCH);
    const report = await api<BulkReport>('POST', `${base}/bulk-credits`, {
      raw: { text: [header, ...batch.map((l) => l.text)].join('\n'), contentType: 'text/csv' },
      headers: { 'idempotency-key': `${runKey}-${i / BATCH}` },
    });
    result.done += report.credited + report.replayed;
    // The API numbers lines within the batch (header = 1): map them back to the file's.
    for (const e of report.errors) result.errors.push({ line: batch[e.line - 2]?.line ?? e.line, message: `${e.code}: ${e.message}` });
    result.failed = result.errors.length;
    progress(Math.min(i + BATCH, lines.length), lines.length);
  }
  return result;
}

/** Members one POST each (the API has no member import), a few at a time; an existing member counts as a failure with its reason. */
async function importMembers(base: string, csv: string, progress: (done: number, total: number) => void): Promise<ImportResult> {
  const { header, lines } = splitCsv(csv);
  const columns = parseCsvLine(header);
  const result: ImportResult = { done: 0, failed: 0, errors: [] };
  let next = 0;
  let finished = 0;
  progress(0, lines.length);
  const worker = async () => {
    while (next < lines.length) {
      const l = lines[next++]!;
      const cells = parseCsvLine(l.text);
      const body: Record<string, unknown> = {};
      columns.forEach((c, i) => {
        const v = cells[i];
        if (!v) return;
        body[c] = c === 'tags' ? v.split(';').map((s) => s.trim()).filter(Boolean) : v;
      });
      try {
        await api('POST', `${base}/members`, { body, idempotent: true });
        result.done++;
      } catch (err) {
        result.failed++;
        result.errors.push({ line: l.line, message: err instanceof ApiError ? `${err.code}: ${err.message}` : String(err) });
      }
      progress(++finished, lines.length);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  result.errors.sort((a, b) => a.line - b.line);
  return result;
}

export function Imports() {
  const base = useBase();
  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }}>
      <CsvImport title="bulkCredits" testId="bulk-credits" help="bulkCreditsHelp" example={'externalId,pointType,amount,reason\nalice,points,100,Welcome gift'} run={(csv, p) => bulkCredits(base, csv, p)} />
      <CsvImport title="memberImport" testId="member-import" help="memberImportHelp" example={'externalId,name,phone,email,tags\ncarol,Carol Chen,,carol@example.com,tea;vip'} run={(csv, p) => importMembers(base, csv, p)} />
    </Space>
  );
}
