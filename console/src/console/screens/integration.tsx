import { Button, Card, Form, Input, Space, Table } from 'antd';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useI18n } from '../../shared/i18n.js';
import { api, type Page } from '../client.js';
import { ActionButton } from '../kit/ActionButton.js';
import { ConfigTable, rest } from '../kit/ConfigTable.js';
import { columns, date, SubTable, tag, tags } from '../kit/columns.js';
import { useBase, useErrorText, useProgramQuery } from '../kit/context.js';
import { useSecretNotice } from '../kit/SecretNotice.js';

interface Webhook { id: string; url: string; eventTypes: string[]; active: boolean; description: string | null; createdAt: string }
interface Delivery { id: string; type: string; status: string; attempts: number; createdAt: string; lastStatus: number | null; lastError: string | null; deliveredAt: string | null }
interface ApiKey { id: string; name: string; hint: string; scopes: string[]; createdAt: string; revokedAt: string | null; lastUsedAt?: string | null }
interface AuditEntry { id: string; actor: string; action: string; resourceType: string; resourceId: string; before: unknown; after: unknown; at: string }

const MESSAGE_TYPES = ['*', 'points.earned', 'points.spent', 'points.expiring', 'points.expired', 'order.status_changed', 'tier.changed'];

function Deliveries({ webhook }: { webhook: Webhook }) {
  const deliveries = useProgramQuery<Page<Delivery>>(`/webhooks/${webhook.id}/deliveries?limit=20`);
  return (
    <SubTable<Delivery>
      rows={deliveries.data?.data ?? []} loading={deliveries.isLoading} testId="deliveries"
      specs={[
        ['when', 'createdAt', date],
        ['messageType', 'type'],
        ['status', 'status', tag],
        ['attempts', 'attempts'],
        ['lastResult', (d) => d.lastError ?? d.lastStatus ?? '—'],
        ['actions', (d) => <ActionButton label="redeliver" target={d.id} path={`/webhooks/${webhook.id}/deliveries/${d.id}/redeliver`} body={{}} />],
      ]}
    />
  );
}

export function Webhooks() {
  const secret = useSecretNotice();
  return (
    <>
      <ConfigTable<Webhook>
        title="webhooks"
        testId="webhooks"
        list="/webhooks"
        rowKey="id"
        rowName="url"
        columns={[
          ['url', 'url'],
          ['messageTypes', 'eventTypes', tags],
          ['active', 'active', tag],
          ['description', 'description'],
          ['created', 'createdAt', date],
        ]}
        fields={[
          { name: 'url', label: 'url', required: true, placeholder: 'https://example.com/laurel' },
          { name: 'eventTypes', label: 'messageTypes', kind: 'tags', options: MESSAGE_TYPES, required: true, initial: ['*'] },
          { name: 'active', label: 'active', kind: 'switch', initial: true },
          { name: 'description', label: 'description', nullable: true },
        ]}
        {...rest<Webhook>('/webhooks', (r) => r.id)}
        onCreated={(r: { secret?: string }) => r.secret && secret.show(r.secret)}
        actions={(r) => (
          <>
            <ActionButton label="ping" target={r.url} path={`/webhooks/${r.id}/ping`} body={{}} />
            <ActionButton label="delete" target={r.url} method="DELETE" path={`/webhooks/${r.id}`} confirm danger />
          </>
        )}
        expand={(r) => <Deliveries webhook={r} />}
      />
      {secret.notice}
    </>
  );
}

export function ApiKeys() {
  const secret = useSecretNotice();
  return (
    <>
      <ConfigTable<ApiKey>
        title="apiKeys"
        testId="api-keys"
        list="/api-keys"
        scope="admin"
        rowKey="id"
        rowName="name"
        columns={[
          ['name', 'name'],
          ['hint', 'hint'],
          ['scopes', 'scopes', tags],
          ['created', 'createdAt', date],
          ['revoked', 'revokedAt', date],
        ]}
        fields={[
          { name: 'name', label: 'name', required: true },
          { name: 'scopes', label: 'scopes', kind: 'tags', options: ['read', 'earn', 'spend', 'configure', 'admin'], required: true, initial: ['read'] },
        ]}
        create={{ method: 'POST', path: () => '/api-keys' }}
        onCreated={(r: { secret?: string }) => r.secret && secret.show(r.secret)}
        actions={(r) => !r.revokedAt && <ActionButton label="revoke" target={r.name} scope="admin" path={`/api-keys/${r.id}/revoke`} body={{}} confirm danger />}
      />
      {secret.notice}
    </>
  );
}

const AUDIT_FILTERS = ['resource', 'actor', 'action', 'from', 'to'] as const;
type AuditFilter = Partial<Record<(typeof AUDIT_FILTERS)[number], string>>;

/** The audit log, filtered on the server, paged by cursor ("load more"). */
export function AuditLog() {
  const { t } = useI18n();
  const base = useBase();
  const errorText = useErrorText();
  const [filter, setFilter] = useState<AuditFilter>({});
  const query = useInfiniteQuery({
    queryKey: ['program', base, 'audit-log', filter],
    initialPageParam: null as string | null,
    getNextPageParam: (last: Page<AuditEntry>) => last.nextCursor,
    queryFn: ({ pageParam }) => {
      const q = new URLSearchParams({ limit: '50', ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v)) });
      if (pageParam) q.set('cursor', pageParam);
      return api<Page<AuditEntry>>('GET', `${base}/audit-log?${q}`);
    },
  });
  const rows = query.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <Card title={t('auditLog')} data-testid="audit-log">
      <Form layout="inline" name="audit-filter" onFinish={(v: AuditFilter) => setFilter(v)} style={{ marginBottom: 16, rowGap: 8 }}>
        {AUDIT_FILTERS.map((f) => (
          <Form.Item key={f} name={f} label={t(`audit_${f}`)}>
            <Input allowClear placeholder={f === 'from' || f === 'to' ? '2026-01-01T00:00:00Z' : undefined} style={{ width: f === 'from' || f === 'to' ? 210 : 140 }} />
          </Form.Item>
        ))}
        <Button htmlType="submit" type="primary">
          {t('filter')}
        </Button>
      </Form>
      {query.error && <p role="alert">{errorText(query.error)}</p>}
      <Table<AuditEntry>
        rowKey="id"
        size="small"
        loading={query.isLoading}
        dataSource={rows}
        pagination={false}
        columns={columns<AuditEntry>(t, [
          ['when', 'at', date],
          ['audit_actor', 'actor'],
          ['audit_action', 'action', tag],
          ['audit_resource', 'resourceType'],
          ['id', 'resourceId'],
        ])}
        expandable={{
          expandedRowRender: (r) => (
            <Space align="start" style={{ width: '100%' }}>
              <pre aria-label={t('before')}>{JSON.stringify(r.before, null, 2)}</pre>
              <pre aria-label={t('after')}>{JSON.stringify(r.after, null, 2)}</pre>
            </Space>
          ),
        }}
      />
      {query.hasNextPage && (
        <Button style={{ marginTop: 12 }} onClick={() => void query.fetchNextPage()} loading={query.isFetchingNextPage}>
          {t('loadMore')}
        </Button>
      )}
    </Card>
  );
}
