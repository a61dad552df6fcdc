import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError, type ErrorCode } from '../../core/errors.js';
import type { EventStatementPart, Hooks, MemberFacts, ProcessedEvent } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { inTransaction, prepared, preparedWhileShort, rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import { earnBatchCtes, type LedgerService } from '../ledger/index.js';
import {
  evaluate,
  requiredCounterKeys,
  parseCounterKey,
  validateEventAttributes,
  type Award,
  type CompiledProgram,
  type EngineEvent,
  type Explanation,
  type MemberContext,
  compactedRuleVersions,
  fromStoredExplanation,
  toStoredExplanation,
  withoutOtherEventTypes,
  type StoredExplanation,
} from '../rules/engine/index.js';
import { earningSettings, type EarningConfigService, type EventType } from './config.service.js';

export interface EventInput {
  /** the host platform's own id of the event: exactly once per id */
  eventId: string;
  /** a Laurel member id or ext:{externalId} */
  member: string;
  type: string;
  occurredAt?: string | undefined;
  channel?: string | null | undefined;
  attributes?: Record<string, unknown> | undefined;
}

export type EventStatus = 'processed' | 'rejected' | 'held';

export interface EventResult {
  eventId: string;
  id: string | null;
  memberId: string | null;
  type: string;
  status: EventStatus | 'invalid';
  /** why nothing was earned: member_frozen, member_closed, velocity_limit, … */
  reason: string | null;
  /** true when this answers a repeated event id with the first result */
  replayed: boolean;
  totals: Record<string, number>;
  awards: Award[];
  explanation: Explanation | null;
  error?: { code: ErrorCode; message: string; details?: unknown } | undefined;
}

interface MemberRow {
  id: string;
  external_id: string;
  status: 'active' | 'frozen' | 'closed';
  tags: string[];
  birthday: string | null;
  joined_at: Date;
}

interface Prepared {
  index: number;
  input: EventInput;
  event: EngineEvent;
  member: MemberRow;
  context: MemberContext;
}

class DuplicateRace extends Error {}

const MAX_BATCH = 1_000;

/**
 * Behaviour events in, points out: each event is checked against its type, evaluated by the
 * compiled rules with the member's counters, and its awards written to the ledger, exactly once
 * per host event id. A batch is processed with set-based statements: one lock of its members,
 * one read of its counters, one insert of its events, one ledger statement for all its awards.
 */
export class EventsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly config: EarningConfigService,
    private readonly ledger: LedgerService,
    private readonly hooks: Hooks,
  ) {}

  async ingest(ctx: ProgramContext, input: EventInput): Promise<EventResult> {
    const [result] = await this.ingestBatch(ctx, [input]);
    if (result!.error) throw new AppError(result!.error.code, result!.error.message, result!.error.details);
    return result!;
  }

  async ingestBatch(ctx: ProgramContext, inputs: EventInput[]): Promise<EventResult[]> {
    if (inputs.length > MAX_BATCH) throw new AppError('validation_failed', `at most ${MAX_BATCH} events per batch`);
    let optimistic = true;
    for (let attempt = 1; ; attempt++) {
      try {
        const counterRead = optimistic ? 'withLock' : 'afterLock';
        return await inTransaction(this.db, (trx) => this.process(ctx, trx, inputs, false, undefined, counterRead));
      } catch (err) {
        // Another request committed one of these event ids while this one ran: run again, and
        // those events come back as replays.
        if (err instanceof DuplicateRace && attempt < 3) continue;
        // A counter read with the member lock had changed by the time it was used: run again,
        // reading the counters after the lock.
        if (isCounterChanged(err) && optimistic) {
          optimistic = false;
          continue;
        }
        throw err;
      }
    }
  }

  /** Evaluate without side effects; `drafts` may replace or add rules and campaigns. */
  async preview(ctx: ProgramContext, input: EventInput, drafts?: { rules?: unknown[]; campaigns?: unknown[] }): Promise<EventResult> {
    const compiled = await this.config.compiledProgram(ctx, this.db, drafts);
    const [result] = await this.process(ctx, this.db, [input], true, compiled);
    if (result!.error) throw new AppError(result!.error.code, result!.error.message, result!.error.details);
    return result!;
  }

  async get(ctx: ProgramContext, eventId: string): Promise<EventResult> {
    const { rows } = await rawQuery<StoredEventRow>(this.db, `${SELECT_EVENTS} where program_id = $1 and external_id = $2`, [ctx.program.id, eventId]);
    if (!rows[0]) throw new AppError('not_found', `event ${eventId} was never received`, { eventId });
    return (await this.readBack(ctx, this.db, [rows[0]], false))[0]!;
  }

  /**
   * `counterRead` 'withLock': one event reads its member's counters in the statement that locks
   * the member, and its write statement checks they are unchanged (see 0017-counter-guard).
   */
  private async process(
    ctx: ProgramContext,
    exec: Executor,
    inputs: EventInput[],
    preview: boolean,
    compiledOverride?: CompiledProgram,
    counterRead: 'withLock' | 'afterLock' = 'afterLock',
  ): Promise<EventResult[]> {
    const results: Array<EventResult | null> = inputs.map(() => null);
    const now = ctx.clock.now();
    const snapshot = await this.config.snapshot(ctx, exec);
    const types = snapshot.types;
    const compiled = compiledOverride ?? snapshot.program;

    // 1. Each event on its own: a declared type, attributes of the right shape.
    const valid: Array<{ index: number; input: EventInput; event: EngineEvent }> = [];
    inputs.forEach((input, index) => {
      const failure = checkEvent(input, types.get(input.type), now);
      if (failure) results[index] = invalid(input, failure);
      else valid.push({ index, input, event: toEngineEvent(input, now) });
    });

    // 2. Replays (events already received return their first result) and members, locked in id
    // order so that caps and milestones of one member are read and written by one transaction
    // at a time: one statement for both.
    const seen = new Map<string, number>();
    // Budgets are locked row by row after the member: those events read their counters apart.
    const early = counterRead === 'withLock' && !preview && inputs.length === 1 && valid.length === 1 ? requiredCounterKeys(compiled, valid[0]!.event) : null;
    const earlyKeys = early && !early.some((k) => parseCounterKey(k)?.scope === 'program') ? early : null;
    const { members, stored, counters: earlyCounters } = await this.resolve(ctx, exec, valid.map((v) => v.input), preview, earlyKeys ?? []);
    const replays = await this.readBack(ctx, exec, [...stored.values()], true);
    const replayOf = new Map(replays.map((r) => [r.eventId, r]));
    for (const v of valid) {
      const prior = replayOf.get(v.input.eventId);
      if (prior) results[v.index] = prior;
    }
    const pending = valid.filter((v) => results[v.index] === null);
    const facts = compiled.readsMemberFacts
      ? await this.hooks.memberFacts(exec, ctx, [...new Set([...members.values()].map((m) => m.id))])
      : new Map<string, MemberFacts>();
    const prepared: Prepared[] = [];
    for (const v of pending) {
      const member = members.get(v.input.member);
      if (!member) {
        results[v.index] = invalid(v.input, { code: 'member_not_found', message: `member ${v.input.member} does not exist` });
        continue;
      }
      // A repeated event id inside one batch is a replay of its first occurrence.
      const first = seen.get(v.input.eventId);
      if (first !== undefined) {
        results[v.index] = { ...placeholder(v.input), replayed: true, id: `@${first}` };
        continue;
      }
      seen.set(v.input.eventId, v.index);
      prepared.push({ ...v, member, context: memberContext(member, facts.get(member.id)) });
    }

    // 4. Counters behind caps, budgets and milestones: read once, then kept in memory while the
    // batch is evaluated in order, so two events of one member in one batch see each other.
    // Keys of the rules whose conditions hold for the member only: for a purchase against twelve
    // category rules that is one cap, not twelve. Read after the member lock (an earlier
    // statement), so they include every change committed by the member's previous events; or,
    // for one event, read already with the lock (every counter it could need) and checked by
    // its write statement.
    const keysByEvent = prepared.map((p) => requiredCounterKeys(compiled, p.event, p.context).map((key) => scoped(key, p.member.id, ctx.program.id)));
    const needed = keysByEvent.flat();
    const readEarly = earlyKeys !== null && earlyCounters !== null && needed.every((k) => earlyKeys.includes(k.key));
    const counters = readEarly ? earlyCounters : await this.loadCounters(exec, needed, preview);
    // What the write statement checks: every counter this event used, with the value it used.
    const guard = readEarly ? needed.map((k) => ({ scope: k.scope, key: k.key, value: counters.get(k.id) ?? 0 })) : [];
    const velocity = preview ? new Map<string, number>() : await this.recentCounts(ctx, exec, prepared, now);

    const settings = earningSettings(ctx);

    const increments = new Map<string, { scope: string; key: string; by: number }>();
    const toInsert: Array<{ result: EventResult; prepared: Prepared }> = [];
    prepared.forEach((p, i) => {
      const base: EventResult = { ...placeholder(p.input), id: newId('event', now.getTime()), memberId: p.member.id };
      if (p.member.status !== 'active') {
        toInsert.push({ result: { ...base, status: 'rejected', reason: `member_${p.member.status}` }, prepared: p });
        return;
      }
      const limit = settings.velocityPerMinute?.[p.event.type];
      if (limit !== undefined) {
        const vkey = `${p.member.id}|${p.event.type}`;
        const count = (velocity.get(vkey) ?? 0) + 1;
        velocity.set(vkey, count);
        if (count > limit) {
          toInsert.push({ result: { ...base, status: 'rejected', reason: 'velocity_limit' }, prepared: p });
          return;
        }
      }
      const snapshot = new Map<string, number>();
      for (const scopedKey of keysByEvent[i]!) snapshot.set(scopedKey.key, counters.get(scopedKey.id) ?? 0);
      const outcome = evaluate(compiled, p.event, p.context, snapshot);
      for (const inc of outcome.counterIncrements) {
        const s = scoped(inc.key, p.member.id, ctx.program.id);
        counters.set(s.id, (counters.get(s.id) ?? 0) + inc.by);
        const prior = increments.get(s.id);
        increments.set(s.id, { scope: s.scope, key: inc.key, by: (prior?.by ?? 0) + inc.by });
      }
      const held = Object.entries(outcome.totals).some(([pt, amount]) => settings.reviewAbove?.[pt] !== undefined && amount > settings.reviewAbove[pt]!);
      const result: EventResult = {
        ...base,
        status: held ? 'held' : 'processed',
        reason: held ? 'held_for_review' : null,
        totals: outcome.totals,
        awards: outcome.awards,
        explanation: outcome.explanation && withoutOtherEventTypes(outcome.explanation),
      };
      toInsert.push({ result, prepared: p });
    });

    if (!preview && toInsert.length) await this.persist(ctx, exec as Trx, compiled, toInsert, increments, now, guard);
    for (const { result, prepared: p } of toInsert) results[p.index] = result;
    // Duplicates within the batch answer with their first occurrence.
    return results.map((r, i) => {
      if (r && r.id?.startsWith('@')) {
        const first = results[Number(r.id.slice(1))]!;
        return { ...first, replayed: true, eventId: inputs[i]!.eventId };
      }
      return r!;
    });
  }

  /** Stored events as results, their explanations read back whole from the rule versions they name. */
  private async readBack(ctx: ProgramContext, exec: Executor, rows: StoredEventRow[], replayed: boolean): Promise<EventResult[]> {
    const named = rows.flatMap((r) => (r.explanation ? compactedRuleVersions(r.explanation) : []));
    const facts = named.length ? await this.config.ruleVersionFacts(ctx, named, exec) : null;
    return rows.map((r) => {
      const explanation = r.explanation && facts ? fromStoredExplanation(r.explanation, (id, version) => facts.get(`${id}@${version}`)) : (r.explanation as Explanation | null);
      return fromStored(r, replayed, explanation);
    });
  }

  private async persist(
    ctx: ProgramContext,
    trx: Trx,
    compiled: CompiledProgram,
    items: Array<{ result: EventResult; prepared: Prepared }>,
    increments: Map<string, { scope: string; key: string; by: number }>,
    now: Date,
    guard: Array<{ scope: string; key: string; value: number }>,
  ): Promise<void> {
    const earns = [];
    const reviews = [];
    for (const { result, prepared } of items) {
      if (result.status === 'rejected') continue;
      for (const [pointType, amount] of Object.entries(result.totals)) {
        if (amount <= 0) continue;
        const details = {
          eventType: prepared.event.type,
          eventId: prepared.input.eventId,
          rules: result.awards.filter((a) => a.pointType === pointType).map((a) => ({ kind: a.kind, id: a.ruleId, version: a.ruleVersion, amount: a.amount })),
        };
        if (result.status === 'held') {
          reviews.push({ id: newId('review', now.getTime()), memberId: prepared.member.id, eventId: result.id!, pointType, amount, details });
        } else {
          earns.push({
            memberId: prepared.member.id,
            pointType,
            amount,
            idempotencyKey: `event:${result.id}:${pointType}`,
            source: { type: 'event', id: result.id! },
            reason: prepared.event.type,
            details,
            tierCode: prepared.context.tierCode,
            channel: prepared.event.channel,
          });
        }
      }
    }

    const conditions = conditionsOf(compiled);
    const conditionOf = (ruleId: string) => conditions.get(ruleId);
    const explanations = items.map(({ result }) => (result.explanation ? toStoredExplanation(result.explanation, conditionOf) : null));
    const counters = [...increments.values()];
    const processed: ProcessedEvent[] = items
      .filter(({ result }) => result.status === 'processed')
      .map(({ result, prepared }) => ({
        id: result.id!,
        externalId: prepared.input.eventId,
        type: prepared.event.type,
        occurredAt: prepared.event.occurredAt,
        channel: prepared.event.channel,
        attributes: prepared.event.attributes,
        memberId: prepared.member.id,
        totals: result.totals,
      }));
    const values: unknown[] = [
      ctx.program.id,
      now,
      items.map((i) => i.result.id),
      items.map((i) => i.prepared.member.id),
      items.map((i) => i.prepared.input.eventId),
      items.map((i) => i.prepared.event.type),
      items.map((i) => i.prepared.event.occurredAt),
      items.map((i) => i.prepared.event.channel),
      items.map((i) => i.result.status),
      items.map((i) => i.result.reason),
      // One JSON text per column: a thousand texts joined cost more than one stringify of the array.
      JSON.stringify(items.map((i) => i.prepared.event.attributes)),
      JSON.stringify(items.map((i) => i.result.totals)),
      JSON.stringify(explanations),
      counters.map((c) => c.scope),
      counters.map((c) => c.key),
      counters.map((c) => c.by),
      reviews.map((r) => r.id),
      reviews.map((r) => r.memberId),
      reviews.map((r) => r.eventId),
      reviews.map((r) => r.pointType),
      reviews.map((r) => r.amount),
      JSON.stringify(reviews.map((r) => r.details)),
    ];
    // The events and their earns go in one statement: the ledger lends its batch earn's CTEs.
    // For one event, other modules' writes for it (the tier path) go in the same statement.
    const earning = earns.length ? await this.ledger.earnBatchPart(ctx, earns, trx) : null;
    let statement = earning ? PERSIST_EVENTS_AND_EARNS(items.length + earns.length) : PERSIST_EVENTS(items.length);
    let parts: Array<{ module: string; part: EventStatementPart }> = [];
    if (earning) values.push(...earning.values);
    const guardAt = guard.length ? values.length + 1 : null;
    if (guard.length) values.push(guard.map((g) => g.scope), guard.map((g) => g.key), guard.map((g) => g.value));
    if (earning && items.length === 1 && processed.length === 1) {
      parts = await this.hooks.eventStatementParts(trx, ctx, processed[0]!, values.length + 1);
      for (const { part } of parts) values.push(...part.values);
    }
    if (guardAt !== null || parts.length) statement = oneEventStatement(earning !== null, guardAt, parts.map((p) => p.part));
    const { rows } = await rawQuery<{ inserted: number; parts: unknown[] | null }>(trx, statement, values);
    if (rows[0]!.inserted !== items.length) throw new DuplicateRace();
    for (const [i, { part }] of parts.entries()) await part.finish(rows[0]!.parts?.[i] ?? null);
    await this.hooks.afterEvents(trx, ctx, processed, new Set(parts.map((p) => p.module)));
  }

  /**
   * The members the events name (by id or ext:{externalId}), locked in id order unless this is
   * a preview, and the events among `inputs` received before, in one statement.
   */
  private async resolve(
    ctx: ProgramContext,
    exec: Executor,
    inputs: EventInput[],
    preview: boolean,
    counterKeys: string[],
  ): Promise<{ members: Map<string, MemberRow>; stored: Map<string, StoredEventRow>; counters: Map<string, number> | null }> {
    const members = new Map<string, MemberRow>();
    const stored = new Map<string, StoredEventRow>();
    if (inputs.length === 0) return { members, stored, counters: null };
    const refs = inputs.map((i) => i.member);
    const ids = refs.filter((r) => !r.startsWith('ext:'));
    const externals = refs.filter((r) => r.startsWith('ext:')).map((r) => r.slice(4));
    const one = inputs.length === 1 && !preview ? inputs[0]! : null;
    const { rows } = await rawQuery<MemberRow & { prior: StoredEventRow | null; counters?: Record<string, number> | null }>(
      exec,
      one ? (one.member.startsWith('ext:') ? RESOLVE_ONE_BY_EXTERNAL_ID : RESOLVE_ONE) : preview ? RESOLVE_PREVIEW : RESOLVE(inputs.length),
      one
        ? [ctx.program.id, ids[0] ?? externals[0], one.eventId, counterKeys]
        : preview
          ? [ctx.program.id, ids, externals]
          : [ctx.program.id, ids, externals, inputs.map((i) => i.eventId)],
    );
    let counters: Map<string, number> | null = null;
    for (const row of rows) {
      if (row.prior) {
        stored.set(row.prior.external_id, row.prior);
        continue;
      }
      const { prior: _, counters: read, ...m } = row;
      if (one && counterKeys.length) counters = new Map(Object.entries(read ?? {}).map(([key, value]) => [`${m.id}|${key}`, Number(value)]));
      members.set(m.id, m);
      members.set(`ext:${m.external_id}`, m);
    }
    return { members, stored, counters };
  }

  private async loadCounters(exec: Executor, keys: ScopedKey[], preview: boolean): Promise<Map<string, number>> {
    const values = new Map<string, number>();
    if (keys.length === 0) return values;
    const unique = [...new Map(keys.map((k) => [k.id, k])).values()];
    const programKeys = unique.filter((k) => k.program);
    if (!preview && programKeys.length) {
      // Budgets are shared by all members: make their rows exist, then lock them, so two
      // transactions cannot both spend the last of a budget.
      await rawQuery(
        exec,
        `insert into earning_counters (scope_id, key, value) select *, 0 from unnest($1::text[], $2::text[]) on conflict do nothing`,
        [programKeys.map((k) => k.scope), programKeys.map((k) => k.key)],
      );
    }
    const { rows } = await rawQuery<{ scope_id: string; key: string; value: number }>(
      exec,
      (!preview && programKeys.length ? COUNTERS_LOCKED : COUNTERS)(unique.length),
      [unique.map((k) => k.scope), unique.map((k) => k.key)],
    );
    for (const r of rows) values.set(`${r.scope_id}|${r.key}`, r.value);
    return values;
  }

  private async recentCounts(ctx: ProgramContext, exec: Executor, prepared: Prepared[], now: Date): Promise<Map<string, number>> {
    const limits = earningSettings(ctx).velocityPerMinute ?? {};
    const watched = prepared.filter((p) => limits[p.event.type] !== undefined);
    if (watched.length === 0) return new Map();
    const { rows } = await rawQuery<{ member_id: string; type: string; n: number }>(
      exec,
      `select member_id, type, count(*)::int as n from events
       where member_id = any($1::text[]) and type = any($2::text[]) and received_at > $3 and status <> 'rejected'
       group by member_id, type`,
      [[...new Set(watched.map((p) => p.member.id))], [...new Set(watched.map((p) => p.event.type))], new Date(now.getTime() - 60_000)],
    );
    return new Map(rows.map((r) => [`${r.member_id}|${r.type}`, r.n]));
  }
}

interface ScopedKey {
  id: string;
  scope: string;
  key: string;
  program: boolean;
}

/** Caps and milestones count per member; budgets per program. */
function scoped(key: string, memberId: string, programId: string): ScopedKey {
  const program = parseCounterKey(key)?.scope === 'program';
  const scope = program ? programId : memberId;
  return { id: `${scope}|${key}`, scope, key, program };
}

/** Each rule's condition, by id, of a compiled program: what a stored explanation leaves out. */
const conditionsByProgram = new WeakMap<CompiledProgram, Map<string, unknown>>();

function conditionsOf(compiled: CompiledProgram): Map<string, unknown> {
  let conditions = conditionsByProgram.get(compiled);
  if (!conditions) {
    conditions = new Map(compiled.rules.map((r) => [r.id, r.def.condition]));
    conditionsByProgram.set(compiled, conditions);
  }
  return conditions;
}

function memberContext(m: MemberRow, facts: MemberFacts | undefined): MemberContext {
  return {
    tierCode: facts?.tierCode ?? null,
    planCodes: facts?.planCodes ?? [],
    tags: m.tags,
    segments: facts?.segments ?? [],
    birthday: m.birthday,
    joinedAt: m.joined_at,
  };
}

function checkEvent(input: EventInput, type: EventType | undefined, now: Date): { code: ErrorCode; message: string; details?: unknown } | null {
  if (!type) return { code: 'validation_failed', message: `event type "${input.type}" is not declared in this program`, details: { field: 'type' } };
  if (input.occurredAt !== undefined && Number.isNaN(new Date(input.occurredAt).getTime())) {
    return { code: 'validation_failed', message: 'occurredAt is not a valid instant', details: { field: 'occurredAt' } };
  }
  if (input.occurredAt !== undefined && new Date(input.occurredAt).getTime() > now.getTime() + 5 * 60_000) {
    return { code: 'validation_failed', message: 'occurredAt is in the future', details: { field: 'occurredAt' } };
  }
  const issues = validateEventAttributes(type.attributesSchema, input.attributes ?? {});
  if (issues.length) return { code: 'validation_failed', message: `${issues[0]!.path}: ${issues[0]!.message}`, details: { issues } };
  return null;
}

function toEngineEvent(input: EventInput, now: Date): EngineEvent {
  return {
    type: input.type,
    occurredAt: input.occurredAt ? new Date(input.occurredAt) : now,
    channel: input.channel ?? null,
    attributes: input.attributes ?? {},
  };
}

function placeholder(input: EventInput): EventResult {
  return { eventId: input.eventId, id: null, memberId: null, type: input.type, status: 'processed', reason: null, replayed: false, totals: {}, awards: [], explanation: null };
}

function invalid(input: EventInput, error: { code: ErrorCode; message: string; details?: unknown }): EventResult {
  return { ...placeholder(input), status: 'invalid', reason: error.code, error };
}

const SELECT_EVENTS = `select id, member_id, external_id, type, status, reason, totals, explanation from events`;

const SELECT_COUNTERS = `select c.scope_id, c.key, c.value from earning_counters c
  join unnest($1::text[], $2::text[]) as k(scope_id, key) on c.scope_id = k.scope_id and c.key = k.key
  order by c.scope_id, c.key`;
const COUNTERS = preparedWhileShort(SELECT_COUNTERS);
const COUNTERS_LOCKED = preparedWhileShort(`${SELECT_COUNTERS} for update of c`);

const MEMBER_COLUMNS = 'id, external_id, status, tags, birthday, joined_at';
const MEMBERS_NAMED = 'from members where program_id = $1 and (id = any($2::text[]) or external_id = any($3::text[])) order by id';

/** Members (locked) and then, one per row in `prior`, the events of these ids received before. */
const RESOLVE = preparedWhileShort(`
with m as (select ${MEMBER_COLUMNS} ${MEMBERS_NAMED} for update)
select ${MEMBER_COLUMNS}, null::json as prior from m
union all
select null, null, null, null, null, null, row_to_json(e) from (${SELECT_EVENTS} where program_id = $1 and external_id = any($4::text[])) e`);

/**
 * The same for one event, with scalar parameters ($2 the member's id or external id, $3 the
 * event id): PostgreSQL keeps a generic plan for these, where arrays of one element made it
 * plan the statement afresh on every call.
 */
const resolveOne = (memberColumn: 'id' | 'external_id') =>
  prepared(`
with m as (select ${MEMBER_COLUMNS} from members where program_id = $1 and ${memberColumn} = $2 for update)
select ${MEMBER_COLUMNS}, null::json as prior,
  (select json_object_agg(c.key, c.value) from earning_counters c where c.scope_id = m.id and c.key = any($4::text[])) as counters
from m
union all
select null, null, null, null, null, null, row_to_json(e), null from (${SELECT_EVENTS} where program_id = $1 and external_id = $3) e`);
const RESOLVE_ONE = resolveOne('id');
const RESOLVE_ONE_BY_EXTERNAL_ID = resolveOne('external_id');

const RESOLVE_PREVIEW = `select ${MEMBER_COLUMNS}, null::json as prior ${MEMBERS_NAMED}`;

/**
 * A batch's events, its counter increments and its held awards in one statement. JSON columns
 * arrive as one JSON array each (a JSON null for no explanation): an array literal of JSON texts
 * is slow to build and to parse once it reaches megabytes of explanations.
 * $1 program, $2 received at, $3…$10 the events' scalar columns, $11 attributes, $12 totals,
 * $13 explanations, $14…$16 counter increments, $17…$22 awards held for review.
 */
const PERSIST_CTES = `inserted as (
  insert into events (id, program_id, member_id, external_id, type, occurred_at, channel, attributes, status, reason, totals, explanation, received_at)
  select id, $1, member_id, external_id, type, occurred_at, channel, attributes::jsonb, status, reason, totals::jsonb,
    case when json_typeof(explanation) <> 'null' then explanation end, $2
  from rows from (unnest($3::text[]), unnest($4::text[]), unnest($5::text[]), unnest($6::text[]), unnest($7::timestamptz[]), unnest($8::text[]),
    unnest($9::text[]), unnest($10::text[]), json_array_elements($11::json), json_array_elements($12::json), json_array_elements($13::json))
    with ordinality as e(id, member_id, external_id, type, occurred_at, channel, status, reason, attributes, totals, explanation, ord)
  order by ord
  on conflict (program_id, external_id) do nothing
  returning 1
), counters as (
  insert into earning_counters (scope_id, key, value) select * from unnest($14::text[], $15::text[], $16::bigint[])
  on conflict (scope_id, key) do update set value = earning_counters.value + excluded.value
), reviews as (
  insert into award_reviews (id, program_id, member_id, event_id, point_type, amount, status, details, created_at)
  select id, $1, member_id, event_id, point_type, amount, 'pending', details::jsonb, $2
  from rows from (unnest($17::text[]), unnest($18::text[]), unnest($19::text[]), unnest($20::text[]), unnest($21::bigint[]), json_array_elements($22::json))
    as r(id, member_id, event_id, point_type, amount, details)
)`;
const PERSIST_PARAMS = 22;

const PERSIST_EVENTS = preparedWhileShort(`with ${PERSIST_CTES}
select count(*)::int as inserted from inserted`);

/** The same, with the ledger's batch earn of the events' awards (its parameters after ours). */
const PERSIST_AND_EARN_CTES = `${PERSIST_CTES},\n${earnBatchCtes(PERSIST_PARAMS + 1)}`;
const PERSIST_EVENTS_AND_EARNS = preparedWhileShort(`with ${PERSIST_AND_EARN_CTES}
select (select count(*)::int from inserted) as inserted`);

/**
 * One event's statement: its rows, the ledger's earn when it earns, the check of the counters it
 * read with the member lock (parameters from `guardAt`: scopes, keys, values) when it did, and
 * other modules' parts after those; `parts` holds each part's result row, as JSON.
 */
const oneEventTexts = new Map<string, Map<string, string>>();

function oneEventStatement(earns: boolean, guardAt: number | null, parts: EventStatementPart[]): string {
  // Keyed by the parts' own CTE texts, which their modules keep: one part (the usual case) is a
  // lookup by a string whose hash V8 already holds, where a joined key of kilobytes was built
  // and hashed anew on every event.
  const shape = `${earns}\u0000${guardAt}`;
  const partsKey = parts.length === 1 ? parts[0]!.ctes : parts.map((p) => p.ctes).join('\u0000');
  let texts = oneEventTexts.get(shape);
  if (!texts) oneEventTexts.set(shape, (texts = new Map()));
  let text = texts.get(partsKey);
  if (text === undefined) {
    const ctes = [earns ? PERSIST_AND_EARN_CTES : PERSIST_CTES];
    if (guardAt !== null) {
      // The write statement's snapshot is taken after the member lock: it sees every counter as
      // the member's previous events left it.
      ctes.push(`counters_guard as (
  select laurel_counters_changed() from unnest($${guardAt}::text[], $${guardAt + 1}::text[], $${guardAt + 2}::bigint[]) as g(scope_id, key, value)
  left join earning_counters c on c.scope_id = g.scope_id and c.key = g.key
  where coalesce(c.value, 0) <> g.value)`);
    }
    ctes.push(...parts.map((p) => p.ctes));
    const results = parts.map((p) => `(select row_to_json(r) from ${p.result} r)`).join(', ');
    text = prepared(`with ${ctes.join(',\n')}
select (select count(*)::int from inserted) as inserted${guardAt !== null ? ', (select count(*) from counters_guard) as changed' : ''}${parts.length ? `, json_build_array(${results}) as parts` : ''}`);
    if (texts.size > 100) texts.clear();
    texts.set(partsKey, text);
  }
  return text;
}

/** The write statement found a counter changed since the member-lock statement read it. */
function isCounterChanged(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'LRC01';
}

/**
 * One event result as JSON, the fields of EventResultSchema only (what the route's serializer
 * would write).
 */
export function eventResultJson(r: EventResult, withExplanation = true): string {
  const body = JSON.stringify({
    eventId: r.eventId,
    id: r.id,
    memberId: r.memberId,
    type: r.type,
    status: r.status,
    reason: r.reason,
    replayed: r.replayed,
    totals: r.totals,
    awards: r.awards.map((a) => ({ kind: a.kind, ruleId: a.ruleId, ruleVersion: a.ruleVersion, pointType: a.pointType, amount: a.amount })),
    error: r.error === undefined ? undefined : { code: r.error.code, message: r.error.message, details: r.error.details },
  });
  if (!withExplanation) return body;
  return `${body.slice(0, -1)},"explanation":${JSON.stringify(r.explanation ?? null)}}`;
}

interface StoredEventRow {
  id: string;
  member_id: string;
  external_id: string;
  type: string;
  status: EventStatus;
  reason: string | null;
  totals: Record<string, number>;
  explanation: StoredExplanation | null;
}

function fromStored(r: StoredEventRow, replayed: boolean, explanation: Explanation | null): EventResult {
  // The awards of a stored event are read back from its explanation.
  const awards: Award[] = [];
  for (const rule of explanation?.rules ?? []) {
    for (const a of rule.awards ?? []) {
      if (a.amount > 0) awards.push({ kind: 'rule', ruleId: rule.ruleId, ruleVersion: rule.version, pointType: a.pointType, amount: a.amount });
    }
  }
  for (const c of explanation?.campaigns ?? []) {
    for (const a of c.awards ?? []) {
      if (a.amount > 0) awards.push({ kind: 'campaign', ruleId: c.campaignId, ruleVersion: c.version, pointType: a.pointType, amount: a.amount });
    }
  }
  return {
    eventId: r.external_id,
    id: r.id,
    memberId: r.member_id,
    type: r.type,
    status: r.status,
    reason: r.reason,
    replayed,
    totals: r.totals,
    awards,
    explanation,
  };
}

