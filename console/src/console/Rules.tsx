import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Space, Table, Tag } from 'antd';
import { ApiError, formatDate } from '../shared/api.js';
import { useI18n } from '../shared/i18n.js';
import { api, navigate, type Program, type Rule } from './client.js';

const COLORS: Record<string, string> = { active: 'green', draft: 'blue', paused: 'orange', archived: 'default' };

export function Rules({ program, role }: { program: Program; role: string }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const client = useQueryClient();
  const base = `/v1/programs/${program.id}`;
  const rules = useQuery({ queryKey: ['rules', program.id], queryFn: () => api<{ data: Rule[] }>('GET', `${base}/rules`) });
  const setStatus = useMutation({
    mutationFn: ({ id, status }: { id: string; status: string }) => api('PATCH', `${base}/rules/${id}`, { body: { status } }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['rules', program.id] }),
    onError: (err) => message.error(err instanceof ApiError && err.status === 403 ? t('forbidden') : (err as Error).message),
  });
  return (
    <Card title={t('rules')} extra={role !== 'viewer' && <Button type="primary" onClick={() => navigate('/rules/new')}>{t('newRule')}</Button>}>
      <Table<Rule>
        rowKey="id"
        data-testid="rules"
        loading={rules.isLoading}
        dataSource={rules.data?.data ?? []}
        pagination={false}
        columns={[
          { title: t('name'), dataIndex: 'name' },
          { title: t('status'), dataIndex: 'status', render: (s: string) => <Tag color={COLORS[s]}>{s}</Tag> },
          { title: t('version'), dataIndex: 'version' },
          { title: t('eventTypes'), key: 'eventTypes', render: (_: unknown, r) => (r.definition.eventTypes ?? []).join(', ') },
          { title: t('priority'), key: 'priority', render: (_: unknown, r) => r.definition.priority },
          { title: t('when'), dataIndex: 'updatedAt', render: formatDate },
          {
            title: t('actions'),
            key: 'actions',
            render: (_: unknown, r) => (
              <Space>
                {r.status !== 'active' && (
                  <Button size="small" type="primary" onClick={() => setStatus.mutate({ id: r.id, status: 'active' })} aria-label={`${t('activate')} ${r.name}`}>
                    {t('activate')}
                  </Button>
                )}
                {r.status === 'active' && (
                  <Button size="small" onClick={() => setStatus.mutate({ id: r.id, status: 'paused' })} aria-label={`${t('pause')} ${r.name}`}>
                    {t('pause')}
                  </Button>
                )}
              </Space>
            ),
          },
        ]}
      />
    </Card>
  );
}
