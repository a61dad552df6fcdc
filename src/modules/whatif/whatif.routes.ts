import { Type } from 'typebox';
import { AppError } from '../../core/errors.js';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, PageOf, PageQuery, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import type { DraftDocument } from './drafts.js';
import { replayCsv, simulationCsv } from './report.js';
import type { ReplayResult } from './replay.js';
import type { SimulationResult } from './simulate.js';
import type { WhatifService } from './whatif.service.js';
import { DraftBody, DraftPatch, DraftSchema, ReplayBody, RunSchema, SimulationBody } from './whatif.schemas.js';

const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };
const tags = ['what-if'];
const base = '/v1/programs/:programId/whatif';
const DraftParams = Type.Object({ programId: Type.String(), draftId: Type.String({ maxLength: 64 }) });
const RunParams = Type.Object({ programId: Type.String(), runId: Type.String({ maxLength: 64 }) });

export function whatifRoutes(app: App, whatif: WhatifService): void {
  // A queued run starts once the request that queued it has committed.
  const start = () => void whatif.kick().catch((err) => app.log.error({ err }, 'what-if runs failed to start'));

  app.get(`${base}/drafts`, { config: { access: 'read' }, schema: { tags, summary: 'Draft configurations of the program', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(DraftSchema) }), ...errors } } }, async (request) => ({
    data: await whatif.listDrafts(programContextOf(request)),
  }));

  app.post(
    `${base}/drafts`,
    { config: { access: 'configure' }, schema: { tags, summary: 'Hold a draft beside the live configuration (checked by the same validators)', params: ProgramParams, body: DraftBody, response: { 201: DraftSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => whatif.createDraft(programContextOf(request), trx, { name: request.body.name, document: request.body.document as DraftDocument })),
  );

  app.get(`${base}/drafts/:draftId`, { config: { access: 'read' }, schema: { tags, summary: 'A draft', params: DraftParams, response: { 200: DraftSchema, ...errors } } }, (request) =>
    whatif.getDraft(programContextOf(request), request.params.draftId),
  );

  app.patch(
    `${base}/drafts/:draftId`,
    { config: { access: 'configure' }, schema: { tags, summary: 'Rename a draft or replace its document', params: DraftParams, body: DraftPatch, response: { 200: DraftSchema, ...errors } } },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 200, (trx) =>
        whatif.updateDraft(programContextOf(request), trx, request.params.draftId, { name: request.body.name, document: request.body.document as DraftDocument | undefined }),
      ),
  );

  app.delete(`${base}/drafts/:draftId`, { config: { access: 'configure' }, schema: { tags, summary: 'Delete a draft (its runs are kept)', params: DraftParams, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    await app.db.transaction().execute((trx) => whatif.deleteDraft(programContextOf(request), trx, request.params.draftId));
    return reply.status(204).send();
  });

  app.post(
    `${base}/replays`,
    {
      config: { access: 'configure' },
      schema: {
        tags,
        summary: 'Replay recorded events under a draft (a saved one, an inline document, or none: the live rules) without touching live data; runs in the background',
        params: ProgramParams,
        body: ReplayBody,
        response: { 202: RunSchema, ...errors },
      },
    },
    async (request, reply) => {
      const out = await runIdempotent(app.db, request, reply, 202, (trx) => whatif.startReplay(programContextOf(request), trx, { ...request.body, document: request.body.document as DraftDocument | undefined }));
      start();
      return out;
    },
  );

  app.post(
    `${base}/simulations`,
    {
      config: { access: 'configure' },
      schema: { tags, summary: 'Simulate synthetic members month by month on a sandbox program (seeded: reproducible); runs in the background', params: ProgramParams, body: SimulationBody, response: { 202: RunSchema, ...errors } },
    },
    async (request, reply) => {
      const out = await runIdempotent(app.db, request, reply, 202, (trx) => whatif.startSimulation(programContextOf(request), trx, request.body));
      start();
      return out;
    },
  );

  app.get(`${base}/runs`, { config: { access: 'read' }, schema: { tags, summary: 'Runs, newest first (without their results)', params: ProgramParams, querystring: PageQuery, response: { 200: PageOf(RunSchema), ...errors } } }, (request) =>
    whatif.listRuns(programContextOf(request), request.query),
  );

  app.get(
    `${base}/runs/:runId`,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'A run: status, progress, and its result when done (format=csv: the result as text/csv)',
        params: RunParams,
        querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])) }, { additionalProperties: false }),
        response: { 200: RunSchema, ...errors },
      },
    },
    async (request, reply) => {
      const run = await whatif.getRun(programContextOf(request), request.params.runId);
      const wantsCsv = request.query.format === 'csv' || (request.query.format === undefined && /\btext\/csv\b/.test(request.headers.accept ?? ''));
      if (!wantsCsv) return run;
      if (!run.result) throw new AppError('illegal_transition', `run ${run.id} has no result yet (${run.status})`, { status: run.status });
      const text = run.kind === 'replay' ? replayCsv(run.result as ReplayResult) : simulationCsv(run.result as SimulationResult);
      return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${run.id}.csv"`).serializer((x: unknown) => x as string).send(text);
    },
  );

  app.post(
    `${base}/runs/:runId(^[a-z0-9_]+)::cancel`,
    { config: { access: 'configure' }, schema: { tags, summary: 'Cancel a run: a queued one at once, a running one at its next chunk', params: RunParams, response: { 200: RunSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => whatif.cancel(programContextOf(request), trx, request.params.runId)),
  );
}
