import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ProgramContext } from '../core/context.js';
import { AppError } from '../core/errors.js';
import { hasScope, type AccessService, type Principal, type Scope } from '../modules/access/index.js';
import { clockOf, type Program, type ProgramsService } from '../modules/programs/index.js';
import { timingSafeEqual } from 'node:crypto';

/** The console signs operators in with a cookie; a session stands in for an API key. */
export const SESSION_COOKIE = 'laurel_session';

export interface OperatorPrincipal {
  kind: 'operator';
  operatorId: string;
  role: 'admin' | 'operator' | 'viewer';
  scopes: ReadonlySet<Scope>;
}

/** What auth needs of the operators module (kept narrow so auth does not depend on it). */
export interface OperatorSessions {
  authenticate(token: string): Promise<{ operator: { id: string; role: 'admin' | 'operator' | 'viewer' }; csrfToken: string } | null>;
  scopesOf(role: 'admin' | 'operator' | 'viewer'): ReadonlySet<Scope>;
}

export function cookieOf(request: FastifyRequest, name: string): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Compare a presented secret with the expected one in time independent of where they differ,
 * so response times do not reveal a correct prefix. (API keys are never compared at all: they
 * are looked up by their SHA-256 hash.)
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `public`: no key; `deployment`: the deployment admin key only; a Scope: a program key with it. */
export type RouteAccess = Scope | 'deployment' | 'public';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | OperatorPrincipal | null;
    programContext: ProgramContext | null;
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

/**
 * Live programs change rarely and are read on every request, so they are cached briefly.
 * Sandbox programs are always read fresh: their test clock may have been moved by another process.
 */
class ProgramCache {
  private readonly entries = new Map<string, { program: Program; until: number }>();
  constructor(
    private readonly programs: ProgramsService,
    private readonly ttlMs = 2_000,
  ) {}
  async get(id: string): Promise<Program> {
    const hit = this.entries.get(id);
    if (hit && hit.until > Date.now()) return hit.program;
    const program = await this.programs.get(id);
    if (program.mode === 'live') {
      if (this.entries.size > 10_000) this.entries.clear();
      this.entries.set(id, { program, until: Date.now() + this.ttlMs });
    }
    return program;
  }
  forget(id: string): void {
    this.entries.delete(id);
  }
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match ? match[1]! : null;
}

/**
 * The channel a request speaks for (`Laurel-Channel: app`), recorded on the ledger transactions
 * it makes so partners are settled per channel. Same shape as an event's channel; anything else
 * is refused rather than silently dropped.
 */
function channelOf(request: FastifyRequest): string | null {
  const raw = request.headers['laurel-channel'];
  if (raw === undefined || raw === '') return null;
  const value = Array.isArray(raw) ? raw[0]! : raw;
  if (!/^[\w.:-]{1,64}$/.test(value)) {
    throw new AppError('validation_failed', 'the Laurel-Channel header must be 1 to 64 letters, digits, _ . : or -', { header: 'Laurel-Channel' });
  }
  return value;
}

export function programContextOf(request: FastifyRequest): ProgramContext {
  if (!request.programContext) throw new Error(`route ${request.routeOptions.url} has no program context`);
  return request.programContext;
}

export function installAuth(app: FastifyInstance, access: AccessService, programs: ProgramsService, operators?: OperatorSessions): ProgramCache {
  const cache = new ProgramCache(programs);
  app.decorateRequest('principal', null);
  app.decorateRequest('programContext', null);

  // onRequest, before the body is parsed or validated: a caller without a key learns nothing
  // about what a valid request would look like.
  app.addHook('onRequest', async (request) => {
    const required = request.routeOptions.config?.access;
    if (required === undefined || required === 'public') return;
    const secret = bearer(request);
    const session = !secret && operators ? cookieOf(request, SESSION_COOKIE) : null;
    if (session && operators) return operatorRequest(request, required, session, operators);
    if (!secret) throw new AppError('unauthorized', 'an API key is required: Authorization: Bearer <key>');
    const principal = await access.authenticate(secret);
    if (!principal) throw new AppError('unauthorized', 'the API key is not valid or has been revoked');
    request.principal = principal;

    if (required === 'deployment' && principal.kind !== 'deployment_admin') {
      throw new AppError('forbidden', 'this route needs the deployment admin key');
    }
    const programId = (request.params as { programId?: string }).programId;
    if (programId !== undefined) {
      // A key of another program gets the same answer as a program that does not exist.
      if (principal.kind === 'program_key' && principal.programId !== programId) {
        throw new AppError('program_not_found', `program ${programId} does not exist`, { id: programId });
      }
      const program = await cache.get(programId);
      request.programContext = {
        program: {
          id: program.id,
          mode: program.mode,
          timeZone: program.timeZone,
          currency: program.currency,
          settings: program.settings,
        },
        clock: clockOf(program),
        actor: principal.kind === 'deployment_admin' ? { type: 'admin' } : { type: 'api_key', id: principal.keyId },
        channel: channelOf(request),
      };
    }
    if (required !== 'deployment' && !hasScope(principal, required)) {
      throw new AppError('forbidden', `this API key lacks the "${required}" scope`, { requiredScope: required });
    }
  });

  /** An operator's console session: a role instead of scopes, and a CSRF token on every write. */
  async function operatorRequest(request: FastifyRequest, required: Exclude<RouteAccess, 'public'>, token: string, ops: OperatorSessions): Promise<void> {
    const session = await ops.authenticate(token);
    if (!session) throw new AppError('unauthorized', 'the console session has expired or was ended: sign in again');
    if (!SAFE_METHODS.has(request.method)) {
      if (!sameSecret(String(request.headers['x-csrf-token'] ?? ''), session.csrfToken)) {
        throw new AppError('forbidden', 'a console write needs the X-CSRF-Token header of its session');
      }
    }
    const { id, role } = session.operator;
    const scopes = ops.scopesOf(role);
    request.principal = { kind: 'operator', operatorId: id, role, scopes };
    if (required === 'deployment' && role !== 'admin') throw new AppError('forbidden', 'this route needs an admin operator');
    const programId = (request.params as { programId?: string }).programId;
    if (programId !== undefined) {
      const program = await cache.get(programId);
      request.programContext = {
        program: { id: program.id, mode: program.mode, timeZone: program.timeZone, currency: program.currency, settings: program.settings },
        clock: clockOf(program),
        actor: { type: 'operator', id },
        channel: channelOf(request) ?? 'console',
      };
    }
    if (required !== 'deployment' && !scopes.has(required) && !scopes.has('admin')) {
      throw new AppError('forbidden', `the ${role} role may not do this (it needs "${required}")`, { requiredScope: required, role });
    }
  }
  return cache;
}
