import { Table, Tag } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import type { ReactNode } from 'react';
import { formatDate } from '../../shared/api.js';
import { useI18n, type MessageKey } from '../../shared/i18n.js';

const COLOURS: Record<string, string> = {
  active: 'green', delivered: 'green', completed: 'green', fulfilled: 'green', paid: 'green', true: 'green',
  draft: 'blue', pending: 'blue', submitted: 'blue', shipped: 'cyan', awaiting_payment: 'gold',
  paused: 'orange', failed: 'red', cancelled: 'default', refunded: 'purple', archived: 'default', retired: 'default', ended: 'default', false: 'default',
};

export const tag = (value: unknown): ReactNode => (value === null || value === undefined ? '—' : <Tag color={COLOURS[String(value)]}>{String(value)}</Tag>);
export const tags = (values: unknown): ReactNode => (Array.isArray(values) && values.length ? values.map((v) => <Tag key={String(v)}>{String(v)}</Tag>) : '—');
export const date = (value: unknown): ReactNode => formatDate(value as string | null);

export type ColumnSpec<T> = [MessageKey, keyof T & string, ((value: any, row: T) => ReactNode)?] | [MessageKey, (row: T) => ReactNode];

/** Columns from [title, field or render] pairs: a field shows as text, a function renders the row. */
export function columns<T>(t: (key: MessageKey) => string, specs: Array<ColumnSpec<T>>): ColumnsType<T> {
  return specs.map(([title, field, render]) =>
    typeof field === 'function'
      ? { title: t(title), key: title, render: (_: unknown, row: T) => field(row) }
      : { title: t(title), key: title, dataIndex: field, ...(render ? { render: (v: unknown, row: T) => render(v, row) } : { render: (v: unknown) => (v === null || v === undefined || v === '' ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v)) }) },
  );
}

/** A small table inside an expanded row (SKUs, prizes, deliveries): rows keyed by id, no paging. */
export function SubTable<T extends { id: string }>({ rows, specs, loading, testId }: { rows: T[]; specs: Array<ColumnSpec<T>>; loading?: boolean; testId?: string }) {
  const { t } = useI18n();
  return <Table<T> size="small" rowKey="id" pagination={false} loading={loading} dataSource={rows} columns={columns(t, specs)} data-testid={testId} />;
}
