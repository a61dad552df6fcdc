import { Col, Row, Space } from 'antd';
import { useMemo, useState } from 'react';
import { Chart } from '../../shared/Chart.js';
import { useI18n } from '../../shared/i18n.js';
import { ActionButton } from '../kit/ActionButton.js';
import { ConfigTable, rest } from '../kit/ConfigTable.js';
import { date, SubTable, tag } from '../kit/columns.js';
import type { FieldSpec } from '../kit/fields.js';

interface Sku { id: string; code: string; name: string; pointsPrice: number | null; currentPointsPrice: number | null; stock: number | null }
interface Item { id: string; kind: string; name: string; category: string | null; images: string[]; onShelf: boolean; availableNow: boolean; sortOrder: number; skus: Sku[] }
interface Order { id: string; memberId: string; status: string; pointsTotal: number; cashTotal: number; placedAt: string; lines: Array<{ skuId: string; quantity: number }> }
interface Prize { id: string; name: string; kind: string; weight: number; probability: number; stock: number | null; awarded: number }
interface Draw { id: string; code: string; name: string; presentation: string; status: string; costPoints: number; pointType: string; prizes: Prize[] }

const PRESENTATIONS = ['wheel', 'slot', 'scratch', 'blind_box'];

function Thumb({ item }: { item: Item }) {
  const src = item.images[0];
  return src ? <img src={src} alt={item.name} width={40} height={40} style={{ objectFit: 'cover', borderRadius: 6, background: '#eef4f0' }} /> : <span aria-hidden="true">🎁</span>;
}

function Skus({ item }: { item: Item }) {
  const restock: FieldSpec[] = [{ name: 'stockDelta', label: 'stockDelta', kind: 'number', required: true }];
  const price: FieldSpec[] = [{ name: 'pointsPrice', label: 'pointsPrice', kind: 'number', min: 0, required: true }];
  return (
    <SubTable<Sku>
      rows={item.skus}
      specs={[
        ['code', 'code'],
        ['name', 'name'],
        ['pointsPrice', 'currentPointsPrice'],
        ['stock', (s) => (s.stock === null ? '∞' : s.stock)],
        [
          'actions',
          (s) => (
            <Space>
              <ActionButton label="restock" target={s.code} method="PATCH" path={`/mall/items/${item.id}/skus/${s.id}`} fields={restock} />
              <ActionButton label="changePrice" target={s.code} method="PATCH" path={`/mall/items/${item.id}/skus/${s.id}`} fields={price} initial={s} />
            </Space>
          ),
        ],
      ]}
    />
  );
}

export function MallItems() {
  return (
    <ConfigTable<Item>
      title="mallItems"
      testId="mall-items"
      list="/mall/items?limit=100"
      rowKey="id"
      rowName="name"
      columns={[
        ['image', (r) => <Thumb item={r} />],
        ['name', 'name'],
        ['kind', 'kind', tag],
        ['category', 'category'],
        ['pointsPrice', (r) => r.skus.map((s) => s.currentPointsPrice ?? '—').join(' / ')],
        ['stock', (r) => r.skus.map((s) => (s.stock === null ? '∞' : s.stock)).join(' / ')],
        ['onShelf', (r) => tag(r.availableNow)],
        ['sortOrder', 'sortOrder'],
      ]}
      fields={[
        { name: 'kind', label: 'kind', kind: 'select', options: ['coupon', 'benefit', 'product', 'virtual', 'external'], required: true, createOnly: true, initial: 'virtual' },
        { name: 'name', label: 'name', required: true },
        { name: 'description', label: 'description', kind: 'textarea', nullable: true },
        { name: 'category', label: 'category', nullable: true },
        { name: 'images', label: 'imageUrls', kind: 'tags', help: 'imageUrlsHelp' },
        { name: 'onShelf', label: 'onShelf', kind: 'switch', initial: true },
        { name: 'sortOrder', label: 'sortOrder', kind: 'number', help: 'sortOrderHelp' },
        { name: 'shelfFrom', label: 'shelfFrom', nullable: true, placeholder: '2026-01-01T00:00:00Z' },
        { name: 'shelfUntil', label: 'shelfUntil', nullable: true, placeholder: '2026-12-31T23:59:59Z' },
        { name: 'minBalance', label: 'minBalance', kind: 'number', min: 0 },
        { name: 'limits.perDay', label: 'limitPerDay', kind: 'number', min: 1 },
        { name: 'limits.perOrder', label: 'limitPerOrder', kind: 'number', min: 1 },
        { name: 'limits.lifetime', label: 'limitLifetime', kind: 'number', min: 1 },
        { name: 'tierCodes', label: 'tierCodes', kind: 'tags' },
        { name: 'benefitCode', label: 'benefitCode', createOnly: true },
        { name: 'skus', label: 'skus', kind: 'json', createOnly: true, initial: [{ code: 'std', name: 'Standard', pointsPrice: 100, stock: 100 }] },
      ]}
      {...rest<Item>('/mall/items', (r) => r.id)}
      expand={(r) => <Skus item={r} />}
    />
  );
}

const ORDER_STATUSES = ['awaiting_payment', 'paid', 'submitted', 'shipped', 'fulfilled', 'completed', 'cancelled', 'refunded'];

function OrderActions({ order }: { order: Order }) {
  const p = `/mall/orders/${order.id}`;
  const s = order.status;
  const reason: FieldSpec[] = [{ name: 'reason', label: 'reason', required: true }];
  return (
    <>
      {(s === 'paid' || s === 'submitted') && <ActionButton label="ship" target={order.id} path={`${p}/ship`} fields={[{ name: 'carrier', label: 'carrier', required: true }, { name: 'trackingNumber', label: 'trackingNumber', required: true }]} />}
      {s === 'shipped' && <ActionButton label="deliver" target={order.id} path={`${p}/deliver`} body={{}} confirm />}
      {(s === 'fulfilled' || s === 'shipped') && <ActionButton label="complete" target={order.id} path={`${p}/complete`} body={{}} confirm />}
      {(s === 'awaiting_payment' || s === 'paid' || s === 'submitted') && <ActionButton label="cancel" target={order.id} path={`${p}/cancel`} fields={reason} danger />}
      {['paid', 'shipped', 'fulfilled', 'completed'].includes(s) && <ActionButton label="refund" target={order.id} path={`${p}/refund`} fields={[...reason, { name: 'restock', label: 'restock', kind: 'switch' }]} danger />}
    </>
  );
}

export function MallOrders() {
  const { t } = useI18n();
  const [status, setStatus] = useState('');
  return (
    <ConfigTable<Order>
      title="orders"
      testId="mall-orders"
      list={`/mall/orders?limit=100${status ? `&status=${status}` : ''}`}
      rowKey="id"
      rowName="id"
      extra={
        <label>
          {t('status')}{' '}
          <select className="ant-input" style={{ width: 160 }} value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">{t('all')}</option>
            {ORDER_STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      }
      columns={[
        ['order', 'id'],
        ['member', (r) => <a href={`#/members/${r.memberId}`}>{r.memberId}</a>],
        ['status', 'status', tag],
        ['points', 'pointsTotal'],
        ['quantity', (r) => r.lines.reduce((n, l) => n + l.quantity, 0)],
        ['when', 'placedAt', date],
      ]}
      actions={(r) => <OrderActions order={r} />}
    />
  );
}

/** The published odds as a pie: what a member sees before playing. */
export function OddsPie({ draw }: { draw: Draw }) {
  const { t } = useI18n();
  const option = useMemo(
    () => ({
      tooltip: { formatter: '{b}: {d}%' },
      series: [{ type: 'pie' as const, radius: ['35%', '70%'], data: draw.prizes.map((p) => ({ name: p.name, value: p.weight })), label: { formatter: '{b}\n{d}%' } }],
    }),
    [draw.prizes],
  );
  return <Chart label={`${t('odds')} ${draw.name}`} option={option} height={240} />;
}

function Prizes({ draw }: { draw: Draw }) {
  const fields: FieldSpec[] = [
    { name: 'weight', label: 'weight', kind: 'number', min: 0, required: true },
    { name: 'stock', label: 'stock', kind: 'number', min: 0 },
  ];
  return (
    <Row gutter={16}>
      <Col span={9}>
        <OddsPie draw={draw} />
      </Col>
      <Col span={15}>
        <SubTable<Prize>
          rows={draw.prizes}
          specs={[
            ['name', 'name'],
            ['kind', 'kind', tag],
            ['weight', 'weight'],
            ['odds', (p) => `${(p.probability * 100).toFixed(1)}%`],
            ['stock', (p) => (p.stock === null ? '∞' : p.stock)],
            ['awarded', 'awarded'],
            ['actions', (p) => <ActionButton label="edit" target={p.name} method="PATCH" path={`/draws/${draw.id}/prizes/${p.id}`} fields={fields} initial={p} />],
          ]}
        />
      </Col>
    </Row>
  );
}

export function Draws() {
  return (
    <ConfigTable<Draw>
      title="draws"
      testId="draws"
      list="/draws"
      rowKey="id"
      rowName="code"
      columns={[
        ['code', 'code'],
        ['name', 'name'],
        ['presentation', 'presentation', tag],
        ['status', 'status', tag],
        ['cost', (r) => `${r.costPoints} ${r.pointType}`],
        ['prizes', (r) => r.prizes.length],
      ]}
      fields={[
        { name: 'code', label: 'code', required: true, createOnly: true },
        { name: 'name', label: 'name', required: true },
        { name: 'description', label: 'description', kind: 'textarea', nullable: true },
        { name: 'presentation', label: 'presentation', kind: 'select', options: PRESENTATIONS, required: true, initial: 'wheel' },
        { name: 'status', label: 'status', kind: 'select', options: ['draft', 'active', 'paused', 'ended'], initial: 'draft' },
        { name: 'costPoints', label: 'costPoints', kind: 'number', min: 0 },
        { name: 'freePlaysPerDay', label: 'freePlaysPerDay', kind: 'number', min: 0 },
        { name: 'dailyPlayLimit', label: 'dailyPlayLimit', kind: 'number', min: 1, nullable: true },
        { name: 'winLimitPerMember', label: 'winLimitPerMember', kind: 'number', min: 1, nullable: true },
        { name: 'startsAt', label: 'startsAt', nullable: true, placeholder: '2026-01-01T00:00:00Z' },
        { name: 'endsAt', label: 'endsAt', nullable: true, placeholder: '2026-12-31T23:59:59Z' },
        {
          name: 'prizes',
          label: 'prizes',
          kind: 'json',
          required: true,
          createOnly: true,
          initial: [
            { name: '10 points', kind: 'points', weight: 30, points: 10 },
            { name: 'Thanks', kind: 'thanks', weight: 70, fallback: true },
          ],
        },
      ]}
      {...rest<Draw>('/draws', (r) => r.id)}
      expand={(r) => <Prizes draw={r} />}
    />
  );
}
