import { ConfigTable, rest } from '../kit/ConfigTable.js';
import { tag, tags } from '../kit/columns.js';
import type { FieldSpec } from '../kit/fields.js';
import { SingletonForm } from '../kit/SingletonForm.js';
import { useEventTypeCodes, usePointTypeCodes } from './catalogue.js';

interface Task { id: string; code: string; name: string; recurrence: string; eventType: string; target: number; claim: string; status: string; rewards: { points?: Array<{ pointType: string; amount: number }> } }
interface Medal { id: string; code: string; name: string; status: string; criterion: { kind: string }; levels: Array<{ level: number; name: string; threshold: number | null }> }

const rewardText = (r: Task['rewards']) => (r.points ?? []).map((p) => `+${p.amount} ${p.pointType}`).join(', ') || '—';

export function CheckinSchedule() {
  const pointTypes = usePointTypeCodes();
  const fields: FieldSpec[] = [
    { name: 'enabled', label: 'enabled', kind: 'switch', initial: true },
    { name: 'cycle', label: 'cycle', kind: 'select', options: ['weekly', 'monthly', 'continuous'], required: true, initial: 'weekly' },
    { name: 'afterLast', label: 'afterLast', kind: 'select', options: ['repeat', 'last'] },
    { name: 'pointType', label: 'pointType', kind: 'select', options: pointTypes },
    { name: 'rewards', label: 'rewardsByDay', kind: 'numbers', required: true, help: 'rewardsByDayHelp', placeholder: '5, 5, 10, 10, 15, 15, 50' },
    { name: 'makeUp.perMonth', label: 'makeUpsPerMonth', kind: 'number', min: 0 },
    { name: 'makeUp.windowDays', label: 'makeUpWindowDays', kind: 'number', min: 1 },
    { name: 'makeUp.cost', label: 'makeUpCost', kind: 'number', min: 0 },
    { name: 'makeUp.costPointType', label: 'makeUpCostPointType', kind: 'select', options: pointTypes },
  ];
  return <SingletonForm title="checkInSchedule" testId="checkin-schedule" path="/check-in-schedule" fields={fields} />;
}

export function Tasks() {
  const eventTypes = useEventTypeCodes();
  return (
    <ConfigTable<Task>
      title="tasks"
      testId="tasks"
      list="/tasks"
      rowKey="id"
      rowName="code"
      columns={[
        ['code', 'code'],
        ['name', 'name'],
        ['recurrence', 'recurrence'],
        ['eventType', 'eventType'],
        ['target', 'target'],
        ['reward', (r) => rewardText(r.rewards)],
        ['claim', 'claim'],
        ['status', 'status', tag],
      ]}
      fields={[
        { name: 'code', label: 'code', required: true, createOnly: true },
        { name: 'name', label: 'name', required: true },
        { name: 'description', label: 'description', kind: 'textarea', nullable: true },
        { name: 'recurrence', label: 'recurrence', kind: 'select', options: ['once', 'daily', 'weekly', 'monthly'], required: true, createOnly: true, initial: 'once' },
        { name: 'eventType', label: 'eventType', kind: 'select', options: eventTypes, required: true, createOnly: true },
        { name: 'measure', label: 'measure', kind: 'select', options: ['count', 'sum'], createOnly: true },
        { name: 'sumAttribute', label: 'sumAttribute', createOnly: true },
        { name: 'target', label: 'target', kind: 'number', min: 1, required: true, initial: 1 },
        { name: 'rewards', label: 'rewards', kind: 'json', required: true, initial: { points: [{ pointType: 'points', amount: 10 }] } },
        { name: 'conditions', label: 'conditions', kind: 'json', placeholder: '[{ "attribute": "category", "op": "eq", "value": "tea" }]' },
        { name: 'claim', label: 'claim', kind: 'select', options: ['auto', 'manual'] },
        { name: 'status', label: 'status', kind: 'select', options: ['active', 'paused', 'archived'], editOnly: true },
        { name: 'position', label: 'position', kind: 'number' },
      ]}
      {...rest<Task>('/tasks', (r) => r.id)}
    />
  );
}

export function Medals() {
  return (
    <ConfigTable<Medal>
      title="medals"
      testId="medals"
      list="/medals"
      rowKey="id"
      rowName="code"
      columns={[
        ['code', 'code'],
        ['name', 'name'],
        ['criterion', (r) => r.criterion.kind],
        ['levels', (r) => tags(r.levels.map((l) => `${l.name}${l.threshold !== null ? ` ≥ ${l.threshold}` : ''}`))],
        ['status', 'status', tag],
      ]}
      fields={[
        { name: 'code', label: 'code', required: true, createOnly: true },
        { name: 'name', label: 'name', required: true },
        { name: 'description', label: 'description', kind: 'textarea', nullable: true },
        { name: 'criterion', label: 'criterion', kind: 'json', required: true, createOnly: true, initial: { kind: 'event_count', eventType: 'purchase' } },
        { name: 'levels', label: 'levels', kind: 'json', required: true, initial: [{ name: 'Bronze', threshold: 1 }, { name: 'Silver', threshold: 10 }] },
        { name: 'status', label: 'status', kind: 'select', options: ['active', 'archived'], editOnly: true },
        { name: 'position', label: 'position', kind: 'number' },
      ]}
      // The API returns levels numbered and with empty descriptions; it takes them without.
      toBody={(body) => (Array.isArray(body.levels) ? { ...body, levels: body.levels.map(({ name, threshold, description }: Medal['levels'][number] & { description?: string | null }) => ({ name, ...(threshold !== null && threshold !== undefined ? { threshold } : {}), ...(description ? { description } : {}) })) } : body)}
      {...rest<Medal>('/medals', (r) => r.id)}
    />
  );
}
