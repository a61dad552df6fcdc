import { Type } from 'typebox';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, MemberParams, PageOf, PageQuery, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import type { Ladder, LadderConfigInput } from './tiers.model.js';
import {
  AssignBody,
  HistoryEntrySchema,
  LadderBody,
  LadderSchema,
  MemberTierSchema,
  MetricValueBody,
  MetricValueResult,
  PurchaseBody,
  PurchaseResultSchema,
} from './tiers.schemas.js';
import type { TiersService } from './tiers.service.js';

const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };
const tags = ['tiers'];

export function toLadderResponse(l: Ladder) {
  return {
    id: l.id,
    code: l.code,
    name: l.name,
    version: l.version,
    metrics: l.metrics,
    tiers: l.tiers.map((t) => ({
      id: t.id,
      code: t.code,
      name: t.name,
      rank: t.rank,
      colour: t.colour ?? null,
      icon: t.icon ?? null,
      description: t.description ?? null,
      qualification: t.qualification ?? null,
      retention: t.retention ?? null,
      validity: t.validity ?? null,
      purchase: t.purchase ?? null,
    })),
    evaluation: l.policy.evaluation,
    downgrade: l.policy.downgrade,
    counters: l.policy.counters,
    lifetime: l.policy.lifetime,
    baseTier: l.tiers[l.baseRank - 1]?.code ?? null,
    updatedAt: l.updatedAt,
  };
}

export function tierRoutes(app: App, tiers: TiersService): void {
  app.get(
    '/v1/programs/:programId/tiers',
    { config: { access: 'read' }, schema: { tags, summary: 'The tier ladder: tiers, metrics, evaluation and downgrade policies', params: ProgramParams, response: { 200: LadderSchema, ...errors } } },
    async (request) => toLadderResponse(await tiers.config.require(programContextOf(request).program.id)),
  );

  app.put(
    '/v1/programs/:programId/tiers',
    {
      config: { access: 'configure' },
      schema: {
        tags,
        summary: 'Configure the ladder (tiers lowest first, their qualification, retention and validity; metrics; policies). Tiers keep their ids by code.',
        params: ProgramParams,
        body: LadderBody,
        response: { 200: LadderSchema, ...errors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 200, async (trx) => toLadderResponse(await tiers.config.save(programContextOf(request), trx, request.body as LadderConfigInput))),
  );

  app.get(
    '/v1/programs/:programId/members/:memberId/tier',
    {
      config: { access: 'read' },
      schema: { tags, summary: 'The member’s tier, where it comes from, its validity, and progress to the next tier and to keep this one', params: MemberParams, response: { 200: MemberTierSchema, ...errors } },
    },
    async (request) => tiers.view(programContextOf(request), request.params.memberId),
  );

  app.get(
    '/v1/programs/:programId/members/:memberId/tier/history',
    {
      config: { access: 'read' },
      schema: { tags, summary: 'Every tier change of the member, newest first, with its cause and the tier’s configuration then', params: MemberParams, querystring: Type.Object(PageQuery.properties, { additionalProperties: false }), response: { 200: PageOf(HistoryEntrySchema), ...errors } },
    },
    async (request) => tiers.history(programContextOf(request), request.params.memberId, request.query),
  );

  app.put(
    '/v1/programs/:programId/members/:memberId/tier/assignment',
    {
      config: { access: 'configure' },
      schema: {
        tags,
        summary: 'Assign a tier by hand until a date, with a reason: it replaces the earned tier (up or down) until then, and shows in the history',
        params: MemberParams,
        body: AssignBody,
        response: { 200: MemberTierSchema, ...errors },
      },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => tiers.assign(programContextOf(request), trx, request.params.memberId, request.body)),
  );

  app.delete(
    '/v1/programs/:programId/members/:memberId/tier/assignment',
    {
      config: { access: 'configure' },
      schema: {
        tags,
        summary: 'End a manual assignment now',
        params: MemberParams,
        querystring: Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) }, { additionalProperties: false }),
        response: { 200: MemberTierSchema, ...errors },
      },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => tiers.endAssignment(programContextOf(request), trx, request.params.memberId, request.query.reason)),
  );

  app.post(
    '/v1/programs/:programId/members/:memberId/tier/purchases',
    {
      // Spends the member's points (or records their payment): the spend scope.
      config: { access: 'spend' },
      schema: {
        tags,
        summary: 'Buy a tier for a period with points (spent through the ledger) or with money the host collected; buying the held tier again extends it',
        params: MemberParams,
        body: PurchaseBody,
        response: { 201: PurchaseResultSchema, ...errors },
      },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => tiers.purchase(programContextOf(request), trx, request.params.memberId, request.body)),
  );

  app.put(
    '/v1/programs/:programId/members/:memberId/tier/metrics/:metric',
    {
      config: { access: 'earn' },
      schema: {
        tags,
        summary: 'Set a host-computed metric (a value for a day, or the current value); an upgrade it earns happens at once',
        params: Type.Object({ ...MemberParams.properties, metric: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }) }),
        body: MetricValueBody,
        response: { 200: MetricValueResult, ...errors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 200, (trx) => tiers.setMetric(programContextOf(request), trx, request.params.memberId, request.params.metric, request.body)),
  );
}
