import { Alert, Button, Card, Drawer, Form, Space, Table } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { columns as toColumns, type ColumnSpec } from './columns.js';
import { useState, type ReactNode } from 'react';
import { useI18n, type MessageKey } from '../../shared/i18n.js';
import { api } from '../client.js';
import { useCan, useErrorText, useProgramQuery, useWrite, type Scope } from './context.js';
import { FieldsForm, fromForm, toForm, type FieldSpec, type Mode } from './fields.js';

export interface Endpoint<A> {
  method: 'POST' | 'PUT' | 'PATCH';
  path(arg: A): string;
}

/** The usual pair: POST to the list to create, PATCH the item (by `id(row)`) to change. */
export function rest<T>(list: string, id: (row: T) => string): { create: Endpoint<Record<string, unknown>>; update: Endpoint<T> } {
  return { create: { method: 'POST', path: () => list }, update: { method: 'PATCH', path: (row) => `${list}/${id(row)}` } };
}

export interface ConfigTableProps<T> {
  title: MessageKey;
  testId: string;
  /** the list endpoint below the program, e.g. `/point-types` */
  list: string;
  rowKey: keyof T & string;
  /** the field that names a row in button labels ("Edit gold") */
  rowName: keyof T & string;
  columns: Array<ColumnSpec<T>>;
  fields?: FieldSpec[];
  create?: Endpoint<Record<string, unknown>>;
  update?: Endpoint<T>;
  /** rows that cannot be edited (built-in event types) */
  editable?(row: T): boolean;
  /** the object the edit form starts from, when the row nests it (a campaign's definition) */
  fromRow?(row: T): unknown;
  /** last touches to the body (defaults the API wants, derived fields) */
  toBody?(body: Record<string, unknown>, mode: Mode): Record<string, unknown>;
  onCreated?(result: any): void;
  scope?: Scope;
  expand?(row: T): ReactNode;
  actions?(row: T): ReactNode;
  extra?: ReactNode;
  /** a list endpoint that is not `{ data }` */
  select?(data: any): T[];
}

/**
 * The shape of most configuration screens: a table of what exists and a drawer to create or
 * change one, its form described by field specs. Writes are hidden from those who may not make them.
 */
export function ConfigTable<T extends object>(props: ConfigTableProps<T>) {
  const { t } = useI18n();
  const can = useCan(props.scope);
  const query = useProgramQuery<any>(props.list);
  const errorText = useErrorText();
  const [form] = Form.useForm();
  const [editing, setEditing] = useState<{ mode: Mode; row: T | null } | null>(null);
  const save = useWrite(
    async ({ mode, row, body }: { mode: Mode; row: T | null; body: Record<string, unknown> }, base: string) => {
      const endpoint = mode === 'create' ? props.create! : props.update!;
      const path = mode === 'create' ? (endpoint as Endpoint<Record<string, unknown>>).path(body) : (endpoint as Endpoint<T>).path(row!);
      // A fresh Idempotency-Key per write: the routes that require one get it, the others store it.
      return api(endpoint.method, `${base}${path}`, { body, idempotent: true });
    },
    {
      onSuccess: (result, { mode }) => {
        setEditing(null);
        if (mode === 'create') props.onCreated?.(result);
      },
    },
  );
  const fields = props.fields ?? [];
  const open = (mode: Mode, row: T | null) => {
    form.resetFields();
    form.setFieldsValue(toForm(fields, row && props.fromRow ? props.fromRow(row) : row));
    setEditing({ mode, row });
  };
  const submit = async () => {
    if (!editing) return;
    const values = await form.validateFields();
    const body = fromForm(fields, values, editing.mode);
    save.mutate({ mode: editing.mode, row: editing.row, body: props.toBody ? props.toBody(body, editing.mode) : body });
  };

  const rows: T[] = props.select ? props.select(query.data) : (query.data?.data ?? []);
  const columns: ColumnsType<T> = toColumns(t, props.columns);
  const nameOf = (row: T) => String(row[props.rowName]);
  if ((can && props.update) || props.actions) {
    columns.push({
      title: t('actions'),
      key: 'actions',
      render: (_: unknown, row: T) => (
        <Space wrap>
          {can && props.update && (props.editable?.(row) ?? true) && (
            <Button size="small" onClick={() => open('edit', row)} aria-label={`${t('edit')} ${nameOf(row)}`}>
              {t('edit')}
            </Button>
          )}
          {props.actions?.(row)}
        </Space>
      ),
    });
  }
  return (
    <Card
      title={t(props.title)}
      extra={
        <Space>
          {props.extra}
          {can && props.create && (
            <Button type="primary" onClick={() => open('create', null)}>
              {t('new')}
            </Button>
          )}
        </Space>
      }
    >
      {/* e.g. API keys, which only admins may read */}
      {query.error && <Alert type="warning" showIcon message={errorText(query.error)} style={{ marginBottom: 16 }} />}
      <Table<T>
        data-testid={props.testId}
        rowKey={(row) => String(row[props.rowKey])}
        loading={query.isLoading}
        dataSource={rows}
        columns={columns}
        pagination={rows.length > 20 ? { pageSize: 20 } : false}
        size="middle"
        {...(props.expand ? { expandable: { expandedRowRender: props.expand } } : {})}
      />
      <Drawer
        open={editing !== null}
        width={520}
        title={`${t(editing?.mode === 'edit' ? 'edit' : 'new')} · ${t(props.title)}`}
        onClose={() => setEditing(null)}
        destroyOnClose={false}
        extra={
          <Button type="primary" onClick={submit} loading={save.isPending}>
            {t('save')}
          </Button>
        }
      >
        <FieldsForm form={form} name={props.testId} fields={fields} mode={editing?.mode ?? 'create'} />
      </Drawer>
    </Card>
  );
}
