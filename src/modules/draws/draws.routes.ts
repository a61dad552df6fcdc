import { Type } from 'typebox';
import { inTransaction } from '../../db/database.js';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, DateTime, ErrorResponse, Nullable, PageOf, PageQuery, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import { requireIdempotencyKey } from '../../http/idempotency.js';
import { Shipping } from '../mall/mall.schemas.js';
import type { DrawsService } from './draws.service.js';

const tags = ['draws'];
const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };
const programId = Type.String({ minLength: 1, maxLength: 64 });
const DrawParams = Type.Object({ programId, drawId: Type.String({ minLength: 1, maxLength: 64 }) });
const PrizeParams = Type.Object({ programId, drawId: Type.String({ minLength: 1, maxLength: 64 }), prizeId: Type.String({ minLength: 1, maxLength: 64 }) });
const Presentation = Type.Union(['wheel', 'slot', 'scratch', 'blind_box'].map((k) => Type.Literal(k)), { description: 'how the portal shows the draw' });
const Status = Type.Union(['draft', 'active', 'paused', 'ended'].map((k) => Type.Literal(k)));
const PrizeKind = Type.Union(['points', 'item', 'benefit', 'thanks'].map((k) => Type.Literal(k)));

const PrizeBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    kind: PrizeKind,
    weight: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
    stock: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 1_000_000_000 }))),
    points: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000 })),
    skuId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    benefitCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    limitPerMember: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
    fallback: Type.Optional(Type.Boolean({ description: 'given when the drawn prize is out of stock or over a limit; exactly one' })),
  },
  { additionalProperties: false },
);

const drawFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
  presentation: Presentation,
  status: Type.Optional(Status),
  costPoints: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'points per play beyond the free ones' })),
  freePlaysPerDay: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  dailyPlayLimit: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 100_000 }))),
  winLimitPerMember: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 1_000_000 }))),
  startsAt: Type.Optional(Nullable(DateTime())),
  endsAt: Type.Optional(Nullable(DateTime())),
};

const CreateDrawBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.\\-]+$' }), ...drawFields, prizes: Type.Array(PrizeBody, { minItems: 1, maxItems: 50 }) },
  { additionalProperties: false },
);
const UpdateDrawBody = Type.Object(
  { ...drawFields, name: Type.Optional(drawFields.name), presentation: Type.Optional(Presentation) },
  { additionalProperties: false, minProperties: 1 },
);
const UpdatePrizeBody = Type.Object(
  {
    weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
    stock: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 1_000_000_000 }))),
    stockDelta: Type.Optional(Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

const PrizeSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: PrizeKind,
  weight: Type.Integer(),
  probability: Type.Number({ description: 'the published odds: weight / total weight' }),
  stock: Nullable(Type.Integer()),
  awarded: Type.Integer(),
  points: Nullable(Type.Integer()),
  skuId: Nullable(Type.String()),
  benefitId: Nullable(Type.String()),
  limitPerMember: Nullable(Type.Integer()),
  fallback: Type.Boolean(),
  sortOrder: Type.Integer(),
});

const DrawSchema = Type.Object(
  {
    id: Type.String(),
    code: Type.String(),
    name: Type.String(),
    description: Nullable(Type.String()),
    presentation: Presentation,
    status: Status,
    pointType: Type.String(),
    costPoints: Type.Integer(),
    freePlaysPerDay: Type.Integer(),
    dailyPlayLimit: Nullable(Type.Integer()),
    winLimitPerMember: Nullable(Type.Integer()),
    startsAt: Nullable(DateTime()),
    endsAt: Nullable(DateTime()),
    totalWeight: Type.Integer(),
    prizes: Type.Array(PrizeSchema),
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
  { $id: 'Draw' },
);

const PlaySchema = Type.Object({
  id: Type.String(),
  drawId: Type.String(),
  memberId: Type.String(),
  randomValue: Type.Integer({ description: 'uniform in [0, totalWeight), from a cryptographic source' }),
  totalWeight: Type.Integer(),
  drawnPrizeId: Nullable(Type.String()),
  prize: Nullable(Type.Object({ id: Type.String(), name: Type.String(), kind: PrizeKind })),
  fallbackReason: Nullable(Type.String()),
  costPoints: Type.Integer(),
  free: Type.Boolean(),
  reward: Nullable(Type.Record(Type.String(), Type.Unknown())),
  playedAt: DateTime(),
  replayed: Type.Boolean(),
});

const PlayBody = Type.Object(
  { memberId: Type.String({ minLength: 1, maxLength: 300 }), shipping: Type.Optional(Shipping) },
  { additionalProperties: false },
);
const PlayListQuery = Type.Object({ ...PageQuery.properties, memberId: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })) }, { additionalProperties: false });

export function drawRoutes(app: App, draws: DrawsService): void {
  const base = '/v1/programs/:programId/draws';
  app.post(base, { config: { access: 'configure' }, schema: { tags, summary: 'Create a draw with its prize pool', params: ProgramParams, body: CreateDrawBody, response: { 201: DrawSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => draws.create(trx, programContextOf(request), request.body)));
  app.get(base, { config: { access: 'read' }, schema: { tags, summary: 'Draws with their published odds', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(DrawSchema) }), ...commonErrors } } },
    async (request) => ({ data: await draws.list(programContextOf(request)) }));
  app.get(`${base}/:drawId`, { config: { access: 'read' }, schema: { tags, summary: 'A draw (by id or code) with its published odds', params: DrawParams, response: { 200: DrawSchema, ...commonErrors } } },
    async (request) => draws.get(programContextOf(request), request.params.drawId));
  app.patch(`${base}/:drawId`, { config: { access: 'configure' }, schema: { tags, summary: 'Change a draw', params: DrawParams, body: UpdateDrawBody, response: { 200: DrawSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => draws.update(trx, programContextOf(request), request.params.drawId, request.body)));
  app.patch(`${base}/:drawId/prizes/:prizeId`, { config: { access: 'configure' }, schema: { tags, summary: "Change a prize's weight or stock", params: PrizeParams, body: UpdatePrizeBody, response: { 200: DrawSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => draws.updatePrize(trx, programContextOf(request), request.params.drawId, request.params.prizeId, request.body)));
  app.post(
    `${base}/:drawId/plays`,
    { config: { access: 'spend' }, schema: { tags, summary: 'Play once (Idempotency-Key required)', params: DrawParams, body: PlayBody, response: { 201: PlaySchema, ...errors } } },
    async (request, reply) => {
      const ctx = programContextOf(request);
      const key = requireIdempotencyKey(request);
      const play = await inTransaction(app.db, (trx) => draws.play(trx, ctx, { drawId: request.params.drawId, memberId: request.body.memberId, shipping: request.body.shipping, idempotencyKey: key }));
      if (play.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(201).send(play);
    },
  );
  app.get(`${base}/:drawId/plays`, { config: { access: 'read' }, schema: { tags, summary: 'Plays with their random values and outcomes, newest first', params: DrawParams, querystring: PlayListQuery, response: { 200: PageOf(PlaySchema), ...commonErrors } } },
    async (request) => draws.listPlays(programContextOf(request), request.params.drawId, request.query));
}
