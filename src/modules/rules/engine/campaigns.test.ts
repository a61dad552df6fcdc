import { describe, expect, it } from 'vitest';
import { requiredCounterKeys } from './evaluate.js';
import type { CampaignDefinition, Reward } from './schemas.js';
import { event, member, program, rule, run, total } from './test-helpers.js';

const perYuan: Reward = { type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100 };
const base = rule({ id: 'base', rewards: [perYuan] });
const campaign = (over: Partial<CampaignDefinition>): CampaignDefinition => ({
  id: 'c',
  version: 1,
  name: 'Campaign',
  eventTypes: ['purchase'],
  multiplier: { rates: { points: '2' } },
  ...over,
});
const buy = (at: string, amount = 10000) => event('purchase', { amount }, at);
const memberDay = campaign({ id: 'member_day', name: 'Membership day', schedule: { recurrence: { every: 'month', days: [8] } } });

describe('membership day on the 8th, in the program zone', () => {
  it.each<[string, string, number]>([
    ['00:30 on the 8th in Shanghai (still the 7th in UTC)', '2025-03-07T16:30:00Z', 200],
    ['23:59 on the 8th in Shanghai', '2025-03-08T15:59:00Z', 200],
    ['00:01 on the 9th in Shanghai (still the 8th in UTC)', '2025-03-08T16:01:00Z', 100],
    ['the 7th', '2025-03-07T12:00', 100],
    ['the 8th of another month', '2025-11-08T12:00', 200],
  ])('%s', (_n, at, want) => {
    expect(total(run(program([base], [memberDay]), buy(at)))).toBe(want);
  });

  it('a New York program reads the same instant as the 7th', () => {
    const ny = program([base], [memberDay], { timeZone: 'America/New_York' });
    expect(total(run(ny, buy('2025-03-08T03:00:00Z')))).toBe(100); // 22:00 on the 7th in New York
    expect(total(run(ny, buy('2025-03-08T06:00:00Z')))).toBe(200); // 01:00 on the 8th
  });

  it('explains why it did not run', () => {
    const r = run(program([base], [memberDay]), buy('2025-03-08T16:01:00Z'));
    expect(r.explanation!.campaigns).toEqual([
      expect.objectContaining({ campaignId: 'member_day', outcome: 'notScheduled', reason: 'day 9 of the month is not a campaign day' }),
    ]);
    expect(r.explanation!.event.local).toEqual({ timeZone: 'Asia/Shanghai', date: '2025-03-09', time: '00:01', weekday: 7 });
  });
});

describe('schedules', () => {
  it.each<[string, CampaignDefinition['schedule'], string, boolean]>([
    ['every Tuesday, on a Tuesday', { recurrence: { every: 'week', weekdays: [2] } }, '2025-03-11T09:00', true],
    ['every Tuesday, on a Wednesday', { recurrence: { every: 'week', weekdays: [2] } }, '2025-03-12T09:00', false],
    ['weekends', { recurrence: { every: 'week', weekdays: [6, 7] } }, '2025-03-09T23:59', true],
    ['last day of the month, 28 Feb 2025', { recurrence: { every: 'month', days: [-1] } }, '2025-02-28T12:00', true],
    ['last day of the month, 28 Feb 2024 (leap year)', { recurrence: { every: 'month', days: [-1] } }, '2024-02-28T12:00', false],
    ['last day of the month, 29 Feb 2024', { recurrence: { every: 'month', days: [-1] } }, '2024-02-29T12:00', true],
    ['a date range, last local minute', { from: '2025-03-01', to: '2025-03-31' }, '2025-03-31T23:59', true],
    ['a date range, the next local day', { from: '2025-03-01', to: '2025-03-31' }, '2025-04-01T00:01', false],
    ['a date range, before it starts', { from: '2025-03-01', to: '2025-03-31' }, '2025-02-28T23:59', false],
    ['a range and a recurrence: 8th inside', { from: '2025-03-01', to: '2025-04-30', recurrence: { every: 'month', days: [8] } }, '2025-04-08T12:00', true],
    ['a range and a recurrence: 8th outside', { from: '2025-03-01', to: '2025-04-30', recurrence: { every: 'month', days: [8] } }, '2025-05-08T12:00', false],
    ['open-ended from', { from: '2025-03-01' }, '2030-01-01T00:00', true],
  ])('%s', (_n, schedule, at, runs) => {
    expect(total(run(program([base], [campaign({ schedule })]), buy(at)))).toBe(runs ? 200 : 100);
  });
});

describe('targeting', () => {
  const targeted = campaign({ target: { any: [{ field: 'member.segments', op: 'contains', value: 'hv' }, { field: 'member.tier', op: 'eq', value: 'gold' }] } });
  it.each<[string, Parameters<typeof member>[0], number]>([
    ['in the segment', { segments: ['hv'] }, 200],
    ['gold', { tierCode: 'gold' }, 200],
    ['neither', { tierCode: 'silver' }, 100],
  ])('%s', (_n, m, want) => {
    expect(total(run(program([base], [targeted]), buy('2025-03-05T12:00'), member(m)))).toBe(want);
  });

  it('explains a miss', () => {
    const r = run(program([base], [targeted]), buy('2025-03-05T12:00'), member({ tierCode: 'silver' }));
    expect(r.explanation!.campaigns[0]).toMatchObject({ outcome: 'notTargeted', failed: { op: 'any' } });
  });
});

describe('bonuses', () => {
  const bonus = campaign({
    id: 'bonus',
    name: 'Big basket bonus',
    multiplier: undefined,
    target: { field: 'event.attributes.amount', op: 'gte', value: 10000 },
    bonus: [{ type: 'fixed', pointType: 'points', amount: 50 }],
    caps: { points: { day: 80 } },
  });

  it('awards a campaign bonus under the campaign, capped per day', () => {
    const r = run(program([base], [bonus]), buy('2025-03-05T12:00'), member(), { 'campaign:bonus:cap:points:day:2025-03-05': 40 });
    expect(r.awards).toEqual([
      { kind: 'rule', ruleId: 'base', ruleVersion: 1, pointType: 'points', amount: 100 },
      { kind: 'campaign', ruleId: 'bonus', ruleVersion: 1, pointType: 'points', amount: 40 },
    ]);
    expect(r.counterIncrements).toContainEqual({ key: 'campaign:bonus:cap:points:day:2025-03-05', scope: 'member', by: 40, limit: 80 });
  });

  it('is not multiplied by campaigns; by tiers only when the program default says all', () => {
    const both = [memberDay, bonus];
    const gold = member({ tierCode: 'gold' });
    const at = '2025-03-08T12:00';
    const plain = program([], both, { multiplierDefaults: { tiers: { gold: '2' } } });
    expect(total(run(plain, buy(at), gold))).toBe(50);
    const all = program([], both, { multiplierDefaults: { tiers: { gold: '2' }, appliesTo: 'all' } });
    expect(total(run(all, buy(at), gold))).toBe(80); // 100 by the tier, capped at 80 a day
  });

  it('continuous behaviour: a bonus on the 3rd purchase of the calendar month', () => {
    const third = campaign({
      id: 'third',
      multiplier: undefined,
      milestone: { window: 'month', thresholds: [{ at: 3, rewards: [{ type: 'fixed', pointType: 'points', amount: 300 }] }] },
    });
    const p = program([base], [third]);
    const e = buy('2025-03-31T23:59');
    expect(requiredCounterKeys(p, e)).toEqual(['campaign:third:milestone:month:2025-03']);
    const r = run(p, e, member(), { 'campaign:third:milestone:month:2025-03': 2 });
    expect(total(r)).toBe(400);
    expect(r.counterIncrements).toEqual([{ key: 'campaign:third:milestone:month:2025-03', scope: 'member', by: 1, limit: null }]);
    // the next local day is April: a new count
    expect(requiredCounterKeys(p, buy('2025-04-01T00:01'))).toEqual(['campaign:third:milestone:month:2025-04']);
  });
});

describe('status and event types', () => {
  it('a paused campaign does nothing and says so', () => {
    const r = run(program([base], [campaign({ status: 'paused' })]), buy('2025-03-05T12:00'));
    expect(total(r)).toBe(100);
    expect(r.explanation!.campaigns[0]!.outcome).toBe('inactive');
  });

  it('a campaign for other events is listed as such', () => {
    const r = run(program([base], [campaign({ eventTypes: ['sign_in'] })]), buy('2025-03-05T12:00'));
    expect(total(r)).toBe(100);
    expect(r.explanation!.campaigns[0]!.outcome).toBe('wrongEventType');
  });
});
