import type { Kysely, Selectable } from 'kysely';
import { fixedClock, systemClock, type Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { recordAudit } from '../../core/hooks.js';
import type { ProgramContext } from '../../core/context.js';
import { newId } from '../../core/ids.js';
import { decodeCursor, pageLimit, toPage, type Page, type PageRequest } from '../../core/pagination.js';
import { isValidTimeZone } from '../../core/zoned-time.js';
import type { Executor } from '../../db/database.js';
import type { DB, ProgramsTable } from '../../db/schema.js';

export interface Program {
  id: string;
  name: string;
  mode: 'live' | 'sandbox';
  timeZone: string;
  currency: string;
  settings: Record<string, unknown>;
  /** the test clock of a sandbox program; null for live programs */
  clockAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateProgramInput {
  name: string;
  mode: 'live' | 'sandbox';
  timeZone: string;
  currency: string;
  settings?: Record<string, unknown> | undefined;
  /** sandbox only: where the test clock starts (default: now) */
  clockStart?: string | undefined;
}

export interface UpdateProgramInput {
  name?: string | undefined;
  timeZone?: string | undefined;
  currency?: string | undefined;
  settings?: Record<string, unknown> | undefined;
}

export function toProgram(row: Selectable<ProgramsTable>): Program {
  return {
    id: row.id,
    name: row.name,
    mode: row.mode,
    timeZone: row.time_zone,
    currency: row.currency,
    settings: row.settings,
    clockAt: row.clock_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A program's clock: the system clock when live, its frozen test clock when sandbox. */
export function clockOf(program: Pick<Program, 'mode' | 'clockAt'>): Clock {
  return program.mode === 'sandbox' && program.clockAt ? fixedClock(program.clockAt) : systemClock;
}

function checkZoneAndCurrency(timeZone?: string, currency?: string): void {
  if (timeZone !== undefined && !isValidTimeZone(timeZone)) {
    throw new AppError('validation_failed', `timeZone "${timeZone}" is not an IANA time zone`, { field: 'timeZone' });
  }
  if (currency !== undefined && !/^[A-Z]{3}$/.test(currency)) {
    throw new AppError('validation_failed', `currency "${currency}" is not an ISO 4217 code`, { field: 'currency' });
  }
}

export class ProgramsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly clock: Clock = systemClock,
  ) {}

  async create(input: CreateProgramInput, trx: Executor = this.db): Promise<Program> {
    checkZoneAndCurrency(input.timeZone, input.currency);
    if (input.clockStart !== undefined && input.mode !== 'sandbox') {
      throw new AppError('validation_failed', 'clockStart is for sandbox programs only', { field: 'clockStart' });
    }
    const now = this.clock.now();
    const row = await trx
      .insertInto('programs')
      .values({
        id: newId('program'),
        name: input.name,
        mode: input.mode,
        time_zone: input.timeZone,
        currency: input.currency,
        settings: JSON.stringify(input.settings ?? {}),
        clock_at: input.mode === 'sandbox' ? new Date(input.clockStart ?? now) : null,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toProgram(row);
  }

  async get(id: string, trx: Executor = this.db): Promise<Program> {
    const row = await trx.selectFrom('programs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('program_not_found', `program ${id} does not exist`, { id });
    return toProgram(row);
  }

  async list(page: PageRequest, onlyIds?: string[]): Promise<Page<Program>> {
    const limit = pageLimit(page.limit);
    const after = decodeCursor(page.cursor);
    let q = this.db.selectFrom('programs').selectAll().orderBy('id').limit(limit + 1);
    if (after) q = q.where('id', '>', after);
    if (onlyIds) q = q.where('id', 'in', onlyIds.length ? onlyIds : ['']);
    const rows = await q.execute();
    return toPage(rows, limit, (r) => r.id, toProgram);
  }

  /** `audit`: the context of the request, to record the change (program settings are configuration). */
  async update(id: string, patch: UpdateProgramInput, trx: Executor = this.db, audit?: ProgramContext): Promise<Program> {
    checkZoneAndCurrency(patch.timeZone, patch.currency);
    const prior = audit ? await trx.selectFrom('programs').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    const row = await trx
      .updateTable('programs')
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.timeZone !== undefined ? { time_zone: patch.timeZone } : {}),
        ...(patch.currency !== undefined ? { currency: patch.currency } : {}),
        ...(patch.settings !== undefined ? { settings: JSON.stringify(patch.settings) } : {}),
        updated_at: this.clock.now(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new AppError('program_not_found', `program ${id} does not exist`, { id });
    const program = toProgram(row);
    if (audit) await recordAudit(trx, audit, { action: 'update', resourceType: 'program', resourceId: id, before: prior && toProgram(prior), after: program });
    return program;
  }

  /** Move a sandbox program's test clock. Forward only: jobs already run cannot be un-run. */
  async setClock(trx: Executor, id: string, at: Date): Promise<void> {
    const result = await trx
      .updateTable('programs')
      .set({ clock_at: at })
      .where('id', '=', id)
      .where('mode', '=', 'sandbox')
      .where('clock_at', '<=', at)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      const program = await this.get(id, trx);
      if (program.mode !== 'sandbox') throw new AppError('not_sandbox', 'only a sandbox program has a test clock');
      throw new AppError('clock_backwards', `the test clock is at ${program.clockAt?.toISOString()}; it only moves forward`);
    }
  }
}
