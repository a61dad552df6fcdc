import type { FastifyServerOptions } from 'fastify';
import { Type } from 'typebox';
import { systemClock, type Clock } from './core/clock.js';
import { rawQuery, type Database, type Trx } from './db/database.js';
import { installAuth } from './http/auth.js';
import { createHttp } from './http/server.js';
import type { App } from './http/types.js';
import { JobRegistry, type JobDefinition } from './jobs/job.js';
import { SandboxClock } from './jobs/sandbox-clock.js';
import { Scheduler } from './jobs/scheduler.js';
import { AccessService } from './modules/access/index.js';
import { accessRoutes } from './modules/access/access.routes.js';
import { MembersService } from './modules/members/index.js';
import { memberRoutes } from './modules/members/members.routes.js';
import { ProgramsService } from './modules/programs/index.js';
import { programRoutes } from './modules/programs/programs.routes.js';

export const VERSION = '0.1.0';

export interface Services {
  programs: ProgramsService;
  access: AccessService;
  members: MembersService;
  sandboxClock: SandboxClock;
}

export interface Laurel {
  database: Database;
  services: Services;
  jobs: JobRegistry;
  http: App;
  scheduler: Scheduler;
  close(): Promise<void>;
}

export interface LaurelOptions {
  database: Database;
  logger?: FastifyServerOptions['logger'];
  /** the deployment clock (program clocks derive from it for live programs) */
  clock?: Clock;
}

/**
 * Compose Laurel: services over one database, their jobs, and the HTTP API. Nothing listens
 * or runs in the background until the caller says so (`serve`), so tests use the same object.
 */
export async function createLaurel(options: LaurelOptions): Promise<Laurel> {
  const { database } = options;
  const db = database.db;
  const clock = options.clock ?? systemClock;

  const programs = new ProgramsService(db, clock);
  const access = new AccessService(db, clock);
  const members = new MembersService(db);
  const jobs = new JobRegistry();
  const sandboxClock = new SandboxClock(db, programs, jobs);
  const services: Services = { programs, access, members, sandboxClock };

  const jobDefinitions: JobDefinition[] = [];
  for (const job of jobDefinitions) jobs.register(job);
  const programSetup: Array<(trx: Trx, programId: string) => Promise<void>> = [];

  const http = await createHttp({ logger: options.logger ?? false, db, version: VERSION });
  const programCache = installAuth(http, access, programs);

  http.get(
    '/health',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Liveness and database reachability',
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok'), engine: Type.String(), version: Type.String() }) },
      },
    },
    async () => {
      await rawQuery(db, 'select 1');
      return { status: 'ok' as const, engine: database.engine, version: VERSION };
    },
  );
  programRoutes(http, {
    programs,
    sandboxClock,
    forget: (id) => programCache.forget(id),
    onCreated: async (trx, programId) => {
      for (const setup of programSetup) await setup(trx, programId);
    },
  });
  accessRoutes(http, access);
  memberRoutes(http, members);

  const scheduler = new Scheduler(db, jobs, http.log, clock);

  return {
    database,
    services,
    jobs,
    http,
    scheduler,
    async close() {
      await scheduler.stop();
      await http.close();
      await database.close();
    },
  };
}
