import { Alert, Button, Card, Form } from 'antd';
import { useEffect, type ReactNode } from 'react';
import { ApiError } from '../../shared/api.js';
import { useI18n, type MessageKey } from '../../shared/i18n.js';
import { api } from '../client.js';
import { useCan, useProgramQuery, useWrite } from './context.js';
import { FieldsForm, fromForm, toForm, type FieldSpec } from './fields.js';

/** A configuration that is one object per program (check-in schedule, tier ladder): read, edit, PUT back. */
export function SingletonForm<T>(props: {
  title: MessageKey;
  testId: string;
  path: string;
  fields: FieldSpec[];
  /** the object the form starts from, when the API returns more than it takes back (ids, ranks) */
  fromData?(data: T): unknown;
  children?(data: T | undefined): ReactNode;
}) {
  const { title, testId, path, fields, fromData, children } = props;
  const { t } = useI18n();
  const can = useCan();
  const query = useProgramQuery<T>(path);
  const [form] = Form.useForm();
  // Only when the data changes: an edit in progress survives re-renders.
  useEffect(() => {
    if (query.data) form.setFieldsValue(toForm(fields, fromData ? fromData(query.data) : query.data));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [query.data]);
  const save = useWrite((body: unknown, base) => api('PUT', `${base}${path}`, { body, idempotent: true }));
  const missing = query.error instanceof ApiError && query.error.status === 404;
  return (
    <Card title={t(title)} data-testid={testId} loading={query.isLoading}>
      {children?.(query.data)}
      {missing && <Alert type="info" message={t('notConfigured')} style={{ marginBottom: 16 }} />}
      <FieldsForm form={form} name={testId} fields={fields} mode="create" disabled={!can} />
      {can && (
        <Button
          type="primary"
          loading={save.isPending}
          onClick={async () => {
            save.mutate(fromForm(fields, await form.validateFields(), 'create'));
          }}
        >
          {t('save')}
        </Button>
      )}
    </Card>
  );
}
