import { Alert, Button, Card, Input, Progress, Space, Typography } from 'antd';
import { useState } from 'react';
import { useI18n, type MessageKey } from '../../shared/i18n.js';
import { useCan, useErrorText } from './context.js';

export interface ImportResult {
  done: number;
  failed: number;
  errors: Array<{ line: number; message: string }>;
}

/** A CSV's header and data lines (blank lines dropped); line numbers count the header as 1. */
export function splitCsv(text: string): { header: string; lines: Array<{ line: number; text: string }> } {
  const all = text.replace(/\r\n?/g, '\n').split('\n');
  return { header: all[0] ?? '', lines: all.slice(1).map((t, i) => ({ line: i + 2, text: t })).filter((l) => l.text.trim() !== '') };
}

/** One CSV field list, with "quoted, fields" and "" escapes. */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') out.push(cur), (cur = '');
    else cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/**
 * A long import with a progress bar: the screen sends the CSV in batches (the API answers each
 * at once), so progress is real, and a failed batch stops the run with what was done so far.
 */
export function CsvImport(props: {
  title: MessageKey;
  testId: string;
  help: MessageKey;
  example: string;
  run(csv: string, progress: (done: number, total: number) => void): Promise<ImportResult>;
}) {
  const { t } = useI18n();
  const can = useCan();
  const errorText = useErrorText();
  const [text, setText] = useState('');
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = `${props.testId}-csv`;
  const start = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await props.run(text, (done, total) => setProgress({ done, total })));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const percent = progress && progress.total ? Math.round((progress.done / progress.total) * 100) : 0;
  return (
    <Card title={t(props.title)} data-testid={props.testId}>
      <Typography.Paragraph type="secondary">{t(props.help)}</Typography.Paragraph>
      <Space direction="vertical" style={{ width: '100%' }}>
        <label htmlFor={`${id}-file`}>{t('csvFile')}</label>
        <input id={`${id}-file`} type="file" accept=".csv,text/csv" disabled={!can || busy} onChange={async (e) => setText((await e.target.files?.[0]?.text()) ?? '')} />
        <label htmlFor={id}>{t('csvText')}</label>
        <Input.TextArea id={id} rows={6} value={text} placeholder={props.example} onChange={(e) => setText(e.target.value)} disabled={!can || busy} style={{ fontFamily: 'monospace' }} />
        {can && (
          <Button type="primary" onClick={start} loading={busy} disabled={!text.trim()}>
            {t('startImport')}
          </Button>
        )}
        {progress && <Progress percent={percent} status={busy ? 'active' : error ? 'exception' : 'success'} aria-label={t('progress')} format={() => `${progress.done} / ${progress.total}`} />}
        {error && <Alert type="error" message={error} />}
        {result && (
          <Alert
            data-testid={`${props.testId}-result`}
            type={result.failed ? 'warning' : 'success'}
            message={t('importResult', { done: result.done, failed: result.failed })}
            description={result.errors.slice(0, 20).map((e) => (
              <div key={e.line}>
                {t('line')} {e.line}: {e.message}
              </div>
            ))}
          />
        )}
      </Space>
    </Card>
  );
}
