import type { ProgramContext } from '../../core/context.js';
import { rawQuery, type Executor } from '../../db/database.js';
import { earningSettings } from '../earning/index.js';
import { computeExpiry, type ExpiryPolicy } from '../ledger/index.js';
import { ZoneClock, evaluate, type CompiledProgram, type EngineEvent, type EvaluationResult, type MemberContext } from '../rules/engine/index.js';
import { holds, leafKey, retentionOf, type Condition, type Ladder } from '../tiers/index.js';
import { CounterStore, CounterView } from './counters.js';
import type { ResolvedDraft } from './drafts.js';
import { TierSim } from './tier-sim.js';

/**
 * The replay: the recorded events of a period streamed in keyset-paged chunks, in the order they
 * occurred, each evaluated by the compiled live rules and by the compiled draft rules (the engine
 * is pure), with each side's counters and tier ladder kept in memory. Nothing is written: live
 * data is only read, in short statements, so a replay never holds a lock or a long transaction.
 *
 * Events before `from` (from `warmupFrom`, by default the first recorded event) are replayed for
 * state only (caps, milestones, tier metrics), so the period starts as it really started.
 */
export interface ReplayParams {
  from: Date;
  to: Date;
  warmupFrom: Date | null;
  /** points expiring: lots earned in the period whose expiry falls before this instant */
  expiryHorizon: Date;
  /** how many members who would move tiers to list */
  sample: number;
  chunkSize: number;
}

export interface ReplayObserver {
  /** after each chunk; answer false to stop (a cancelled run) */
  chunk(processed: number, total: number): Promise<boolean>;
  /** each event of the period with both outcomes (tests compare them with the record) */
  event?(row: { id: string; memberId: string; recorded: Record<string, number> }, live: EvaluationResult, draft: EvaluationResult): void;
}

export interface Side {
  points: Record<string, number>;
  expiring: Record<string, number>;
}

export interface TierMover {
  memberId: string;
  externalId: string;
  from: string | null;
  to: string | null;
  direction: 'up' | 'down';
  why: string;
  metrics: { live: Record<string, number>; draft: Record<string, number> };
}

export interface ReplayResult {
  period: { from: string; to: string; warmupFrom: string | null; expiryHorizon: string };
  changes: ResolvedDraft['changes'];
  events: { replayed: number; warmup: number; changed: number; liveDiffersFromRecord: number; eventsPerSecond: number; seconds: number };
  points: Array<{ pointType: string; recorded: number; live: number; draft: number; delta: number }>;
  rules: Array<{ kind: string; id: string; name: string; pointType: string; live: number; draft: number; delta: number }>;
  expiring: Array<{ pointType: string; live: number; draft: number; delta: number }>;
  tiers: null | {
    members: number;
    distribution: Array<{ tier: string | null; rank: number; live: number; draft: number; recorded: number | null }>;
    up: number;
    down: number;
    sample: TierMover[];
    /** members whose replayed live tier differs from their recorded tier (when the period ends now) */
    liveDiffersFromRecord: number | null;
  };
  /** privileges follow tier entries: how many members would enter each tier in the period */
  benefits: { tierEntries: Array<{ tier: string; live: number; draft: number; delta: number }> };
  limitations: string[];
}

interface EventRow {
  id: string;
  member_id: string;
  type: string;
  occurred_at: Date;
  occ: string;
  received_at: Date;
  channel: string | null;
  attributes: Record<string, unknown>;
  totals: Record<string, number>;
}

interface MemberInfo {
  externalId: string;
  tags: string[];
  birthday: string | null;
  joinedAt: Date;
}

class ReplaySide {
  readonly store = new CounterStore();
  readonly view = new CounterView(this.store);
  readonly points: Record<string, number> = {};
  readonly expiring: Record<string, number> = {};
  /** rule or campaign id → its kind and the amounts it awarded per point type */
  readonly byRule = new Map<string, { kind: string; amounts: Record<string, number> }>();

  readonly clock: ZoneClock;
  /** expiry instants by point type, tier and local day of the earn, for policies that round to a day */
  readonly expiryCache = new Map<string, number | null>();
  private readonly dayResolution = new Map<string, boolean>();

  constructor(
    readonly program: CompiledProgram,
    readonly sim: TierSim | null,
    readonly expiry: Record<string, ExpiryPolicy>,
  ) {
    this.clock = program.clock;
  }

  /** Whether a lot's expiry depends on the local day of the earn alone (no policy keeps the time of day). */
  expiryByDay(pt: string): boolean {
    let v = this.dayResolution.get(pt);
    if (v === undefined) {
      v = !JSON.stringify(this.expiry[pt] ?? null).includes('"instant"');
      this.dayResolution.set(pt, v);
    }
    return v;
  }
}

export async function replay(exec: Executor, ctx: ProgramContext, draft: ResolvedDraft, params: ReplayParams, observer: ReplayObserver): Promise<ReplayResult> {
  const started = performance.now();
  const programId = ctx.program.id;
  const zone = ctx.program.timeZone;
  const clock = new ZoneClock(zone);
  const settings = earningSettings(ctx);
  const fromMs = params.from.getTime();
  const toMs = params.to.getTime();

  const first = await rawQuery<{ at: Date | null }>(exec, `select min(occurred_at) as at from events where program_id = $1 and status <> 'rejected'`, [programId]);
  const start = params.warmupFrom ?? first.rows[0]?.at ?? params.from;
  const startAt = new Date(Math.min(start.getTime(), fromMs));
  const sim = (ladder: Ladder | null) => {
    if (!ladder) return null;
    const s = new TierSim(ladder, zone, startAt);
    s.countFrom = fromMs;
    return s;
  };
  const live = new ReplaySide(draft.live, sim(draft.liveLadder), draft.liveExpiry);
  const dr = new ReplaySide(draft.draft, sim(draft.draftLadder), draft.draftExpiry);

  const { rows: countRows } = await rawQuery<{ n: number }>(
    exec,
    `select count(*)::int as n from events where program_id = $1 and status <> 'rejected' and occurred_at >= $2 and occurred_at < $3`,
    [programId, startAt, params.to],
  );
  const total = countRows[0]!.n;
  const members = new Map<string, MemberInfo>();
  const recorded: Record<string, number> = {};
  let processed = 0;
  let counted = 0;
  let warmup = 0;
  let changed = 0;
  let drift = 0;
  let clockMs = startAt.getTime();

  // Reads run one chunk ahead: the next page is fetched while this one is evaluated.
  const fetch = async (after: { occ: string; id: string } | null): Promise<EventRow[]> => {
    const { rows } = await rawQuery<EventRow>(
      exec,
      `select id, member_id, type, occurred_at, occurred_at::text as occ, received_at, channel, attributes, totals
       from events
       where program_id = $1 and status <> 'rejected' and occurred_at < $2
         and ${after ? 'occurred_at >= $3::timestamptz and (occurred_at > $3::timestamptz or id > $4)' : 'occurred_at >= $3::timestamptz and $4::text is null'}
       order by occurred_at, id limit $5`,
      [programId, params.to, after ? after.occ : startAt, after ? after.id : null, params.chunkSize],
    );
    await loadMembers(exec, programId, rows, members);
    return rows;
  };
  let pending: Promise<EventRow[]> | null = fetch(null);
  while (pending) {
    const rows: EventRow[] = await pending;
    if (rows.length === 0) break;
    const last = rows[rows.length - 1]!;
    pending = rows.length < params.chunkSize ? null : fetch({ occ: last.occ, id: last.id });
    // A failed prefetch is reported when it is awaited, not as an unhandled rejection meanwhile.
    pending?.catch(() => {});
    for (const row of rows) {
      const m = members.get(row.member_id)!;
      const received = row.received_at.getTime();
      if (received > clockMs) clockMs = received;
      live.sim?.advanceTo(clockMs);
      dr.sim?.advanceTo(clockMs);
      const event: EngineEvent = { type: row.type, occurredAt: row.occurred_at, channel: row.channel, attributes: row.attributes };
      const a = evaluateSide(live, event, row.member_id, m, settings.reviewAbove, received);
      const b = evaluateSide(dr, event, row.member_id, m, settings.reviewAbove, received);
      if (row.occurred_at.getTime() >= fromMs) {
        counted++;
        for (const pt in row.totals) recorded[pt] = (recorded[pt] ?? 0) + row.totals[pt]!;
        tally(live, a, row, zone, params.expiryHorizon);
        tally(dr, b, row, zone, params.expiryHorizon);
        if (!sameTotals(b.totals, row.totals)) changed++;
        if (!sameTotals(a.totals, row.totals)) drift++;
        observer.event?.({ id: row.id, memberId: row.member_id, recorded: row.totals }, a, b);
      } else {
        warmup++;
      }
    }
    processed += rows.length;
    live.store.evictBefore(last.occurred_at.getTime(), clock);
    dr.store.evictBefore(last.occurred_at.getTime(), clock);
    if (!(await observer.chunk(processed, total))) {
      await pending?.catch(() => {});
      throw new ReplayCancelled(processed, total);
    }
  }
  live.sim?.finish(toMs);
  dr.sim?.finish(toMs);

  const seconds = (performance.now() - started) / 1000;
  const pointTypes = [...new Set([...Object.keys(recorded), ...Object.keys(live.points), ...Object.keys(dr.points), ...Object.keys(draft.live.totalsTemplate)])].sort();
  const names = new Map<string, string>();
  for (const p of [draft.live, draft.draft]) {
    for (const r of p.rules) names.set(`rule|${r.id}`, r.name);
    for (const c of p.campaigns) names.set(`campaign|${c.id}`, c.name);
  }
  const ruleKeys: string[] = [];
  for (const side of [live, dr]) for (const [id, v] of side.byRule) for (const pt of Object.keys(v.amounts)) ruleKeys.push(`${v.kind}|${id}|${pt}`);
  const amountOf = (side: ReplaySide, id: string, pt: string) => side.byRule.get(id)?.amounts[pt] ?? 0;
  const tiers = await tierFigures(exec, ctx, live.sim, dr.sim, members, params);
  return {
    period: { from: params.from.toISOString(), to: params.to.toISOString(), warmupFrom: params.warmupFrom?.toISOString() ?? null, expiryHorizon: params.expiryHorizon.toISOString() },
    changes: draft.changes,
    events: { replayed: counted, warmup, changed, liveDiffersFromRecord: drift, eventsPerSecond: Math.round(processed / Math.max(seconds, 1e-6)), seconds: Math.round(seconds * 1000) / 1000 },
    points: pointTypes.map((pt) => ({ pointType: pt, recorded: recorded[pt] ?? 0, live: live.points[pt] ?? 0, draft: dr.points[pt] ?? 0, delta: (dr.points[pt] ?? 0) - (live.points[pt] ?? 0) })),
    rules: [...new Set(ruleKeys)].sort().map((k) => {
      const [kind, id, pointType] = k.split('|') as [string, string, string];
      const l = amountOf(live, id, pointType);
      const d = amountOf(dr, id, pointType);
      return { kind, id, name: names.get(`${kind}|${id}`) ?? id, pointType, live: l, draft: d, delta: d - l };
    }),
    expiring: pointTypes.map((pt) => ({ pointType: pt, live: live.expiring[pt] ?? 0, draft: dr.expiring[pt] ?? 0, delta: (dr.expiring[pt] ?? 0) - (live.expiring[pt] ?? 0) })),
    tiers,
    benefits: { tierEntries: tierEntries(live.sim, dr.sim) },
    limitations: limitations(draft),
  };
}

export class ReplayCancelled extends Error {
  constructor(
    readonly processed: number,
    readonly total: number,
  ) {
    super('the replay was cancelled');
  }
}

function evaluateSide(side: ReplaySide, event: EngineEvent, memberId: string, m: MemberInfo, reviewAbove: Record<string, number> | undefined, received: number): EvaluationResult {
  const member: MemberContext = { tierCode: side.sim?.tierCode(memberId) ?? null, planCodes: [], tags: m.tags, segments: [], birthday: m.birthday, joinedAt: m.joinedAt };
  side.view.member = memberId;
  const out = evaluate(side.program, event, member, side.view, { explain: 'none' });
  side.store.apply(memberId, out.counterIncrements);
  // An award held for review is not earned yet: it feeds no tier metric (as in ingestion).
  const held = reviewAbove !== undefined && Object.entries(out.totals).some(([pt, v]) => reviewAbove[pt] !== undefined && v > reviewAbove[pt]!);
  if (!held) side.sim?.onEvent(memberId, m.joinedAt, { type: event.type, occurredAt: event.occurredAt.getTime(), attributes: event.attributes }, out.totals, received);
  return out;
}

function tally(side: ReplaySide, out: EvaluationResult, row: EventRow, zone: string, horizon: Date): void {
  for (const a of out.awards) {
    // Rule and campaign ids never collide (their prefixes differ); the point type completes the key.
    let byType = side.byRule.get(a.ruleId);
    if (!byType) side.byRule.set(a.ruleId, (byType = { kind: a.kind, amounts: {} }));
    byType.amounts[a.pointType] = (byType.amounts[a.pointType] ?? 0) + a.amount;
  }
  const totals = out.totals;
  for (const pt in totals) {
    const amount = totals[pt]!;
    if (amount <= 0) continue;
    side.points[pt] = (side.points[pt] ?? 0) + amount;
    const policy = side.expiry[pt];
    if (!policy || policy.kind === 'never' || policy.kind === 'inactivity') continue;
    const tierCode = side.sim?.tierCode(row.member_id) ?? null;
    const byDay = side.expiryByDay(pt);
    const key = byDay ? `${pt}|${tierCode}|${side.clock.dayNumber(row.received_at.getTime())}` : '';
    let expiresAt = byDay ? side.expiryCache.get(key) : undefined;
    if (expiresAt === undefined) {
      try {
        expiresAt = computeExpiry(policy, { earnedAt: row.received_at, zone, tierCode })?.getTime() ?? null;
      } catch {
        // A fixed date already past: the ledger would refuse the earn; count it as expiring at once.
        expiresAt = row.received_at.getTime();
      }
      if (byDay) {
        if (side.expiryCache.size > 100_000) side.expiryCache.clear();
        side.expiryCache.set(key, expiresAt);
      }
    }
    if (expiresAt !== null && expiresAt <= horizon.getTime()) side.expiring[pt] = (side.expiring[pt] ?? 0) + amount;
  }
}

function sameTotals(a: Record<string, number>, b: Record<string, number>): boolean {
  for (const k of Object.keys(a)) if ((a[k] ?? 0) !== (b[k] ?? 0)) return false;
  for (const k of Object.keys(b)) if ((a[k] ?? 0) !== (b[k] ?? 0)) return false;
  return true;
}

async function loadMembers(exec: Executor, programId: string, rows: EventRow[], into: Map<string, MemberInfo>): Promise<void> {
  const missing = [...new Set(rows.map((r) => r.member_id).filter((id) => !into.has(id)))];
  if (!missing.length) return;
  const { rows: found } = await rawQuery<{ id: string; external_id: string; tags: string[]; birthday: string | null; joined_at: Date }>(
    exec,
    'select id, external_id, tags, birthday, joined_at from members where program_id = $1 and id = any($2::text[])',
    [programId, missing],
  );
  for (const m of found) into.set(m.id, { externalId: m.external_id, tags: m.tags, birthday: m.birthday, joinedAt: m.joined_at });
}

async function tierFigures(exec: Executor, ctx: ProgramContext, live: TierSim | null, draft: TierSim | null, members: Map<string, MemberInfo>, params: ReplayParams): Promise<ReplayResult['tiers']> {
  if (!live && !draft) return null;
  const { rows } = await rawQuery<{ n: number }>(exec, 'select count(*)::int as n from members where program_id = $1 and joined_at < $2', [ctx.program.id, params.to]);
  const total = rows[0]!.n;
  const count = (sim: TierSim | null) => {
    const by = new Map<string, number>();
    if (!sim) return by;
    let seen = 0;
    for (const s of sim.members.values()) {
      const code = sim.ladder.tiers[s.q - 1]?.code ?? '';
      by.set(code, (by.get(code) ?? 0) + 1);
      seen++;
    }
    const base = sim.ladder.tiers[sim.ladder.baseRank - 1]?.code ?? '';
    by.set(base, (by.get(base) ?? 0) + total - seen);
    return by;
  };
  // The record is comparable when the period ends now: member_tiers is the state at its end.
  let recorded: Map<string, number> | null = null;
  let drift: number | null = null;
  if (live && params.to.getTime() >= ctx.clock.now().getTime()) {
    const { rows: states } = await rawQuery<{ member_id: string; rank: number }>(exec, 'select member_id, rank from member_tiers where program_id = $1', [ctx.program.id]);
    recorded = new Map();
    drift = 0;
    const stored = new Map(states.map((s) => [s.member_id, s.rank]));
    for (const s of states) {
      const code = live.ladder.tiers[s.rank - 1]?.code ?? '';
      recorded.set(code, (recorded.get(code) ?? 0) + 1);
    }
    const base = live.ladder.tiers[live.ladder.baseRank - 1]?.code ?? '';
    recorded.set(base, (recorded.get(base) ?? 0) + total - states.length);
    for (const id of new Set([...stored.keys(), ...live.members.keys()])) {
      if ((stored.get(id) ?? live.ladder.baseRank) !== live.rankOf(id)) drift++;
    }
  }
  const lc = count(live);
  const dc = count(draft);
  const ladder = (draft ?? live)!.ladder;
  const codes = [...new Set([...(live?.ladder.tiers ?? []).map((t) => t.code), ...ladder.tiers.map((t) => t.code)])];
  const distribution = [
    ...codes.map((code) => ({ tier: code as string | null, rank: ladder.tiers.find((t) => t.code === code)?.rank ?? live?.ladder.tiers.find((t) => t.code === code)?.rank ?? 0, live: lc.get(code) ?? 0, draft: dc.get(code) ?? 0, recorded: recorded ? (recorded.get(code) ?? 0) : null })),
    { tier: null, rank: 0, live: lc.get('') ?? (live ? 0 : total), draft: dc.get('') ?? (draft ? 0 : total), recorded: recorded ? (recorded.get('') ?? 0) : null },
  ].filter((d) => d.tier !== null || d.live + d.draft + (d.recorded ?? 0) > 0);

  // Who moves: compared by tier code, so a renamed or reordered ladder still compares sensibly.
  let up = 0;
  let down = 0;
  const sample: TierMover[] = [];
  const ids = [...new Set([...(live?.members.keys() ?? []), ...(draft?.members.keys() ?? [])])].sort();
  const position = (sim: TierSim | null, code: string | null) => (code === null ? 0 : ((draft ?? live)!.ladder.tiers.find((t) => t.code === code)?.rank ?? sim?.ladder.tiers.find((t) => t.code === code)?.rank ?? 0));
  const ref = (live ?? draft)!.localDate(params.to.getTime() - 1);
  for (const id of ids) {
    const from = live?.tierCode(id) ?? null;
    const to = draft?.tierCode(id) ?? null;
    if (from === to) continue;
    const direction = position(draft, to) > position(live, from) ? 'up' : 'down';
    if (direction === 'up') up++;
    else down++;
    if (sample.length < params.sample) {
      const lv = live && live.members.get(id) ? live.values(live.members.get(id)!, ref) : new Map<string, number>();
      const dv = draft && draft.members.get(id) ? draft.values(draft.members.get(id)!, ref) : new Map<string, number>();
      sample.push({
        memberId: id,
        externalId: members.get(id)?.externalId ?? id,
        from,
        to,
        direction,
        why: why(draft, from, to, direction, dv),
        metrics: { live: Object.fromEntries(lv), draft: Object.fromEntries(dv) },
      });
    }
  }
  return { members: total, distribution, up, down, sample, liveDiffersFromRecord: drift };
}

/** In words: the draft condition the member now meets (up) or no longer meets (down), with the values. */
function why(draft: TierSim | null, from: string | null, to: string | null, direction: 'up' | 'down', values: Map<string, number>): string {
  if (!draft) return 'the draft has no tier ladder';
  const ladder = draft.ladder;
  const leaves = (c: Condition | null | undefined): string[] => {
    if (!c) return [];
    if ('all' in c) return c.all.flatMap(leaves);
    if ('any' in c) return c.any.flatMap(leaves);
    const key = leafKey(ladder, c);
    const bound = [c.min !== undefined ? `≥ ${c.min}` : null, c.max !== undefined ? `≤ ${c.max}` : null].filter(Boolean).join(' and ');
    return [`${key} = ${values.get(key) ?? 0} (needs ${bound})`];
  };
  if (direction === 'up') {
    const tier = ladder.tiers.find((t) => t.code === to);
    return tier ? `meets ${tier.code} in the draft: ${leaves(tier.qualification).join('; ') || 'no condition'}` : `tier ${to} is not in the draft ladder`;
  }
  const tier = ladder.tiers.find((t) => t.code === from);
  if (!tier) return `tier ${from} is not in the draft ladder`;
  const keep = retentionOf(tier);
  return `${holds(ladder, keep, values) ? 'kept' : 'misses'} ${tier.code} in the draft: ${leaves(keep).join('; ')}${to ? `; falls to ${to}` : ''}`;
}

function tierEntries(live: TierSim | null, draft: TierSim | null): ReplayResult['benefits']['tierEntries'] {
  const codes = [...new Set([...(live?.ladder.tiers ?? []), ...(draft?.ladder.tiers ?? [])].map((t) => t.code))];
  return codes.map((code) => {
    const l = live ? (live.entries[live.ladder.tiers.find((t) => t.code === code)?.rank ?? -1] ?? 0) : 0;
    const d = draft ? (draft.entries[draft.ladder.tiers.find((t) => t.code === code)?.rank ?? -1] ?? 0) : 0;
    return { tier: code, live: l, draft: d, delta: d - l };
  });
}

function limitations(draft: ResolvedDraft): string[] {
  const out = [
    'points expiring: lots earned in the period whose expiry falls at or before the horizon, before any spending',
    'members keep their current tags and birthday; plans and segments are not replayed',
  ];
  for (const ladder of [draft.liveLadder, draft.draftLadder]) {
    if (!ladder) continue;
    if (ladder.metrics.some((m) => m.source.kind === 'host')) out.push(`ladder ${ladder.code}: metrics set by the host count as 0`);
    if (ladder.policy.evaluation.schedule === 'anniversary') out.push(`ladder ${ladder.code}: anniversary evaluations are not replayed`);
    if (ladder.policy.lifetime.length) out.push(`ladder ${ladder.code}: lifetime status is not replayed`);
  }
  out.push('bought and manual tiers are not replayed: the replay compares qualified tiers');
  return [...new Set(out)];
}
