import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../core/errors.js';
import { cookieOf, sameSecret, SESSION_COOKIE } from '../../http/auth.js';
import { commonErrors, DateTime, ErrorResponse, Nullable } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import { ROLES, type OperatorsService } from './operators.service.js';

const tags = ['console'];
const Role = Type.Union(ROLES.map((r) => Type.Literal(r)));
const OperatorSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Nullable(Type.String()),
  role: Role,
  createdAt: DateTime(),
  disabledAt: Nullable(DateTime()),
});
const SessionSchema = Type.Object({ operator: OperatorSchema, csrfToken: Type.String(), expiresAt: DateTime() });
const errors = { ...commonErrors, 409: ErrorResponse };

/** Secure where the browser will keep a Secure cookie: HTTPS, or a loopback origin in development. */
function cookieFlags(request: FastifyRequest): string {
  const host = (request.hostname ?? '').replace(/:\d+$/, '');
  const secure = request.protocol === 'https' || host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
  return `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

async function sessionOf(request: FastifyRequest, operators: OperatorsService) {
  const token = cookieOf(request, SESSION_COOKIE);
  const session = token ? await operators.authenticate(token) : null;
  if (!token || !session) throw new AppError('unauthorized', 'not signed in to the console');
  return { token, session };
}

function checkCsrf(request: FastifyRequest, csrfToken: string): void {
  if (!sameSecret(String(request.headers['x-csrf-token'] ?? ''), csrfToken)) throw new AppError('forbidden', 'a console write needs the X-CSRF-Token header of its session');
}

/** Console sign-in, sign-out and operator accounts. The routes are public to the API-key hook: they check the session themselves. */
export function operatorRoutes(app: App, operators: OperatorsService): void {
  app.post(
    '/v1/console/session',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Sign in to the console: sets an HTTP-only session cookie and returns the CSRF token for writes',
        security: [],
        body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 100 }), password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 201: SessionSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { token, ...session } = await operators.login(request.body.username, request.body.password);
      reply.header('set-cookie', `${SESSION_COOKIE}=${token}; ${cookieFlags(request)}; Max-Age=${12 * 3600}`);
      return reply.status(201).send(session);
    },
  );

  app.get(
    '/v1/console/session',
    { config: { access: 'public' }, schema: { tags, summary: 'The signed-in operator and the CSRF token of the session', security: [], response: { 200: SessionSchema, ...errors } } },
    async (request) => (await sessionOf(request, operators)).session,
  );

  app.delete(
    '/v1/console/session',
    { config: { access: 'public' }, schema: { tags, summary: 'Sign out: ends the session', security: [], response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      const { token, session } = await sessionOf(request, operators);
      checkCsrf(request, session.csrfToken);
      await operators.logout(token);
      reply.header('set-cookie', `${SESSION_COOKIE}=; ${cookieFlags(request)}; Max-Age=0`);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/console/operators',
    { config: { access: 'public' }, schema: { tags, summary: 'Operator accounts (admin operators)', security: [], response: { 200: Type.Object({ data: Type.Array(OperatorSchema) }), ...errors } } },
    async (request) => {
      const { session } = await sessionOf(request, operators);
      if (session.operator.role !== 'admin') throw new AppError('forbidden', 'only an admin operator manages operators');
      return { data: await operators.list() };
    },
  );

  app.post(
    '/v1/console/operators',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Create an operator account (admin operators)',
        security: [],
        body: Type.Object(
          { username: Type.String({ pattern: '^[a-zA-Z0-9_.@-]{2,100}$' }), password: Type.String({ minLength: 10, maxLength: 200 }), role: Role, displayName: Type.Optional(Type.String({ maxLength: 100 })) },
          { additionalProperties: false },
        ),
        response: { 201: OperatorSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { session } = await sessionOf(request, operators);
      checkCsrf(request, session.csrfToken);
      if (session.operator.role !== 'admin') throw new AppError('forbidden', 'only an admin operator manages operators');
      return reply.status(201).send(await operators.create(request.body));
    },
  );
}
