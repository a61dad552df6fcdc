import type { Trx } from '../../db/database.js';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, PageOf, PageQuery, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import type { SandboxClock } from '../../jobs/sandbox-clock.js';
import type { CreateProgramInput, Program, ProgramsService } from './programs.service.js';
import { AdvanceClockBody, ClockSchema, CreateProgramBody, ProgramSchema, UpdateProgramBody } from './programs.schemas.js';

export interface ProgramRoutesDeps {
  programs: ProgramsService;
  sandboxClock: SandboxClock;
  /** called after a program changes so cached copies are dropped */
  forget: (programId: string) => void;
  /** creates a program with every module's defaults (e.g. its point types) */
  create: (input: CreateProgramInput, trx: Trx) => Promise<Program>;
}

const tags = ['programs'];

export function programRoutes(app: App, deps: ProgramRoutesDeps): void {
  const { programs } = deps;

  app.post(
    '/v1/programs',
    {
      config: { access: 'deployment' },
      schema: {
        tags,
        summary: 'Create a program (deployment admin key)',
        body: CreateProgramBody,
        response: { 201: ProgramSchema, ...commonErrors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 201, (trx) => deps.create(request.body, trx)),
  );

  app.get(
    '/v1/programs',
    {
      config: { access: 'read' },
      schema: { tags, summary: 'List programs (a program key sees its own)', querystring: PageQuery, response: { 200: PageOf(ProgramSchema), ...commonErrors } },
    },
    async (request) => {
      const principal = request.principal!;
      return programs.list(request.query, principal.kind === 'program_key' ? [principal.programId] : undefined);
    },
  );

  app.get(
    '/v1/programs/:programId',
    {
      config: { access: 'read' },
      schema: { tags, summary: 'Read a program', params: ProgramParams, response: { 200: ProgramSchema, ...commonErrors } },
    },
    async (request) => programs.get(request.params.programId),
  );

  app.patch(
    '/v1/programs/:programId',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Update a program',
        params: ProgramParams,
        body: UpdateProgramBody,
        response: { 200: ProgramSchema, ...commonErrors },
      },
    },
    async (request, reply) => {
      const result = await runIdempotent(app.db, request, reply, 200, (trx) =>
        programs.update(request.params.programId, request.body, trx, programContextOf(request)),
      );
      deps.forget(request.params.programId);
      return result;
    },
  );

  app.get(
    '/v1/programs/:programId/clock',
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'Read the test clock of a sandbox program',
        params: ProgramParams,
        response: { 200: ClockSchema, 409: ErrorResponse, ...commonErrors },
      },
    },
    async (request) => deps.sandboxClock.read(request.params.programId),
  );

  app.post(
    '/v1/programs/:programId/clock/advance',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Advance the test clock of a sandbox program, running every job due in between as of its due time',
        params: ProgramParams,
        body: AdvanceClockBody,
        response: { 200: ClockSchema, 409: ErrorResponse, 422: ErrorResponse, ...commonErrors },
      },
    },
    async (request) => deps.sandboxClock.advance(request.params.programId, request.body),
  );
}
