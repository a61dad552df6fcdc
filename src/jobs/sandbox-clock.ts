import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import { AppError } from '../core/errors.js';
import type { DB } from '../db/schema.js';
import type { Program, ProgramsService } from '../modules/programs/index.js';
import type { JobRegistry } from './job.js';

export interface JobRun {
  job: string;
  asOf: Date;
  result: Record<string, unknown>;
}

export interface ClockAdvance {
  to?: string | undefined;
  by?: { months?: number | undefined; days?: number | undefined; hours?: number | undefined; minutes?: number | undefined } | undefined;
}

/** Guards against a job that keeps reporting work it never clears. */
const MAX_RUNS_PER_ADVANCE = 100_000;

/**
 * The test clock of sandbox programs. Advancing it runs every job due in between as of its own
 * due time, in time order, so a year of expiry, activation, evaluation and grants can be
 * rehearsed in seconds, exactly as a live program would have lived it.
 */
export class SandboxClock {
  // Advances of one program are serialised within the process.
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly programs: ProgramsService,
    private readonly registry: JobRegistry,
  ) {}

  async read(programId: string): Promise<{ programId: string; now: Date }> {
    const program = await this.sandbox(programId);
    return { programId, now: program.clockAt! };
  }

  advance(programId: string, how: ClockAdvance): Promise<{ programId: string; now: Date; jobsRun: JobRun[] }> {
    const previous = this.running.get(programId) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.advanceNow(programId, how));
    this.running.set(programId, next);
    return next.finally(() => {
      if (this.running.get(programId) === next) this.running.delete(programId);
    });
  }

  private async sandbox(programId: string): Promise<Program> {
    const program = await this.programs.get(programId);
    if (program.mode !== 'sandbox' || !program.clockAt) {
      throw new AppError('not_sandbox', 'only a sandbox program has a test clock');
    }
    return program;
  }

  private target(program: Program, how: ClockAdvance): Date {
    const from = program.clockAt!;
    let target: Date;
    if (how.to !== undefined) {
      target = new Date(how.to);
    } else {
      const by = how.by ?? {};
      // Months and days are calendar steps in the program's zone (a month is not 30 days).
      target = DateTime.fromJSDate(from, { zone: program.timeZone })
        .plus({ months: by.months ?? 0, days: by.days ?? 0 })
        .plus({ hours: by.hours ?? 0, minutes: by.minutes ?? 0 })
        .toJSDate();
    }
    if (Number.isNaN(target.getTime())) throw new AppError('validation_failed', 'the target time is not a valid instant');
    if (target.getTime() < from.getTime()) {
      throw new AppError('clock_backwards', `the test clock is at ${from.toISOString()}; it only moves forward`);
    }
    return target;
  }

  private async advanceNow(programId: string, how: ClockAdvance) {
    let program = await this.sandbox(programId);
    const target = this.target(program, how);
    const jobs = this.registry.all();
    const jobsRun: JobRun[] = [];
    const snapshot = {
      id: program.id,
      mode: program.mode,
      timeZone: program.timeZone,
      currency: program.currency,
      settings: program.settings,
    };
    // Jobs already run at the current instant of this advance: the others may still be due then.
    let ranNow = new Set<string>();
    for (let runs = 0; runs < MAX_RUNS_PER_ADVANCE; runs++) {
      const now = program.clockAt!;
      let best: { due: Date; index: number } | null = null;
      for (let i = 0; i < jobs.length; i++) {
        const job = jobs[i]!;
        const sameInstantStillDue = runs > 0 && !ranNow.has(job.name);
        const after = new Date(now.getTime() - (sameInstantStillDue ? 1 : 0));
        const due = await job.nextDue(this.db, snapshot, after, target);
        if (due && due.getTime() > after.getTime() && due.getTime() <= target.getTime()) {
          if (!best || due.getTime() < best.due.getTime()) best = { due, index: i };
        }
      }
      if (!best) break;
      const job = jobs[best.index]!;
      await this.db.transaction().execute((trx) => this.programs.setClock(trx, programId, best!.due));
      const result = await job.run({ db: this.db, program: snapshot, asOf: best.due, progress: () => {} });
      jobsRun.push({ job: job.name, asOf: best.due, result });
      if (best.due.getTime() !== now.getTime()) ranNow = new Set();
      ranNow.add(job.name);
      program = { ...program, clockAt: best.due };
    }
    if (program.clockAt!.getTime() !== target.getTime()) {
      await this.db.transaction().execute((trx) => this.programs.setClock(trx, programId, target));
    }
    return { programId, now: target, jobsRun };
  }
}
