import { sql, type Kysely, type Selectable } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { decodeCursor, pageLimit, toPage, type Page, type PageRequest } from '../../core/pagination.js';
import { isUniqueViolation, type Executor } from '../../db/database.js';
import type { DB, MembersTable } from '../../db/schema.js';

export type MemberStatus = 'active' | 'frozen' | 'closed';

export interface Member {
  id: string;
  programId: string;
  externalId: string;
  status: MemberStatus;
  name: string | null;
  phone: string | null;
  email: string | null;
  birthday: string | null;
  gender: string | null;
  region: string | null;
  attributes: Record<string, unknown>;
  tags: string[];
  joinedAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

export interface MemberProfile {
  name?: string | null | undefined;
  phone?: string | null | undefined;
  email?: string | null | undefined;
  birthday?: string | null | undefined;
  gender?: string | null | undefined;
  region?: string | null | undefined;
  attributes?: Record<string, unknown> | undefined;
  tags?: string[] | undefined;
}

export interface CreateMemberInput extends MemberProfile {
  externalId: string;
  joinedAt?: string | undefined;
  status?: MemberStatus | undefined;
}

export interface UpdateMemberInput extends MemberProfile {
  status?: MemberStatus | undefined;
}

export interface MemberListFilter extends PageRequest {
  status?: MemberStatus | undefined;
  tag?: string | undefined;
}

export function toMember(row: Selectable<MembersTable>): Member {
  return {
    id: row.id,
    programId: row.program_id,
    externalId: row.external_id,
    status: row.status,
    name: row.name,
    phone: row.phone,
    email: row.email,
    birthday: row.birthday,
    gender: row.gender,
    region: row.region,
    attributes: row.attributes,
    tags: row.tags,
    joinedAt: row.joined_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const EXTERNAL_PREFIX = 'ext:';

/**
 * The column and value a member reference (`ext:{externalId}` or a Laurel id) selects on, for
 * modules that fold the member lookup into a statement of their own to save a round trip.
 */
export function memberNotFound(ref: string): AppError {
  return new AppError('member_not_found', `member ${ref} does not exist`, { member: ref });
}

export function memberRef(ref: string): { column: 'id' | 'external_id'; value: string } {
  return ref.startsWith(EXTERNAL_PREFIX) ? { column: 'external_id', value: ref.slice(EXTERNAL_PREFIX.length) } : { column: 'id', value: ref };
}

function checkBirthday(birthday: string | null | undefined): void {
  if (birthday === undefined || birthday === null) return;
  const d = new Date(`${birthday}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== birthday) {
    throw new AppError('validation_failed', `birthday "${birthday}" is not a real date`, { field: 'birthday' });
  }
}

function profileColumns(p: MemberProfile) {
  return {
    ...(p.name !== undefined ? { name: p.name } : {}),
    ...(p.phone !== undefined ? { phone: p.phone } : {}),
    ...(p.email !== undefined ? { email: p.email } : {}),
    ...(p.birthday !== undefined ? { birthday: p.birthday } : {}),
    ...(p.gender !== undefined ? { gender: p.gender } : {}),
    ...(p.region !== undefined ? { region: p.region } : {}),
    ...(p.attributes !== undefined ? { attributes: JSON.stringify(p.attributes) } : {}),
    ...(p.tags !== undefined ? { tags: [...new Set(p.tags)] } : {}),
  };
}

export class MembersService {
  constructor(private readonly db: Kysely<DB>) {}

  async create(ctx: ProgramContext, input: CreateMemberInput, trx: Executor = this.db): Promise<Member> {
    checkBirthday(input.birthday);
    const now = ctx.clock.now();
    try {
      const row = await trx
        .insertInto('members')
        .values({
          id: newId('member', now.getTime()),
          program_id: ctx.program.id,
          external_id: input.externalId,
          status: input.status ?? 'active',
          name: null,
          phone: null,
          email: null,
          birthday: null,
          gender: null,
          region: null,
          attributes: '{}',
          tags: [],
          ...profileColumns(input),
          joined_at: input.joinedAt ? new Date(input.joinedAt) : now,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toMember(row);
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new AppError('already_exists', `a member with externalId "${input.externalId}" already exists`, {
          externalId: input.externalId,
        });
      }
      throw err;
    }
  }

  /** A member by Laurel id, or by `ext:{externalId}`. */
  async get(ctx: ProgramContext, ref: string, trx: Executor = this.db, forUpdate = false): Promise<Member> {
    let q = trx.selectFrom('members').selectAll().where('program_id', '=', ctx.program.id);
    const by = memberRef(ref);
    q = q.where(by.column, '=', by.value);
    if (forUpdate) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) throw memberNotFound(ref);
    return toMember(row);
  }

  async list(ctx: ProgramContext, filter: MemberListFilter): Promise<Page<Member>> {
    const limit = pageLimit(filter.limit);
    const after = decodeCursor(filter.cursor);
    let q = this.db
      .selectFrom('members')
      .selectAll()
      .where('program_id', '=', ctx.program.id)
      .orderBy('id')
      .limit(limit + 1);
    if (after) q = q.where('id', '>', after);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.tag) q = q.where(sql<boolean>`${filter.tag} = any(tags)`);
    const rows = await q.execute();
    return toPage(rows, limit, (r) => r.id, toMember);
  }

  async update(ctx: ProgramContext, ref: string, patch: UpdateMemberInput, trx: Executor = this.db): Promise<Member> {
    checkBirthday(patch.birthday);
    const member = await this.get(ctx, ref, trx, true);
    if (member.status === 'closed' && patch.status !== undefined && patch.status !== 'closed') {
      throw new AppError('illegal_transition', 'a closed member cannot be reopened', { from: 'closed', to: patch.status });
    }
    const row = await trx
      .updateTable('members')
      .set({
        ...profileColumns(patch),
        ...(patch.status !== undefined ? { status: patch.status } : {}),
        updated_at: ctx.clock.now(),
      })
      .where('id', '=', member.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toMember(row);
  }
}
