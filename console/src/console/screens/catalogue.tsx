import { Typography } from 'antd';
import { useI18n } from '../../shared/i18n.js';
import { ConfigTable, rest } from '../kit/ConfigTable.js';
import { tag, tags } from '../kit/columns.js';
import { useList } from '../kit/context.js';
import { describeExpiry, ExpiryPolicyInput } from '../kit/ExpiryPolicy.js';
import type { FieldSpec } from '../kit/fields.js';
import type { PointType } from '../client.js';

interface PointTypeRow extends PointType {
  expiryPolicy: { kind: string } & Record<string, unknown>;
  consumptionOrder: string;
  negativeBalance: string;
  expiryNoticeDays: number;
}
interface EventType { code: string; name: string; builtIn: boolean; attributesSchema: { properties: Record<string, { type: string; description?: string }> } }
interface Campaign { id: string; name: string; status: string; version: number; definition: { eventTypes: string[]; priority?: number } }
interface Benefit { id: string; code: string; name: string; kind: string; status: string; validityDays: number | null; defaultUses: number | null }

const STATUSES = ['draft', 'active', 'paused', 'archived'];
const json = (name: string, label: FieldSpec['label'], extra: Partial<FieldSpec> = {}): FieldSpec => ({ name, label, kind: 'json', ...extra });

/** Codes of point types and event types, for selects. */
export function usePointTypeCodes(): string[] {
  return useList<PointType>('/point-types').map((p) => p.code);
}
export function useEventTypeCodes(): string[] {
  return useList<EventType>('/event-types').map((e) => e.code);
}

export function PointTypes() {
  const { t } = useI18n();
  return (
    <ConfigTable<PointTypeRow>
      title="pointTypes"
      testId="point-types"
      list="/point-types"
      rowKey="code"
      rowName="code"
      columns={[
        ['code', 'code'],
        ['name', 'name'],
        ['kind', 'kind', tag],
        ['decimals', 'decimals'],
        ['expiryPolicy', (r) => describeExpiry(r.expiryPolicy, t)],
        ['consumptionOrder', 'consumptionOrder'],
      ]}
      fields={[
        { name: 'code', label: 'code', required: true, createOnly: true, placeholder: 'stars' },
        { name: 'name', label: 'name', required: true },
        { name: 'kind', label: 'kind', kind: 'select', options: ['redeemable', 'growth'], required: true, createOnly: true, initial: 'redeemable' },
        { name: 'decimals', label: 'decimals', kind: 'number', min: 0, createOnly: true },
        { name: 'expiryPolicy', label: 'expiryPolicy', kind: 'custom', input: <ExpiryPolicyInput />, initial: { kind: 'never' } },
        { name: 'consumptionOrder', label: 'consumptionOrder', kind: 'select', options: ['expiring_first', 'oldest_first', 'newest_first'] },
        { name: 'negativeBalance', label: 'negativeBalance', kind: 'select', options: ['forbid', 'allow'] },
        { name: 'expiredRefund', label: 'expiredRefund', kind: 'select', options: ['expire', 'recredit'] },
        { name: 'expiryNoticeDays', label: 'expiryNoticeDays', kind: 'number', min: 0 },
      ]}
      {...rest<PointTypeRow>('/point-types', (r) => r.code)}
    />
  );
}

export function EventTypes() {
  return (
    <ConfigTable<EventType>
      title="eventTypes"
      testId="event-types"
      list="/event-types"
      rowKey="code"
      rowName="code"
      columns={[
        ['code', 'code'],
        ['name', 'name'],
        ['builtIn', 'builtIn', tag],
        ['attributes', (r) => tags(Object.keys(r.attributesSchema.properties ?? {}))],
      ]}
      fields={[
        { name: 'code', label: 'code', required: true, createOnly: true, placeholder: 'store_visit' },
        { name: 'name', label: 'name', required: true },
        json('attributesSchema', 'attributesSchema', { required: true, initial: { type: 'object', properties: { store: { type: 'string' } } } }),
      ]}
      editable={(r) => !r.builtIn}
      // Declaring and changing are one PUT by code.
      create={{ method: 'PUT', path: (b) => `/event-types/${String(b.code)}` }}
      update={{ method: 'PUT', path: (r) => `/event-types/${r.code}` }}
      toBody={({ code: _code, ...body }) => body}
      expand={(r) => <pre style={{ margin: 0 }}>{JSON.stringify(r.attributesSchema, null, 2)}</pre>}
    />
  );
}

export function Campaigns() {
  const eventTypes = useEventTypeCodes();
  return (
    <ConfigTable<Campaign>
      title="campaigns"
      testId="campaigns"
      list="/campaigns"
      rowKey="id"
      rowName="name"
      columns={[
        ['name', 'name'],
        ['status', 'status', tag],
        ['version', 'version'],
        ['eventTypes', (r) => tags(r.definition.eventTypes)],
        ['priority', (r) => r.definition.priority ?? '—'],
      ]}
      fields={[
        { name: 'name', label: 'name', required: true },
        { name: 'status', label: 'status', kind: 'select', options: STATUSES, initial: 'draft' },
        { name: 'description', label: 'description', kind: 'textarea' },
        { name: 'eventTypes', label: 'eventTypes', kind: 'tags', options: eventTypes, required: true },
        { name: 'priority', label: 'priority', kind: 'number' },
        json('schedule', 'schedule', { help: 'scheduleHelp', placeholder: '{ "from": "2026-01-01", "to": "2026-01-31" }' }),
        json('target', 'target', { placeholder: '{ "field": "member.tags", "op": "contains", "value": "vip" }' }),
        json('multiplier', 'multiplier', { placeholder: '{ "rates": { "points": "2" } }' }),
        json('bonus', 'bonus', { placeholder: '[{ "type": "fixed", "pointType": "points", "amount": 100 }]' }),
        json('caps', 'caps'),
        json('budget', 'budget'),
      ]}
      fromRow={(r) => r.definition}
      {...rest<Campaign>('/campaigns', (r) => r.id)}
      expand={(r) => (
        <Typography.Paragraph>
          <pre style={{ margin: 0 }}>{JSON.stringify(r.definition, null, 2)}</pre>
        </Typography.Paragraph>
      )}
    />
  );
}

export function Benefits() {
  return (
    <ConfigTable<Benefit>
      title="benefits"
      testId="benefits"
      list="/benefits"
      rowKey="id"
      rowName="code"
      columns={[
        ['code', 'code'],
        ['name', 'name'],
        ['kind', 'kind', tag],
        ['status', 'status', tag],
        ['validityDays', 'validityDays'],
        ['defaultUses', 'defaultUses'],
      ]}
      fields={[
        { name: 'code', label: 'code', required: true, createOnly: true },
        { name: 'name', label: 'name', required: true },
        { name: 'kind', label: 'kind', kind: 'select', required: true, createOnly: true, initial: 'coupon', options: ['coupon', 'discount', 'points_multiplier', 'free_shipping', 'special_function', 'birthday_gift', 'vip_service', 'custom'] },
        { name: 'description', label: 'description', kind: 'textarea', nullable: true },
        { name: 'validityDays', label: 'validityDays', kind: 'number', min: 1, nullable: true },
        { name: 'defaultUses', label: 'defaultUses', kind: 'number', min: 1, nullable: true },
        json('quota', 'quota', { nullable: true, placeholder: '{ "period": "month", "uses": 2 }' }),
        json('parameters', 'parameters'),
        { name: 'status', label: 'status', kind: 'select', options: ['active', 'retired'], editOnly: true },
      ]}
      {...rest<Benefit>('/benefits', (r) => r.code)}
    />
  );
}
