import { ZoneClock, periodBucket } from '../rules/engine/index.js';
import {
  entryLeaves,
  leafKey,
  measuresOf,
  nextEvaluation,
  referenceDate,
  retentionOf,
  validityEnd,
  windowRange,
  type Condition,
  type Ladder,
  type Measure,
} from '../tiers/index.js';

/**
 * A tier ladder lived in memory: the same rules as the tiers module (real-time upgrade on each
 * event, scheduled evaluation for downgrades with grace and validity, counters reset or carried
 * on upgrade), over metric buckets kept per member in memory instead of in tier_metric_buckets.
 * The pure ladder functions (qualification, windows, validity, schedules) are the tiers
 * module's own; this class only keeps the state the SQL keeps in member_tiers.
 *
 * Not modelled (a replay reports them as limitations): bought and manual tiers, lifetime status,
 * metrics set by the host, and anniversary evaluation schedules.
 */

interface MemberState {
  joinedOn: string;
  /** qualified rank (= effective rank here: no overrides) */
  q: number;
  attainedOn: string;
  validUntil: number | null;
  graceUntil: number | null;
  countersFrom: string | null;
  carry: Record<string, number>;
  /** metric code → local date → value */
  buckets: Map<string, Map<string, number>>;
}

export interface TierMove {
  memberId: string;
  from: number;
  to: number;
  at: number;
  cause: 'event' | 'evaluation' | 'validity_end';
}

export class TierSim {
  readonly members = new Map<string, MemberState>();
  private readonly measures: Measure[];
  private readonly validityCache = new Map<number, Array<number | null>>();
  private readonly starts = new Map<string, Map<string, string | null>>();
  private readonly refs = new Map<number, string>();
  private lastDay = Number.NaN;
  private lastDate = '';
  /** per tier (index rank - 1): its entry and its retention condition, compiled over measure keys */
  private readonly entry: Array<(v: Map<string, number>) => boolean>;
  private readonly keep: Array<(v: Map<string, number>) => boolean>;
  private readonly clock: ZoneClock;
  private nextEval: number | null;
  /** entries into each rank (index = rank) at or after `countFrom` */
  readonly entries: number[];
  countFrom = Number.NEGATIVE_INFINITY;
  onMove: ((move: TierMove) => void) | null = null;

  constructor(
    readonly ladder: Ladder,
    readonly zone: string,
    start: Date,
  ) {
    this.measures = measuresOf(ladder);
    this.entry = ladder.tiers.map((t) => compileCondition(ladder, t.qualification));
    this.keep = ladder.tiers.map((t) => compileCondition(ladder, retentionOf(t)));
    this.clock = new ZoneClock(zone);
    this.entries = new Array<number>(ladder.tiers.length + 1).fill(0);
    const first = nextEvaluation(ladder.policy.evaluation, start, zone);
    this.nextEval = first ? first.getTime() : null;
  }

  localDate(ms: number): string {
    // Events come in time order: most calls ask for the day of the call before.
    const day = this.clock.dayNumber(ms);
    if (day !== this.lastDay) {
      this.lastDay = day;
      this.lastDate = periodBucket('day', this.clock.local(ms));
    }
    return this.lastDate;
  }

  /** The member's tier code now (the base tier for a member the ladder has not seen yet). */
  tierCode(memberId: string): string | null {
    const s = this.members.get(memberId);
    const rank = s ? s.q : this.ladder.baseRank;
    return this.ladder.tiers[rank - 1]?.code ?? null;
  }

  rankOf(memberId: string): number {
    return this.members.get(memberId)?.q ?? this.ladder.baseRank;
  }

  /** Runs every scheduled evaluation and every validity or grace end at or before `now`. */
  advanceTo(now: number): void {
    while (this.nextEval !== null && this.nextEval <= now) {
      const at = this.nextEval;
      for (const [id, s] of this.members) {
        this.catchUp(id, s, at);
        this.evaluate(id, s, at, 'evaluation');
      }
      const next = nextEvaluation(this.ladder.policy.evaluation, new Date(at), this.zone);
      this.nextEval = next ? next.getTime() : null;
    }
  }

  /** At the end of a replay: validity and grace that ran out before `now`. */
  finish(now: number): void {
    this.advanceTo(now);
    for (const [id, s] of this.members) this.catchUp(id, s, now);
  }

  /**
   * One processed event: its contributions to the ladder's metrics (the tiers module's afterEvent
   * hook), then an upgrade if a threshold is crossed, as of `now` (when the event was received).
   */
  onEvent(memberId: string, joinedAt: Date, event: { type: string; occurredAt: number; attributes: Record<string, unknown> }, totals: Record<string, number>, now: number): void {
    let contributions: Array<{ metric: string; value: number }> | null = null;
    for (const m of this.ladder.metrics) {
      const s = m.source;
      let value = 0;
      if (s.kind === 'event') {
        if (!s.eventTypes.includes(event.type)) continue;
        value = 1;
        if (s.attribute) {
          const raw = event.attributes[s.attribute];
          if (typeof raw !== 'number' || !Number.isFinite(raw)) continue;
          value = Math.trunc(raw);
        }
        value *= s.factor ?? 1;
      } else if (s.kind === 'pointType') {
        const amount = totals[s.pointType];
        if (amount && amount > 0) value = amount;
      }
      if (value !== 0) (contributions ??= []).push({ metric: m.code, value });
    }
    if (contributions === null) return;
    const date = this.localDate(event.occurredAt);
    let s = this.members.get(memberId);
    if (!s) {
      const joinedOn = this.localDate(joinedAt.getTime());
      s = { joinedOn, q: this.ladder.baseRank, attainedOn: joinedOn, validUntil: null, graceUntil: null, countersFrom: null, carry: {}, buckets: new Map() };
      this.members.set(memberId, s);
    }
    this.catchUp(memberId, s, now);
    for (const c of contributions) {
      let b = s.buckets.get(c.metric);
      if (!b) s.buckets.set(c.metric, (b = new Map()));
      b.set(date, (b.get(date) ?? 0) + c.value);
    }
    if (s.q >= this.ladder.tiers.length) return;
    const ref = this.localDate(now);
    const values = this.values(s, ref);
    const rank = this.qualified(values);
    if (rank <= s.q) return;
    const tier = this.ladder.tiers[rank - 1]!;
    const policy = this.ladder.policy.counters;
    if (policy.onUpgrade !== 'keep') {
      // As the tiers module does: today's contributions so far come off by a negative carry, and
      // a surplus above the new tier's floors is carried in.
      const carry: Record<string, number> = {};
      for (const m of this.ladder.metrics) {
        const today = s.buckets.get(m.code)?.get(ref) ?? 0;
        if (today) carry[m.code] = -today;
      }
      if (policy.onUpgrade === 'carrySurplus') {
        for (const leaf of entryLeaves(tier.qualification)) {
          let surplus = Math.max(0, (values.get(leafKey(this.ladder, leaf)) ?? 0) - leaf.min);
          if (policy.carryCap !== undefined && policy.carryCap !== null) surplus = Math.min(policy.carryCap, surplus);
          carry[leaf.metric] = (carry[leaf.metric] ?? 0) + surplus;
        }
      }
      s.countersFrom = ref;
      s.carry = carry;
    }
    const end = validityEnd(tier.validity, new Date(now), ref, this.zone);
    s.validUntil = end ? end.getTime() : null;
    s.graceUntil = null;
    this.move(memberId, s, rank, now, 'event');
    s.attainedOn = ref;
  }

  /** The value of every measure the ladder reads, on local date `ref`. */
  values(s: MemberState, ref: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of this.measures) {
      const src = m.metric.source;
      if (src.kind === 'host' && src.mode === 'value') {
        out.set(m.key, 0);
        continue;
      }
      const start = this.windowStart(m, ref, s);
      let from = start;
      if (s.countersFrom !== null && (from === null || s.countersFrom > from)) from = s.countersFrom;
      let sum = 0;
      const b = s.buckets.get(m.metric.code);
      if (b) for (const [date, v] of b) if ((from === null || date >= from) && date <= ref) sum += v;
      const carryApplies = start === null ? s.countersFrom !== null : s.countersFrom !== null && s.countersFrom >= start;
      if (carryApplies) sum += s.carry[m.metric.code] ?? 0;
      out.set(m.key, sum);
    }
    return out;
  }

  /** The highest rank whose entry holds (qualifiedRank of the tiers module, over compiled conditions). */
  private qualified(values: Map<string, number>): number {
    for (let i = this.entry.length - 1; i >= 0; i--) if (this.entry[i]!(values)) return i + 1;
    return 0;
  }

  /** Window starts depend on the reference date alone (but for anniversary windows): cached, as a replay asks millions of times. */
  private windowStart(m: Measure, ref: string, s: MemberState): string | null {
    const kind = m.window.kind;
    if (kind === 'membershipYear' || kind === 'tierYear') return windowRange(m.window, ref, { joinedOn: s.joinedOn, attainedOn: s.attainedOn }).from;
    let starts = this.starts.get(ref);
    if (!starts) {
      if (this.starts.size > 1000) this.starts.clear();
      this.starts.set(ref, (starts = new Map()));
    }
    let start = starts.get(m.key);
    if (start === undefined) {
      start = windowRange(m.window, ref, { joinedOn: s.joinedOn, attainedOn: s.attainedOn }).from;
      starts.set(m.key, start);
    }
    return start;
  }

  private catchUp(id: string, s: MemberState, now: number): void {
    for (;;) {
      const due = minOf(s.validUntil, s.graceUntil);
      if (due === null || due > now) return;
      this.evaluate(id, s, due, 'validity_end');
    }
  }

  private validityAt(asOf: number, ref: string): Array<number | null> {
    let v = this.validityCache.get(asOf);
    if (!v) {
      v = this.ladder.tiers.map((t) => validityEnd(t.validity, new Date(asOf), ref, this.zone)?.getTime() ?? null);
      if (this.validityCache.size > 1000) this.validityCache.clear();
      this.validityCache.set(asOf, v);
    }
    return v;
  }

  /** The scheduled evaluation of one member as of `asOf` (tiers.service evaluate, one row). */
  private evaluate(id: string, s: MemberState, asOf: number, cause: TierMove['cause']): void {
    const { ladder } = this;
    const zone = this.zone;
    let ref = this.refs.get(asOf);
    if (ref === undefined) {
      if (this.refs.size > 10_000) this.refs.clear();
      ref = referenceDate(new Date(asOf), zone);
      this.refs.set(asOf, ref);
    }
    const today = this.localDate(asOf);
    const values = this.values(s, ref);
    const oldQ = s.q;
    const qual = this.qualified(values);
    const retained = oldQ > 0 ? this.keep[oldQ - 1]!(values) : true;
    let below = 0;
    for (let i = oldQ - 2; i >= 0; i--) {
      if (this.entry[i]!(values)) {
        below = i + 1;
        break;
      }
    }
    const { downgrade } = ladder.policy;
    let action: 'upgrade' | 'keep' | 'protected' | 'grace' | 'downgrade';
    if (qual > oldQ) action = 'upgrade';
    else if (retained) action = 'keep';
    else if (s.validUntil !== null && s.validUntil > asOf) action = 'protected';
    else if (downgrade.policy === 'never') action = 'protected';
    else if (downgrade.graceDays > 0 && s.graceUntil === null) action = 'grace';
    else if (s.graceUntil !== null && s.graceUntil > asOf) action = 'protected';
    else action = 'downgrade';
    const newQ = action === 'upgrade' ? qual : action === 'downgrade' ? (downgrade.policy === 'oneTier' ? Math.max(oldQ - 1, 0) : below) : oldQ;
    const validity = this.validityAt(asOf, ref);
    let v0: number | null;
    if (action === 'upgrade' || action === 'downgrade') v0 = newQ > 0 ? (validity[newQ - 1] ?? null) : null;
    else if (action === 'keep') {
      const renewed = oldQ > 0 ? (validity[oldQ - 1] ?? null) : null;
      v0 = renewed === null ? null : Math.max(s.validUntil ?? renewed, renewed);
    } else v0 = s.validUntil;
    const newValid = v0 !== null && v0 <= asOf ? null : v0;
    const newGrace = action === 'grace' ? asOf + downgrade.graceDays * 86_400_000 : action === 'protected' ? s.graceUntil : null;
    if (newQ === oldQ && newValid === s.validUntil && newGrace === s.graceUntil) return;
    s.validUntil = newValid;
    s.graceUntil = newGrace;
    if (action === 'upgrade' && ladder.policy.counters.onUpgrade !== 'keep') {
      const carry: Record<string, number> = {};
      if (ladder.policy.counters.onUpgrade === 'carrySurplus') {
        const cap = ladder.policy.counters.carryCap ?? null;
        for (const leaf of entryLeaves(ladder.tiers[newQ - 1]?.qualification)) {
          const surplus = Math.max(0, (values.get(leafKey(ladder, leaf)) ?? 0) - leaf.min);
          carry[leaf.metric] = cap === null ? surplus : Math.min(cap, surplus);
        }
      }
      s.countersFrom = today;
      s.carry = carry;
    }
    if (newQ !== oldQ) {
      this.move(id, s, newQ, asOf, cause);
      s.attainedOn = today;
    }
  }

  private move(id: string, s: MemberState, to: number, at: number, cause: TierMove['cause']): void {
    const from = s.q;
    s.q = to;
    if (to > from && at >= this.countFrom) this.entries[to]!++;
    this.onMove?.({ memberId: id, from, to, at, cause });
  }
}

function minOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/**
 * A ladder condition as a function over measure values: the same test as the tiers module's
 * `holds`, with each leaf's measure key worked out once instead of on every call.
 */
function compileCondition(ladder: Ladder, c: Condition | null | undefined): (v: Map<string, number>) => boolean {
  if (!c) return () => true;
  if ('all' in c) {
    const parts = c.all.map((x) => compileCondition(ladder, x));
    return (v) => parts.every((p) => p(v));
  }
  if ('any' in c) {
    const parts = c.any.map((x) => compileCondition(ladder, x));
    return (v) => parts.some((p) => p(v));
  }
  const key = leafKey(ladder, c);
  const min = c.min ?? Number.NEGATIVE_INFINITY;
  const max = c.max ?? Number.POSITIVE_INFINITY;
  return (v) => {
    const x = v.get(key) ?? 0;
    return x >= min && x <= max;
  };
}
