import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, httpStatusOf, isAppError, type ErrorCode } from '../core/errors.js';

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

function body(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed_json',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
};

// Connection-level failures of PostgreSQL: the API says "try again" instead of "broken".
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '53300']);

function isDatabaseUnavailable(err: { code?: string; message?: string }): boolean {
  if (err.code && (UNAVAILABLE_CODES.has(err.code) || err.code.startsWith('08'))) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(err.message ?? '');
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError & { code?: string }, request: FastifyRequest, reply: FastifyReply) => {
    if (isAppError(err)) {
      return reply.status(httpStatusOf(err.code)).send(body(err.code, err.message, err.details));
    }
    if (err.validation) {
      const details = err.validation.map((v) => ({
        path: v.instancePath || '/',
        message: v.message,
        keyword: v.keyword,
        params: v.params,
      }));
      const part = err.validationContext ?? 'body';
      const first = details[0];
      const message = `${part}${first?.path && first.path !== '/' ? first.path.replace(/\//g, '.') : ''} ${first?.message ?? 'is invalid'}${
        first?.keyword === 'additionalProperties' ? `: "${(first.params as { additionalProperty?: string }).additionalProperty}"` : ''
      }`;
      return reply.status(400).send(body('validation_failed', message, details));
    }
    const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (mapped) return reply.status(httpStatusOf(mapped)).send(body(mapped, err.message));
    if (isDatabaseUnavailable(err)) {
      request.log.warn({ err: { code: err.code, message: err.message } }, 'database unavailable');
      return reply.status(503).header('retry-after', '2').send(body('unavailable', 'the database is unavailable; retry shortly'));
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(400).send(body('validation_failed', err.message));
    }
    request.log.error({ err }, 'unhandled error');
    if (process.env.LAUREL_DEBUG_ERRORS) console.error(err);
    return reply.status(500).send(body('internal', 'internal error'));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(body('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}

export { AppError };
