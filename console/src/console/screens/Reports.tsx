import { Card, Col, Empty, Row, Space } from 'antd';
import type { EChartsOption } from 'echarts';
import { useMemo, useState } from 'react';
import { Chart } from '../../shared/Chart.js';
import { useI18n, type MessageKey } from '../../shared/i18n.js';
import { useBase, useProgramQuery } from '../kit/context.js';

type Row = Record<string, string | number | null>;
interface Report { columns: string[]; rows: Row[]; note?: string }
interface Period { from: string; to: string; groupBy: 'day' | 'week' | 'month' }

const n = (v: unknown) => Number(v ?? 0);
const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString().slice(0, 10);

/** Sums of a column by another (e.g. quantity by item). */
function sumBy(rows: Row[], key: string, value: string): Array<{ name: string; value: number }> {
  const sums = new Map<string, number>();
  for (const r of rows) sums.set(String(r[key] ?? '—'), (sums.get(String(r[key] ?? '—')) ?? 0) + n(r[value]));
  return [...sums].map(([name, v]) => ({ name, value: v })).filter((x) => x.value > 0);
}

function lines(rows: Row[], series: string[], names: (s: string) => string): EChartsOption {
  const periods = [...new Set(rows.map((r) => String(r.period)))];
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 56, right: 16, top: 32, bottom: 28 },
    xAxis: { type: 'category', data: periods },
    yAxis: { type: 'value' },
    series: series.map((s) => ({ type: 'line', name: names(s), data: periods.map((p) => rows.filter((r) => r.period === p).reduce((a, r) => a + n(r[s]), 0)) })),
  };
}

function bars(categories: string[], series: Array<{ name: string; data: number[] }>): EChartsOption {
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 56, right: 16, top: 32, bottom: 28 },
    xAxis: { type: 'category', data: categories },
    yAxis: { type: 'value' },
    series: series.map((s) => ({ type: 'bar', ...s })),
  };
}

const pie = (data: Array<{ name: string; value: number }>): EChartsOption => ({ tooltip: {}, series: [{ type: 'pie', radius: ['35%', '70%'], data, label: { formatter: '{b}: {c}' } }] });

/** One report: fetched for the period, drawn by `chart`, downloadable as CSV from the same endpoint. */
function ReportCard({ report, title, period, chart, extra }: { report: string; title: MessageKey; period: Period; chart(rows: Row[]): EChartsOption; extra?: (rows: Row[]) => React.ReactNode }) {
  const { t } = useI18n();
  const base = useBase();
  const q = `from=${period.from}&to=${period.to}&groupBy=${period.groupBy}`;
  const data = useProgramQuery<Report>(`/reports/${report}?${q}`);
  const rows = data.data?.rows ?? [];
  const option = useMemo(() => chart(rows), [rows, chart]);
  return (
    <Card
      title={t(title)}
      loading={data.isLoading}
      data-testid={`report-${report}`}
      extra={
        <a href={`${base}/reports/${report}?${q}&format=csv`} download aria-label={`${t('downloadCsv')}: ${t(title)}`}>
          {t('downloadCsv')}
        </a>
      }
    >
      {rows.length ? <Chart label={t(title)} option={option} /> : <Empty description={data.data?.note ?? t('empty')} />}
      {extra?.(rows)}
    </Card>
  );
}

type ChartName = 'points' | 'members' | 'tiers' | 'exchanges' | 'benefits' | 'checkIns';
/** [report, title, chart, grid span] in screen order */
const CARDS: Array<[string, MessageKey, ChartName, number]> = [
  ['points', 'reportPoints', 'points', 12],
  ['members', 'reportMembers', 'members', 12],
  ['tiers', 'reportTiers', 'tiers', 8],
  ['exchanges', 'reportExchanges', 'exchanges', 8],
  ['benefits', 'reportBenefits', 'benefits', 8],
  ['check-ins', 'reportCheckIns', 'checkIns', 24],
];

export function Reports() {
  const { t } = useI18n();
  const [period, setPeriod] = useState<Period>({ from: daysAgo(29), to: daysAgo(-1), groupBy: 'day' });
  const [pointType, setPointType] = useState('points');
  const names = (s: string) => t(`report_${s}` as MessageKey);
  const charts = useMemo<Record<ChartName, (rows: Row[]) => EChartsOption>>(
    () => ({
      points: (rows: Row[]) => lines(rows.filter((r) => r.pointType === pointType), ['issued', 'spent', 'expired', 'outstanding'], names),
      tiers: (rows: Row[]) => pie(sumBy(rows.filter((r) => r.members !== null), 'tier', 'members')),
      checkIns: (rows: Row[]) => bars(rows.map((r) => String(r.period)), ['checkIns', 'makeUps', 'members'].map((s) => ({ name: names(s), data: rows.map((r) => n(r[s])) }))),
      exchanges: (rows: Row[]) => pie(sumBy(rows, 'name', 'quantity')),
      benefits: (rows: Row[]) => bars(rows.map((r) => String(r.name ?? r.code)), ['granted', 'uses'].map((s) => ({ name: names(s), data: rows.map((r) => n(r[s])) }))),
      members: (rows: Row[]) => lines(rows, ['newMembers', 'activeMembers', 'totalMembers'], names),
    }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [pointType, t],
  );
  const set = (patch: Partial<Period>) => setPeriod({ ...period, ...patch });
  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }} data-testid="reports">
      <Card>
        <Space wrap size={16}>
          <label>
            {t('from')} <input type="date" className="ant-input" style={{ width: 160 }} value={period.from} onChange={(e) => e.target.value && set({ from: e.target.value })} />
          </label>
          <label>
            {t('to')} <input type="date" className="ant-input" style={{ width: 160 }} value={period.to} onChange={(e) => e.target.value && set({ to: e.target.value })} />
          </label>
          <label>
            {t('groupBy')}{' '}
            <select className="ant-input" style={{ width: 120 }} value={period.groupBy} onChange={(e) => set({ groupBy: e.target.value as Period['groupBy'] })}>
              {(['day', 'week', 'month'] as const).map((g) => (
                <option key={g} value={g}>
                  {t(g)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('pointType')} <input className="ant-input" style={{ width: 120 }} value={pointType} onChange={(e) => setPointType(e.target.value)} />
          </label>
        </Space>
      </Card>
      <Row gutter={[16, 16]}>
        {CARDS.map(([report, title, chart, span]) => (
          <Col key={report} xs={24} xl={span}>
            <ReportCard report={report} title={title} period={period} chart={charts[chart]} />
          </Col>
        ))}
      </Row>
    </Space>
  );
}
