import { DateTime } from 'luxon';

/**
 * Periods of recurring tasks in the program's zone: a day, an ISO week (Monday first) or a
 * calendar month. The key names the period (`2026-03-02`, `2026-W10`, `2026-03`, `once`).
 */
export type Recurrence = 'once' | 'daily' | 'weekly' | 'monthly';

export interface Period {
  key: string;
  startsAt: Date | null;
  endsAt: Date | null;
}

export function periodOf(recurrence: Recurrence, at: Date, zone: string): Period {
  const dt = DateTime.fromJSDate(at, { zone });
  switch (recurrence) {
    case 'once':
      return { key: 'once', startsAt: null, endsAt: null };
    case 'daily': {
      const start = dt.startOf('day');
      return { key: start.toISODate()!, startsAt: start.toJSDate(), endsAt: start.plus({ days: 1 }).toJSDate() };
    }
    case 'weekly': {
      const start = dt.startOf('week');
      return {
        key: `${start.weekYear}-W${String(start.weekNumber).padStart(2, '0')}`,
        startsAt: start.toJSDate(),
        endsAt: start.plus({ weeks: 1 }).toJSDate(),
      };
    }
    case 'monthly': {
      const start = dt.startOf('month');
      return { key: start.toFormat('yyyy-MM'), startsAt: start.toJSDate(), endsAt: start.plus({ months: 1 }).toJSDate() };
    }
  }
}
