/**
 * A reference model of one program's points ledger (SPEC §B), in memory and written for reading
 * rather than speed: the property tests run the same commands against it and against Laurel, and
 * every disagreement is either a bug in the ledger or a question about the spec.
 *
 * What it keeps is the minimum the spec talks about: lots (amount, remaining, when earned, when
 * they activate and expire), the allocations each debit drew from its lots, the transactions
 * follow-ups act on, three lifetime counters per account, and the idempotency keys with the
 * first result of each. Balances are not stored: available is the sum of the open lots, pending
 * the sum of the pending lots, reserved the sum of the open holds, so the model cannot drift
 * from its own lots the way a cached balance could.
 *
 * Where the spec leaves a choice, the model makes the plain one and says so: lots tie-break on
 * creation order; a pending lot's age is its earn time and its expiry runs from its activation;
 * a partial return goes to the latest-expiring lots first; the lifetime counters follow the
 * ledger's definitions (an adjustment credit and a transfer received count as earned, a reserve
 * or a transfer sent do not count as spent).
 *
 * Deliberately out of scope: debt (every point type forbids a negative balance), inactivity and
 * calendar expiry policies (expiry-policy.test.ts covers the calendar), frozen members, the
 * `recredit` refund policy, reversing a transfer received.
 */

export type ConsumptionOrder = 'expiring_first' | 'oldest_first' | 'newest_first';

/** The two expiry policies the model computes itself (not with `computeExpiry`, so that it checks it). */
export type ModelExpiryPolicy = { kind: 'never' } | { kind: 'afterDays'; days: number; roundTo: 'instant' | 'endOfDay' };

export interface ModelPointType {
  code: string;
  order: ConsumptionOrder;
  policy: ModelExpiryPolicy;
}

export type ModelErrorCode =
  | 'insufficient_points'
  | 'idempotency_conflict'
  | 'reservation_not_open'
  | 'invalid_amount'
  | 'refund_exceeds_spend'
  | 'not_refundable'
  | 'not_reversible'
  | 'validation_failed'
  | 'not_found';

export interface ModelResult {
  /** the model's id of the transaction (a fresh one, or the first one on a replay) */
  txn: string;
  availableAfter: number;
  pendingAfter: number;
}

export type Outcome =
  | (ModelResult & { ok: true; replayed: boolean; /** a transfer's incoming side */ incoming?: ModelResult })
  | { ok: false; code: ModelErrorCode };

/** A request as the API receives it; `target` names a transaction by the model's id. */
export type Request =
  | { op: 'earn'; key: string; member: string; type: string; amount: number; activatesAt?: number | undefined }
  | { op: 'spend'; key: string; member: string; type: string; amount: number }
  | { op: 'reserve'; key: string; member: string; type: string; amount: number; holdMinutes: number }
  | { op: 'adjust'; key: string; member: string; type: string; /** signed */ amount: number }
  | { op: 'transfer'; key: string; member: string; to: string; type: string; amount: number }
  | { op: 'capture'; key: string; target: string; amount?: number | undefined }
  | { op: 'release'; key: string; target: string }
  | { op: 'refund'; key: string; target: string; amount?: number | undefined }
  | { op: 'reverse'; key: string; target: string; amount?: number | undefined };

export type TxnKind =
  | 'earn'
  | 'spend'
  | 'reserve'
  | 'capture'
  | 'release'
  | 'refund'
  | 'reversal'
  | 'cancel_pending'
  | 'adjustment'
  | 'transfer_out'
  | 'transfer_in';

export interface Lot {
  /** creation order: the last tie-break of every ordering (ids are meant to sort by creation) */
  seq: number;
  member: string;
  type: string;
  txn: string;
  state: 'pending' | 'active' | 'cancelled';
  amount: number;
  remaining: number;
  earnedAt: number;
  activatesAt: number | null;
  expiresAt: number | null;
}

interface Allocation {
  lot: Lot;
  amount: number;
  returned: number;
}

export interface Txn {
  id: string;
  kind: TxnKind;
  member: string;
  type: string;
  amount: number;
  /** an adjustment that took points away (cannot be reversed) */
  debit: boolean;
  hold: { status: 'open' | 'captured' | 'released'; until: number } | null;
  refunded: number;
  reversed: number;
  /** the lots a debit drew from; a capture's are its reservation's */
  allocations: Allocation[];
  /** the lots a credit created */
  lots: Lot[];
  related: Txn | null;
}

export interface ModelBalance {
  available: number;
  pending: number;
  reserved: number;
  lifetimeEarned: number;
  lifetimeSpent: number;
  lifetimeExpired: number;
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/**
 * When a lot earned (or activated) at `at` expires, for a zone at a fixed offset from UTC (the
 * tests use Asia/Shanghai, UTC+8 without daylight saving since 1991). `endOfDay` ends at the
 * local midnight after the N-th day; `expiresAt` is exclusive: expired at t iff t >= expiresAt.
 */
export function expiryOf(policy: ModelExpiryPolicy, at: number, utcOffsetMs: number): number | null {
  if (policy.kind === 'never') return null;
  if (policy.roundTo === 'instant') return at + policy.days * DAY;
  const localMidnight = Math.floor((at + utcOffsetMs) / DAY) * DAY;
  return localMidnight + (policy.days + 1) * DAY - utcOffsetMs;
}

class Refusal extends Error {
  constructor(readonly code: ModelErrorCode) {
    super(code);
  }
}

const refuse = (code: ModelErrorCode): never => {
  throw new Refusal(code);
};

/** null (never expires) sorts after every instant. */
function compareExpiry(a: number | null, b: number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a - b;
}

export class LedgerModel {
  now: number;
  readonly lots: Lot[] = [];
  readonly txns = new Map<string, Txn>();
  private readonly counters = new Map<string, { earned: number; spent: number; expired: number }>();
  /** idempotency keys are scoped to a member (the ledger's unique index is (member, key)) */
  private readonly keys = new Map<string, { fingerprint: string; result: ModelResult & { incoming?: ModelResult } }>();
  private readonly types: Map<string, ModelPointType>;
  private seq = 0;
  private txnSeq = 0;

  constructor(
    types: ModelPointType[],
    start: number,
    private readonly utcOffsetMs: number,
  ) {
    this.types = new Map(types.map((t) => [t.code, t]));
    this.now = start;
  }

  // ------------------------------------------------------------------ reading

  balance(member: string, type: string): ModelBalance {
    const lots = this.lots.filter((l) => l.member === member && l.type === type);
    const c = this.counter(member, type);
    return {
      available: lots.filter((l) => l.state === 'active').reduce((s, l) => s + l.remaining, 0),
      pending: lots.filter((l) => l.state === 'pending').reduce((s, l) => s + l.amount, 0),
      reserved: [...this.txns.values()]
        .filter((t) => t.member === member && t.type === type && t.hold?.status === 'open')
        .reduce((s, t) => s + t.amount, 0),
      lifetimeEarned: c.earned,
      lifetimeSpent: c.spent,
      lifetimeExpired: c.expired,
    };
  }

  txn(id: string): Txn {
    const t = this.txns.get(id);
    if (!t) throw new Error(`model: no transaction ${id}`);
    return t;
  }

  /** Transactions of some kinds, oldest first: what generated follow-ups pick their target from. */
  txnsOf(...kinds: TxnKind[]): Txn[] {
    return [...this.txns.values()].filter((t) => kinds.includes(t.kind));
  }

  /** The next instant at which something happens by itself: an activation, a hold timing out, a lot expiring. */
  nextDue(): number | null {
    const instants: number[] = [];
    for (const l of this.lots) {
      if (l.state === 'pending') instants.push(l.activatesAt!);
      if (l.state === 'active' && l.remaining > 0 && l.expiresAt !== null) instants.push(l.expiresAt);
    }
    for (const t of this.txns.values()) if (t.hold?.status === 'open') instants.push(t.hold.until);
    const future = instants.filter((i) => i > this.now);
    return future.length ? Math.min(...future) : null;
  }

  // ------------------------------------------------------------------ time

  /**
   * Let time pass to `target`: at each instant something is due, in time order, pending lots
   * activate, holds past their time are released and lots past their expiry lose what is left.
   */
  advanceTo(target: number): void {
    if (target < this.now) throw new Error('model: time only moves forward');
    for (;;) {
      const due = this.nextDue();
      if (due === null || due > target) break;
      this.now = due;
      for (const l of this.lots) {
        if (l.state === 'pending' && l.activatesAt! <= due) {
          l.state = 'active';
          this.counter(l.member, l.type).earned += l.amount;
        }
      }
      for (const t of this.txns.values()) {
        if (t.hold?.status === 'open' && t.hold.until <= due) {
          // The job answers to its own key, never one of the test's.
          this.putBack(t, t.amount);
          t.hold.status = 'released';
          this.record('release', t.member, t.type, t.amount, t);
        }
      }
      this.expireDue();
    }
    this.now = target;
  }

  private expireDue(): void {
    for (const l of this.lots) {
      if (l.state === 'active' && l.remaining > 0 && this.lapsed(l)) {
        this.counter(l.member, l.type).expired += l.remaining;
        l.remaining = 0;
      }
    }
  }

  private lapsed(l: Lot): boolean {
    return l.expiresAt !== null && l.expiresAt <= this.now;
  }

  // ------------------------------------------------------------------ operations

  apply(req: Request): Outcome {
    try {
      return this.run(req);
    } catch (err) {
      if (err instanceof Refusal) return { ok: false, code: err.code };
      throw err;
    }
  }

  private run(req: Request): Outcome {
    switch (req.op) {
      case 'earn':
        return this.idempotent(req.member, req, () => this.earn(req.member, req.type, req.amount, req.activatesAt, 'earn'));
      case 'spend':
        return this.idempotent(req.member, req, () => this.debitOp(req.member, req.type, req.amount, 'spend'));
      case 'reserve':
        return this.idempotent(req.member, req, () => {
          const r = this.debitOp(req.member, req.type, req.amount, 'reserve');
          this.txn(r.txn).hold = { status: 'open', until: this.now + req.holdMinutes * MINUTE };
          return r;
        });
      case 'adjust':
        if (req.amount === 0) refuse('invalid_amount');
        return this.idempotent(req.member, req, () =>
          req.amount > 0 ? this.earn(req.member, req.type, req.amount, undefined, 'adjustment') : this.debitOp(req.member, req.type, -req.amount, 'adjustment'),
        );
      case 'transfer':
        if (req.member === req.to) refuse('validation_failed');
        return this.idempotent(req.member, req, () => this.transfer(req.member, req.to, req.type, req.amount));
      case 'capture':
        return this.capture(req);
      case 'release':
        return this.release(req);
      case 'refund':
        return this.refund(req);
      case 'reverse':
        return this.reverse(req);
    }
  }

  /**
   * The idempotency contract: a key seen before with the same request answers the first result
   * and changes nothing; with any other request it is a conflict. A refused request leaves no key.
   */
  private idempotent(member: string, req: Request, work: () => ModelResult & { incoming?: ModelResult }): Outcome {
    const { key, ...payload } = req;
    const fingerprint = JSON.stringify(payload);
    const seen = this.keys.get(`${member}\u0000${key}`);
    if (seen) {
      if (seen.fingerprint !== fingerprint) refuse('idempotency_conflict');
      return { ok: true, replayed: true, ...seen.result };
    }
    const result = work();
    this.keys.set(`${member}\u0000${key}`, { fingerprint, result });
    return { ok: true, replayed: false, ...result };
  }

  private earn(member: string, type: string, amount: number, activatesAt: number | undefined, kind: 'earn' | 'adjustment'): ModelResult {
    if (!Number.isSafeInteger(amount) || amount <= 0) refuse('invalid_amount');
    const pt = this.type(type);
    const pending = activatesAt !== undefined && activatesAt > this.now;
    const txn = this.record(kind, member, type, amount, null);
    // A pending lot's expiry runs from its activation: points cannot expire before they can be spent.
    const lot = this.addLot(txn, {
      state: pending ? 'pending' : 'active',
      amount,
      activatesAt: pending ? activatesAt : null,
      expiresAt: expiryOf(pt.policy, pending ? activatesAt : this.now, this.utcOffsetMs),
    });
    txn.lots.push(lot);
    if (!pending) this.counter(member, type).earned += amount;
    return this.result(txn);
  }

  private debitOp(member: string, type: string, amount: number, kind: 'spend' | 'reserve' | 'adjustment' | 'transfer_out'): ModelResult {
    if (!Number.isSafeInteger(amount) || amount <= 0) refuse('invalid_amount');
    this.type(type);
    if (this.balance(member, type).available < amount) refuse('insufficient_points');
    const txn = this.record(kind, member, type, amount, null);
    txn.debit = kind === 'adjustment';
    txn.allocations = this.draw(member, type, amount);
    if (kind === 'spend') this.counter(member, type).spent += amount;
    return this.result(txn);
  }

  private transfer(from: string, to: string, type: string, amount: number): ModelResult & { incoming: ModelResult } {
    const out = this.debitOp(from, type, amount, 'transfer_out');
    const outTxn = this.txn(out.txn);
    const inTxn = this.record('transfer_in', to, type, amount, outTxn);
    outTxn.related = inTxn;
    // The points arrive with the expiry of the lots they left: a transfer never extends a promise.
    const drawn = [...outTxn.allocations].sort((a, b) => compareExpiry(a.lot.expiresAt, b.lot.expiresAt));
    for (const a of drawn) inTxn.lots.push(this.addLot(inTxn, { state: 'active', amount: a.amount, activatesAt: null, expiresAt: a.lot.expiresAt }));
    this.counter(to, type).earned += amount;
    return { ...out, incoming: this.result(inTxn) };
  }

  private capture(req: Extract<Request, { op: 'capture' }>): Outcome {
    const hold = this.target(req.target, ['reserve'], 'reservation_not_open');
    return this.idempotent(hold.member, req, () => {
      if (hold.hold!.status !== 'open') refuse('reservation_not_open');
      const amount = req.amount ?? hold.amount;
      if (amount <= 0 || amount > hold.amount) refuse('invalid_amount');
      // A partial capture releases the rest, to the lots it came from.
      this.putBack(hold, hold.amount - amount);
      hold.hold!.status = 'captured';
      this.counter(hold.member, hold.type).spent += amount;
      const txn = this.record('capture', hold.member, hold.type, amount, hold);
      txn.allocations = hold.allocations;
      return this.result(txn);
    });
  }

  private release(req: Extract<Request, { op: 'release' }>): Outcome {
    const hold = this.target(req.target, ['reserve'], 'reservation_not_open');
    return this.idempotent(hold.member, req, () => {
      if (hold.hold!.status !== 'open') refuse('reservation_not_open');
      this.putBack(hold, hold.amount);
      hold.hold!.status = 'released';
      return this.result(this.record('release', hold.member, hold.type, hold.amount, hold));
    });
  }

  private refund(req: Extract<Request, { op: 'refund' }>): Outcome {
    const spend = this.target(req.target, ['spend', 'capture'], 'not_refundable');
    return this.idempotent(spend.member, req, () => {
      const refundable = spend.amount - spend.refunded;
      const amount = req.amount ?? refundable;
      if (amount <= 0) refuse('invalid_amount');
      if (amount > refundable) refuse('refund_exceeds_spend');
      this.putBack(spend, amount);
      spend.refunded += amount;
      this.counter(spend.member, spend.type).spent -= amount;
      return this.result(this.record('refund', spend.member, spend.type, amount, spend));
    });
  }

  /** Claw back (part of) a credit: from its own lot first, then the others in consumption order. */
  private reverse(req: Extract<Request, { op: 'reverse' }>): Outcome {
    const earn = this.target(req.target, ['earn', 'adjustment'], 'not_reversible');
    return this.idempotent(earn.member, req, () => {
      const left = earn.amount - earn.reversed;
      const amount = req.amount ?? left;
      if (amount <= 0) refuse('invalid_amount');
      if (earn.debit || amount > left) refuse('not_reversible');
      const own = earn.lots[0]!;
      if (own.state === 'pending') {
        // A return while the points are pending cancels them: they were never spendable.
        own.amount -= amount;
        own.remaining -= amount;
        if (own.amount === 0) own.state = 'cancelled';
        earn.reversed += amount;
        return this.result(this.record('cancel_pending', earn.member, earn.type, amount, earn));
      }
      if (this.balance(earn.member, earn.type).available < amount) refuse('insufficient_points');
      earn.reversed += amount;
      const txn = this.record('reversal', earn.member, earn.type, amount, earn);
      const fromOwn = own.state === 'active' ? Math.min(own.remaining, amount) : 0;
      own.remaining -= fromOwn;
      txn.allocations = [{ lot: own, amount: fromOwn, returned: 0 }, ...this.draw(earn.member, earn.type, amount - fromOwn)];
      this.counter(earn.member, earn.type).earned -= amount;
      return this.result(txn);
    });
  }

  // ------------------------------------------------------------------ lots

  private draw(member: string, type: string, amount: number): Allocation[] {
    const order = this.type(type).order;
    const open = this.lots.filter((l) => l.member === member && l.type === type && l.state === 'active' && l.remaining > 0);
    open.sort((a, b) => {
      switch (order) {
        case 'expiring_first':
          return compareExpiry(a.expiresAt, b.expiresAt) || a.earnedAt - b.earnedAt || a.seq - b.seq;
        case 'oldest_first':
          return a.earnedAt - b.earnedAt || a.seq - b.seq;
        case 'newest_first':
          return b.earnedAt - a.earnedAt || b.seq - a.seq;
      }
    });
    const allocations: Allocation[] = [];
    let left = amount;
    for (const lot of open) {
      if (left === 0) break;
      const take = Math.min(lot.remaining, left);
      lot.remaining -= take;
      left -= take;
      allocations.push({ lot, amount: take, returned: 0 });
    }
    if (left !== 0) throw new Error('model: lots hold less than the available balance');
    return allocations;
  }

  /**
   * Give `amount` of a debit back to the lots it drew from, the latest-expiring first (so a
   * partial return keeps as much as possible alive). Points whose lot has expired meanwhile
   * expire at once: the default `expiredRefund: 'expire'`.
   */
  private putBack(debit: Txn, amount: number): void {
    const source = debit.kind === 'capture' ? debit.related! : debit;
    const open = source.allocations
      .filter((a) => a.amount > a.returned)
      .sort((a, b) => compareExpiry(b.lot.expiresAt, a.lot.expiresAt) || b.lot.earnedAt - a.lot.earnedAt || b.lot.seq - a.lot.seq);
    let left = amount;
    for (const a of open) {
      if (left === 0) break;
      const back = Math.min(a.amount - a.returned, left);
      a.returned += back;
      left -= back;
      if (this.lapsed(a.lot)) this.counter(debit.member, debit.type).expired += back;
      else a.lot.remaining += back;
    }
    if (left !== 0) throw new Error(`model: ${left} of ${debit.id} has nowhere to go back to`);
  }

  // ------------------------------------------------------------------ helpers

  private target(id: string, kinds: TxnKind[], wrongKind: ModelErrorCode): Txn {
    const t = this.txns.get(id);
    if (!t) return refuse('not_found');
    if (!kinds.includes(t.kind)) refuse(wrongKind);
    return t;
  }

  private type(code: string): ModelPointType {
    const t = this.types.get(code);
    if (!t) throw new Error(`model: no point type ${code}`);
    return t;
  }

  private counter(member: string, type: string) {
    const k = `${member}\u0000${type}`;
    let c = this.counters.get(k);
    if (!c) this.counters.set(k, (c = { earned: 0, spent: 0, expired: 0 }));
    return c;
  }

  private record(kind: TxnKind, member: string, type: string, amount: number, related: Txn | null): Txn {
    const txn: Txn = {
      id: `T${++this.txnSeq}`,
      kind,
      member,
      type,
      amount,
      debit: false,
      hold: null,
      refunded: 0,
      reversed: 0,
      allocations: [],
      lots: [],
      related,
    };
    this.txns.set(txn.id, txn);
    return txn;
  }

  private addLot(txn: Txn, l: Pick<Lot, 'state' | 'amount' | 'activatesAt' | 'expiresAt'>): Lot {
    const lot: Lot = { ...l, seq: ++this.seq, member: txn.member, type: txn.type, txn: txn.id, remaining: l.amount, earnedAt: this.now };
    this.lots.push(lot);
    return lot;
  }

  private result(txn: Txn): ModelResult {
    const b = this.balance(txn.member, txn.type);
    return { txn: txn.id, availableAfter: b.available, pendingAfter: b.pending };
  }
}
