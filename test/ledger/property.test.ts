/**
 * Property-based tests of the points ledger against the reference model in ./model.ts.
 *
 * fast-check generates a program (1–2 point types with their own expiry policy and consumption
 * order, 2–3 members) and a sequence of 30–60 commands; each command goes through the HTTP API
 * of a sandbox program and through the model, and after each one the status or error code, the
 * balances the response reports and every member's balances must agree. At the end the ledger's
 * own invariant checker must find nothing. Commands pick their amounts and targets from the
 * model's state at run time (half of the balance, all of it, one more than it…), so sequences
 * reach the edges (exact balance, over-refund, expiry at the very instant) instead of mostly
 * bouncing off "insufficient points".
 *
 * One Laurel per engine, a fresh sandbox program per run: runs do not see each other's data.
 * LEDGER_PROPERTY_RUNS=300 searches longer (about 1 s a run on PGlite).
 *
 * The hand-written cases at the end are what the search found, each reduced to its sequence;
 * those marked BUG fail against the ledger as it stands, and so does the property (on whichever
 * of them a run meets first) until they are fixed.
 */
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, httpStatusOf } from '../../src/core/errors.js';
import { verifyLedger } from '../../src/modules/ledger/verify.js';
import { createTestLaurel, engines, type ApiResponse, type TestLaurel } from '../harness.js';
import {
  HOUR,
  LedgerModel,
  MINUTE,
  type ConsumptionOrder,
  type ModelExpiryPolicy,
  type ModelPointType,
  type Outcome,
  type Request,
} from './model.js';

const CLOCK_START = '2026-01-01T00:00:00Z';
const ZONE = 'Asia/Shanghai';
/** Asia/Shanghai has kept UTC+8 without daylight saving since 1991: the model's fixed offset. */
const ZONE_OFFSET = 8 * HOUR;
const MEMBER_NAMES = ['m0', 'm1', 'm2'];
const TYPE_CODES = ['pa', 'pb'];

// ---------------------------------------------------------------------------------- generators

/** An amount relative to what the command acts on (a balance, a hold, what is left to refund). */
type Amount = { abs: number } | { rel: 'all' | 'half' | 'allPlusOne' };

type Cmd =
  | { c: 'earn'; m: number; pt: number; amount: number; pendingMinutes: number | null }
  | { c: 'spend'; m: number; pt: number; amount: Amount }
  | { c: 'reserve'; m: number; pt: number; amount: Amount; holdMinutes: number }
  | { c: 'adjust'; m: number; pt: number; amount: Amount; credit: boolean }
  | { c: 'transfer'; m: number; to: number; pt: number; amount: Amount }
  | { c: 'capture' | 'refund' | 'reverse'; ref: number; amount: Amount | null; odd: boolean }
  | { c: 'release'; ref: number; odd: boolean }
  | { c: 'advance'; hours: number; asDays: boolean }
  | { c: 'toDue'; offsetMs: number }
  | { c: 'replay'; ref: number }
  | { c: 'conflict'; ref: number; delta: number; flip: boolean };

const amountArb: fc.Arbitrary<Amount> = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 100 }).map((abs) => ({ abs })) },
  { weight: 3, arbitrary: fc.constantFrom('all', 'half', 'half', 'allPlusOne').map((rel) => ({ rel })) },
);
const m = fc.nat({ max: 2 });
const pt = fc.nat({ max: 1 });
const ref = fc.nat({ max: 1_000 });
/** Now and then a follow-up aims at a transaction of the wrong kind (a refund of an earn, say). */
const odd = fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 7,
    arbitrary: fc.record({
      c: fc.constant('earn' as const),
      m,
      pt,
      amount: fc.integer({ min: 1, max: 200 }),
      // Mostly immediate; else activating up to four days ahead (at or before now: not pending at all).
      pendingMinutes: fc.oneof(
        { weight: 14, arbitrary: fc.constant(null) },
        { weight: 5, arbitrary: fc.integer({ min: 1, max: 4 * 24 * 60 }) },
        { weight: 1, arbitrary: fc.integer({ min: -120, max: 0 }) },
      ),
    }),
  },
  { weight: 4, arbitrary: fc.record({ c: fc.constant('spend' as const), m, pt, amount: amountArb }) },
  {
    weight: 2,
    arbitrary: fc.record({ c: fc.constant('reserve' as const), m, pt, amount: amountArb, holdMinutes: fc.integer({ min: 1, max: 3 * 24 * 60 }) }),
  },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('adjust' as const), m, pt, amount: amountArb, credit: fc.boolean() }) },
  {
    weight: 1,
    // `to` is an offset from the sender: 0 (a transfer to oneself, refused) now and then.
    arbitrary: fc.record({ c: fc.constant('transfer' as const), m, to: fc.constantFrom(0, 1, 1, 1, 2, 2), pt, amount: amountArb }),
  },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('capture' as const), ref, amount: fc.option(amountArb), odd }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('release' as const), ref, odd }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('refund' as const), ref, amount: fc.option(amountArb), odd }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('reverse' as const), ref, amount: fc.option(amountArb), odd }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 96 }), asDays: fc.boolean() }) },
  // To the next instant something is due, or just before or after it: the boundaries of `<=`.
  { weight: 2, arbitrary: fc.record({ c: fc.constant('toDue' as const), offsetMs: fc.constantFrom(-MINUTE, -1, 0, 0, 1) }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('replay' as const), ref }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('conflict' as const), ref, delta: fc.integer({ min: 1, max: 50 }), flip: fc.boolean() }) },
);

const policyArb: fc.Arbitrary<ModelExpiryPolicy> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('afterDays' as const), days: fc.integer({ min: 1, max: 10 }), roundTo: fc.constantFrom('endOfDay' as const, 'instant' as const) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'never' as const }) },
);
const orderArb = fc.constantFrom<ConsumptionOrder>('expiring_first', 'oldest_first', 'newest_first');

interface Scenario {
  types: ModelPointType[];
  members: number;
  commands: Cmd[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  types: fc
    .array(fc.record({ order: orderArb, policy: policyArb }), { minLength: 1, maxLength: 2 })
    .map((ts) => ts.map((t, i) => ({ code: TYPE_CODES[i]!, ...t }))),
  members: fc.integer({ min: 2, max: 3 }),
  commands: fc.array(cmdArb, { minLength: 30, maxLength: 60 }),
});

// ---------------------------------------------------------------------------------- the pair

class Mismatch extends Error {}

/** One sandbox program and its model, driven side by side. */
class Pair {
  readonly model: LedgerModel;
  /** model transaction id → Laurel transaction id */
  private readonly ids = new Map<string, string>();
  private readonly memberIds = new Map<string, string>();
  /** every request sent, for replays */
  private readonly sent: Request[] = [];
  private readonly trace: string[] = [];
  private keys = 0;

  private constructor(
    private readonly t: TestLaurel,
    readonly programId: string,
    private readonly apiKey: string,
    readonly types: ModelPointType[],
    readonly members: string[],
  ) {
    this.model = new LedgerModel(types, Date.parse(CLOCK_START), ZONE_OFFSET);
  }

  static async open(t: TestLaurel, types: ModelPointType[], memberCount: number, extra: Record<string, unknown> = {}): Promise<Pair> {
    const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: ZONE, clockStart: CLOCK_START });
    const base = `/v1/programs/${program.id}`;
    for (const type of types) {
      const res = await t.api('POST', `${base}/point-types`, {
        key,
        body: { code: type.code, name: type.code, kind: 'redeemable', consumptionOrder: type.order, expiryPolicy: type.policy, ...extra },
      });
      if (res.status !== 201) throw new Error(`point type: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const pair = new Pair(t, program.id, key, types, MEMBER_NAMES.slice(0, memberCount));
    for (const name of pair.members) {
      const res = await t.api('POST', `${base}/members`, { key, body: { externalId: name } });
      if (res.status !== 201) throw new Error(`member: ${res.status} ${JSON.stringify(res.body)}`);
      pair.memberIds.set(name, res.body.id);
    }
    return pair;
  }

  private get base(): string {
    return `/v1/programs/${this.programId}`;
  }

  memberId(name: string): string {
    return this.memberIds.get(name)!;
  }

  get key(): string {
    return this.apiKey;
  }

  nextKey(): string {
    return `k${++this.keys}`;
  }

  // ---------------------------------------------------------------- commands

  /** Turn a generated command into a request against the current state, or null when it has no target yet. */
  requestFor(cmd: Cmd): Request | 'time' | null {
    const key = this.nextKey();
    const member = (i: number) => this.members[i % this.members.length]!;
    const type = (i: number) => this.types[i % this.types.length]!.code;
    const pick = <T>(pool: T[], r: number): T | null => {
      if (pool.length === 0) return null;
      // Half the time one of the latest three: follow-ups mostly act on what just happened.
      return r % 2 === 0 ? pool[pool.length - 1 - ((r >> 1) % Math.min(3, pool.length))]! : pool[(r >> 1) % pool.length]!;
    };
    // A debit aimed at an empty account goes to one with points instead, if any: refusals for
    // want of points stay common enough (amounts above the balance) without drowning the rest.
    const funded = (mm: string, tt: string, sameType = false): [string, string] => {
      if (this.model.balance(mm, tt).available > 0) return [mm, tt];
      const pairs = this.members.flatMap((x) => this.types.filter((y) => !sameType || y.code === tt).map((y) => [x, y.code] as [string, string]));
      const withPoints = pairs.filter(([x, y]) => this.model.balance(x, y).available > 0);
      return withPoints.length ? withPoints[(this.members.indexOf(mm) + this.keys) % withPoints.length]! : [mm, tt];
    };
    const resolve = (a: Amount, base: number): number => {
      const n = 'abs' in a ? a.abs : a.rel === 'all' ? base : a.rel === 'half' ? Math.floor(base / 2) : base + 1;
      return Math.max(1, n);
    };
    switch (cmd.c) {
      case 'earn': {
        const r: Request = { op: 'earn', key, member: member(cmd.m), type: type(cmd.pt), amount: cmd.amount };
        if (cmd.pendingMinutes !== null) r.activatesAt = this.model.now + cmd.pendingMinutes * MINUTE;
        return r;
      }
      case 'spend':
      case 'reserve': {
        const [mm, tt] = funded(member(cmd.m), type(cmd.pt));
        const amount = resolve(cmd.amount, this.model.balance(mm, tt).available);
        return cmd.c === 'spend'
          ? { op: 'spend', key, member: mm, type: tt, amount }
          : { op: 'reserve', key, member: mm, type: tt, amount, holdMinutes: cmd.holdMinutes };
      }
      case 'adjust': {
        const mm = member(cmd.m);
        const tt = type(cmd.pt);
        const amount = resolve(cmd.amount, this.model.balance(mm, tt).available);
        return { op: 'adjust', key, member: mm, type: tt, amount: cmd.credit ? amount : -amount };
      }
      case 'transfer': {
        // A transfer lands as one lot per lot it drew, all earned at the same instant with their
        // own expiries: only expiry-first consumption orders them without a tie (see wouldTie).
        const expiryFirst = this.types.find((x) => x.order === 'expiring_first')?.code;
        if (!expiryFirst) return null;
        const [from, tt] = funded(member(cmd.m), expiryFirst, true);
        return { op: 'transfer', key, member: from, to: member(this.members.indexOf(from) + cmd.to), type: tt, amount: resolve(cmd.amount, this.model.balance(from, tt).available) };
      }
      case 'capture':
      case 'release': {
        const holds = this.model.txnsOf('reserve');
        const open = holds.filter((h) => h.hold!.status === 'open');
        const hold = pick(cmd.odd ? this.model.txnsOf('spend', 'earn') : cmd.ref % 4 !== 0 && open.length ? open : holds, cmd.ref);
        if (!hold) return null;
        if (cmd.c === 'release') return { op: 'release', key, target: hold.id };
        return { op: 'capture', key, target: hold.id, amount: cmd.amount ? resolve(cmd.amount, hold.amount) : undefined };
      }
      case 'refund': {
        const spends = this.model.txnsOf('spend', 'capture');
        const refundable = spends.filter((x) => x.amount > x.refunded);
        const spend = pick(cmd.odd ? this.model.txnsOf('earn', 'reserve') : cmd.ref % 4 !== 0 && refundable.length ? refundable : spends, cmd.ref);
        if (!spend) return null;
        return { op: 'refund', key, target: spend.id, amount: cmd.amount ? resolve(cmd.amount, spend.amount - spend.refunded) : undefined };
      }
      case 'reverse': {
        const earns = this.model.txnsOf('earn', 'adjustment');
        const reversible = earns.filter((x) => !x.debit && x.amount > x.reversed);
        const earn = pick(cmd.odd ? this.model.txnsOf('spend', 'reserve') : cmd.ref % 4 !== 0 && reversible.length ? reversible : earns, cmd.ref);
        if (!earn) return null;
        return { op: 'reverse', key, target: earn.id, amount: cmd.amount ? resolve(cmd.amount, earn.amount - earn.reversed) : undefined };
      }
      case 'replay':
        return pick(this.sent, cmd.ref);
      case 'conflict': {
        const first = pick(this.sent, cmd.ref);
        if (!first || first.op === 'release') return null;
        // The same key with a different amount. A follow-up's new amount exceeds anything the
        // first could have meant (its amount may have been omitted: "the rest").
        if (first.op === 'adjust' && cmd.flip) return { ...first, amount: -first.amount };
        if (first.op === 'capture' || first.op === 'refund' || first.op === 'reverse') {
          return { ...first, amount: this.model.txn(first.target).amount + cmd.delta };
        }
        return { ...first, amount: first.amount + Math.sign(first.amount) * cmd.delta };
      }
      case 'advance':
      case 'toDue':
        return 'time';
    }
  }

  async run(cmd: Cmd): Promise<void> {
    const req = this.requestFor(cmd);
    if (req === null) return;
    if (req === 'time') return this.time(cmd as Extract<Cmd, { c: 'advance' | 'toDue' }>);
    if (this.wouldTie(req)) await this.time({ c: 'tick' });
    await this.send(req);
  }

  /**
   * The ledger breaks a tie of its consumption order (same `earned_at`, and under expiring_first
   * the same expiry too) by lot id, and ids made in the same millisecond are random. Between two
   * moves of a sandbox clock every call happens at the same instant, so two lots of one account
   * earned then are drawn in an order nobody can predict; it shows when they expire differently,
   * and when one of them is reversed (its own lot goes first, so what is left of it decides what
   * else the reversal takes). See the regression test below. The model cannot guess, so a lot
   * that would share its account's current instant with another waits a minute.
   */
  private wouldTie(req: Request): boolean {
    let member: string;
    if (req.op === 'earn' || (req.op === 'adjust' && req.amount > 0)) member = req.member;
    else if (req.op === 'transfer') member = req.to;
    else return false;
    return this.model.lots.some((l) => l.member === member && l.type === req.type && l.earnedAt === this.model.now);
  }

  private http(req: Request): { url: string; body: Record<string, unknown> } {
    const member = (name: string) => this.memberIds.get(name)!;
    const txn = (id: string) => this.ids.get(id) ?? `txn_missing_${id}`;
    const amount = (a: number | undefined) => (a === undefined ? {} : { amount: a });
    switch (req.op) {
      case 'earn':
        return {
          url: `${this.base}/members/${member(req.member)}/earn`,
          body: { pointType: req.type, amount: req.amount, ...(req.activatesAt !== undefined ? { activatesAt: new Date(req.activatesAt).toISOString() } : {}) },
        };
      case 'spend':
        return { url: `${this.base}/members/${member(req.member)}/spend`, body: { pointType: req.type, amount: req.amount } };
      case 'reserve':
        return { url: `${this.base}/members/${member(req.member)}/reserve`, body: { pointType: req.type, amount: req.amount, holdMinutes: req.holdMinutes } };
      case 'adjust':
        return { url: `${this.base}/members/${member(req.member)}/adjust`, body: { pointType: req.type, amount: req.amount, reason: 'property test' } };
      case 'transfer':
        return { url: `${this.base}/transfers`, body: { from: member(req.member), to: member(req.to), pointType: req.type, amount: req.amount } };
      case 'capture':
      case 'refund':
      case 'reverse':
        return { url: `${this.base}/transactions/${txn(req.target)}/${req.op}`, body: amount(req.amount) };
      case 'release':
        return { url: `${this.base}/transactions/${txn(req.target)}/release`, body: {} };
    }
  }

  /** Send one request to both sides and compare what they answer, then every balance. */
  async send(req: Request): Promise<void> {
    const { url, body } = this.http(req);
    const res = await this.t.api('POST', url, { key: this.apiKey, headers: { 'idempotency-key': req.key }, body });
    const expected = this.model.apply(req);
    this.sent.push(req);
    this.note(`${describeReq(req)} → model ${show(expected)} | ledger ${res.status} ${summary(res)}`);
    this.compare(req, expected, res);
    await this.checkAccounts();
  }

  private compare(req: Request, expected: Outcome, res: ApiResponse): void {
    if (!expected.ok) {
      if (res.status !== httpStatusOf(expected.code) || res.body?.error?.code !== expected.code) {
        this.fail(`expected ${expected.code}, the ledger answered ${res.status} ${JSON.stringify(res.body)}`);
      }
      return;
    }
    if (res.status !== 201) this.fail(`expected success, the ledger answered ${res.status} ${JSON.stringify(res.body)}`);
    const sides: Array<[ApiResponse['body'], { txn: string; availableAfter: number; pendingAfter: number }]> =
      req.op === 'transfer' ? [[res.body.out, expected], [res.body.in, expected.incoming!]] : [[res.body, expected]];
    for (const [got, want] of sides) {
      if (got.replayed !== expected.replayed) this.fail(`replayed: expected ${expected.replayed}, got ${got.replayed}`);
      if (expected.replayed) {
        if (got.id !== this.ids.get(want.txn)) this.fail(`a replay must answer the first transaction ${this.ids.get(want.txn)}, got ${got.id} (${got.kind})`);
      } else {
        this.ids.set(want.txn, got.id);
      }
      if ((got.availableAfter !== want.availableAfter || got.pendingAfter !== want.pendingAfter)) {
        this.fail(
          `${expected.replayed ? 'a replay must answer the first result: ' : ''}availableAfter/pendingAfter expected ${want.availableAfter}/${want.pendingAfter}, got ${got.availableAfter}/${got.pendingAfter}`,
        );
      }
    }
    if (expected.replayed && res.headers['idempotent-replayed'] !== 'true') this.fail('a replay must carry the idempotent-replayed header');
  }

  private async time(cmd: Extract<Cmd, { c: 'advance' | 'toDue' }> | { c: 'tick' }): Promise<void> {
    let body: Record<string, unknown>;
    let target: number;
    if (cmd.c === 'tick') {
      target = this.model.now + MINUTE;
      body = { by: { minutes: 1 } };
    } else if (cmd.c === 'advance' && cmd.asDays) {
      // Days of the program's zone, which are 24 hours long in Asia/Shanghai.
      const days = Math.max(1, Math.round(cmd.hours / 24));
      target = this.model.now + days * 24 * HOUR;
      body = { by: { days } };
    } else if (cmd.c === 'advance') {
      target = this.model.now + cmd.hours * HOUR;
      body = { by: { hours: cmd.hours } };
    } else {
      const due = this.model.nextDue();
      if (due === null || due + cmd.offsetMs < this.model.now) return;
      target = due + cmd.offsetMs;
      body = { to: new Date(target).toISOString() };
    }
    const res = await this.t.api('POST', `${this.base}/clock/advance`, { key: this.apiKey, body });
    this.model.advanceTo(target);
    this.note(`clock → ${new Date(target).toISOString()} (${JSON.stringify(body)}) | ledger ran ${res.body?.jobsRun?.map((j: { job: string }) => j.job.replace('ledger.', '')).join(',') ?? res.status}`);
    if (res.status !== 200) this.fail(`clock advance: ${res.status} ${JSON.stringify(res.body)}`);
    if (Date.parse(res.body.now) !== target) this.fail(`clock advance: expected ${new Date(target).toISOString()}, got ${res.body.now}`);
    await this.checkBalances();
  }

  /**
   * Every account of the program against the model, in one query (after every command: the
   * balances endpoint reads these same columns, and is itself checked after each clock move).
   */
  async checkAccounts(): Promise<void> {
    const { rows } = await sql<{ member_id: string; code: string; available: string; pending: string; reserved: string; earned: string; spent: string; expired: string }>`
      select a.member_id, pt.code, a.available, a.pending, a.reserved, a.earned, a.spent, a.expired
      from accounts a join point_types pt on pt.id = a.point_type_id where a.program_id = ${this.programId}`.execute(this.t.laurel.database.db);
    for (const name of this.members) {
      for (const type of this.types) {
        const row = rows.find((r) => r.member_id === this.memberIds.get(name) && r.code === type.code);
        const got = {
          available: Number(row?.available ?? 0),
          pending: Number(row?.pending ?? 0),
          reserved: Number(row?.reserved ?? 0),
          lifetimeEarned: Number(row?.earned ?? 0),
          lifetimeSpent: Number(row?.spent ?? 0),
          lifetimeExpired: Number(row?.expired ?? 0),
        };
        this.compareBalance(name, type.code, got);
      }
    }
  }

  /** The same through GET …/balances, member by member. */
  async checkBalances(): Promise<void> {
    for (const name of this.members) {
      const res = await this.t.api('GET', `${this.base}/members/${this.memberIds.get(name)}/balances`, { key: this.apiKey });
      if (res.status !== 200) this.fail(`balances: ${res.status} ${JSON.stringify(res.body)}`);
      for (const type of this.types) {
        this.compareBalance(name, type.code, res.body.balances.find((b: { pointType: string }) => b.pointType === type.code) ?? {});
      }
    }
  }

  private compareBalance(member: string, type: string, got: Record<string, unknown>): void {
    const want = this.model.balance(member, type);
    const fields = ['available', 'pending', 'reserved', 'lifetimeEarned', 'lifetimeSpent', 'lifetimeExpired'] as const;
    const wrong = fields.filter((f) => got[f] !== want[f]);
    if (wrong.length) this.fail(`balance of ${member}/${type}: ${wrong.map((f) => `${f} expected ${want[f]}, got ${String(got[f])}`).join('; ')}`);
  }

  async verify(): Promise<void> {
    await this.checkBalances();
    const report = await verifyLedger(this.t.laurel.database.db, this.programId);
    if (!report.ok) this.fail(`verifyLedger: ${JSON.stringify(report.violations)}`);
  }

  private note(line: string): void {
    this.trace.push(`${String(this.trace.length + 1).padStart(3)} ${line}`);
  }

  fail(message: string): never {
    const types = this.types.map((t) => `${t.code}: ${t.order}, ${JSON.stringify(t.policy)}`).join('; ');
    throw new Mismatch(`${message}\n  point types: ${types}\n  trace (model time ${new Date(this.model.now).toISOString()}):\n${this.trace.map((l) => `    ${l}`).join('\n')}`);
  }
}

function describeReq(req: Request): string {
  const amount = 'amount' in req && req.amount !== undefined ? ` ${req.amount}` : '';
  switch (req.op) {
    case 'earn':
      return `earn ${req.member}/${req.type}${amount}${req.activatesAt !== undefined ? ` activatesAt ${new Date(req.activatesAt).toISOString()}` : ''} [${req.key}]`;
    case 'spend':
    case 'adjust':
      return `${req.op} ${req.member}/${req.type}${amount} [${req.key}]`;
    case 'reserve':
      return `reserve ${req.member}/${req.type}${amount} for ${req.holdMinutes}min [${req.key}]`;
    case 'transfer':
      return `transfer ${req.member}→${req.to}/${req.type}${amount} [${req.key}]`;
    default:
      return `${req.op} ${req.target}${amount} [${req.key}]`;
  }
}

function show(o: Outcome): string {
  if (!o.ok) return o.code;
  return `${o.replayed ? 'replay of ' : ''}${o.txn} avail=${o.availableAfter} pend=${o.pendingAfter}`;
}

function summary(res: ApiResponse): string {
  if (res.status >= 400) return res.body?.error?.code ?? '';
  const b = res.body?.out ?? res.body;
  return `${b?.replayed ? 'replay of ' : ''}${b?.kind} avail=${b?.availableAfter} pend=${b?.pendingAfter}`;
}

/** Replays the commands of a scenario on a fresh program and checks it end to end. */
async function runScenario(t: TestLaurel, sc: Scenario): Promise<void> {
  const pair = await Pair.open(t, sc.types, sc.members);
  for (const cmd of sc.commands) await pair.run(cmd);
  await pair.verify();
}

/**
 * Shrinking re-runs whole scenarios (about half a second each on PGlite): after the first failure
 * it gets this long, then every further candidate passes untried and the smallest failure found
 * so far is reported. Keeps a failing run within the file's minute; the trace in the error says
 * what happened step by step, shrunk or not.
 */
const SHRINK_BUDGET_MS = 10_000;

function budgeted<T>(check: (value: T) => Promise<void>): (value: T) => Promise<void> {
  let firstFailure: number | null = null;
  return async (value) => {
    if (firstFailure !== null && Date.now() - firstFailure > SHRINK_BUDGET_MS) return;
    try {
      await check(value);
    } catch (err) {
      firstFailure ??= Date.now();
      throw err;
    }
  };
}

// ---------------------------------------------------------------------------------- the tests

/** A sandbox program with point types of our choosing and a few members, for the hand-written cases. */
async function sandbox(t: TestLaurel, types: Array<Record<string, unknown>>, members = ['a', 'b']) {
  const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: ZONE, clockStart: CLOCK_START });
  const base = `/v1/programs/${program.id}`;
  for (const type of types) {
    const res = await t.api('POST', `${base}/point-types`, { key, body: { kind: 'redeemable', name: String(type.code), ...type } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  const ids: Record<string, string> = {};
  for (const externalId of members) ids[externalId] = (await t.api('POST', `${base}/members`, { key, body: { externalId } })).body.id;
  let n = 0;
  const post = (path: string, body: unknown, idempotencyKey = `auto-${++n}`) =>
    t.api('POST', `${base}${path}`, { key, body, headers: { 'idempotency-key': idempotencyKey } });
  return {
    program,
    ids,
    post,
    member: (name: string, op: string, body: unknown, idempotencyKey?: string) => post(`/members/${ids[name]}/${op}`, body, idempotencyKey),
    follow: (txn: string, op: string, body: unknown, idempotencyKey?: string) => post(`/transactions/${txn}/${op}`, body, idempotencyKey),
    advance: async (body: unknown) => {
      const res = await t.api('POST', `${base}/clock/advance`, { key, body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    },
    balance: async (name: string, code: string) =>
      (await t.api('GET', `${base}/members/${ids[name]}/balances?expiringWithinDays=3660`, { key })).body.balances.find((b: { pointType: string }) => b.pointType === code),
    verify: () => verifyLedger(t.laurel.database.db, program.id),
  };
}

describe.each(engines)('ledger against its reference model (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('random command sequences agree with the model, step by step', { timeout: 180_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, budgeted((sc) => runScenario(t, sc))),
      { numRuns: Number(process.env.LEDGER_PROPERTY_RUNS ?? 20) },
    );
  });

  /**
   * A point type with one decimal place: amounts are whole numbers of its smallest unit (0.1),
   * balances are exact in that unit up to the API's largest amount, and a fractional amount is
   * refused by the API and by the service alike, changing nothing.
   */
  it('a decimal point type keeps exact balances in its smallest unit', { timeout: 60_000 }, async () => {
    const units = fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 999 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 1_000_000_000_000 }) },
      // not a whole number of tenths: 2.5 tenths, or "1.5 points" sent as if points were the unit
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 99 }).map((n) => n + 0.5) },
    );
    const op = fc.record({ op: fc.constantFrom('earn' as const, 'earn' as const, 'spend' as const), m: fc.nat({ max: 1 }), units, viaService: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 25 }), budgeted(async (ops) => {
        const types: ModelPointType[] = [{ code: 'cash', order: 'expiring_first', policy: { kind: 'never' } }];
        const pair = await Pair.open(t, types, 2, { decimals: 1 });
        const program = await t.laurel.services.programs.get(pair.programId);
        const ctx = t.laurel.systemContext(program, 'property-test');
        for (const o of ops) {
          const member = pair.members[o.m]!;
          const req: Request = { op: o.op, key: pair.nextKey(), member, type: 'cash', amount: o.units };
          if (Number.isInteger(o.units)) {
            await pair.send(req);
            continue;
          }
          // Refused before anything happens: by the schema over HTTP, by the service's own check.
          if (o.viaService) {
            const call = o.op === 'earn' ? t.laurel.services.ledger.earn.bind(t.laurel.services.ledger) : t.laurel.services.ledger.spend.bind(t.laurel.services.ledger);
            const err = await call(ctx, { member: pair.memberId(member), pointType: 'cash', amount: o.units, idempotencyKey: req.key }).then(
              () => null,
              (e: unknown) => e,
            );
            expect(err).toBeInstanceOf(AppError);
            expect((err as AppError).code).toBe('invalid_amount');
          } else {
            const res = await t.api('POST', `/v1/programs/${pair.programId}/members/${pair.memberId(member)}/${o.op}`, {
              key: pair.key,
              headers: { 'idempotency-key': req.key },
              body: { pointType: 'cash', amount: o.units },
            });
            expect(res.status).toBe(400);
            expect(res.body.error.code).toBe('validation_failed');
          }
          await pair.checkAccounts();
        }
        await pair.checkBalances();
        const balances = await t.api('GET', `/v1/programs/${pair.programId}/members/${pair.memberId(pair.members[0]!)}/balances`, { key: pair.key });
        expect(balances.body.balances.find((b: { pointType: string }) => b.pointType === 'cash')).toMatchObject({ decimals: 1 });
        await pair.verify();
      })),
      { numRuns: Number(process.env.LEDGER_DECIMAL_RUNS ?? 8) },
    );
  });

  // ---------------------------------------------------------------- regressions
  // Found by the property above (or by reading the code it exercises), kept as plain sequences.

  // Behaviour the property checks often, pinned down with dates one can follow by hand.
  it('a refund expires at once what returns to a lot that expired meanwhile', async () => {
    const s = await sandbox(t, [{ code: 'pa', expiryPolicy: { kind: 'afterDays', days: 1, roundTo: 'endOfDay' } }]);
    await s.member('a', 'earn', { pointType: 'pa', amount: 100 });
    const spend = await s.member('a', 'spend', { pointType: 'pa', amount: 60 });
    // 2026-01-01 08:00 in Shanghai + 1 day, end of day: 2026-01-03T00:00+08:00
    await s.advance({ to: '2026-01-02T16:00:00Z' });
    expect(await s.balance('a', 'pa')).toMatchObject({ available: 0, lifetimeExpired: 40 });
    const refund = await s.follow(spend.body.id, 'refund', { amount: 25 });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    expect(await s.balance('a', 'pa')).toMatchObject({ available: 0, lifetimeSpent: 35, lifetimeExpired: 65 });
    expect((await s.follow(spend.body.id, 'refund', { amount: 36 })).body.error.code).toBe('refund_exceeds_spend');
    expect((await s.verify()).ok).toBe(true);
  });

  it('held points outlive their lot only until the hold ends, then expire at once', async () => {
    const s = await sandbox(t, [{ code: 'pa', expiryPolicy: { kind: 'afterDays', days: 1, roundTo: 'endOfDay' } }]);
    await s.member('a', 'earn', { pointType: 'pa', amount: 50 });
    await s.member('b', 'earn', { pointType: 'pa', amount: 50 });
    await s.member('a', 'reserve', { pointType: 'pa', amount: 30, holdMinutes: 60 });
    await s.member('b', 'reserve', { pointType: 'pa', amount: 30, holdMinutes: 43_200 });
    await s.advance({ to: '2026-01-02T16:00:00Z' }); // the lots' expiry; a's hold ended long before
    expect(await s.balance('a', 'pa')).toMatchObject({ available: 0, reserved: 0, lifetimeExpired: 50 });
    expect(await s.balance('b', 'pa')).toMatchObject({ available: 0, reserved: 30, lifetimeExpired: 20 });
    await s.advance({ by: { days: 30 } });
    expect(await s.balance('b', 'pa')).toMatchObject({ available: 0, reserved: 0, lifetimeExpired: 50 });
    expect((await s.verify()).ok).toBe(true);
  });

  it('replaying a refund or a reversal that named no amount answers the first result', async () => {
    // BUG (found by the property): the replay recomputes "the rest" (now 0) and compares it with
    // the first amount, so the second identical request is refused as idempotency_conflict.
    const s = await sandbox(t, [{ code: 'pa' }]);
    await s.member('a', 'earn', { pointType: 'pa', amount: 100 });
    const spend = await s.member('a', 'spend', { pointType: 'pa', amount: 40 });
    const refund = await s.follow(spend.body.id, 'refund', {}, 'refund-all');
    expect(refund.status).toBe(201);
    const again = await s.follow(spend.body.id, 'refund', {}, 'refund-all');
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body).toMatchObject({ id: refund.body.id, replayed: true, amount: 40 });

    const earn = await s.member('b', 'earn', { pointType: 'pa', amount: 10 });
    const reversal = await s.follow(earn.body.id, 'reverse', {}, 'reverse-all');
    expect(reversal.status).toBe(201);
    const twice = await s.follow(earn.body.id, 'reverse', {}, 'reverse-all');
    expect(twice.status, JSON.stringify(twice.body)).toBe(201);
    expect(twice.body).toMatchObject({ id: reversal.body.id, replayed: true });
    expect(await s.balance('b', 'pa')).toMatchObject({ available: 0 });
  });

  it('an adjustment key reused with the opposite sign is a conflict, not a replay', async () => {
    // BUG (found by the property): a debit is stored with a positive amount, so "-1" and "+1"
    // under one key look alike; the credit answers 201 replayed with the debit and credits nothing.
    const s = await sandbox(t, [{ code: 'pa' }]);
    await s.member('a', 'earn', { pointType: 'pa', amount: 1 });
    expect((await s.member('a', 'adjust', { pointType: 'pa', amount: -1, reason: 'fix' }, 'adj')).status).toBe(201);
    const credit = await s.member('a', 'adjust', { pointType: 'pa', amount: 1, reason: 'fix' }, 'adj');
    expect(credit.status, JSON.stringify(credit.body)).toBe(409);
    expect(credit.body.error.code).toBe('idempotency_conflict');
    expect(await s.balance('a', 'pa')).toMatchObject({ available: 0 });
  });

  it('a replay of a pending earn answers the first result, also after the points activated', async () => {
    // BUG (found by the property; a reading of §B "a replay returns the first result"): the first
    // answer said available 0, pending 39; the replay reports the balances of the activation
    // entry, written later under the same transaction, instead (and status "active").
    const s = await sandbox(t, [{ code: 'pa' }]);
    const body = { pointType: 'pa', amount: 39, activatesAt: '2026-01-01T02:00:00Z' };
    const first = await s.member('a', 'earn', body, 'pending-earn');
    expect(first.body).toMatchObject({ availableAfter: 0, pendingAfter: 39, status: 'pending' });
    await s.advance({ by: { hours: 3 } });
    const replay = await s.member('a', 'earn', body, 'pending-earn');
    expect(replay.status).toBe(201);
    expect(replay.body).toMatchObject({ id: first.body.id, replayed: true, availableAfter: 0, pendingAfter: 39 });
  });

  it('a follow-up key reused for another transaction is a conflict, not a replay of the first', async () => {
    // BUG: the stored fingerprint is (kind, amount, point type); the transaction a capture,
    // refund or reversal acts on is not part of it, so capturing a second hold with the first
    // capture's key answers 201 "replayed" with the first capture and leaves the second hold open.
    const s = await sandbox(t, [{ code: 'pa' }]);
    await s.member('a', 'earn', { pointType: 'pa', amount: 100 });
    const h1 = await s.member('a', 'reserve', { pointType: 'pa', amount: 10 });
    const h2 = await s.member('a', 'reserve', { pointType: 'pa', amount: 10 });
    expect((await s.follow(h1.body.id, 'capture', {}, 'cap')).status).toBe(201);
    const other = await s.follow(h2.body.id, 'capture', {}, 'cap');
    expect(other.status, JSON.stringify(other.body)).toBe(409);
    expect(other.body.error.code).toBe('idempotency_conflict');
  });

  it('a transfer key reused for another recipient is a conflict, not a server error', async () => {
    // BUG: the replay path looks for the first transfer's incoming side on the new recipient,
    // finds none and dereferences undefined: 500 internal.
    const s = await sandbox(t, [{ code: 'pa' }], ['a', 'b', 'c']);
    await s.member('a', 'earn', { pointType: 'pa', amount: 100 });
    const transfer = { from: s.ids.a, pointType: 'pa', amount: 5 };
    expect((await s.post('/transfers', { ...transfer, to: s.ids.b }, 'xfer')).status).toBe(201);
    const again = await s.post('/transfers', { ...transfer, to: s.ids.b }, 'xfer');
    expect(again.body.out).toMatchObject({ replayed: true });
    const elsewhere = await s.post('/transfers', { ...transfer, to: s.ids.c }, 'xfer');
    expect(elsewhere.status, JSON.stringify(elsewhere.body)).toBe(409);
    expect(elsewhere.body.error.code).toBe('idempotency_conflict');
    expect(await s.balance('c', 'pa')).toMatchObject({ available: 0 });
  });

  it('lots earned at the same instant are consumed in the same order every time', async () => {
    // BUG (found by the property): under oldest_first a tie of earned_at is broken by lot id, and
    // ids made in one millisecond (every call between two moves of a sandbox clock) are random. Eight members
    // live the same story; the lot the spend draws, and so what expires a day later, must not
    // depend on the draw of an id. (The property avoids the tie; see Pair.wouldTie.)
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const s = await sandbox(t, [{ code: 'po', consumptionOrder: 'oldest_first', expiryPolicy: { kind: 'afterDays', days: 1, roundTo: 'instant' } }], names);
    for (const name of names) {
      await s.member(name, 'earn', { pointType: 'po', amount: 10 }); // expires 2026-01-02T00:00Z
      await s.member(name, 'earn', { pointType: 'po', amount: 10, activatesAt: '2026-01-01T01:00:00Z' }); // 2026-01-02T01:00Z
    }
    await s.advance({ by: { hours: 2 } });
    for (const name of names) await s.member(name, 'spend', { pointType: 'po', amount: 10 });
    await s.advance({ to: '2026-01-02T00:30:00Z' });
    const left = await Promise.all(names.map(async (name) => (await s.balance(name, 'po')).available));
    // The model draws the lot created first (ids are meant to sort by creation): 10 left each.
    expect(left).toEqual(names.map(() => 10));
  });

  it('refuses to claw back a received transfer: a transfer is undone by a transfer back', async () => {
    // A clawback of a received transfer would take points from the recipient without returning
    // them to the sender (found reading the reversal path); the ledger refuses it and changes nothing.
    const s = await sandbox(t, [{ code: 'pa', expiryPolicy: { kind: 'afterDays', days: 2, roundTo: 'endOfDay' } }]);
    await s.member('a', 'earn', { pointType: 'pa', amount: 10 });
    await s.advance({ by: { days: 1 } });
    await s.member('b', 'earn', { pointType: 'pa', amount: 10 });
    const transfer = await s.post('/transfers', { from: s.ids.a, to: s.ids.b, pointType: 'pa', amount: 10 });
    expect(transfer.status, JSON.stringify(transfer.body)).toBe(201);
    const before = await s.balance('b', 'pa');
    const reversal = await s.follow(transfer.body.in.id, 'reverse', {});
    expect([reversal.status, reversal.body.error?.code]).toEqual([422, 'not_reversible']);
    expect(await s.balance('b', 'pa')).toEqual(before);
    expect((await s.verify()).ok).toBe(true);
  });
});
