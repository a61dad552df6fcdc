import type { ProgramContext } from '../../core/context.js';
import { recordAudit } from '../../core/hooks.js';
import { rawQuery, type Executor, type Trx } from '../../db/database.js';

/**
 * A program's one configuration document of a kind (the check-in schedule, the invitation
 * settings): a row per program with the document, a version bumped by every write, and the time
 * of the last write.
 */
type ConfigTable = 'checkin_schedules' | 'invitation_settings';

export type Versioned<C> = C & { version: number; updatedAt: Date };

export async function readProgramConfig<C extends object>(exec: Executor, table: ConfigTable, programId: string): Promise<Versioned<C> | null> {
  const { rows } = await rawQuery<{ config: C; version: number; updated_at: Date }>(exec, `select config, version, updated_at from ${table} where program_id = $1`, [programId]);
  const row = rows[0];
  return row ? { ...row.config, version: row.version, updatedAt: row.updated_at } : null;
}

/** Replace the document (version + 1), audited with what it replaced. */
export async function writeProgramConfig<C extends object>(trx: Trx, ctx: ProgramContext, table: ConfigTable, resourceType: string, config: C): Promise<Versioned<C>> {
  const prior = await rawQuery<{ config: unknown; version: number }>(trx, `select config, version from ${table} where program_id = $1`, [ctx.program.id]);
  const { rows } = await rawQuery<{ version: number; updated_at: Date }>(
    trx,
    `insert into ${table} (program_id, config, version, updated_at) values ($1, $2, 1, $3)
     on conflict (program_id) do update set config = excluded.config, version = ${table}.version + 1, updated_at = excluded.updated_at
     returning version, updated_at`,
    [ctx.program.id, JSON.stringify(config), ctx.clock.now()],
  );
  const view = { ...config, version: rows[0]!.version, updatedAt: rows[0]!.updated_at };
  await recordAudit(trx, ctx, { action: prior.rows[0] ? 'update' : 'create', resourceType, resourceId: ctx.program.id, before: prior.rows[0], after: view });
  return view;
}
