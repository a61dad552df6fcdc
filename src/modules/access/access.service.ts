import { createHash, timingSafeEqual } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { systemClock, type Clock } from '../../core/clock.js';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { recordAudit } from '../../core/hooks.js';
import { newId, randomToken } from '../../core/ids.js';
import type { Executor } from '../../db/database.js';
import type { ApiKeysTable, DB } from '../../db/schema.js';

export const SCOPES = ['read', 'earn', 'spend', 'configure', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export type Principal =
  | { kind: 'deployment_admin' }
  | { kind: 'program_key'; keyId: string; programId: string; scopes: ReadonlySet<Scope> };

export interface ApiKey {
  id: string;
  programId: string;
  name: string;
  hint: string;
  scopes: Scope[];
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

const ADMIN_KEY_SETTING = 'admin_key_hash';
/** How long a resolved key is trusted without asking the database again. Revocation in this
 * process takes effect at once; in other processes within this many milliseconds. */
const KEY_CACHE_MS = 5_000;

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: row.id,
    programId: row.program_id,
    name: row.name,
    hint: row.hint,
    scopes: row.scopes as Scope[],
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

/** A program key with `admin` may do everything within its program. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  if (principal.kind === 'deployment_admin') return true;
  return principal.scopes.has(scope) || principal.scopes.has('admin');
}

export class AccessService {
  private adminKeyHash: Buffer | null = null;
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Settle the deployment admin key at start-up: the configured one, else the stored hash of a
   * generated one, else generate one now. Returns the plaintext only when it was just generated,
   * so it can be printed once and never again.
   */
  async initAdminKey(configured: string | undefined): Promise<{ generated: string | null }> {
    if (configured) {
      this.adminKeyHash = hashSecret(configured);
      return { generated: null };
    }
    const stored = await this.db
      .selectFrom('deployment_settings')
      .select('value')
      .where('name', '=', ADMIN_KEY_SETTING)
      .executeTakeFirst();
    if (stored) {
      this.adminKeyHash = Buffer.from(stored.value as string, 'hex');
      return { generated: null };
    }
    const secret = `lrl_admin_${randomToken(30)}`;
    const hash = hashSecret(secret);
    const inserted = await this.db
      .insertInto('deployment_settings')
      .values({ name: ADMIN_KEY_SETTING, value: JSON.stringify(hash.toString('hex')), updated_at: this.clock.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .returning('name')
      .executeTakeFirst();
    if (inserted === undefined) return this.initAdminKey(undefined); // another process won
    this.adminKeyHash = hash;
    return { generated: secret };
  }

  async authenticate(secret: string): Promise<Principal | null> {
    const hash = hashSecret(secret);
    if (this.adminKeyHash && timingSafeEqual(hash, this.adminKeyHash)) return { kind: 'deployment_admin' };
    const cacheKey = hash.toString('base64');
    const now = Date.now();
    const cached = this.cache.get(cacheKey);
    if (cached && cached.until > now) return cached.principal;
    // Looked up by the hash of the secret, so the comparison never touches the secret itself.
    const row = await this.db
      .selectFrom('api_keys')
      .select(['id', 'program_id', 'scopes'])
      .where('secret_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    const principal: Principal | null = row
      ? { kind: 'program_key', keyId: row.id, programId: row.program_id, scopes: new Set(row.scopes as Scope[]) }
      : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, { principal, until: now + KEY_CACHE_MS });
    return principal;
  }

  /** `audit`: the context of the request, when the key is made through the API (never the secret). */
  async createKey(
    trx: Executor,
    programId: string,
    input: { name: string; scopes: Scope[] },
    audit?: ProgramContext,
  ): Promise<{ key: ApiKey; secret: string }> {
    if (input.scopes.length === 0) throw new AppError('validation_failed', 'a key needs at least one scope', { field: 'scopes' });
    const secret = `lrl_${randomToken(30)}`;
    const row = await trx
      .insertInto('api_keys')
      .values({
        id: newId('apiKey'),
        program_id: programId,
        name: input.name,
        hint: secret.slice(0, 10),
        secret_hash: hashSecret(secret),
        scopes: [...new Set(input.scopes)],
        created_at: this.clock.now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const key = toApiKey(row);
    if (audit) await recordAudit(trx, audit, { action: 'create', resourceType: 'api_key', resourceId: key.id, after: key });
    return { key, secret };
  }

  async listKeys(programId: string): Promise<ApiKey[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('program_id', '=', programId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toApiKey);
  }

  async revokeKey(trx: Executor, programId: string, keyId: string, audit?: ProgramContext): Promise<ApiKey> {
    const prior = await trx.selectFrom('api_keys').selectAll().where('id', '=', keyId).where('program_id', '=', programId).executeTakeFirst();
    const row = await trx
      .updateTable('api_keys')
      .set({ revoked_at: sql<Date>`coalesce(revoked_at, ${this.clock.now()})` })
      .where('id', '=', keyId)
      .where('program_id', '=', programId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new AppError('not_found', `api key ${keyId} does not exist`, { id: keyId });
    this.cache.clear();
    const key = toApiKey(row);
    // Revoking twice changes nothing, and records nothing.
    if (audit && prior && prior.revoked_at === null) {
      await recordAudit(trx, audit, { action: 'revoke', resourceType: 'api_key', resourceId: key.id, before: toApiKey(prior), after: key });
    }
    return key;
  }
}
