import { Type } from 'typebox';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import type { EarningConfigService, RuleKind } from './config.service.js';
import {
  BatchBody,
  CreateCampaignBody,
  CreateRuleBody,
  DecideReviewBody,
  EventBody,
  EventResultSchema,
  EventTypeSchema,
  PreviewBody,
  ReviewSchema,
  RuleVersionSchema,
  SaveEventTypeBody,
  StoredRuleSchema,
  UpdateCampaignBody,
  UpdateRuleBody,
} from './earning.schemas.js';
import { eventResultJson, type EventsService } from './events.service.js';
import type { ReviewsService } from './reviews.service.js';
import type { GrantsService } from './grants.service.js';
import { requireIdempotencyKey } from '../../http/idempotency.js';
import { DateTime } from '../../http/schemas.js';

export interface EarningRoutesDeps {
  config: EarningConfigService;
  events: EventsService;
  reviews: ReviewsService;
  grants: GrantsService;
}

const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };

export function earningRoutes(app: App, deps: EarningRoutesDeps): void {
  const { config, events, reviews, grants } = deps;

  app.post(
    '/v1/programs/:programId/events',
    {
      config: { access: 'earn' },
      schema: {
        tags: ['events'],
        summary: 'Report one behaviour event; exactly once per eventId (a replay returns the first result)',
        params: ProgramParams,
        body: EventBody,
        response: { 201: EventResultSchema, ...errors },
      },
    },
    async (request, reply) => {
      const result = await events.ingest(programContextOf(request), request.body);
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(201).type('application/json; charset=utf-8').send(eventResultJson(result));
    },
  );

  app.post(
    '/v1/programs/:programId/events::batch',
    {
      config: { access: 'earn' },
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        tags: ['events'],
        summary: 'Report up to 1,000 events in one call; each gets its own result (invalid ones are refused alone)',
        description:
          'Results carry their explanation only with `explain=true`: a batch of a thousand explanations is megabytes that bulk senders rarely read. ' +
          'Every explanation is stored either way: GET /events/{eventId} returns it.',
        params: ProgramParams,
        querystring: Type.Object({ explain: Type.Optional(Type.Boolean({ default: false, description: 'include each result’s explanation' })) }),
        body: BatchBody,
        response: { 200: Type.Object({ results: Type.Array(EventResultSchema) }), ...errors },
      },
    },
    async (request, reply) => {
      const results = await events.ingestBatch(programContextOf(request), request.body.events);
      const explain = request.query.explain === true;
      // Written by hand to send each stored explanation's text as it is, not serialised again.
      return reply.type('application/json; charset=utf-8').send(`{"results":[${results.map((r) => eventResultJson(r, explain)).join(',')}]}`);
    },
  );

  app.post(
    '/v1/programs/:programId/events::preview',
    {
      config: { access: 'read' },
      schema: {
        tags: ['events'],
        summary: 'Evaluate an event without side effects, with optional unsaved rules: the same breakdown a real award stores',
        params: ProgramParams,
        body: PreviewBody,
        response: { 200: EventResultSchema, ...errors },
      },
    },
    async (request) =>
      events.preview(programContextOf(request), { eventId: 'preview', ...request.body.event }, request.body.drafts),
  );

  app.get(
    '/v1/programs/:programId/events/:eventId',
    {
      config: { access: 'read' },
      schema: {
        tags: ['events'],
        summary: 'An event as processed, with its explanation',
        params: Type.Object({ programId: Type.String(), eventId: Type.String({ maxLength: 200 }) }),
        response: { 200: EventResultSchema, ...errors },
      },
    },
    async (request) => events.get(programContextOf(request), request.params.eventId),
  );

  app.get(
    '/v1/programs/:programId/event-types',
    {
      config: { access: 'read' },
      schema: { tags: ['events'], summary: 'Built-in and declared event types with their attribute schemas', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(EventTypeSchema) }), ...errors } },
    },
    async (request) => ({ data: await config.eventTypes(programContextOf(request)) }),
  );

  app.put(
    '/v1/programs/:programId/event-types/:code',
    {
      config: { access: 'configure' },
      schema: {
        tags: ['events'],
        summary: 'Declare (or change) a custom event type and its attribute schema',
        params: Type.Object({ programId: Type.String(), code: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }) }),
        body: SaveEventTypeBody,
        response: { 200: EventTypeSchema, ...errors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 200, (trx) =>
        config.saveEventType(programContextOf(request), trx, { code: request.params.code, ...request.body }),
      ),
  );

  for (const [kind, path, createBody, updateBody] of [
    ['rule', 'rules', CreateRuleBody, UpdateRuleBody],
    ['campaign', 'campaigns', CreateCampaignBody, UpdateCampaignBody],
  ] as const) {
    const tags = [path];
    const IdParams = Type.Object({ programId: Type.String(), id: Type.String({ maxLength: 64 }) });
    app.get(
      `/v1/programs/:programId/${path}`,
      {
        config: { access: 'read' },
        schema: {
          tags,
          summary: `List ${path}`,
          params: ProgramParams,
          querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('draft'), Type.Literal('active'), Type.Literal('paused'), Type.Literal('archived')])) }, { additionalProperties: false }),
          response: { 200: Type.Object({ data: Type.Array(StoredRuleSchema) }), ...errors },
        },
      },
      async (request) => ({ data: await config.list(programContextOf(request), kind as RuleKind, request.query.status) }),
    );
    app.post(
      `/v1/programs/:programId/${path}`,
      {
        config: { access: 'configure' },
        schema: { tags, summary: `Create a ${kind} (a draft unless status says otherwise)`, params: ProgramParams, body: createBody, response: { 201: StoredRuleSchema, ...errors } },
      },
      (request, reply) =>
        runIdempotent(app.db, request, reply, 201, (trx) => config.create(programContextOf(request), trx, kind, request.body as Record<string, unknown>)),
    );
    app.get(
      `/v1/programs/:programId/${path}/:id`,
      { config: { access: 'read' }, schema: { tags, summary: `Read a ${kind}`, params: IdParams, response: { 200: StoredRuleSchema, ...errors } } },
      async (request) => config.get(programContextOf(request), kind, request.params.id),
    );
    app.patch(
      `/v1/programs/:programId/${path}/:id`,
      {
        config: { access: 'configure' },
        schema: {
          tags,
          summary: `Change a ${kind} (or its status): saved as a new version; past awards keep the version they used`,
          params: IdParams,
          body: updateBody,
          response: { 200: StoredRuleSchema, ...errors },
        },
      },
      (request, reply) =>
        runIdempotent(app.db, request, reply, 200, (trx) =>
          config.update(programContextOf(request), trx, kind, request.params.id, request.body as Record<string, unknown>),
        ),
    );
    app.get(
      `/v1/programs/:programId/${path}/:id/versions`,
      { config: { access: 'read' }, schema: { tags, summary: `Every saved version of a ${kind}`, params: IdParams, response: { 200: Type.Object({ data: Type.Array(RuleVersionSchema) }), ...errors } } },
      async (request) => ({ data: await config.versions(programContextOf(request), kind, request.params.id) }),
    );
  }

  app.get(
    '/v1/programs/:programId/award-reviews',
    {
      config: { access: 'read' },
      schema: {
        tags: ['events'],
        summary: 'Awards held for review',
        params: ProgramParams,
        querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')])) }, { additionalProperties: false }),
        response: { 200: Type.Object({ data: Type.Array(ReviewSchema) }), ...errors },
      },
    },
    async (request) => ({ data: await reviews.list(programContextOf(request), request.query.status) }),
  );

  app.post(
    '/v1/programs/:programId/award-reviews/:id/decision',
    {
      config: { access: 'configure' },
      schema: {
        tags: ['events'],
        summary: 'Approve (credit the points) or reject a held award',
        params: Type.Object({ programId: Type.String(), id: Type.String({ maxLength: 64 }) }),
        body: DecideReviewBody,
        response: { 200: ReviewSchema, ...errors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 200, (trx) =>
        reviews.decide(programContextOf(request), trx, request.params.id, request.body.decision, request.body.note),
      ),
  );

  // CSV uploads arrive as text; the route parses them row by row with a report per line.
  if (!app.hasContentTypeParser('text/csv')) {
    app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 32 * 1024 * 1024 }, (_req, body, done) => done(null, body));
  }

  app.post(
    '/v1/programs/:programId/bulk-credits',
    {
      config: { access: 'configure' },
      bodyLimit: 32 * 1024 * 1024,
      schema: {
        tags: ['events'],
        summary: 'Credit points from a CSV (header: externalId,pointType,amount[,reason]); once per Idempotency-Key and line',
        params: ProgramParams,
        consumes: ['text/csv'],
        body: Type.String({ minLength: 1 }),
        response: {
          200: Type.Object({
            rows: Type.Integer(),
            credited: Type.Integer(),
            replayed: Type.Integer(),
            points: Type.Record(Type.String(), Type.Integer()),
            errors: Type.Array(Type.Object({ line: Type.Integer(), code: Type.String(), message: Type.String() })),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const key = requireIdempotencyKey(request, 'a bulk credit');
      const ctx = programContextOf(request);
      const parsed = grants.parseCsv(request.body);
      const report = await grants.bulkCredit(ctx, key, parsed.rows, (done, total) => request.log.info({ done, total }, 'bulk credit progress'));
      return { ...report, rows: report.rows + parsed.errors.length, errors: [...parsed.errors, ...report.errors].sort((a, b) => a.line - b.line) };
    },
  );

  const GrantSchema = Type.Object({
    id: Type.String(),
    name: Type.String(),
    pointType: Type.String(),
    amount: Type.Integer(),
    audience: Type.Unknown(),
    schedule: Type.Unknown(),
    status: Type.String(),
    nextRunAt: Type.Union([DateTime(), Type.Null()]),
    lastRunAt: Type.Union([DateTime(), Type.Null()]),
    lastResult: Type.Unknown(),
    createdAt: DateTime(),
  });

  app.get(
    '/v1/programs/:programId/grants',
    { config: { access: 'read' }, schema: { tags: ['events'], summary: 'Scheduled grants', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(GrantSchema) }), ...errors } } },
    async (request) => ({ data: await grants.list(programContextOf(request)) }),
  );

  app.post(
    '/v1/programs/:programId/grants',
    {
      config: { access: 'configure' },
      schema: {
        tags: ['events'],
        summary: 'Grant points to an audience once or every year (e.g. a yearly head start for co-branded card holders)',
        params: ProgramParams,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            pointType: Type.String({ maxLength: 32 }),
            amount: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
            audience: Type.Object(
              { tags: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50 })), joinedBefore: Type.Optional(DateTime()) },
              { additionalProperties: false },
            ),
            schedule: Type.Union([
              Type.Object({ at: DateTime() }, { additionalProperties: false }),
              Type.Object(
                { every: Type.Literal('year'), month: Type.Integer({ minimum: 1, maximum: 12 }), day: Type.Integer({ minimum: 1, maximum: 31 }) },
                { additionalProperties: false },
              ),
            ]),
          },
          { additionalProperties: false },
        ),
        response: { 201: GrantSchema, ...errors },
      },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => grants.create(programContextOf(request), trx, request.body)),
  );
}
