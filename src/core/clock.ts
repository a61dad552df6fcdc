/**
 * Time is an input. Every rule asks a Clock, never `new Date()` directly, so tests and
 * sandbox programs can move time instead of sleeping.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock frozen at one instant: a sandbox program's test clock as read for one request. */
export function fixedClock(at: Date): Clock {
  const frozen = new Date(at.getTime());
  return { now: () => new Date(frozen.getTime()) };
}

/** A clock a test can set and advance by hand. */
export class ManualClock implements Clock {
  private current: number;
  constructor(start: Date | string) {
    this.current = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  set(at: Date | string): void {
    this.current = new Date(at).getTime();
  }
  advance(ms: number): void {
    this.current += ms;
  }
}
