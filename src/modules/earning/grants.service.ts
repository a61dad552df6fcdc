import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import type { ProgramContext, ProgramSnapshot } from '../../core/context.js';
import { fixedClock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { recordAudit } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { JobDefinition } from '../../jobs/job.js';
import type { LedgerService, PointTypesService } from '../ledger/index.js';

/** Who receives a grant: members with any of the tags (all members when empty). */
export interface Audience {
  tags?: string[] | undefined;
  joinedBefore?: string | undefined;
}

/** Once at an instant, or every year on a local month and day (e.g. a yearly head start). */
export type GrantSchedule = { at: string } | { every: 'year'; month: number; day: number };

export interface Grant {
  id: string;
  name: string;
  pointType: string;
  amount: number;
  audience: Audience;
  schedule: GrantSchedule;
  status: 'active' | 'paused' | 'done';
  nextRunAt: Date | null;
  lastRunAt: Date | null;
  lastResult: unknown;
  createdAt: Date;
}

interface GrantRow {
  id: string; name: string; point_type: string; amount: number; audience: Audience; schedule: GrantSchedule;
  status: Grant['status']; next_run_at: Date | null; last_run_at: Date | null; last_result: unknown; created_at: Date;
}

const toGrant = (r: GrantRow): Grant => ({
  id: r.id, name: r.name, pointType: r.point_type, amount: r.amount, audience: r.audience, schedule: r.schedule,
  status: r.status, nextRunAt: r.next_run_at, lastRunAt: r.last_run_at, lastResult: r.last_result, createdAt: r.created_at,
});

export interface BulkCreditRow {
  line: number;
  externalId: string;
  pointType: string;
  amount: number;
  reason?: string | undefined;
}

export interface BulkCreditReport {
  rows: number;
  credited: number;
  replayed: number;
  points: Record<string, number>;
  errors: Array<{ line: number; code: string; message: string }>;
}

const CHUNK = 1_000;

function nextRun(schedule: GrantSchedule, after: Date, zone: string): Date | null {
  if ('at' in schedule) {
    const at = new Date(schedule.at);
    return at.getTime() > after.getTime() ? at : null;
  }
  let year = DateTime.fromJSDate(after, { zone }).year;
  for (;;) {
    const candidate = DateTime.fromObject({ year, month: schedule.month, day: 1 }, { zone });
    const day = Math.min(schedule.day, candidate.daysInMonth ?? 28);
    const at = candidate.set({ day }).startOf('day').toJSDate();
    if (at.getTime() > after.getTime()) return at;
    year++;
  }
}

/**
 * Points given to many members at once: a CSV of credits, or a grant to an audience on a
 * schedule. Both go through the ledger's set-based batch earn with one key per member and run,
 * so a repeated upload or a re-run job credits nobody twice.
 */
export class GrantsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly ledger: LedgerService,
    private readonly pointTypes: PointTypesService,
  ) {}

  parseCsv(text: string): { rows: BulkCreditRow[]; errors: BulkCreditReport['errors'] } {
    const rows: BulkCreditRow[] = [];
    const errors: BulkCreditReport['errors'] = [];
    const lines = text.split(/\r?\n/);
    const header = (lines[0] ?? '').split(',').map((h) => h.trim());
    const col = (name: string) => header.indexOf(name);
    if (col('externalId') < 0 || col('pointType') < 0 || col('amount') < 0) {
      throw new AppError('validation_failed', 'the CSV header must name externalId, pointType and amount (reason is optional)');
    }
    lines.slice(1).forEach((raw, i) => {
      const line = i + 2;
      if (!raw.trim()) return;
      const cells = raw.split(',').map((c) => c.trim());
      const amount = Number(cells[col('amount')]);
      if (!/^\d+$/.test(cells[col('amount')] ?? '') || amount <= 0 || !Number.isSafeInteger(amount)) {
        errors.push({ line, code: 'invalid_amount', message: `amount "${cells[col('amount')]}" is not a positive whole number` });
        return;
      }
      const externalId = cells[col('externalId')] ?? '';
      if (!externalId) {
        errors.push({ line, code: 'validation_failed', message: 'externalId is empty' });
        return;
      }
      rows.push({ line, externalId, pointType: cells[col('pointType')] ?? '', amount, reason: col('reason') >= 0 ? cells[col('reason')] : undefined });
    });
    return { rows, errors };
  }

  async bulkCredit(ctx: ProgramContext, batchKey: string, rows: BulkCreditRow[], progress: (done: number, total: number) => void = () => {}): Promise<BulkCreditReport> {
    const report: BulkCreditReport = { rows: rows.length, credited: 0, replayed: 0, points: {}, errors: [] };
    const known = new Set((await this.pointTypes.list(ctx)).map((p) => p.code));
    for (let start = 0; start < rows.length; start += CHUNK) {
      const chunk = rows.slice(start, start + CHUNK);
      await this.db.transaction().execute(async (trx) => {
        const { rows: members } = await rawQuery<{ id: string; external_id: string; status: string }>(
          trx,
          'select id, external_id, status from members where program_id = $1 and external_id = any($2::text[])',
          [ctx.program.id, chunk.map((r) => r.externalId)],
        );
        const byExt = new Map(members.map((m) => [m.external_id, m]));
        const items: Parameters<LedgerService['earnBatch']>[1] = [];
        const lines: BulkCreditRow[] = [];
        for (const row of chunk) {
          const member = byExt.get(row.externalId);
          if (!member) report.errors.push({ line: row.line, code: 'member_not_found', message: `no member with externalId ${row.externalId}` });
          else if (member.status !== 'active') report.errors.push({ line: row.line, code: 'member_inactive', message: `member ${row.externalId} is ${member.status}` });
          else if (!known.has(row.pointType)) report.errors.push({ line: row.line, code: 'point_type_not_found', message: `point type "${row.pointType}" does not exist` });
          else {
            items.push({
              memberId: member.id,
              pointType: row.pointType,
              amount: row.amount,
              idempotencyKey: `bulk:${batchKey}:${row.line}`,
              source: { type: 'bulk', id: batchKey },
              reason: row.reason || 'bulk credit',
            });
            lines.push(row);
          }
        }
        const { results } = await this.ledger.earnBatch(ctx, items, trx);
        results.forEach((r, i) => {
          if (r === null) report.replayed++;
          else {
            report.credited++;
            const pt = lines[i]!.pointType;
            report.points[pt] = (report.points[pt] ?? 0) + lines[i]!.amount;
          }
        });
      });
      progress(Math.min(start + CHUNK, rows.length), rows.length);
    }
    report.errors.sort((a, b) => a.line - b.line);
    return report;
  }

  async create(ctx: ProgramContext, trx: Trx, input: { name: string; pointType: string; amount: number; audience: Audience; schedule: GrantSchedule }): Promise<Grant> {
    await this.pointTypes.get(ctx, input.pointType, trx);
    if ('at' in input.schedule && Number.isNaN(new Date(input.schedule.at).getTime())) {
      throw new AppError('validation_failed', 'schedule.at is not a valid instant', { field: 'schedule.at' });
    }
    const now = ctx.clock.now();
    const next = nextRun(input.schedule, new Date(now.getTime() - 1), ctx.program.timeZone);
    const { rows } = await rawQuery<GrantRow>(
      trx,
      `insert into scheduled_grants (id, program_id, name, point_type, amount, audience, schedule, next_run_at, status, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) returning *`,
      [newId('job', now.getTime()), ctx.program.id, input.name, input.pointType, input.amount, JSON.stringify(input.audience), JSON.stringify(input.schedule), next, next ? 'active' : 'done', now],
    );
    const grant = toGrant(rows[0]!);
    await recordAudit(trx, ctx, { action: 'create', resourceType: 'grant', resourceId: grant.id, after: grant });
    return grant;
  }

  async list(ctx: ProgramContext): Promise<Grant[]> {
    const { rows } = await rawQuery<GrantRow>(this.db, 'select * from scheduled_grants where program_id = $1 order by created_at, id', [ctx.program.id]);
    return rows.map(toGrant);
  }

  /** Credit one due run of a grant to its whole audience, keyset-paged over members. */
  private async runGrant(ctx: ProgramContext, grant: GrantRow, runAt: Date): Promise<{ members: number; points: number }> {
    let after = '';
    let members = 0;
    for (;;) {
      const page = await rawQuery<{ id: string }>(
        this.db,
        `select id from members where program_id = $1 and status = 'active' and id > $2
           and (cardinality($3::text[]) = 0 or tags && $3::text[])
           and ($4::timestamptz is null or joined_at < $4)
         order by id limit ${CHUNK}`,
        [ctx.program.id, after, grant.audience.tags ?? [], grant.audience.joinedBefore ?? null],
      );
      if (page.rows.length === 0) break;
      const { results } = await this.ledger.earnBatch(
        ctx,
        page.rows.map((m) => ({
          memberId: m.id,
          pointType: grant.point_type,
          amount: grant.amount,
          idempotencyKey: `grant:${grant.id}:${runAt.toISOString()}`,
          source: { type: 'grant', id: grant.id },
          reason: grant.name,
        })),
      );
      members += results.filter((r) => r !== null).length;
      after = page.rows[page.rows.length - 1]!.id;
    }
    return { members, points: members * grant.amount };
  }

  job(): JobDefinition {
    return {
      name: 'earning.scheduled-grants',
      order: 50,
      everyMs: 60_000,
      nextDue: async (db: Executor, program: ProgramSnapshot, after: Date, until: Date) => {
        const { rows } = await rawQuery<{ at: Date | null }>(
          db,
          `select min(next_run_at) as at from scheduled_grants where program_id = $1 and status = 'active' and next_run_at > $2 and next_run_at <= $3`,
          [program.id, after, until],
        );
        return rows[0]?.at ?? null;
      },
      run: async ({ db, program, asOf }) => {
        const ctx: ProgramContext = { program, clock: fixedClock(asOf), actor: { type: 'system', job: 'earning.scheduled-grants' } };
        const { rows } = await rawQuery<GrantRow>(
          db,
          `select * from scheduled_grants where program_id = $1 and status = 'active' and next_run_at <= $2 order by next_run_at`,
          [program.id, asOf],
        );
        let members = 0;
        for (const grant of rows) {
          const result = await this.runGrant(ctx, grant, grant.next_run_at!);
          members += result.members;
          const next = nextRun(grant.schedule, grant.next_run_at!, program.timeZone);
          await rawQuery(
            db,
            `update scheduled_grants set last_run_at = $2, last_result = $3, next_run_at = $4, status = $5, updated_at = $6 where id = $1`,
            [grant.id, grant.next_run_at, JSON.stringify(result), next, 'every' in grant.schedule && next ? 'active' : 'done', asOf],
          );
        }
        return { grants: rows.length, members };
      },
    };
  }
}
