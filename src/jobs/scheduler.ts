import type { Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import { systemClock, type Clock } from '../core/clock.js';
import { rawQuery } from '../db/database.js';
import type { DB } from '../db/schema.js';
import { toProgram } from '../modules/programs/index.js';
import type { JobRegistry } from './job.js';

/**
 * Runs the jobs of live programs. Any number of server processes may run a scheduler on one
 * PostgreSQL: a due (job, program) row is claimed by a compare-and-set that moves its
 * `next_run_at` forward, so exactly one process wins each due run. A process that dies
 * mid-run loses that run; the next sweep catches up, because handlers are idempotent sweeps.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly registry: JobRegistry,
    private readonly log: FastifyBaseLogger,
    private readonly clock: Clock = systemClock,
    private readonly tickMs = 1_000,
  ) {}

  start(): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .then(() => {})
        .catch((err) => this.log.warn({ err }, 'scheduler tick failed'))
        .finally(() => {
          this.ticking = null;
          if (!this.stopped) this.timer = setTimeout(loop, this.tickMs);
        });
    };
    this.timer = setTimeout(loop, this.tickMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
  }

  /** One sweep: make sure every (job, live program) has a row, then run what is due. */
  async tick(): Promise<number> {
    const now = this.clock.now();
    let ran = 0;
    const jobs = this.registry.all();
    // One statement for the rows new programs and new jobs lack; an anti-join writes nothing
    // (and leaves no dead tuples) when every row exists, as it does on almost every tick.
    await rawQuery(
      this.db,
      `insert into scheduled_jobs (name, program_id, next_run_at)
       select j.name, p.id, $2 from unnest($1::text[]) as j(name) cross join programs p
       where p.mode = 'live' and not exists (select 1 from scheduled_jobs s where s.name = j.name and s.program_id = p.id)
       on conflict do nothing`,
      [jobs.map((j) => j.name), now],
    );
    for (const job of jobs) {
      for (;;) {
        const claimed = await rawQuery<{ program_id: string }>(
          this.db,
          `update scheduled_jobs s set next_run_at = $3, last_run_at = $2
           where s.name = $1 and s.program_id = (
             select program_id from scheduled_jobs
             where name = $1 and next_run_at <= $2
             order by next_run_at limit 1 for update skip locked)
           returning s.program_id`,
          [job.name, now, new Date(now.getTime() + job.everyMs)],
        );
        const programId = claimed.rows[0]?.program_id;
        if (!programId) break;
        const row = await this.db.selectFrom('programs').selectAll().where('id', '=', programId).executeTakeFirst();
        if (!row || row.mode !== 'live') continue;
        const program = toProgram(row);
        const started = Date.now();
        try {
          const result = await job.run({
            db: this.db,
            program: { id: program.id, mode: program.mode, timeZone: program.timeZone, currency: program.currency, settings: program.settings },
            asOf: now,
            progress: (done, total, note) => this.log.info({ job: job.name, programId, done, total, note }, 'job progress'),
          });
          await rawQuery(this.db, 'update scheduled_jobs set last_result = $3 where name = $1 and program_id = $2', [
            job.name,
            programId,
            JSON.stringify({ ...result, ms: Date.now() - started }),
          ]);
          ran++;
        } catch (err) {
          this.log.error({ err, job: job.name, programId }, 'job failed; it runs again at its next sweep');
        }
      }
    }
    return ran;
  }
}
