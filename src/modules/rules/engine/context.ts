import { AppError } from '../../../core/errors.js';
import { daysInMonth, localDateString, periodBucket, type LocalTime, type Period, type ZoneClock } from './local-time.js';
import type { ChannelKind, EngineEvent, MemberContext } from './types.js';

/**
 * Everything a compiled condition or reward reads while one event is evaluated. Built once per
 * evaluation; values that cost something (the local date string, period buckets, the member's
 * birthday) are computed on first use only, because most rules never ask for them.
 */
export class EvalContext {
  readonly event: EngineEvent;
  readonly attrs: Record<string, unknown>;
  readonly member: MemberContext;
  readonly clock: ZoneClock;
  readonly t: LocalTime;
  readonly channelKinds: Readonly<Record<string, ChannelKind>> | undefined;
  /** the array item being looked at by an item condition */
  item: unknown = undefined;

  private _date: string | undefined;
  private _buckets: Partial<Record<Period, string>> | undefined;
  private _birthday: { month: number; day: number } | null | undefined;
  private _joinDay: number | undefined;

  constructor(
    event: EngineEvent,
    member: MemberContext,
    clock: ZoneClock,
    channelKinds?: Readonly<Record<string, ChannelKind>>,
  ) {
    const ms = event.occurredAt instanceof Date ? event.occurredAt.getTime() : NaN;
    if (Number.isNaN(ms)) throw new AppError('validation_failed', 'event.occurredAt must be a valid Date', { field: 'occurredAt' });
    this.event = event;
    this.attrs = event.attributes ?? {};
    this.member = member;
    this.clock = clock;
    this.channelKinds = channelKinds;
    this.t = clock.local(ms);
  }

  get date(): string {
    return (this._date ??= localDateString(this.t));
  }

  bucket(period: Period): string {
    const b = (this._buckets ??= {});
    return (b[period] ??= period === 'day' ? this.date : periodBucket(period, this.t));
  }

  private birthday(): { month: number; day: number } | null {
    if (this._birthday === undefined) {
      // The year of a birthday is irrelevant and often a placeholder (0000, 1900): read MM-DD only.
      this._birthday = parseBirthday(this.member.birthday);
    }
    return this._birthday;
  }

  /** True when the event falls in the member's birthday month (program zone); undefined without a birthday. */
  get birthdayMonth(): boolean | undefined {
    const b = this.birthday();
    return b ? b.month === this.t.month : undefined;
  }

  /**
   * True on the member's birthday (program zone). A 29 February birthday is celebrated on
   * 28 February in common years, so those members are not skipped three years in four.
   */
  get isBirthday(): boolean | undefined {
    const b = this.birthday();
    if (!b) return undefined;
    if (b.month !== this.t.month) return false;
    if (b.day === this.t.day) return true;
    return b.month === 2 && b.day === 29 && this.t.day === 28 && !isLeap(this.t.year);
  }

  /** Whole local days from the joining date to the event date (0 on the day of joining). */
  get daysSinceJoining(): number | undefined {
    if (this._joinDay === undefined) {
      const j = this.member.joinedAt;
      const ms = j instanceof Date ? j.getTime() : NaN;
      if (Number.isNaN(ms)) return undefined;
      this._joinDay = this.clock.dayNumber(ms);
    }
    return this.t.dayNumber - this._joinDay;
  }
}

/** MM-DD of a 'YYYY-MM-DD' birthday, by hand: this runs for every birthday condition. */
function parseBirthday(b: string | null): { month: number; day: number } | null {
  if (typeof b !== 'string' || b.length !== 10 || b.charCodeAt(4) !== 45 || b.charCodeAt(7) !== 45) return null;
  const month = digits2(b, 5);
  const day = digits2(b, 8);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(2000, month)) return null; // 2000: a leap year admits 29 Feb
  return { month, day };
}

function digits2(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}
