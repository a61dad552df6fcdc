import { ZoneClock, isoWeekKey, periodBucket } from '../rules/engine/index.js';
import type { CounterIncrement } from '../rules/engine/index.js';

/**
 * The counters behind caps, budgets and milestones (earning_counters), kept in memory for a
 * replay. Every key the engine asks for is answered (0 when never written), so no per-event
 * snapshot has to be built; and counters are grouped by their period bucket, so the buckets a
 * replay has moved past (days, weeks, months) are dropped and memory stays flat over a million
 * events.
 */
export class CounterStore {
  private readonly buckets = new Map<string, Map<string, number>>();

  read(member: string, key: string): number {
    const { label, id } = this.locate(member, key);
    return this.buckets.get(label)?.get(id) ?? 0;
  }

  apply(member: string, increments: readonly CounterIncrement[]): void {
    for (const inc of increments) {
      const { label, id } = this.locate(member, inc.key);
      let b = this.buckets.get(label);
      if (!b) this.buckets.set(label, (b = new Map()));
      b.set(id, (b.get(id) ?? 0) + inc.by);
    }
  }

  private locate(member: string, key: string): { label: string; id: string } {
    // Budgets are the program's (one counter shared by every member); caps and milestones a member's.
    if (key.includes(':budget:')) return { label: '', id: key };
    return { label: key.slice(key.lastIndexOf(':') + 1), id: `${member}|${key}` };
  }

  /** Drops the day, week and month buckets that lie well before `ms` (events arrive in time order). */
  evictBefore(ms: number, clock: ZoneClock): void {
    const day = periodBucket('day', clock.local(ms - 3 * 86_400_000));
    const week = isoWeekKey(clock.local(ms - 21 * 86_400_000));
    const month = periodBucket('month', clock.local(ms - 70 * 86_400_000));
    for (const label of this.buckets.keys()) {
      if (DAY.test(label) ? label < day : WEEK.test(label) ? label < week : MONTH.test(label) ? label < month : false) this.buckets.delete(label);
    }
  }

  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.size;
    return n;
  }
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const WEEK = /^\d{4}-W\d{2}$/;
const MONTH = /^\d{4}-\d{2}$/;

/**
 * The snapshot the engine reads (it accepts a Map): one object per replay side, pointed at the
 * member of the event being evaluated, reading through to the store.
 */
export class CounterView extends Map<string, number> {
  member = '';

  constructor(private readonly store: CounterStore) {
    super();
  }

  override get(key: string): number {
    return this.store.read(this.member, key);
  }
}
