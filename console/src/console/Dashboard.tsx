import { useQuery } from '@tanstack/react-query';
import { Card, Col, Row, Statistic } from 'antd';
import { useMemo } from 'react';
import { Chart } from '../shared/Chart.js';
import { useI18n } from '../shared/i18n.js';
import { api, type Balance, type Member, type Page, type Program, type Rule } from './client.js';

function countBy<T>(rows: T[], key: (row: T) => string): Array<{ name: string; value: number }> {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(key(row), (counts.get(key(row)) ?? 0) + 1);
  return [...counts].map(([name, value]) => ({ name, value }));
}

/** Figures computed in the browser from the program's lists: members, their balances, rules, orders. */
export function Dashboard({ program }: { program: Program }) {
  const { t } = useI18n();
  const base = `/v1/programs/${program.id}`;
  const members = useQuery({ queryKey: ['members', program.id], queryFn: () => api<Page<Member>>('GET', `${base}/members?limit=100`) });
  const rules = useQuery({ queryKey: ['rules', program.id], queryFn: () => api<{ data: Rule[] }>('GET', `${base}/rules`) });
  const orders = useQuery({ queryKey: ['orders', program.id], queryFn: () => api<Page<{ status: string }>>('GET', `${base}/mall/orders?limit=100`) });
  const memberList = members.data?.data ?? [];
  const balances = useQuery({
    queryKey: ['dashboard-balances', program.id, memberList.map((m) => m.id).join(',')],
    enabled: members.isSuccess,
    queryFn: async () =>
      Promise.all(
        memberList.slice(0, 30).map(async (m) => {
          const b = await api<{ balances: Balance[] }>('GET', `${base}/members/${m.id}/balances`);
          return { member: m.name ?? m.externalId, points: b.balances.find((x) => x.kind === 'redeemable')?.available ?? 0 };
        }),
      ),
  });

  const top = useMemo(() => [...(balances.data ?? [])].sort((a, b) => b.points - a.points).slice(0, 10), [balances.data]);
  const barOption = useMemo(
    () => ({
      tooltip: {},
      grid: { left: 80, right: 16, top: 16, bottom: 32 },
      xAxis: { type: 'value' as const },
      yAxis: { type: 'category' as const, data: top.map((x) => x.member).reverse() },
      series: [{ type: 'bar' as const, data: top.map((x) => x.points).reverse(), itemStyle: { color: '#2f6f4f' } }],
    }),
    [top],
  );
  const pie = (data: Array<{ name: string; value: number }>) => ({ tooltip: {}, series: [{ type: 'pie' as const, radius: ['40%', '70%'], data, label: { formatter: '{b}: {c}' } }] });
  const rulePie = useMemo(() => pie(countBy(rules.data?.data ?? [], (r) => r.status)), [rules.data]);
  const orderPie = useMemo(() => pie(countBy(orders.data?.data ?? [], (o) => o.status)), [orders.data]);

  return (
    <div data-testid="dashboard">
      <Row gutter={16}>
        <Col span={8}><Card><Statistic title={t('totalMembers')} value={memberList.length} /></Card></Col>
        <Col span={8}><Card><Statistic title={t('activeRules')} value={(rules.data?.data ?? []).filter((r) => r.status === 'active').length} /></Card></Col>
        <Col span={8}><Card><Statistic title={t('totalOrders')} value={orders.data?.data.length ?? 0} /></Card></Col>
      </Row>
      <Row gutter={16} style={{ marginTop: 16 }}>
        <Col span={12}><Card title={t('pointsByMember')}><Chart label={t('pointsByMember')} option={barOption} /></Card></Col>
        <Col span={6}><Card title={t('rulesByStatus')}><Chart label={t('rulesByStatus')} option={rulePie} /></Card></Col>
        <Col span={6}><Card title={t('ordersByStatus')}><Chart label={t('ordersByStatus')} option={orderPie} /></Card></Col>
      </Row>
    </div>
  );
}
