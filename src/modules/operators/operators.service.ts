import { createHash, createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { systemClock, type Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { newId, randomToken } from '../../core/ids.js';
import type { DB } from '../../db/schema.js';
import type { Scope } from '../access/index.js';
import type { OperatorsTable } from './operators.tables.js';

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** What each role may do on program routes; admin may do everything, deployment routes included. */
export const ROLE_SCOPES: Record<Role, ReadonlySet<Scope>> = {
  viewer: new Set<Scope>(['read']),
  operator: new Set<Scope>(['read', 'earn', 'spend', 'configure']),
  admin: new Set<Scope>(['read', 'earn', 'spend', 'configure', 'admin']),
};

export interface Operator {
  id: string;
  username: string;
  displayName: string | null;
  role: Role;
  createdAt: Date;
  disabledAt: Date | null;
}

export interface OperatorSession {
  operator: Operator;
  csrfToken: string;
  expiresAt: Date;
}

const SESSION_HOURS = 12;
const SCRYPT = { N: 16_384, r: 8, p: 1, keylen: 64 } as const;
const PORTAL_SECRET_SETTING = 'portal_token_secret';

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash` (base64url), so the cost can be raised later without breaking old hashes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(key, expected);
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

function toOperator(row: Selectable<OperatorsTable>): Operator {
  return { id: row.id, username: row.username, displayName: row.display_name, role: row.role, createdAt: row.created_at, disabledAt: row.disabled_at };
}

export interface PortalClaims {
  programId: string;
  memberId: string;
  /** who issued it: an API key id, or null for the deployment admin or an operator */
  issuer: { type: 'api_key'; id: string } | { type: 'admin' } | { type: 'operator'; id: string };
  expiresAt: Date;
}

/**
 * Operator accounts and console sessions, and the short-lived signed tokens with which a member
 * reaches the portal. Sessions are opaque random tokens (stored hashed); portal tokens are
 * self-contained (HMAC-SHA256 over their claims) so the host platform can hand them out freely.
 */
export class OperatorsService {
  private portalSecret: Buffer | null = null;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly clock: Clock = systemClock,
  ) {}

  async create(input: { username: string; password: string; role: Role; displayName?: string | null | undefined }): Promise<Operator> {
    if (input.password.length < 10) throw new AppError('validation_failed', 'a password needs at least 10 characters', { field: 'password' });
    const row = await this.db
      .insertInto('operators')
      .values({
        id: newId('operator'),
        username: input.username,
        display_name: input.displayName ?? null,
        password_hash: await hashPassword(input.password),
        role: input.role,
        created_at: this.clock.now(),
      })
      .onConflict((oc) => oc.column('username').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new AppError('already_exists', `operator ${input.username} already exists`, { username: input.username });
    return toOperator(row);
  }

  async list(): Promise<Operator[]> {
    const rows = await this.db.selectFrom('operators').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toOperator);
  }

  /** On the first start, an admin with a generated password; returns it once (null when operators exist). */
  async ensureFirstAdmin(): Promise<{ username: string; password: string } | null> {
    const any = await this.db.selectFrom('operators').select('id').limit(1).executeTakeFirst();
    if (any) return null;
    const password = randomToken(15);
    try {
      await this.create({ username: 'admin', password, role: 'admin', displayName: 'Administrator' });
    } catch (err) {
      if (err instanceof AppError && err.code === 'already_exists') return null; // another process won
      throw err;
    }
    return { username: 'admin', password };
  }

  async login(username: string, password: string): Promise<OperatorSession & { token: string }> {
    const row = await this.db.selectFrom('operators').selectAll().where('username', '=', username).executeTakeFirst();
    // The same answer, and about the same work, for an unknown name and a wrong password.
    const ok = row ? await verifyPassword(password, row.password_hash) : (await hashPassword(password), false);
    if (!row || !ok || row.disabled_at) throw new AppError('unauthorized', 'wrong username or password');
    const token = randomToken(32);
    const csrfToken = randomToken(24);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + SESSION_HOURS * 3_600_000);
    await this.db
      .insertInto('operator_sessions')
      .values({ token_hash: sha256(token), operator_id: row.id, csrf_token: csrfToken, created_at: now, expires_at: expiresAt })
      .execute();
    return { token, operator: toOperator(row), csrfToken, expiresAt };
  }

  async authenticate(token: string): Promise<OperatorSession | null> {
    const row = await this.db
      .selectFrom('operator_sessions as s')
      .innerJoin('operators as o', 'o.id', 's.operator_id')
      .selectAll('o')
      .select(['s.csrf_token', 's.expires_at', 's.revoked_at'])
      .where('s.token_hash', '=', sha256(token))
      .executeTakeFirst();
    if (!row || row.revoked_at || row.disabled_at || row.expires_at.getTime() <= this.clock.now().getTime()) return null;
    return { operator: toOperator(row), csrfToken: row.csrf_token, expiresAt: row.expires_at };
  }

  async logout(token: string): Promise<void> {
    await this.db.updateTable('operator_sessions').set({ revoked_at: this.clock.now() }).where('token_hash', '=', sha256(token)).execute();
  }

  private async secret(): Promise<Buffer> {
    if (this.portalSecret) return this.portalSecret;
    const fresh = randomBytes(32).toString('hex');
    await this.db
      .insertInto('deployment_settings')
      .values({ name: PORTAL_SECRET_SETTING, value: JSON.stringify(fresh), updated_at: this.clock.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const stored = await this.db.selectFrom('deployment_settings').select('value').where('name', '=', PORTAL_SECRET_SETTING).executeTakeFirstOrThrow();
    this.portalSecret = Buffer.from(stored.value as string, 'hex');
    return this.portalSecret;
  }

  async issuePortalToken(claims: Omit<PortalClaims, 'expiresAt'>, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
    const expiresAt = new Date(this.clock.now().getTime() + ttlSeconds * 1000);
    const body = Buffer.from(JSON.stringify({ p: claims.programId, m: claims.memberId, i: claims.issuer, e: expiresAt.getTime() })).toString('base64url');
    const mac = createHmac('sha256', await this.secret()).update(body).digest('base64url');
    return { token: `lpt_${body}.${mac}`, expiresAt };
  }

  async verifyPortalToken(token: string): Promise<PortalClaims> {
    const invalid = () => new AppError('unauthorized', 'the portal token is not valid or has expired');
    const match = /^lpt_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
    if (!match) throw invalid();
    const expected = createHmac('sha256', await this.secret()).update(match[1]!).digest();
    const given = Buffer.from(match[2]!, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    const c = JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8')) as { p: string; m: string; i: PortalClaims['issuer']; e: number };
    if (c.e <= this.clock.now().getTime()) throw invalid();
    return { programId: c.p, memberId: c.m, issuer: c.i, expiresAt: new Date(c.e) };
  }
}
