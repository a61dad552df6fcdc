import type { FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { inTransaction } from '../../db/database.js';
import { requireIdempotencyKey } from '../../http/idempotency.js';
import { programContextOf } from '../../http/auth.js';
import { commonErrors, DateTime, ErrorResponse, MemberParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import type { DrawsService } from '../draws/index.js';
import type { EngagementService } from '../engagement/index.js';
import type { LedgerQueries } from '../ledger/index.js';
import type { MallService } from '../mall/index.js';
import type { MembersService } from '../members/index.js';
import type { PagesService } from '../pages/index.js';
import { PortalPageQuery } from '../pages/pages.schemas.js';
import type { TiersService } from '../tiers/index.js';
import { clockOf, type ProgramsService } from '../programs/index.js';
import type { OperatorsService, PortalClaims } from './operators.service.js';

export interface PortalDeps {
  operators: OperatorsService;
  programs: ProgramsService;
  members: MembersService;
  ledgerQueries: LedgerQueries;
  engagement: EngagementService;
  mall: MallService;
  draws: DrawsService;
  /** absent in a deployment without the tiers module: the portal then shows no tier */
  tiers?: TiersService;
  /** absent without the pages module: no channel page route */
  pages?: PagesService;
}

const tags = ['portal'];
const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };
const security = [{ bearer: [] }]; // the portal token, not an API key
const Page = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), cursor: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });

/** A program without a tier ladder: the member simply has no tier. */
function noLadder(err: unknown): null {
  if (err instanceof AppError && err.code === 'tier_ladder_not_found') return null;
  throw err;
}

/**
 * The member portal's API: a member signed in with a token the host platform issued acts on
 * their own account only. Each route is a thin call into the module that owns the data.
 */
export function portalRoutes(app: App, deps: PortalDeps): void {
  const { operators, programs, members, ledgerQueries, engagement, mall, draws, tiers, pages } = deps;

  app.post(
    '/v1/programs/:programId/members/:memberId/portal-tokens',
    {
      config: { access: 'spend' },
      schema: {
        tags,
        summary: 'Issue a short-lived signed token with which the member uses the portal (host platforms call this after their own sign-in)',
        params: MemberParams,
        body: Type.Optional(Type.Object({ ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400 })) }, { additionalProperties: false })),
        response: { 201: Type.Object({ token: Type.String(), memberId: Type.String(), expiresAt: DateTime(), portalUrl: Type.String() }), ...errors },
      },
    },
    async (request, reply) => {
      const ctx = programContextOf(request);
      const member = await members.get(ctx, request.params.memberId);
      const issuer: PortalClaims['issuer'] = ctx.actor.type === 'api_key' || ctx.actor.type === 'operator' ? ctx.actor : { type: 'admin' };
      const { token, expiresAt } = await operators.issuePortalToken({ programId: ctx.program.id, memberId: member.id, issuer }, request.body?.ttlSeconds ?? 3600);
      return reply.status(201).send({ token, memberId: member.id, expiresAt, portalUrl: `/portal/#token=${token}` });
    },
  );

  async function signIn(request: FastifyRequest): Promise<{ ctx: ProgramContext; memberId: string; programName: string }> {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match) throw new AppError('unauthorized', 'a portal token is required: Authorization: Bearer <token>');
    const claims = await operators.verifyPortalToken(match[1]!);
    const program = await programs.get(claims.programId);
    const ctx: ProgramContext = {
      program: { id: program.id, mode: program.mode, timeZone: program.timeZone, currency: program.currency, settings: program.settings },
      clock: clockOf(program),
      actor: claims.issuer,
      channel: 'portal',
    };
    return { ctx, memberId: claims.memberId, programName: program.name };
  }

  // Verified at onRequest, before the query or body is validated, as API keys are: a caller
  // without a token learns nothing about a route's parameters. The handler reuses the result.
  const signedIn = new WeakMap<FastifyRequest, Awaited<ReturnType<typeof signIn>>>();
  const authenticate = async (request: FastifyRequest): Promise<void> => {
    signedIn.set(request, await signIn(request));
  };
  const me = async (request: FastifyRequest) => signedIn.get(request) ?? signIn(request);

  const get = (path: string, summary: string, handler: (request: FastifyRequest, m: Awaited<ReturnType<typeof me>>) => Promise<unknown>, querystring: TSchema = Page) =>
    app.get(`/v1/portal/me${path}`, { config: { access: 'public' }, onRequest: authenticate, schema: { tags, summary, security, querystring, response: errors } }, async (request) =>
      handler(request, await me(request)),
    );

  get('', 'The signed-in member and their program', async (_request, m) => ({
    program: { id: m.ctx.program.id, name: m.programName, timeZone: m.ctx.program.timeZone },
    member: await members.get(m.ctx, m.memberId),
  }));
  get('/balances', 'Balances and what expires when', async (_request, m) => ({ balances: await ledgerQueries.balances(m.ctx, m.memberId, 90) }));
  get('/ledger', 'Points history, newest first', async (request, m) => ledgerQueries.history(m.ctx, m.memberId, request.query as { limit?: number; cursor?: string }));
  get('/check-ins', 'Streaks, next reward and this month’s calendar', async (_request, m) => ({
    summary: await engagement.checkin.summary(m.ctx, m.memberId, {}),
    calendar: await engagement.checkin.calendar(m.ctx, m.memberId, undefined),
  }));
  get('/mall/items', 'Items on the shelf', async (request, m) => mall.listItems(m.ctx, { ...(request.query as object), available: true }));
  get('/orders', 'My orders, newest first', async (request, m) => mall.listOrders(m.ctx, { ...(request.query as object), memberId: m.memberId }));
  get('/tier', 'My tier, its validity and progress to the next tier (null without a ladder)', async (_request, m) => ({ tier: tiers ? await tiers.view(m.ctx, m.memberId).catch(noLadder) : null }));
  get('/tasks', 'My open tasks with this period’s progress', async (_request, m) => ({ data: await engagement.tasks.forMember(m.ctx, m.memberId) }));
  get('/medals', 'My medals: levels awarded, locked ones and the progress toward each', async (_request, m) => ({ data: await engagement.medals.forMember(m.ctx, m.memberId) }));
  if (pages) {
    get('/page', "The channel's banners active now and the mall items in the channel's order", async (request, m) => pages.forMember(m.ctx, (request.query as { channel: string }).channel), PortalPageQuery);
  }
  get('/draws', 'Draws with their published odds', async (_request, m) => ({ data: (await draws.list(m.ctx)).filter((d) => (d as { status?: string }).status !== 'archived') }));

  const keyOf = (request: FastifyRequest, memberId: string) => `portal:${memberId}:${requireIdempotencyKey(request)}`;

  app.post(
    '/v1/portal/me/tasks/:taskId/claim',
    { config: { access: 'public' }, onRequest: authenticate, schema: { tags, summary: 'Claim the reward of a completed task; a second claim returns the first', security, params: Type.Object({ taskId: Type.String({ maxLength: 64 }) }), response: { 201: Type.Unknown(), ...errors } } },
    async (request, reply) => {
      const m = await me(request);
      const reward = await inTransaction(app.db, (trx) => engagement.tasks.claim(m.ctx, m.memberId, request.params.taskId, undefined, trx));
      return reply.status(201).send(reward);
    },
  );

  app.post(
    '/v1/portal/me/check-ins',
    { config: { access: 'public' }, onRequest: authenticate, schema: { tags, summary: 'Check in for today', security, response: { 201: Type.Unknown(), ...errors } } },
    async (request, reply) => {
      const m = await me(request);
      const checkIn = await inTransaction(app.db, (trx) => engagement.checkin.checkIn(m.ctx, m.memberId, trx));
      return reply.status(201).send(checkIn);
    },
  );

  app.post(
    '/v1/portal/me/orders',
    {
      config: { access: 'public' },
      onRequest: authenticate,
      schema: {
        tags,
        summary: 'Order from the mall with points (Idempotency-Key required)',
        security,
        body: Type.Object(
          { lines: Type.Array(Type.Object({ skuId: Type.String({ minLength: 1, maxLength: 64 }), quantity: Type.Integer({ minimum: 1, maximum: 100 }) }, { additionalProperties: false }), { minItems: 1, maxItems: 20 }) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Unknown(), ...errors },
      },
    },
    async (request, reply) => {
      const m = await me(request);
      const idempotencyKey = keyOf(request, m.memberId);
      const order = await inTransaction(app.db, (trx) => mall.placeOrder(trx, m.ctx, { memberId: m.memberId, lines: request.body.lines, idempotencyKey }));
      return reply.status(201).send(order);
    },
  );

  app.post(
    '/v1/portal/me/draws/:drawId/plays',
    { config: { access: 'public' }, onRequest: authenticate, schema: { tags, summary: 'Play a draw once (Idempotency-Key required)', security, params: Type.Object({ drawId: Type.String({ maxLength: 64 }) }), response: { 201: Type.Unknown(), ...errors } } },
    async (request, reply) => {
      const m = await me(request);
      const idempotencyKey = keyOf(request, m.memberId);
      const play = await inTransaction(app.db, (trx) => draws.play(trx, m.ctx, { drawId: request.params.drawId, memberId: m.memberId, idempotencyKey }));
      return reply.status(201).send(play);
    },
  );
}
