import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { decodeCursor, encodeCursor, pageLimit, type Page, type PageRequest } from '../../core/pagination.js';
import { rawQuery } from '../../db/database.js';
import type { DB } from '../../db/schema.js';

export interface AuditEntry {
  id: string;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  before: unknown;
  after: unknown;
  at: Date;
  recordedAt: Date;
}

export interface AuditFilter extends PageRequest {
  /** a resource type (rule, campaign, item, …) or type:id */
  resource?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

interface Row {
  id: string | number;
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  before: unknown;
  after: unknown;
  at: Date;
  recorded_at: Date;
}

function instant(value: string | undefined, field: string): Date | null {
  if (value === undefined) return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new AppError('validation_failed', `${field} is not a valid instant`, { field });
  return d;
}

/**
 * The audit log: written by every module through `recordAudit` (core/hooks) in the transaction
 * of the change; read here, newest first, filtered by resource, actor, action and time.
 */
export class AuditService {
  constructor(private readonly db: Kysely<DB>) {}

  async list(ctx: ProgramContext, filter: AuditFilter): Promise<Page<AuditEntry>> {
    const limit = pageLimit(filter.limit);
    const after = decodeCursor(filter.cursor);
    const [resourceType, resourceId] = filter.resource ? (filter.resource.split(':', 2) as [string, string | undefined]) : [undefined, undefined];
    const { rows } = await rawQuery<Row>(
      this.db,
      `select * from audit_log where program_id = $1
         and ($2::text is null or resource_type = $2) and ($3::text is null or resource_id = $3)
         and ($4::text is null or actor = $4) and ($5::text is null or action = $5)
         and ($6::timestamptz is null or at >= $6) and ($7::timestamptz is null or at < $7)
         and ($8::bigint is null or id < $8)
       order by id desc limit $9`,
      [
        ctx.program.id,
        resourceType ?? null,
        resourceId ?? null,
        filter.actor ?? null,
        filter.action ?? null,
        instant(filter.from, 'from'),
        instant(filter.to, 'to'),
        after ?? null,
        limit + 1,
      ],
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return {
      data: page.map((r) => ({
        id: String(r.id),
        actor: r.actor,
        action: r.action,
        resourceType: r.resource_type,
        resourceId: r.resource_id,
        before: r.before,
        after: r.after,
        at: r.at,
        recordedAt: r.recorded_at,
      })),
      nextCursor: more ? encodeCursor(String(page[page.length - 1]!.id)) : null,
    };
  }
}
