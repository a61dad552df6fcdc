import { Type } from 'typebox';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import { ClaimBody, ClaimSchema, CreateTaskBody, MemberTaskSchema, TaskSchema, UpdateTaskBody } from './tasks.schemas.js';
import type { TasksService } from './tasks.service.js';

const tags = ['tasks'];
const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };
const TaskParams = Type.Object({ programId: Type.String({ minLength: 1, maxLength: 64 }), taskId: Type.String({ minLength: 1, maxLength: 64, description: 'task id or code' }) });
const MemberTaskParams = Type.Object({
  programId: Type.String({ minLength: 1, maxLength: 64 }),
  memberId: Type.String({ minLength: 1, maxLength: 300 }),
  taskId: Type.String({ minLength: 1, maxLength: 64, description: 'task id or code' }),
});

export function taskRoutes(app: App, tasks: TasksService): void {
  app.get(
    '/v1/programs/:programId/tasks',
    {
      config: { access: 'read' },
      schema: {
        tags, summary: 'List tasks', params: ProgramParams,
        querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('archived')])) }, { additionalProperties: false }),
        response: { 200: Type.Object({ data: Type.Array(TaskSchema) }), ...commonErrors },
      },
    },
    async (request) => ({ data: await tasks.list(programContextOf(request), request.query) }),
  );

  app.post(
    '/v1/programs/:programId/tasks',
    {
      config: { access: 'configure' },
      schema: {
        tags, summary: 'Create a task: one-time or recurring, a target fed by events, rewards, auto or claimed', params: ProgramParams,
        body: CreateTaskBody, response: { 201: TaskSchema, ...errors },
      },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => tasks.create(programContextOf(request), request.body, trx)),
  );

  app.get(
    '/v1/programs/:programId/tasks/:taskId',
    { config: { access: 'read' }, schema: { tags, summary: 'Read a task', params: TaskParams, response: { 200: TaskSchema, ...commonErrors } } },
    async (request) => tasks.get(programContextOf(request), request.params.taskId),
  );

  app.patch(
    '/v1/programs/:programId/tasks/:taskId',
    {
      config: { access: 'configure' },
      schema: { tags, summary: 'Change a task (a period already started keeps its target)', params: TaskParams, body: UpdateTaskBody, response: { 200: TaskSchema, ...errors } },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => tasks.update(programContextOf(request), request.params.taskId, request.body, trx)),
  );

  app.get(
    '/v1/programs/:programId/members/:memberId/tasks',
    {
      config: { access: 'read' },
      schema: {
        tags, summary: "A member's open tasks with this period's progress and what each pays",
        params: Type.Object({ programId: Type.String(), memberId: Type.String({ minLength: 1, maxLength: 300 }) }),
        response: { 200: Type.Object({ data: Type.Array(MemberTaskSchema) }), ...commonErrors },
      },
    },
    async (request) => ({ data: await tasks.forMember(programContextOf(request), request.params.memberId) }),
  );

  app.post(
    '/v1/programs/:programId/members/:memberId/tasks/:taskId/claim',
    {
      config: { access: 'earn' },
      schema: {
        tags, summary: 'Claim the reward of a completed task (claimed tasks only); a second claim returns the first',
        params: MemberTaskParams, body: Type.Optional(ClaimBody), response: { 201: ClaimSchema, ...errors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 201, (trx) =>
        tasks.claim(programContextOf(request), request.params.memberId, request.params.taskId, request.body?.period, trx),
      ),
  );
}
