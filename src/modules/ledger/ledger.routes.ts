import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { programContextOf } from '../../http/auth.js';
import { requireIdempotencyKey, runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, MemberParams, PageOf, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import type { MembersService } from '../members/index.js';
import type { LedgerQueries } from './ledger.queries.js';
import {
  AdjustBody,
  BalanceSchema,
  CreatePointTypeBody,
  EarnBody,
  FollowUpBody,
  HistoryEntrySchema,
  HistoryQuery,
  PointTypeSchema,
  ReserveBody,
  SpendBody,
  TransactionSchema,
  TransferBody,
  UpdatePointTypeBody,
  VerifySchema,
} from './ledger.schemas.js';
import type { LedgerService, LedgerTransaction } from './ledger.service.js';
import type { PointTypesService } from './point-types.service.js';
import { verifyLedger } from './verify.js';

export interface LedgerRoutesDeps {
  ledger: LedgerService;
  queries: LedgerQueries;
  pointTypes: PointTypesService;
  members: MembersService;
}

const IdempotencyHeader = Type.Object({
  'idempotency-key': Type.String({ minLength: 1, maxLength: 255, description: 'required: the operation happens once per key' }),
});

/** Ledger writes are idempotent by their own key (stored on the ledger transaction). */
const ledgerKey = (request: FastifyRequest): string => requireIdempotencyKey(request, 'ledger operations');

function answer(reply: FastifyReply, txn: LedgerTransaction) {
  if (txn.replayed) reply.header('idempotent-replayed', 'true');
  return reply.status(201).send(txn);
}

const ledgerErrors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };

export function ledgerRoutes(app: App, deps: LedgerRoutesDeps): void {
  const { ledger, queries, pointTypes, members } = deps;
  const tags = ['ledger'];

  app.get(
    '/v1/programs/:programId/point-types',
    { config: { access: 'read' }, schema: { tags: ['point-types'], summary: 'List point types', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(PointTypeSchema) }), ...commonErrors } } },
    async (request) => ({ data: await pointTypes.list(programContextOf(request)) }),
  );

  app.post(
    '/v1/programs/:programId/point-types',
    {
      config: { access: 'configure' },
      schema: { tags: ['point-types'], summary: 'Create a point type', params: ProgramParams, body: CreatePointTypeBody, response: { 201: PointTypeSchema, ...ledgerErrors } },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => pointTypes.create(programContextOf(request), request.body, trx)),
  );

  app.patch(
    '/v1/programs/:programId/point-types/:code',
    {
      config: { access: 'configure' },
      schema: {
        tags: ['point-types'],
        summary: 'Change a point type; lots already earned keep the expiry they were promised',
        params: Type.Object({ programId: Type.String(), code: Type.String({ maxLength: 32 }) }),
        body: UpdatePointTypeBody,
        response: { 200: PointTypeSchema, ...ledgerErrors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 200, (trx) => pointTypes.update(programContextOf(request), request.params.code, request.body, trx)),
  );

  app.get(
    '/v1/programs/:programId/members/:memberId/balances',
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'Balances per point type: available, pending, reserved, lifetime totals, what expires when',
        params: MemberParams,
        querystring: Type.Object({ expiringWithinDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 3660 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ memberId: Type.String(), balances: Type.Array(BalanceSchema) }), ...commonErrors },
      },
    },
    async (request) => {
      const ctx = programContextOf(request);
      const memberId = await ledger.memberId(ctx, request.params.memberId);
      await members.get(ctx, memberId);
      return { memberId, balances: await queries.balances(ctx, memberId, request.query.expiringWithinDays ?? 30) };
    },
  );

  app.get(
    '/v1/programs/:programId/members/:memberId/ledger',
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'Ledger history, newest first, each entry with its cause',
        params: MemberParams,
        querystring: HistoryQuery,
        response: { 200: PageOf(HistoryEntrySchema), ...commonErrors },
      },
    },
    async (request) => {
      const ctx = programContextOf(request);
      const memberId = await ledger.memberId(ctx, request.params.memberId);
      await members.get(ctx, memberId);
      return queries.history(ctx, memberId, request.query);
    },
  );

  const memberOp = <B>(path: string, summary: string, scope: 'earn' | 'spend' | 'configure', body: B, run: (request: FastifyRequest<{ Params: { programId: string; memberId: string } }>) => Promise<LedgerTransaction>) =>
    app.post(
      `/v1/programs/:programId/members/:memberId/${path}`,
      { config: { access: scope }, schema: { tags, summary, params: MemberParams, headers: IdempotencyHeader, body: body as never, response: { 201: TransactionSchema, ...ledgerErrors } } },
      async (request, reply) => answer(reply, await run(request as never)),
    );

  memberOp('earn', 'Credit points (optionally pending until activatesAt)', 'earn', EarnBody, (request) => {
    const b = request.body as Static<typeof EarnBody>;
    return ledger.earn(programContextOf(request), {
      ...b,
      member: request.params.memberId,
      idempotencyKey: ledgerKey(request),
      activatesAt: b.activatesAt ? new Date(b.activatesAt) : undefined,
    });
  });
  memberOp('spend', 'Spend points, soonest-expiring lots first (per the point type)', 'spend', SpendBody, (request) =>
    ledger.spend(programContextOf(request), { ...(request.body as Static<typeof SpendBody>), member: request.params.memberId, idempotencyKey: ledgerKey(request) }),
  );
  memberOp('reserve', 'Hold points for a later capture or release', 'spend', ReserveBody, (request) =>
    ledger.reserve(programContextOf(request), { ...(request.body as Static<typeof ReserveBody>), member: request.params.memberId, idempotencyKey: ledgerKey(request) }),
  );
  memberOp('adjust', 'Manual credit or debit with a reason', 'configure', AdjustBody, (request) =>
    ledger.adjust(programContextOf(request), { ...(request.body as Static<typeof AdjustBody>), member: request.params.memberId, idempotencyKey: ledgerKey(request) }),
  );

  const followUp = (action: 'capture' | 'release' | 'refund' | 'reverse', summary: string, scope: 'earn' | 'spend') =>
    app.post(
      `/v1/programs/:programId/transactions/:transactionId/${action}`,
      {
        config: { access: scope },
        schema: {
          tags,
          summary,
          params: Type.Object({ programId: Type.String(), transactionId: Type.String({ maxLength: 64 }) }),
          headers: IdempotencyHeader,
          body: Type.Optional(FollowUpBody),
          response: { 201: TransactionSchema, ...ledgerErrors },
        },
      },
      async (request, reply) => {
        const body = (request.body ?? {}) as Static<typeof FollowUpBody>;
        const input = { ...body, transactionId: request.params.transactionId, idempotencyKey: ledgerKey(request) };
        return answer(reply, await ledger[action](programContextOf(request), input));
      },
    );
  followUp('capture', 'Capture a hold (partially: the rest is released)', 'spend');
  followUp('release', 'Release a hold', 'spend');
  followUp('refund', 'Refund (part of) a spend back to the lots it came from', 'spend');
  followUp('reverse', 'Claw back (part of) an earn', 'earn');

  app.post(
    '/v1/programs/:programId/transfers',
    {
      config: { access: 'spend' },
      schema: {
        tags,
        summary: 'Transfer points between two members; the points keep their expiry',
        params: ProgramParams,
        headers: IdempotencyHeader,
        body: TransferBody,
        response: { 201: Type.Object({ out: TransactionSchema, in: TransactionSchema }), ...ledgerErrors },
      },
    },
    async (request, reply) => {
      const result = await ledger.transfer(programContextOf(request), { ...request.body, idempotencyKey: ledgerKey(request) });
      if (result.out.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(201).send(result);
    },
  );

  app.get(
    '/v1/programs/:programId/ledger/verify',
    {
      config: { access: 'admin' },
      schema: { tags, summary: 'Check every ledger invariant and list violations', params: ProgramParams, response: { 200: VerifySchema, ...commonErrors } },
    },
    async (request) => verifyLedger(app.db, programContextOf(request).program.id),
  );
}
