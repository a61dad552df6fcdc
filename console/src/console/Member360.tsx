import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, Descriptions, Empty, Form, Input, InputNumber, Row, Space, Statistic, Table, Tag } from 'antd';
import { ApiError, formatDate, formatPoints } from '../shared/api.js';
import { CheckinCalendar, type CalendarDay } from '../shared/CheckinCalendar.js';
import { useI18n } from '../shared/i18n.js';
import { api, navigate, type Balance, type Member, type Page, type PointType, type Program, type Rule } from './client.js';

interface Entry {
  entryId: number;
  transactionId: string;
  kind: string;
  pointType: string;
  amount: number;
  availableAfter: number;
  occurredAt: string;
  source: { type: string; id: string } | null;
  reason: string | null;
  actor: string;
  details: any;
}

/** Why an entry happened, in words: the rules that paid it, the reason given, or its source. */
function explain(e: Entry, ruleNames: Map<string, string>): string {
  const parts: string[] = [];
  const rules = Array.isArray(e.details?.rules) ? (e.details.rules as Array<{ id: string; version: number; amount: number }>) : [];
  for (const r of rules) parts.push(`${ruleNames.get(r.id) ?? r.id} v${r.version}: +${r.amount}`);
  if (e.reason) parts.push(e.reason);
  if (e.source && rules.length === 0) parts.push(`${e.source.type} ${e.source.id}`);
  parts.push(`(${e.actor})`);
  return parts.join(' · ');
}

export function Member360({ program, memberId, role }: { program: Program; memberId: string; role: string }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const client = useQueryClient();
  const base = `/v1/programs/${program.id}`;
  const m = `${base}/members/${memberId}`;
  const member = useQuery({ queryKey: ['member', memberId], queryFn: () => api<Member>('GET', m) });
  const balances = useQuery({ queryKey: ['balances', memberId], queryFn: () => api<{ balances: Balance[] }>('GET', `${m}/balances?expiringWithinDays=365`) });
  const ledger = useQuery({ queryKey: ['ledger', memberId], queryFn: () => api<Page<Entry>>('GET', `${m}/ledger?limit=50`) });
  const calendar = useQuery({ queryKey: ['calendar', memberId], queryFn: () => api<{ month: string; currentStreak: number; longestStreak: number; days: CalendarDay[] }>('GET', `${m}/check-ins/calendar`), retry: false });
  const orders = useQuery({ queryKey: ['member-orders', memberId], queryFn: () => api<Page<any>>('GET', `${base}/mall/orders?memberId=${encodeURIComponent(memberId)}&limit=50`) });
  const rules = useQuery({ queryKey: ['rules', program.id], queryFn: () => api<{ data: Rule[] }>('GET', `${base}/rules`) });
  const pointTypes = useQuery({ queryKey: ['point-types', program.id], queryFn: () => api<{ data: PointType[] }>('GET', `${base}/point-types`) });
  const ruleNames = new Map((rules.data?.data ?? []).map((r) => [r.id, r.name]));
  const [form] = Form.useForm();
  const adjust = useMutation({
    mutationFn: (v: { pointType: string; amount: number; reason: string }) => api('POST', `${m}/adjust`, { body: v, idempotent: true }),
    onSuccess: () => {
      message.success(t('adjusted'));
      form.resetFields();
      void client.invalidateQueries({ queryKey: ['balances', memberId] });
      void client.invalidateQueries({ queryKey: ['ledger', memberId] });
    },
    onError: (err) => message.error(err instanceof ApiError && err.status === 403 ? t('forbidden') : (err as Error).message),
  });

  const mem = member.data;
  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }} data-testid="member-360">
      <Button onClick={() => navigate('/members')}>{t('back')}</Button>
      <Card title={`${t('profile')}: ${mem?.name ?? mem?.externalId ?? memberId}`} loading={member.isLoading}>
        {mem && (
          <Descriptions column={3} size="small">
            <Descriptions.Item label="ID">{mem.id}</Descriptions.Item>
            <Descriptions.Item label={t('externalId')}>{mem.externalId}</Descriptions.Item>
            <Descriptions.Item label={t('status')}><Tag color={mem.status === 'active' ? 'green' : 'red'}>{mem.status}</Tag></Descriptions.Item>
            <Descriptions.Item label={t('phone')}>{mem.phone ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('email')}>{mem.email ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('joined')}>{formatDate(mem.joinedAt)}</Descriptions.Item>
            <Descriptions.Item label={t('tags')}>{mem.tags.map((x) => <Tag key={x}>{x}</Tag>)}</Descriptions.Item>
          </Descriptions>
        )}
      </Card>
      <Row gutter={16}>
        {(balances.data?.balances ?? []).map((b) => (
          <Col span={12} key={b.pointType}>
            <Card title={`${t('balances')}: ${b.pointType}`} data-testid={`balance-${b.pointType}`}>
              <Row gutter={8}>
                <Col span={8}><Statistic title={t('available')} value={formatPoints(b.available, b.decimals)} /></Col>
                <Col span={8}><Statistic title={t('pending')} value={formatPoints(b.pending, b.decimals)} /></Col>
                <Col span={8}><Statistic title={t('lifetimeEarned')} value={formatPoints(b.lifetimeEarned, b.decimals)} /></Col>
              </Row>
              <Table
                size="small"
                style={{ marginTop: 12 }}
                rowKey="expiresAt"
                pagination={false}
                locale={{ emptyText: t('noExpiring') }}
                dataSource={b.expiring}
                columns={[
                  { title: t('expiresAt'), dataIndex: 'expiresAt', render: formatDate },
                  { title: t('amount'), dataIndex: 'amount', render: (a: number) => formatPoints(a, b.decimals) },
                ]}
              />
            </Card>
          </Col>
        ))}
      </Row>
      <Row gutter={16}>
        <Col span={10}>
          <Card title={t('checkInCalendar')}>
            {calendar.data ? (
              <>
                <Space style={{ marginBottom: 8 }}>
                  <Statistic title={t('streak')} value={calendar.data.currentStreak} />
                  <Statistic title={t('longestStreak')} value={calendar.data.longestStreak} />
                </Space>
                <CheckinCalendar month={calendar.data.month} days={calendar.data.days} />
              </>
            ) : (
              <Empty />
            )}
          </Card>
        </Col>
        <Col span={14}>
          <Card title={t('adjust')}>
            <Form form={form} layout="vertical" onFinish={(v) => adjust.mutate(v)} disabled={role === 'viewer'} initialValues={{ pointType: 'points' }}>
              <Form.Item label={t('pointType')} name="pointType" rules={[{ required: true }]}>
                <select id="pointType" className="ant-input">
                  {(pointTypes.data?.data ?? []).map((p) => (
                    <option key={p.code} value={p.code}>
                      {p.name} ({p.code})
                    </option>
                  ))}
                </select>
              </Form.Item>
              <Form.Item label={t('adjustAmount')} name="amount" rules={[{ required: true }]}>
                <InputNumber style={{ width: '100%' }} precision={0} />
              </Form.Item>
              <Form.Item label={t('reason')} name="reason" rules={[{ required: true, min: 1 }]}>
                <Input />
              </Form.Item>
              <Button type="primary" htmlType="submit" loading={adjust.isPending}>
                {t('submit')}
              </Button>
            </Form>
          </Card>
        </Col>
      </Row>
      <Card title={t('ledger')}>
        <Table<Entry>
          data-testid="ledger"
          size="small"
          rowKey="entryId"
          loading={ledger.isLoading}
          dataSource={ledger.data?.data ?? []}
          pagination={{ pageSize: 10 }}
          columns={[
            { title: t('when'), dataIndex: 'occurredAt', render: formatDate },
            { title: t('kind'), dataIndex: 'kind', render: (k: string) => <Tag>{k}</Tag> },
            { title: t('pointType'), dataIndex: 'pointType' },
            { title: t('amount'), dataIndex: 'amount', render: (a: number) => <span style={{ color: a < 0 ? '#c0392b' : '#2f6f4f' }}>{a > 0 ? `+${a}` : a}</span> },
            { title: t('balanceAfter'), dataIndex: 'availableAfter' },
            { title: t('explanation'), key: 'explanation', render: (_: unknown, e) => explain(e, ruleNames) },
          ]}
        />
      </Card>
      <Card title={t('orders')}>
        <Table
          data-testid="orders"
          size="small"
          rowKey="id"
          dataSource={orders.data?.data ?? []}
          pagination={false}
          columns={[
            { title: 'ID', dataIndex: 'id' },
            { title: t('status'), dataIndex: 'status', render: (s: string) => <Tag>{s}</Tag> },
            { title: t('points'), dataIndex: 'pointsTotal' },
            { title: t('when'), dataIndex: 'placedAt', render: formatDate },
          ]}
        />
      </Card>
    </Space>
  );
}
