import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import { fixedClock } from '../../core/clock.js';
import { actorLabel, type ProgramContext, type ProgramSnapshot } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import type { EventStatementPart, Hooks, MemberFacts, ProcessedEvent, TierChange } from '../../core/hooks.js';
import { recordAudit } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { decodeCursor, pageLimit, toPage, type Page } from '../../core/pagination.js';
import { localDate } from '../../core/zoned-time.js';
import { inTransaction, prepared, rawQuery, type Executor, type Trx } from '../../db/database.js';
import { memberRangeCuts, rangesOf } from '../../db/member-ranges.js';
import type { DB } from '../../db/schema.js';
import type { LedgerService } from '../ledger/index.js';
import type { MembersService } from '../members/index.js';
import type { TierConfigService } from './tiers.config.js';
import {
  holds,
  leafKey,
  nextEvaluation,
  referenceDate,
  retentionOf,
  validityEnd,
  windowRange,
  type Condition,
  type Ladder,
  type Tier,
  type Window,
} from './tiers.model.js';
import { compileLadder, effectiveSql, lit, scanLowerBound, type CompiledLadder } from './tiers.sql.js';

/** A contribution to a metric on a local day (growth awarded, an order's amount, nights, …). */
export interface Contribution {
  metric: string;
  /** YYYY-MM-DD in the program's zone */
  date: string;
  value: number;
}

export interface TierRef {
  id: string;
  code: string;
  name: string;
  rank: number;
  colour: string | null;
  icon: string | null;
}

export interface LeafProgress {
  metric: string;
  window: { kind: Window['kind'] | 'value'; from: string | null; to: string | null };
  value: number;
  min: number | null;
  max: number | null;
  /** what is still missing to reach min (0 when met) */
  remaining: number;
  /** how much more is allowed before max is exceeded (null without a ceiling) */
  headroom: number | null;
  met: boolean;
}

export type ProgressNode = { op: 'all' | 'any'; met: boolean; items: ProgressNode[] } | ({ op: 'metric' } & LeafProgress);

export interface MemberTierView {
  memberId: string;
  ladder: { id: string; code: string; name: string };
  tier: TierRef | null;
  source: 'qualified' | 'purchased' | 'manual' | 'lifetime';
  since: Date | null;
  qualified: { tier: TierRef | null; since: Date | null; validUntil: Date | null; graceUntil: Date | null };
  manual: { tier: TierRef | null; until: Date; reason: string | null } | null;
  purchased: { tier: TierRef | null; until: Date } | null;
  lifetime: TierRef | null;
  /** the next scheduled evaluation that may move the member down */
  nextEvaluationAt: Date | null;
  progress: {
    next: { tier: TierRef; met: boolean; by: string | null; conditions: ProgressNode } | null;
    keep: { tier: TierRef; met: boolean; by: Date | null; conditions: ProgressNode } | null;
  };
}

export interface TierHistoryEntry {
  id: string;
  from: TierRef | null;
  to: TierRef | null;
  fromCode: string | null;
  toCode: string | null;
  source: string;
  cause: string;
  causeId: string | null;
  reason: string | null;
  actor: string;
  validUntil: Date | null;
  tierSnapshot: unknown;
  metrics: unknown;
  details: unknown;
  occurredAt: Date;
}

interface StateRow {
  member_id: string;
  ladder_id: string;
  joined_on: string;
  rank: number;
  source: 'qualified' | 'purchased' | 'manual' | 'lifetime';
  since: Date;
  qualified_rank: number;
  qualified_since: Date;
  attained_on: string;
  valid_until: Date | null;
  grace_until: Date | null;
  counters_from: string | null;
  carry: Record<string, number>;
  purchased_rank: number | null;
  purchased_until: Date | null;
  manual_rank: number | null;
  manual_until: Date | null;
  manual_reason: string | null;
  lifetime_rank: number;
  version: number;
  /** false for a member without a stored state (shown as the base tier) */
  stored: boolean;
  [measure: string]: unknown;
}

type StateChange = Partial<Pick<StateRow, 'qualified_rank' | 'valid_until' | 'grace_until' | 'counters_from' | 'carry' | 'purchased_rank' | 'purchased_until' | 'manual_rank' | 'manual_until' | 'manual_reason' | 'lifetime_rank'>>;

interface Cause {
  cause: string;
  causeId?: string | null | undefined;
  reason?: string | null | undefined;
  details?: unknown;
  /** record a history row even when neither the effective nor the qualified tier moves */
  always?: boolean | undefined;
}

const STATE_COLUMNS = [
  'member_id',
  'ladder_id',
  'joined_on',
  'rank',
  'source',
  'since',
  'qualified_rank',
  'qualified_since',
  'attained_on',
  'valid_until',
  'grace_until',
  'counters_from',
  'carry',
  'purchased_rank',
  'purchased_until',
  'manual_rank',
  'manual_until',
  'manual_reason',
  'lifetime_rank',
  'version',
];

/**
 * The state of a member without a stored one, in STATE_COLUMNS order: the base tier since joining.
 * Read from a `members` row `m`, with $3 the ladder, $4 the program's time zone, $5 the base rank.
 */
const BASE_STATE = `m.id as member_id, $3::text as ladder_id, (m.joined_at at time zone $4)::date as joined_on, $5::int as rank, 'qualified'::text as source,
  m.joined_at as since, $5::int as qualified_rank, m.joined_at as qualified_since, (m.joined_at at time zone $4)::date as attained_on,
  null::timestamptz as valid_until, null::timestamptz as grace_until, null::date as counters_from, '{}'::jsonb as carry,
  null::int as purchased_rank, null::timestamptz as purchased_until, null::int as manual_rank, null::timestamptz as manual_until,
  null::text as manual_reason, 0 as lifetime_rank, 1 as version`;

const CHUNK = 50_000;

/** The real-time statement's one row; read back from JSON when it went inside an event's statement. */
interface RealTimeRow {
  up: boolean;
  written: number;
  rank: number;
  new_rank: number;
  new_source: string;
  new_valid: Date | string | null;
}

/** Placeholders in the real-time statement for constants of the ladder version (see realTime). */
const TIER_IDS = '\u0000tier_ids\u0000';
const SNAPSHOTS = '\u0000snapshots\u0000';

interface RealTime {
  text: string;
  /** the same as CTEs ending with `tier_result`, parameters from $first on: for an event's own statement */
  partAt(first: number): string;
  /** whether any tier's validity depends on when it is reached */
  timed: boolean;
  noValidity: null[];
}

/** The contributions that feed one of the ladder's metrics and change it. */
function ofLadder(ladder: Ladder, contributions: Contribution[]): Contribution[] {
  const known = new Set(ladder.metrics.map((m) => m.code));
  const mine = contributions.filter((c) => known.has(c.metric) && c.value !== 0);
  if (mine.length < 2) return mine;
  // One per metric and day: the statement's upsert may not touch a bucket twice, and summing
  // here spares it a grouping step on every award.
  const byKey = new Map<string, Contribution>();
  for (const c of mine) {
    const key = `${c.metric}\u0000${c.date}`;
    const seen = byKey.get(key);
    byKey.set(key, seen ? { ...seen, value: seen.value + c.value } : c);
  }
  return [...byKey.values()].filter((c) => c.value !== 0);
}

function historyId(): string {
  return newId('tierChange');
}

/**
 * Tiers: qualification from metrics (never from a spendable balance), real-time upgrades inside
 * the transaction of the award that crosses a threshold, scheduled evaluation for downgrades,
 * bought and manual tiers as explicit overrides, lifetime status, and a history of every change.
 */
export class TiersService {
  private readonly compiled = new WeakMap<Ladder, CompiledLadder>();
  private readonly realTimes = new WeakMap<Ladder, RealTime>();

  constructor(
    private readonly db: Kysely<DB>,
    readonly config: TierConfigService,
    private readonly ledger: LedgerService,
    private readonly members: MembersService,
    private readonly hooks: Hooks,
    /** member ranges a scheduled evaluation walks at once, each on its own connection */
    private readonly walkers = 1,
  ) {}

  private compile(ladder: Ladder): CompiledLadder {
    let c = this.compiled.get(ladder);
    if (!c) {
      c = compileLadder(ladder);
      this.compiled.set(ladder, c);
    }
    return c;
  }

  // ---------------------------------------------------------------- metrics in

  /** The afterEvent hook: the event's contributions to the ladder's metrics, then a real-time upgrade check. */
  async afterEvent(trx: Trx, ctx: ProgramContext, event: ProcessedEvent): Promise<void> {
    await this.afterEvents(trx, ctx, [event]);
  }

  /**
   * The batched afterEvent hook: the ladder is read once, and only events that feed a metric
   * touch the database, each in order (an upgrade names the event that caused it).
   */
  async afterEvents(trx: Trx, ctx: ProgramContext, events: ProcessedEvent[]): Promise<void> {
    const ladder = await this.config.ladder(ctx.program.id, trx);
    if (!ladder) return;
    for (const event of events) {
      const contributions = this.contributionsOf(ladder, ctx, event);
      if (contributions.length) await this.contribute(trx, ctx, event.memberId, contributions, { cause: 'event', causeId: event.id }, ladder);
    }
  }

  private contributionsOf(ladder: Ladder, ctx: ProgramContext, event: ProcessedEvent): Contribution[] {
    const date = localDate(event.occurredAt, ctx.program.timeZone);
    const contributions: Contribution[] = [];
    for (const m of ladder.metrics) {
      const s = m.source;
      if (s.kind === 'event') {
        if (!s.eventTypes.includes(event.type)) continue;
        let value = 1;
        if (s.attribute) {
          const raw = event.attributes[s.attribute];
          if (typeof raw !== 'number' || !Number.isFinite(raw)) continue;
          value = Math.trunc(raw);
        }
        value *= s.factor ?? 1;
        if (value !== 0) contributions.push({ metric: m.code, date, value });
      } else if (s.kind === 'pointType') {
        // What the rules awarded: earned only. Spending or expiring points never lowers a tier metric.
        const amount = event.totals[s.pointType];
        if (amount && amount > 0) contributions.push({ metric: m.code, date, value: amount });
      }
    }
    return contributions;
  }

  /**
   * Add contributions to a member's metrics and upgrade at once when a threshold is crossed.
   * The extension point for modules that award growth outside events (plans: growth per day).
   */
  async contribute(trx: Trx, ctx: ProgramContext, memberId: string, contributions: Contribution[], cause: Cause, ladder?: Ladder | null): Promise<void> {
    const l = ladder ?? (await this.config.ladder(ctx.program.id, trx));
    if (!l) return;
    const list = ofLadder(l, contributions);
    if (list.length) await this.addAndUpgrade(trx, ctx, l, memberId, list, cause);
  }

  /** A host-set metric: the value for a local day (daily) or the current value. */
  async setMetric(ctx: ProgramContext, trx: Trx, memberRef: string, metricCode: string, input: { value: number; date?: string | undefined }): Promise<{ memberId: string; metric: string; date: string | null; value: number; tier: TierRef | null }> {
    const ladder = await this.config.require(ctx.program.id, trx);
    const metric = ladder.metrics.find((m) => m.code === metricCode);
    if (!metric) throw new AppError('tier_metric_not_found', `the ladder has no metric ${metricCode}`, { metric: metricCode });
    if (metric.source.kind !== 'host') throw new AppError('tier_metric_not_settable', `metric ${metricCode} is fed by ${metric.source.kind === 'event' ? 'events' : 'point awards'}, not set by the host`, { metric: metricCode });
    const member = await this.members.get(ctx, memberRef, trx, true);
    const now = ctx.clock.now();
    const today = localDate(now, ctx.program.timeZone);
    let date: string | null = null;
    if (metric.source.mode === 'daily') {
      date = input.date ?? today;
      if (date > today) throw new AppError('validation_failed', 'date may not be in the future', { field: 'date' });
      // Set, not add: a repeated PUT leaves the same value.
      await rawQuery(
        trx,
        `insert into tier_metric_buckets (member_id, metric, local_date, program_id, value) values ($1, $2, $3, $4, $5)
         on conflict (member_id, metric, local_date) do update set value = excluded.value`,
        [member.id, metricCode, date, ctx.program.id, input.value],
      );
    } else {
      await rawQuery(
        trx,
        `insert into tier_metric_values (member_id, metric, program_id, value, updated_at) values ($1, $2, $3, $4, $5)
         on conflict (member_id, metric) do update set value = excluded.value, updated_at = excluded.updated_at`,
        [member.id, metricCode, ctx.program.id, input.value, now],
      );
    }
    const after = await this.addAndUpgrade(trx, ctx, ladder, member.id, [], { cause: 'metric', causeId: metricCode });
    return { memberId: member.id, metric: metricCode, date, value: input.value, tier: this.ref(ladder, after.rank) };
  }

  /**
   * The member's state and every measure on `ref`, in one statement; with `write`, the state row
   * is created when missing (the overrides write to it next). Its member is one of the program's.
   */
  private async state(exec: Executor, ctx: ProgramContext, ladder: Ladder, memberId: string, ref: string, write = true): Promise<StateRow | null> {
    const c = this.compile(ladder);
    const now = ctx.clock.now();
    const params: unknown[] = [memberId, ctx.program.id, ladder.id, ctx.program.timeZone, ladder.baseRank, now, ref];
    const cols = STATE_COLUMNS.join(', ');
    // The state by its key alone: with the program too, the planner may walk the program's states.
    const ctes = write
      ? `ins as (
          insert into member_tiers (${cols}, program_id, updated_at)
          select ${BASE_STATE}, $2, $6 from members m where m.id = $1 and m.program_id = $2
          on conflict (member_id) do nothing returning ${cols}, true as stored),
        mt as (select * from ins union all select ${cols}, true as stored from member_tiers where member_id = $1)`
      : `mt as (
          select ${cols}, true as stored from member_tiers where member_id = $1
          union all
          select ${BASE_STATE}, false as stored from members m where m.id = $1 and m.program_id = $2 and $6::timestamptz is not null
            and not exists (select 1 from member_tiers where member_id = $1))`;
    const inner = c.measureColumns('$7::date');
    const { rows } = await rawQuery<StateRow>(
      exec,
      prepared(`with ${ctes}
       select mt.*${inner ? ', x.*' : ''}
       from mt${inner ? ` left join lateral (select ${inner} from tier_metric_buckets b where b.member_id = mt.member_id and b.local_date <= $7::date) x on true` : ''}
       limit 1`),
      params,
    );
    return rows[0] ?? null;
  }

  private measureValues(ladder: Ladder, row: StateRow): Map<string, number> {
    const c = this.compile(ladder);
    return new Map(c.measures.map((m, i) => [m.key, Number(row[`m${i}`] ?? 0)]));
  }

  /**
   * The real-time path, in one statement: the contributions are added to the buckets, every
   * measure is summed (the pending contributions included, as the statement does not see its own
   * writes), and when the member now qualifies for a higher tier the state moves up (created if
   * the member had none) and the history row is written, by a function called only then (see
   * migration 0019). Real time only moves up: a downgrade waits for the scheduled evaluation. One
   * round trip per award, upgrade or not; the hooks hear of a change of the effective tier
   * afterwards, in the same transaction.
   */
  private async addAndUpgrade(trx: Trx, ctx: ProgramContext, ladder: Ladder, memberId: string, pending: Contribution[], cause: Cause): Promise<{ rank: number }> {
    const now = ctx.clock.now();
    const rt = this.realTime(ladder);
    const { rows } = await rawQuery<RealTimeRow>(trx, prepared(rt.text), this.realTimeParams(ctx, ladder, memberId, pending, cause, now));
    return this.afterRealTime(trx, ctx, ladder, memberId, rows[0] ?? null, cause, now);
  }

  /**
   * The real-time path of one event's award, to send inside the event's own write statement
   * (the hook `onEventStatement`): one round trip fewer per award than a statement of its own.
   */
  async eventStatementPart(trx: Trx, ctx: ProgramContext, event: ProcessedEvent, first: number): Promise<EventStatementPart | null> {
    const ladder = await this.config.ladder(ctx.program.id, trx);
    if (!ladder) return null;
    const pending = ofLadder(ladder, this.contributionsOf(ladder, ctx, event));
    if (!pending.length) return null;
    const now = ctx.clock.now();
    const cause: Cause = { cause: 'event', causeId: event.id };
    return {
      ctes: this.realTime(ladder).partAt(first),
      result: 'tier_result',
      values: this.realTimeParams(ctx, ladder, event.memberId, pending, cause, now),
      finish: async (row) => {
        await this.afterRealTime(trx, ctx, ladder, event.memberId, (row as RealTimeRow | null) ?? null, cause, now);
      },
    };
  }

  private realTimeParams(ctx: ProgramContext, ladder: Ladder, memberId: string, pending: Contribution[], cause: Cause, now: Date): unknown[] {
    const zone = ctx.program.timeZone;
    const ref = localDate(now, zone);
    const rt = this.realTime(ladder);
    return [
      memberId,
      ctx.program.id,
      ladder.id,
      zone,
      ladder.baseRank,
      now,
      ref,
      pending.map((p) => p.metric),
      pending.map((p) => p.date),
      pending.map((p) => p.value),
      // what an upgrade to each rank sets: its validity
      rt.timed ? ladder.tiers.map((t) => validityEnd(t.validity, now, ref, zone)) : rt.noValidity,
      historyId(),
      cause.cause,
      cause.causeId ?? null,
      cause.reason ?? null,
      actorLabel(ctx.actor),
      cause.details === undefined ? null : JSON.stringify(cause.details),
    ];
  }

  /** What the real-time statement decided: on an upgrade, its guard held, and the hooks hear of it. */
  private async afterRealTime(trx: Trx, ctx: ProgramContext, ladder: Ladder, memberId: string, row: RealTimeRow | null, cause: Cause, now: Date): Promise<{ rank: number }> {
    // No row: the member is not one of the program's.
    if (!row) throw new AppError('member_not_found', `member ${memberId} does not exist`, { member: memberId });
    if (!row.up) return { rank: row.rank };
    if (row.written !== 1) throw new AppError('conflict', 'the member’s tier changed at the same time; retry', { member: memberId });
    if (row.new_rank !== row.rank) {
      await this.hooks.tierChanged(trx, ctx, [
        {
          memberId,
          ladderId: ladder.id,
          from: this.brief(ladder, row.rank),
          to: this.brief(ladder, row.new_rank),
          source: row.new_source,
          cause: cause.cause,
          validUntil: row.new_valid === null ? null : new Date(row.new_valid),
          at: now,
        },
      ]);
    }
    return { rank: row.new_rank };
  }

  /** The real-time statement of a ladder and its fixed parameters, built once per ladder version. */
  private realTime(ladder: Ladder): RealTime {
    const cached = this.realTimes.get(ladder);
    if (cached) return cached;
    const c = this.compile(ladder);
    const cols = STATE_COLUMNS.join(', ');
    const ref = '$7::date';
    const policy = ladder.policy.counters;
    const reset = policy.onUpgrade !== 'keep';
    // Counters restart today on an upgrade (unless kept): today's contributions so far are taken
    // off by a negative carry, and a surplus above the new tier's floors is carried in (capped).
    const today = ladder.metrics.map((m, i) => `${lit(m.code)}, -nullif(t${i}, 0)`);
    let carry = today.length ? `jsonb_strip_nulls(jsonb_build_object(${today.join(', ')}))` : `'{}'::jsonb`;
    if (policy.onUpgrade === 'carrySurplus') {
      // Today's contributions come off the surplus too: the counters restart today.
      const todayOf = (metric: string) => {
        const t = ladder.metrics.findIndex((m) => m.code === metric);
        return t >= 0 ? `-t${t}` : null;
      };
      carry = `(${carry} || ${c.surplusSql('qual', policy.carryCap ?? null, todayOf)})`;
    }
    // The tiers' ids and snapshots are constants of this ladder version, written into the statement
    // (sent as parameters, they were escaped into array literals on every award); put in after
    // the parameters are renumbered, since a snapshot's text may hold a `$1` of its own.
    const constants = (sql: string) =>
      sql
        .replaceAll(TIER_IDS, `(array[${ladder.tiers.map((t) => lit(t.id)).join(', ')}]::text[])`)
        .replaceAll(SNAPSHOTS, `(array[${ladder.tiers.map((t) => `${lit(JSON.stringify(snapshot(t)))}::jsonb`).join(', ')}])`);
    const eff = effectiveSql('q.qual', '$6::timestamptz', { rank: 'q.manual_rank', until: 'q.manual_until' }, { rank: 'q.purchased_rank', until: 'q.purchased_until' }, 'q.lifetime_rank');
    // Today's contributions so far (t0…) feed only the carry of a policy that restarts counters.
    const todays = reset ? ladder.metrics.map((m, i) => `coalesce(sum(b.value) filter (where b.metric = ${lit(m.code)} and b.local_date = ${ref}), 0)::bigint as t${i}`) : [];
    const inner = [c.measureColumns(ref), ...todays].filter(Boolean).join(',\n');
    // A regular's buckets go back years; the windows read at most the last of them.
    const lowerBound = scanLowerBound(c.measures, ref);
    const ctes = `b0 as (
        insert into tier_metric_buckets (member_id, metric, local_date, program_id, value)
        select $1, metric, d, $2, v from unnest($8::text[], $9::date[], $10::bigint[]) as c(metric, d, v)
        on conflict (member_id, metric, local_date) do update set value = tier_metric_buckets.value + excluded.value),
      mt as (
        -- by its key alone: with the program too, the planner may walk the program's states
        select ${cols}, true as stored from member_tiers where member_id = $1
        union all
        select ${BASE_STATE}, false as stored
        from members m where m.id = $1 and m.program_id = $2 and not exists (select 1 from member_tiers where member_id = $1)),
      x as (
        select mt.*${inner ? ', x.*' : ''} from mt
        ${inner ? `left join lateral (select ${inner} from (
            select b.metric, b.local_date, b.value from tier_metric_buckets b where b.member_id = mt.member_id and b.local_date <= ${ref}${lowerBound ? ` and b.local_date >= ${lowerBound}` : ''}
            union all
            select c.metric, c.d, c.v from unnest($8::text[], $9::date[], $10::bigint[]) as c(metric, d, v) where c.d <= ${ref}) b) x on true` : ''}),
      q as (select x.*, ${c.qualifiedRankSql()} as qual from x),
      -- Only an upgrade writes (migrations 0019, 0022), and only an upgrade's new state is worked
      -- out: a member's first award that changes no tier leaves no state row, as the state
      -- without a row is the base tier from joining.
      w as (
        select u.written, u.new_rank, u.new_source, u.new_valid
        from q cross join lateral laurel_tier_upgrade(q.stored, q.version,
          p_member => q.member_id, p_program => $2::text, p_ladder => q.ladder_id, p_joined_on => q.joined_on, p_from_rank => q.rank,
          p_rank => ${eff.rank}, p_source => ${eff.source}, p_qualified_rank => q.qual, p_valid_until => ($11::timestamptz[])[q.qual],
          p_counters_from => ${reset ? ref : 'q.counters_from'}, p_carry => ${reset ? carry : 'q.carry'}, p_attained_on => ${ref}, p_at => $6::timestamptz,
          h_id => $12::text, h_metrics => ${c.metricsJsonSql()}, h_cause => $13::text, h_cause_id => $14::text, h_reason => $15::text,
          h_actor => $16::text, h_details => $17::jsonb, tier_ids => ${TIER_IDS}, snapshots => ${SNAPSHOTS}) u
        where q.qual > q.qualified_rank)`;
    const result = `select q.qual > q.qualified_rank as up, q.rank, coalesce(w.new_rank, q.rank) as new_rank, coalesce(w.new_source, q.source) as new_source,
      w.new_valid, coalesce(w.written, 0) as written from q left join w on true`;
    const text = constants(`with ${ctes}\n${result}`);
    const parts = new Map<number, string>();

    const rt: RealTime = {
      text,
      partAt: (first) => {
        let part = parts.get(first);
        if (part === undefined) {
          part = constants(`${ctes},\ntier_result as (${result})`.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + first - 1}`));
          parts.set(first, part);
        }
        return part;
      },
      timed: ladder.tiers.some((t) => t.validity),
      noValidity: ladder.tiers.map(() => null),
    };
    this.realTimes.set(ladder, rt);
    return rt;
  }

  /**
   * Write a change of one member's state with a guard on its version, recompute the effective
   * tier, record the history and tell the hooks. Returns the new state.
   */
  private async apply(trx: Trx, ctx: ProgramContext, ladder: Ladder, state: StateRow, change: StateChange, cause: Cause, values?: Map<string, number>): Promise<StateRow> {
    const now = ctx.clock.now();
    const next: StateRow = { ...state, ...change };
    const eff = effective(next, now);
    const qualifiedMoved = next.qualified_rank !== state.qualified_rank;
    if (qualifiedMoved) {
      next.qualified_since = now;
      next.attained_on = localDate(now, ctx.program.timeZone);
    }
    if (eff.rank !== state.rank) next.since = now;
    next.rank = eff.rank;
    next.source = eff.source;
    const params: unknown[] = [
      state.member_id,
      state.version,
      next.rank,
      next.source,
      next.since,
      next.qualified_rank,
      next.qualified_since,
      next.attained_on,
      next.valid_until,
      next.grace_until,
      next.counters_from,
      JSON.stringify(next.carry ?? {}),
      next.purchased_rank,
      next.purchased_until,
      next.manual_rank,
      next.manual_until,
      next.manual_reason,
      next.lifetime_rank,
      now,
    ];
    const update = `update member_tiers set rank = $3, source = $4, since = $5, qualified_rank = $6, qualified_since = $7, attained_on = $8, valid_until = $9,
         grace_until = $10, counters_from = $11, carry = $12, purchased_rank = $13, purchased_until = $14, manual_rank = $15, manual_until = $16,
         manual_reason = $17, lifetime_rank = $18, version = version + 1, updated_at = $19
       where member_id = $1 and version = $2`;
    let statement = update;
    if (eff.rank !== state.rank || qualifiedMoved || cause.always) {
      // The state and its history row in one statement: one round trip on the award's path.
      const from = ladder.tiers[state.rank - 1];
      const to = ladder.tiers[next.rank - 1];
      params.push(
        historyId(),
        ctx.program.id,
        ladder.id,
        from?.id ?? null,
        state.rank,
        to?.id ?? null,
        cause.cause,
        cause.causeId ?? null,
        cause.reason ?? null,
        actorLabel(ctx.actor),
        next.source === 'manual' ? next.manual_until : next.source === 'purchased' ? next.purchased_until : next.valid_until,
        to ? JSON.stringify(snapshot(to)) : null,
        values ? JSON.stringify(Object.fromEntries(values)) : null,
        cause.details === undefined ? null : JSON.stringify(cause.details),
      );
      statement = `with u as (${update} returning 1)
        insert into tier_history (id, program_id, member_id, ladder_id, from_tier_id, from_rank, to_tier_id, to_rank, source, qualified_rank, cause, cause_id,
           reason, actor, valid_until, tier_snapshot, metrics, details, occurred_at)
        select $20, $21, $1, $22, $23, $24, $25, $3, $4, $6, $26, $27, $28, $29, $30, $31, $32, $33, $19 from u`;
    }
    const { rowCount } = await rawQuery(trx, prepared(statement), params);
    if (rowCount !== 1) throw new AppError('conflict', 'the member’s tier changed at the same time; retry', { member: state.member_id });
    next.version = state.version + 1;
    if (eff.rank !== state.rank) {
      await this.hooks.tierChanged(trx, ctx, [
        {
          memberId: state.member_id,
          ladderId: ladder.id,
          from: this.brief(ladder, state.rank),
          to: this.brief(ladder, next.rank),
          source: next.source,
          cause: cause.cause,
          validUntil: next.valid_until,
          at: now,
        },
      ]);
    }
    return next;
  }

  private brief(ladder: Ladder, rank: number): { code: string; rank: number } | null {
    const t = ladder.tiers[rank - 1];
    return t ? { code: t.code, rank } : null;
  }

  private ref(ladder: Ladder, rank: number | null | undefined): TierRef | null {
    const t = rank ? ladder.tiers[rank - 1] : undefined;
    return t ? { id: t.id, code: t.code, name: t.name, rank: t.rank, colour: t.colour ?? null, icon: t.icon ?? null } : null;
  }

  private tierByCode(ladder: Ladder, code: string): Tier {
    const t = ladder.tiers.find((x) => x.code === code);
    if (!t) throw new AppError('tier_not_found', `the ladder has no tier ${code}`, { tier: code });
    return t;
  }

  private async lockedState(trx: Trx, ctx: ProgramContext, ladder: Ladder, memberRef: string): Promise<StateRow> {
    const member = await this.members.get(ctx, memberRef, trx, true);
    return (await this.state(trx, ctx, ladder, member.id, localDate(ctx.clock.now(), ctx.program.timeZone)))!;
  }

  // ---------------------------------------------------------------- overrides

  /** An operator's explicit tier with an end date and a reason: it replaces the qualified tier until then. */
  async assign(ctx: ProgramContext, trx: Trx, memberRef: string, input: { tier: string; until: string; reason: string }): Promise<MemberTierView> {
    const ladder = await this.config.require(ctx.program.id, trx);
    const tier = this.tierByCode(ladder, input.tier);
    const until = new Date(input.until);
    const now = ctx.clock.now();
    if (!(until.getTime() > now.getTime())) throw new AppError('validation_failed', 'until must be in the future', { field: 'until' });
    const state = await this.lockedState(trx, ctx, ladder, memberRef);
    const before = await this.view(ctx, state.member_id, trx);
    await this.apply(trx, ctx, ladder, state, { manual_rank: tier.rank, manual_until: until, manual_reason: input.reason }, { cause: 'manual', reason: input.reason, always: true, details: { until } });
    const after = await this.view(ctx, state.member_id, trx);
    await recordAudit(trx, ctx, { action: 'assign', resourceType: 'member_tier', resourceId: state.member_id, before, after: { ...after, reason: input.reason } });
    return after;
  }

  async endAssignment(ctx: ProgramContext, trx: Trx, memberRef: string, reason: string | undefined): Promise<MemberTierView> {
    const ladder = await this.config.require(ctx.program.id, trx);
    const state = await this.lockedState(trx, ctx, ladder, memberRef);
    if (state.manual_until === null || state.manual_until.getTime() <= ctx.clock.now().getTime()) {
      throw new AppError('illegal_transition', 'the member has no manual tier assignment in force', { member: memberRef });
    }
    const before = await this.view(ctx, state.member_id, trx);
    await this.apply(trx, ctx, ladder, state, { manual_rank: null, manual_until: null, manual_reason: null }, { cause: 'manual_end', reason: reason ?? null, always: true });
    const after = await this.view(ctx, state.member_id, trx);
    await recordAudit(trx, ctx, { action: 'end_assignment', resourceType: 'member_tier', resourceId: state.member_id, before, after: { ...after, reason: reason ?? null } });
    return after;
  }

  /**
   * A tier bought for a period, with points (spent through the ledger in this transaction) or
   * with money the host platform collected. Buying the tier held again extends it.
   */
  async purchase(
    ctx: ProgramContext,
    trx: Trx,
    memberRef: string,
    input: { tier: string; option: string; payWith?: 'points' | 'money' | undefined; payment?: { reference: string; amount: number; currency: string } | undefined },
  ): Promise<MemberTierView & { purchase: { tier: string; option: string; until: Date; paidWith: 'points' | 'money'; transactionId: string | null } }> {
    const ladder = await this.config.require(ctx.program.id, trx);
    const tier = this.tierByCode(ladder, input.tier);
    const option = tier.purchase?.options.find((o) => o.code === input.option);
    if (!option) throw new AppError('tier_not_purchasable', `tier ${tier.code} has no purchase option ${input.option}`, { tier: tier.code, option: input.option });
    const payWith = input.payWith ?? (option.points && !input.payment ? 'points' : 'money');
    const state = await this.lockedState(trx, ctx, ladder, memberRef);
    const now = ctx.clock.now();
    const holding = state.purchased_until !== null && state.purchased_until.getTime() > now.getTime() ? state.purchased_rank : null;
    if (holding !== null && holding !== tier.rank) {
      throw new AppError('illegal_transition', `the member holds bought tier ${this.ref(ladder, holding)?.code} until ${state.purchased_until!.toISOString()}`, { until: state.purchased_until });
    }
    let transactionId: string | null = null;
    let paid: unknown;
    if (payWith === 'points') {
      if (!option.points) throw new AppError('tier_not_purchasable', `option ${option.code} is not sold for points`, { option: option.code });
      const txn = await this.ledger.spend(
        ctx,
        {
          member: state.member_id,
          pointType: option.points.pointType,
          amount: option.points.amount,
          idempotencyKey: `tier-purchase:${historyId()}`,
          source: { type: 'tier_purchase', id: tier.id },
          reason: `tier ${tier.code} (${option.code})`,
        },
        trx,
      );
      transactionId = txn.id;
      paid = { points: option.points, transactionId };
    } else {
      if (!option.price) throw new AppError('tier_not_purchasable', `option ${option.code} is not sold for money`, { option: option.code });
      const p = input.payment;
      if (!p) throw new AppError('validation_failed', 'payment (reference, amount, currency) is required to buy with money', { field: 'payment' });
      if (p.amount !== option.price.amount || p.currency !== option.price.currency) {
        throw new AppError('payment_mismatch', `option ${option.code} costs ${option.price.amount} ${option.price.currency}`, { expected: option.price, got: { amount: p.amount, currency: p.currency } });
      }
      paid = { money: { amount: p.amount, currency: p.currency }, reference: p.reference };
    }
    const from = holding !== null ? state.purchased_until! : now;
    const until = DateTime.fromJSDate(from, { zone: ctx.program.timeZone }).plus({ months: option.months ?? 0, days: option.days ?? 0 }).toJSDate();
    await this.apply(trx, ctx, ladder, state, { purchased_rank: tier.rank, purchased_until: until }, {
      cause: 'purchase',
      causeId: transactionId ?? (input.payment?.reference ?? null),
      always: true,
      details: { option: option.code, until, ...(paid as object) },
    });
    const view = await this.view(ctx, state.member_id, trx);
    return { ...view, purchase: { tier: tier.code, option: option.code, until, paidWith: payWith, transactionId } };
  }

  // ---------------------------------------------------------------- reads

  async memberFacts(exec: Executor, ctx: ProgramContext, memberIds: string[]): Promise<Map<string, MemberFacts>> {
    const out = new Map<string, MemberFacts>();
    const ladder = await this.config.ladder(ctx.program.id, exec);
    if (!ladder || memberIds.length === 0) return out;
    const base = ladder.tiers[ladder.baseRank - 1]?.code ?? null;
    for (const id of memberIds) out.set(id, { tierCode: base });
    const { rows } = await rawQuery<{ member_id: string; rank: number }>(exec, 'select member_id, rank from member_tiers where member_id = any($1::text[])', [memberIds]);
    for (const r of rows) out.set(r.member_id, { tierCode: ladder.tiers[r.rank - 1]?.code ?? null });
    return out;
  }

  /**
   * Active members whose effective tier is `code` now (members without a stored state are at the
   * base tier): who holds the privileges bound to a tier.
   */
  async membersAt(exec: Executor, ctx: ProgramContext, code: string): Promise<string[]> {
    const ladder = await this.config.ladder(ctx.program.id, exec);
    const tier = ladder?.tiers.find((t) => t.code === code);
    if (!ladder || !tier) return [];
    const { rows } = await rawQuery<{ id: string }>(
      exec,
      `select m.id from members m left join member_tiers mt on mt.member_id = m.id
       where m.program_id = $1 and m.status = 'active' and coalesce(mt.rank, $2) = $3 order by m.id`,
      [ctx.program.id, ladder.baseRank, tier.rank],
    );
    return rows.map((r) => r.id);
  }

  async view(ctx: ProgramContext, memberRef: string, exec: Executor = this.db): Promise<MemberTierView> {
    const ladder = await this.config.require(ctx.program.id, exec);
    const member = await this.members.get(ctx, memberRef, exec);
    const now = ctx.clock.now();
    const ref = localDate(now, ctx.program.timeZone);
    const s = (await this.state(exec, ctx, ladder, member.id, ref, false))!;
    const values = this.measureValues(ladder, s);
    const nextEval = this.nextEvaluationFor(ladder, s, now, ctx.program.timeZone);
    const leafOf = (c: Condition): ProgressNode => {
      if ('all' in c || 'any' in c) {
        const op = 'all' in c ? 'all' : 'any';
        const items = ('all' in c ? c.all : c.any).map(leafOf);
        return { op, met: holds(ladder, c, values), items };
      }
      const metric = ladder.metrics.find((m) => m.code === c.metric)!;
      const isValue = metric.source.kind === 'host' && metric.source.mode === 'value';
      const value = values.get(leafKey(ladder, c)) ?? 0;
      const range = isValue ? { from: null, to: null } : windowRange(c.window, ref, { joinedOn: s.joined_on, attainedOn: s.attained_on });
      const from = s.counters_from && (range.from === null || s.counters_from > range.from) && !isValue ? s.counters_from : range.from;
      return {
        op: 'metric',
        metric: c.metric,
        window: { kind: isValue ? 'value' : c.window.kind, from, to: range.to },
        value,
        min: c.min ?? null,
        max: c.max ?? null,
        remaining: c.min === undefined ? 0 : Math.max(0, c.min - value),
        headroom: c.max === undefined ? null : c.max - value,
        met: holds(ladder, c, values),
      };
    };
    const byOf = (c: Condition | null | undefined): string | null => {
      // The latest end of a fixed window (calendar, membership or tier year) the condition reads.
      let by: string | null = null;
      const walk = (x: Condition | null | undefined): void => {
        if (!x) return;
        if ('all' in x) return x.all.forEach(walk);
        if ('any' in x) return x.any.forEach(walk);
        if (x.window && ['calendarYear', 'membershipYear', 'tierYear'].includes(x.window.kind)) {
          const to = windowRange(x.window, ref, { joinedOn: s.joined_on, attainedOn: s.attained_on }).to;
          if (to && (by === null || to > by)) by = to;
        }
      };
      walk(c);
      return by;
    };
    const nextTier = ladder.tiers[s.rank];
    const next = nextTier?.qualification ? { tier: this.ref(ladder, nextTier.rank)!, met: holds(ladder, nextTier.qualification, values), by: byOf(nextTier.qualification), conditions: leafOf(nextTier.qualification) } : null;
    const cur = ladder.tiers[s.qualified_rank - 1];
    const retention = cur ? retentionOf(cur) : null;
    const keepBy = s.valid_until && s.valid_until.getTime() > now.getTime() ? (nextEval && nextEval < s.valid_until ? s.valid_until : s.valid_until) : nextEval;
    const keep = cur && retention && ladder.policy.downgrade.policy !== 'never' ? { tier: this.ref(ladder, cur.rank)!, met: holds(ladder, retention, values), by: keepBy, conditions: leafOf(retention) } : null;
    const manualOn = s.manual_until !== null && s.manual_until.getTime() > now.getTime();
    const purchasedOn = s.purchased_until !== null && s.purchased_until.getTime() > now.getTime();
    return {
      memberId: member.id,
      ladder: { id: ladder.id, code: ladder.code, name: ladder.name },
      tier: this.ref(ladder, s.rank),
      source: s.source,
      since: s.stored ? s.since : null,
      qualified: { tier: this.ref(ladder, s.qualified_rank), since: s.stored ? s.qualified_since : null, validUntil: s.valid_until, graceUntil: s.grace_until },
      manual: manualOn ? { tier: this.ref(ladder, s.manual_rank), until: s.manual_until!, reason: s.manual_reason } : null,
      purchased: purchasedOn ? { tier: this.ref(ladder, s.purchased_rank), until: s.purchased_until! } : null,
      lifetime: this.ref(ladder, s.lifetime_rank),
      nextEvaluationAt: nextEval,
      progress: { next, keep },
    };
  }

  private nextEvaluationFor(ladder: Ladder, s: StateRow, now: Date, zone: string): Date | null {
    const sched = ladder.policy.evaluation;
    if (sched.schedule !== 'anniversary') return nextEvaluation(sched, now, zone);
    const joined = DateTime.fromISO(s.joined_on, { zone });
    const today = DateTime.fromJSDate(now, { zone }).startOf('day');
    let years = today.year - joined.year;
    let at = joined.plus({ years });
    if (at <= today) at = joined.plus({ years: ++years });
    return at.toJSDate();
  }

  async history(ctx: ProgramContext, memberRef: string, page: { cursor?: string | undefined; limit?: number | undefined }): Promise<Page<TierHistoryEntry>> {
    const ladder = await this.config.ladder(ctx.program.id);
    const member = await this.members.get(ctx, memberRef);
    const limit = pageLimit(page.limit);
    const after = decodeCursor(page.cursor);
    const params: unknown[] = [ctx.program.id, member.id, limit + 1];
    let where = '';
    if (after) {
      const [ms, id] = after.split('|');
      params.push(new Date(Number(ms)), id);
      where = 'and (h.occurred_at, h.id) < ($4, $5)';
    }
    const { rows } = await rawQuery<{
      id: string;
      from_tier_id: string | null;
      from_rank: number;
      to_tier_id: string | null;
      to_rank: number;
      source: string;
      cause: string;
      cause_id: string | null;
      reason: string | null;
      actor: string;
      valid_until: Date | null;
      tier_snapshot: unknown;
      metrics: unknown;
      details: unknown;
      occurred_at: Date;
      from_code: string | null;
      from_name: string | null;
      from_colour: string | null;
      from_icon: string | null;
      to_code: string | null;
      to_name: string | null;
      to_colour: string | null;
      to_icon: string | null;
    }>(
      this.db,
      `select h.*, f.code as from_code, f.name as from_name, f.colour as from_colour, f.icon as from_icon,
              t.code as to_code, t.name as to_name, t.colour as to_colour, t.icon as to_icon
       from tier_history h left join tiers f on f.id = h.from_tier_id left join tiers t on t.id = h.to_tier_id
       where h.program_id = $1 and h.member_id = $2 ${where}
       order by h.occurred_at desc, h.id desc limit $3`,
      params,
    );
    void ladder;
    return toPage(
      rows,
      limit,
      (r) => `${r.occurred_at.getTime()}|${r.id}`,
      (r) => ({
        id: r.id,
        from: r.from_tier_id ? { id: r.from_tier_id, code: r.from_code!, name: r.from_name!, rank: r.from_rank, colour: r.from_colour, icon: r.from_icon } : null,
        to: r.to_tier_id ? { id: r.to_tier_id, code: r.to_code!, name: r.to_name!, rank: r.to_rank, colour: r.to_colour, icon: r.to_icon } : null,
        fromCode: r.from_code,
        toCode: r.to_code,
        source: r.source,
        cause: r.cause,
        causeId: r.cause_id,
        reason: r.reason,
        actor: r.actor,
        validUntil: r.valid_until,
        tierSnapshot: r.tier_snapshot,
        metrics: r.metrics,
        details: r.details,
        occurredAt: r.occurred_at,
      }),
    );
  }

  // ---------------------------------------------------------------- scheduled

  /**
   * Evaluate members as of `asOf`, set-based, in chunks of members (one transaction each):
   * upgrades missed in real time, retention kept (validity renewed), grace started, downgrades
   * by the ladder's policy. `filter` picks everyone, the members whose anniversary it is, or the
   * members whose validity or grace has ended.
   */
  async evaluate(program: ProgramSnapshot, asOf: Date, filter: { kind: 'all' } | { kind: 'anniversary'; monthDays: string[] } | { kind: 'due' }, cause: string, progress?: (done: number, total: number | null) => void) {
    const ladder = await this.config.ladder(program.id);
    const totals = { members: 0, upgraded: 0, downgraded: 0, grace: 0, changed: 0 };
    if (!ladder) return totals;
    const c = this.compile(ladder);
    const zone = program.timeZone;
    const ref = referenceDate(asOf, zone);
    const today = localDate(asOf, zone);
    const validity = ladder.tiers.map((t) => validityEnd(t.validity, asOf, ref, zone));
    const { policy } = ladder;
    const grace = policy.downgrade.graceDays;
    const reset = policy.counters.onUpgrade !== 'keep';
    const lb = scanLowerBound(c.measures, '$3::date');
    const filterSql =
      filter.kind === 'all' ? '' : filter.kind === 'due' ? 'and (mt.valid_until <= $2 or mt.grace_until <= $2)' : `and to_char(mt.joined_on, 'MM-DD') = any($11::text[])`;
    const eff = effectiveSql('f.new_q', '$2');
    const withChanges = this.hooks.hasTierChangedHooks();
    const statement = `
      with agg as materialized (
        -- one member range (a chunk): both tables are read along their primary keys
        select mt.member_id, mt.version, mt.rank as old_rank, mt.qualified_rank as old_q, mt.valid_until as old_valid, mt.grace_until as old_grace
          ${c.measures.length ? `, ${c.measureColumns('$3::date')}` : ''}
        from member_tiers mt
        left join tier_metric_buckets b on b.member_id = mt.member_id and b.member_id > $5 and b.member_id <= $6
          and b.local_date <= $3::date ${lb ? `and b.local_date >= ${lb}` : ''}
        where mt.ladder_id = $1 and mt.member_id > $5 and mt.member_id <= $6 ${filterSql}
        group by mt.member_id
      ),
      q as materialized (
        select agg.*, ${c.qualifiedRankSql()} as qual, ${c.retainedSql('agg.old_q')} as retained, ${c.qualifiedBelowSql('agg.old_q')} as below from agg
      ),
      d as materialized (
        select q.*, case
          when qual > old_q then 'upgrade'
          when retained then 'keep'
          when old_valid > $2 then 'protected'
          when ${policy.downgrade.policy === 'never' ? 'true' : 'false'} then 'protected'
          when ${grace > 0 ? 'true' : 'false'} and old_grace is null then 'grace'
          when old_grace > $2 then 'protected'
          else 'downgrade' end as action
        from q
      ),
      n as (
        select d.*, case action when 'upgrade' then qual when 'downgrade' then ${policy.downgrade.policy === 'oneTier' ? 'greatest(old_q - 1, 0)' : 'below'} else old_q end as new_q from d
      ),
      v as (
        select n.*,
          case when action in ('upgrade', 'downgrade') then ($7::timestamptz[])[new_q]
               when action = 'keep' then (case when ($7::timestamptz[])[old_q] is null then null else greatest(old_valid, ($7::timestamptz[])[old_q]) end)
               else old_valid end as v0,
          case when action = 'grace' then $2::timestamptz + interval '${grace} days' when action = 'protected' then old_grace else null end as new_grace
        from n
      ),
      f as (select v.*, case when v0 <= $2 then null else v0 end as new_valid from v),
      upd as (
        update member_tiers mt set
          qualified_rank = f.new_q,
          qualified_since = case when f.new_q <> f.old_q then $2 else mt.qualified_since end,
          attained_on = case when f.new_q <> f.old_q then $4::date else mt.attained_on end,
          valid_until = f.new_valid,
          grace_until = f.new_grace,
          counters_from = case when f.action = 'upgrade' and ${reset} then $4::date else mt.counters_from end,
          carry = case when f.action = 'upgrade' and ${reset} then ${policy.counters.onUpgrade === 'carrySurplus' ? c.surplusSql('f.new_q', policy.counters.carryCap ?? null) : `'{}'::jsonb`} else mt.carry end,
          rank = ${eff.rank},
          source = ${eff.source},
          since = case when ${eff.rank} <> mt.rank then $2 else mt.since end,
          version = mt.version + 1,
          updated_at = $2
        from f
        where mt.member_id = f.member_id and mt.version = f.version
          and (f.new_q <> f.old_q or f.new_valid is distinct from f.old_valid or f.new_grace is distinct from f.old_grace)
        returning mt.member_id, f.old_rank, mt.rank as new_rank, f.old_q, mt.qualified_rank as new_q, mt.source, mt.valid_until, f.action, ${c.metricsJsonSql()} as metrics
      ),
      hist as (
        insert into tier_history (id, program_id, member_id, ladder_id, from_tier_id, from_rank, to_tier_id, to_rank, source, qualified_rank, cause, actor, valid_until, tier_snapshot, metrics, occurred_at)
        select 'tch_' || md5(random()::text || u.member_id), $9, u.member_id, $1, ft.id, u.old_rank, tt.id, u.new_rank, u.source, u.new_q, $10, $8, u.valid_until,
               case when tt.id is null then null else jsonb_build_object('code', tt.code, 'name', tt.name, 'rank', tt.rank, 'config', tt.config) end, u.metrics, $2
        from upd u
        left join tiers ft on ft.ladder_id = $1 and ft.active and ft.rank = u.old_rank
        left join tiers tt on tt.ladder_id = $1 and tt.active and tt.rank = u.new_rank
        where u.old_rank <> u.new_rank or u.old_q <> u.new_q
        returning member_id, from_rank, to_rank, source, valid_until
      )
      select (select count(*)::int from agg) as n,
        (select count(*)::int from upd where action = 'upgrade') as upgraded,
        (select count(*)::int from upd where action = 'downgrade') as downgraded,
        (select count(*)::int from upd where action = 'grace') as grace,
        (select count(*)::int from hist) as changed,
        ${withChanges ? `(select coalesce(json_agg(json_build_object('m', member_id, 'f', from_rank, 't', to_rank, 's', source, 'v', valid_until)) filter (where from_rank <> to_rank), '[]') from hist)` : `'[]'::json`} as changes`;
    const ctx: ProgramContext = { program, clock: fixedClock(asOf), actor: { type: 'system', job: 'tiers.evaluate' } };
    const anniversary = filter.kind === 'anniversary';
    const boundFilter = filterSql.replace(/\$11/g, '$6');
    // A walk over one member range (from, to], a chunk per transaction.
    const walk = async (from: string, to: string | null) => {
      let last = from;
      for (;;) {
        // The chunk's upper bound first, so the statement reads a key range rather than a list.
        const bound = await rawQuery<{ hi: string | null; n: number }>(
          this.db,
          `select max(member_id) as hi, count(*)::int as n from (
             select mt.member_id from member_tiers mt where mt.ladder_id = $1 and mt.member_id > $3 and ($5::text is null or mt.member_id <= $5) ${boundFilter}
             ${filterSql.includes('$2') ? '' : 'and $2::timestamptz is not null'} order by mt.member_id limit $4) x`,
          anniversary ? [ladder.id, asOf, last, CHUNK, to, filter.monthDays] : [ladder.id, asOf, last, CHUNK, to],
        );
        const hi = bound.rows[0]?.hi ?? null;
        if (!hi) return;
        const params: unknown[] = [ladder.id, asOf, ref, today, last, hi, validity, `system:tiers.${cause}`, program.id, cause];
        if (anniversary) params.push(filter.monthDays);
        const row = await inTransaction(this.db, async (trx) => {
          const { rows } = await rawQuery<{ n: number; upgraded: number; downgraded: number; grace: number; changed: number; changes: Array<{ m: string; f: number; t: number; s: string; v: string | null }> }>(trx, statement, params);
          const r = rows[0]!;
          if (withChanges && r.changes.length) {
            const changes: TierChange[] = r.changes.map((x) => ({
              memberId: x.m,
              ladderId: ladder.id,
              from: this.brief(ladder, x.f),
              to: this.brief(ladder, x.t),
              source: x.s,
              cause,
              validUntil: x.v ? new Date(x.v) : null,
              at: asOf,
            }));
            await this.hooks.tierChanged(trx, ctx, changes);
          }
          return r;
        });
        totals.members += row.n;
        totals.upgraded += row.upgraded;
        totals.downgraded += row.downgraded;
        totals.grace += row.grace;
        totals.changed += row.changed;
        progress?.(totals.members, null);
        if (bound.rows[0]!.n < CHUNK) return;
        last = hi;
      }
    };
    if (filter.kind !== 'due') await this.stateContributors(ladder, program, asOf, ref, filter.kind === 'anniversary' ? filter.monthDays : null);
    // Disjoint member ranges never wait on each other's rows; one statement uses one core.
    const cuts = await memberRangeCuts(this.db, 'member_tiers', 'ladder_id', ladder.id, this.walkers);
    await Promise.all(rangesOf(cuts).map((r) => walk(r.from, r.to)));
    if (cause === 'evaluation') {
      for (const rule of ladder.policy.lifetime) totals.changed += await this.grantLifetime(ladder, program, asOf, rule);
    }
    return totals;
  }

  /**
   * A base state for each member with contributions in the windows but no state row yet (the
   * real-time path writes one only when a member moves), so the evaluation walks them too: a
   * ladder whose floors were lowered since, or a contribution that reached no real-time check,
   * upgrades them here as it does everyone else. Set-based, one statement.
   */
  private async stateContributors(ladder: Ladder, program: ProgramSnapshot, asOf: Date, ref: string, monthDays: string[] | null): Promise<void> {
    const lowerBound = scanLowerBound(this.compile(ladder).measures, '$2::date');
    await rawQuery(
      this.db,
      `insert into member_tiers (${STATE_COLUMNS.join(', ')}, program_id, updated_at)
       select ${BASE_STATE}, m.program_id, $6
       from members m
       where m.program_id = $1 and not exists (select 1 from member_tiers s where s.member_id = m.id)
         and (exists (select 1 from tier_metric_buckets b where b.member_id = m.id and b.local_date <= $2::date ${lowerBound ? `and b.local_date >= ${lowerBound}` : ''})
              or exists (select 1 from tier_metric_values v where v.member_id = m.id))
         ${monthDays ? `and to_char((m.joined_at at time zone $4)::date, 'MM-DD') = any($7::text[])` : ''}
       on conflict (member_id) do nothing`,
      [program.id, ref, ladder.id, program.timeZone, ladder.baseRank, asOf, ...(monthDays ? [monthDays] : [])],
    );
  }

  /** Lifetime status: members who have spent `years` in all at the tier (or above) keep it for good. */
  private async grantLifetime(ladder: Ladder, program: ProgramSnapshot, asOf: Date, rule: { tier: string; years: number }): Promise<number> {
    const tier = ladder.tiers.find((t) => t.code === rule.tier);
    if (!tier) return 0;
    const r = tier.rank;
    const eff = effectiveSql('mt.qualified_rank', '$2', undefined, undefined, `${r}`);
    const { rows } = await inTransaction(this.db, (trx) =>
      rawQuery<{ n: number }>(
        trx,
        `with cand as (select member_id from member_tiers where ladder_id = $1 and lifetime_rank < ${r} and qualified_rank >= ${r}),
         h as (
           select h.member_id, h.occurred_at, h.qualified_rank,
                  lead(h.occurred_at) over (partition by h.member_id order by h.occurred_at, h.id) as next_at
           from tier_history h where h.ladder_id = $1 and h.member_id in (select member_id from cand)),
         yrs as (
           select member_id from h where qualified_rank >= ${r} and occurred_at <= $2
           group by member_id having sum(extract(epoch from (least(coalesce(next_at, $2), $2) - occurred_at))) >= ${rule.years} * 365.25 * 86400),
         upd as (
           update member_tiers mt set lifetime_rank = ${r}, rank = ${eff.rank}, source = ${eff.source},
             since = case when ${eff.rank} <> mt.rank then $2 else mt.since end, version = mt.version + 1, updated_at = $2
           from yrs where mt.member_id = yrs.member_id
           returning mt.member_id, mt.rank, mt.source, mt.qualified_rank, mt.valid_until),
         hist as (
           insert into tier_history (id, program_id, member_id, ladder_id, from_tier_id, from_rank, to_tier_id, to_rank, source, qualified_rank, cause, actor, valid_until, tier_snapshot, details, occurred_at)
           select 'tch_' || md5(random()::text || u.member_id), $3, u.member_id, $1, t.id, u.rank, t.id, u.rank, u.source, u.qualified_rank, 'lifetime', 'system:tiers.evaluation', null,
                  jsonb_build_object('code', l.code, 'name', l.name, 'rank', l.rank, 'config', l.config), $4, $2
           from upd u left join tiers t on t.ladder_id = $1 and t.active and t.rank = u.rank
           join tiers l on l.ladder_id = $1 and l.active and l.rank = ${r}
           returning 1)
         select count(*)::int as n from hist`,
        [ladder.id, asOf, program.id, JSON.stringify({ lifetime: rule })],
      ),
    );
    return rows[0]?.n ?? 0;
  }

  /** Bought tiers and manual assignments that have run out: back to what the member has otherwise. */
  async endOverrides(program: ProgramSnapshot, asOf: Date): Promise<{ manual: number; purchased: number }> {
    const ladder = await this.config.ladder(program.id);
    if (!ladder) return { manual: 0, purchased: 0 };
    const out = { manual: 0, purchased: 0 };
    for (const kind of ['manual', 'purchased'] as const) {
      const cleared = { rank: 'null', until: 'null' };
      const eff = kind === 'manual' ? effectiveSql('mt.qualified_rank', '$2', cleared) : effectiveSql('mt.qualified_rank', '$2', undefined, cleared);
      const cause = kind === 'manual' ? 'manual_end' : 'purchase_end';
      const withChanges = this.hooks.hasTierChangedHooks();
      const { rows } = await inTransaction(this.db, async (trx) => {
        const res = await rawQuery<{ n: number; changes: Array<{ m: string; f: number; t: number; s: string; v: string | null }> }>(
          trx,
          `with upd as (
             update member_tiers mt set ${kind}_rank = null, ${kind}_until = null${kind === 'manual' ? ', manual_reason = null' : ''},
               rank = ${eff.rank}, source = ${eff.source}, since = case when ${eff.rank} <> mt.rank then $2 else mt.since end,
               version = mt.version + 1, updated_at = $2
             from (select member_id, rank as old_rank from member_tiers where ladder_id = $1 and ${kind}_until <= $2 for update) o
             where mt.member_id = o.member_id
             returning mt.member_id, o.old_rank, mt.rank as new_rank, mt.source, mt.qualified_rank, mt.valid_until),
           hist as (
             insert into tier_history (id, program_id, member_id, ladder_id, from_tier_id, from_rank, to_tier_id, to_rank, source, qualified_rank, cause, actor, valid_until, tier_snapshot, occurred_at)
             select 'tch_' || md5(random()::text || u.member_id), $3, u.member_id, $1, ft.id, u.old_rank, tt.id, u.new_rank, u.source, u.qualified_rank, '${cause}', 'system:tiers.expire', u.valid_until,
                    case when tt.id is null then null else jsonb_build_object('code', tt.code, 'name', tt.name, 'rank', tt.rank, 'config', tt.config) end, $2
             from upd u
             left join tiers ft on ft.ladder_id = $1 and ft.active and ft.rank = u.old_rank
             left join tiers tt on tt.ladder_id = $1 and tt.active and tt.rank = u.new_rank
             returning member_id, from_rank, to_rank, source, valid_until)
           select (select count(*)::int from hist) as n,
             ${withChanges ? `(select coalesce(json_agg(json_build_object('m', member_id, 'f', from_rank, 't', to_rank, 's', source, 'v', valid_until)) filter (where from_rank <> to_rank), '[]') from hist)` : `'[]'::json`} as changes`,
          [ladder.id, asOf, program.id],
        );
        const r = res.rows[0]!;
        if (r.changes.length) {
          const ctx: ProgramContext = { program, clock: fixedClock(asOf), actor: { type: 'system', job: 'tiers.expire' } };
          await this.hooks.tierChanged(
            trx,
            ctx,
            r.changes.map((x) => ({ memberId: x.m, ladderId: ladder.id, from: this.brief(ladder, x.f), to: this.brief(ladder, x.t), source: x.s, cause, validUntil: x.v ? new Date(x.v) : null, at: asOf })),
          );
        }
        return res;
      });
      out[kind] = rows[0]?.n ?? 0;
    }
    return out;
  }
}

function effective(s: Pick<StateRow, 'qualified_rank' | 'purchased_rank' | 'purchased_until' | 'manual_rank' | 'manual_until' | 'lifetime_rank'>, now: Date): { rank: number; source: StateRow['source'] } {
  if (s.manual_until !== null && s.manual_rank !== null && s.manual_until.getTime() > now.getTime()) return { rank: s.manual_rank, source: 'manual' };
  const p = s.purchased_until !== null && s.purchased_rank !== null && s.purchased_until.getTime() > now.getTime() ? s.purchased_rank : 0;
  const q = s.qualified_rank;
  const rank = Math.max(q, p, s.lifetime_rank);
  return { rank, source: p > q && p >= s.lifetime_rank ? 'purchased' : s.lifetime_rank > q ? 'lifetime' : 'qualified' };
}

function snapshot(t: Tier): Record<string, unknown> {
  const { id: _id, rank, code, name, ...config } = t;
  return { code, name, rank, config };
}
