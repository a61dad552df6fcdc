import { useQuery } from '@tanstack/react-query';
import { Button, Card, Table, Tag } from 'antd';
import { formatDate } from '../shared/api.js';
import { useI18n } from '../shared/i18n.js';
import { api, navigate, type Member, type Page, type Program } from './client.js';

export function Members({ program }: { program: Program }) {
  const { t } = useI18n();
  const members = useQuery({ queryKey: ['members', program.id], queryFn: () => api<Page<Member>>('GET', `/v1/programs/${program.id}/members?limit=100`) });
  return (
    <Card title={t('members')}>
      <Table<Member>
        rowKey="id"
        loading={members.isLoading}
        dataSource={members.data?.data ?? []}
        pagination={{ pageSize: 20 }}
        columns={[
          { title: t('externalId'), dataIndex: 'externalId' },
          { title: t('name'), dataIndex: 'name' },
          { title: t('status'), dataIndex: 'status', render: (s: string) => <Tag color={s === 'active' ? 'green' : 'red'}>{s}</Tag> },
          { title: t('tags'), dataIndex: 'tags', render: (tags: string[]) => tags.map((x) => <Tag key={x}>{x}</Tag>) },
          { title: t('joined'), dataIndex: 'joinedAt', render: formatDate },
          { title: t('actions'), key: 'actions', render: (_: unknown, m) => <Button onClick={() => navigate(`/members/${m.id}`)}>{t('view')}</Button> },
        ]}
      />
    </Card>
  );
}
