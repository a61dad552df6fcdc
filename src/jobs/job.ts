import type { Kysely } from 'kysely';
import type { ProgramSnapshot } from '../core/context.js';
import type { DB } from '../db/schema.js';

export interface JobRunContext {
  db: Kysely<DB>;
  program: ProgramSnapshot;
  /** the instant the run stands for: now for a live program, the due time in a sandbox advance */
  asOf: Date;
  /** long jobs report how far they are */
  progress: (done: number, total: number | null, note?: string) => void;
}

/**
 * A background job as a definition: a name, when it is due, and a handler. Handlers are sweeps
 * ("do everything due at or before asOf") written in set-based SQL, and idempotent: a process
 * that dies mid-run is followed by another run that finishes the work and repeats none of it.
 */
export interface JobDefinition {
  name: string;
  /** jobs due at the same instant run in ascending order (e.g. activation before expiry) */
  order: number;
  /** live programs: how often the scheduler sweeps */
  everyMs: number;
  /**
   * Sandbox programs: the first instant in (after, until] at which this job has work, or null.
   * An advance of the test clock runs the job as of each such instant, in time order.
   */
  nextDue(db: Kysely<DB>, program: ProgramSnapshot, after: Date, until: Date): Promise<Date | null>;
  run(ctx: JobRunContext): Promise<Record<string, unknown>>;
}

export class JobRegistry {
  private readonly jobs = new Map<string, JobDefinition>();

  register(job: JobDefinition): void {
    if (this.jobs.has(job.name)) throw new Error(`job ${job.name} is registered twice`);
    this.jobs.set(job.name, job);
  }

  all(): JobDefinition[] {
    return [...this.jobs.values()].sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
  }

  get(name: string): JobDefinition | undefined {
    return this.jobs.get(name);
  }
}
