import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * Where `vite build` put the console: `dist/console` at the package root, whether this file runs
 * from `src/http` (tsx) or from `dist/src/http` (the build).
 */
export function consoleDir(): string | null {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [join(here, '..', '..', 'dist', 'console'), join(here, '..', '..', 'console')];
  return candidates.find((dir) => existsSync(join(dir, 'console.html')) && existsSync(join(dir, 'assets'))) ?? null;
}

/**
 * The built console at `/console` and the member portal at `/portal`: hashed assets are cached
 * for a year, the two HTML entry points never (so a new build is picked up at once). Both are
 * single-page apps, so any path under them answers with its entry point.
 */
export function serveConsole(app: FastifyInstance, dir: string | null = consoleDir()): void {
  const send = async (reply: FastifyReply, file: string, cache: string) => {
    const body = await readFile(file);
    return reply
      .header('content-type', TYPES[extname(file)] ?? 'application/octet-stream')
      .header('cache-control', cache)
      .header('x-content-type-options', 'nosniff')
      .send(body);
  };
  const page = (entry: 'console' | 'portal') => async (_request: unknown, reply: FastifyReply) => {
    if (!dir) return reply.status(503).header('content-type', 'text/plain').send('The console is not built: run `npm run build`.\n');
    reply.header('content-security-policy', "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
    reply.header('x-frame-options', 'DENY');
    return send(reply, join(dir, `${entry}.html`), 'no-cache');
  };
  const config = { access: 'public' as const };
  const schema = { hide: true };
  for (const entry of ['console', 'portal'] as const) {
    app.get(`/${entry}`, { config, schema }, page(entry));
    app.get(`/${entry}/*`, { config, schema }, page(entry));
  }
  app.get('/console/assets/*', { config, schema }, async (request, reply) => {
    if (!dir) return reply.status(404).send();
    const rest = (request.params as { '*': string })['*'];
    const root = join(dir, 'assets');
    const file = normalize(join(root, rest));
    if (!file.startsWith(root + sep)) return reply.status(404).send();
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return reply.status(404).send();
    return send(reply, file, 'public, max-age=31536000, immutable');
  });
}
