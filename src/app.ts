import type { FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import { fixedClock, systemClock, type Clock } from './core/clock.js';
import type { ProgramContext } from './core/context.js';
import { Hooks } from './core/hooks.js';
import { rawQuery, type Database, type Trx } from './db/database.js';
import type { DB } from './db/schema.js';
import { installAuth } from './http/auth.js';
import { createHttp } from './http/server.js';
import type { App } from './http/types.js';
import { JobRegistry, type JobDefinition } from './jobs/job.js';
import { SandboxClock } from './jobs/sandbox-clock.js';
import { Scheduler } from './jobs/scheduler.js';
import { AccessService } from './modules/access/index.js';
import { earningModule } from './modules/earning/index.js';
import { accessRoutes } from './modules/access/access.routes.js';
import { LedgerQueries, LedgerService, PointTypesService, ledgerJobs } from './modules/ledger/index.js';
import { ledgerRoutes } from './modules/ledger/ledger.routes.js';
import { engagementModule } from './modules/engagement/index.js';
import { MembersService } from './modules/members/index.js';
import { memberRoutes } from './modules/members/members.routes.js';
import { ProgramsService, clockOf, type CreateProgramInput, type Program } from './modules/programs/index.js';
import { programRoutes } from './modules/programs/programs.routes.js';
import { spendingModules } from './modules/mall/module.js';
import { privilegesModule, type BenefitsService } from './modules/benefits/index.js';
import { tiersModule, type TiersService } from './modules/tiers/index.js';
import { plansModule } from './modules/plans/index.js';
import { analyticsModule } from './modules/analytics/index.js';
import { auditModule } from './modules/audit/index.js';
import { webhooksModule } from './modules/webhooks/index.js';
import { OperatorsService, ROLE_SCOPES, operatorRoutes, portalRoutes } from './modules/operators/index.js';
import type { DrawsService } from './modules/draws/index.js';
import type { EngagementService } from './modules/engagement/index.js';
import type { MallService } from './modules/mall/index.js';
import { serveConsole } from './http/static.js';
import { installRateLimit, type RateLimitOptions } from './http/rate-limit.js';
import { whatifModule } from './modules/whatif/index.js';
import { pagesModule, type PagesService } from './modules/pages/index.js';

export const VERSION = '0.1.0';

/** The services every domain module may build on. */
export interface CoreServices {
  programs: ProgramsService;
  access: AccessService;
  members: MembersService;
  sandboxClock: SandboxClock;
  pointTypes: PointTypesService;
  ledger: LedgerService;
  ledgerQueries: LedgerQueries;
}

/** What a domain module receives when Laurel is composed. */
export interface ModuleDeps {
  db: Kysely<DB>;
  clock: Clock;
  core: CoreServices;
  hooks: Hooks;
  /** how many connections a long sweep may use at once (1 on the embedded engine's one session) */
  sweepWalkers: number;
}

/**
 * A domain module as the composition sees it: its service (reachable as `laurel.services[name]`),
 * its jobs, its defaults for a new program, and its routes. Modules talk to each other through
 * services and hooks, never through each other's tables.
 */
export interface LaurelModule<S = unknown> {
  name: string;
  service: S;
  jobs?: JobDefinition[];
  setupProgram?: (trx: Trx, ctx: ProgramContext) => Promise<void>;
  routes?: (app: App) => void;
}

/** Domain modules beyond the core, in dependency order. Each line composes one module. */
function domainModules(deps: ModuleDeps): LaurelModule[] {
  const spending = spendingModules(deps);
  // Task rewards grant benefits: engagement gets the benefits service the spending modules built.
  const benefits = spending.find((m) => m.name === 'benefits')!.service as BenefitsService;
  const earning = earningModule(deps);
  const tiers = tiersModule(deps);
  // Privileges bound to tiers and plans, and paid plans: after the modules they build on.
  const privileges = privilegesModule(deps, benefits);
  privileges.service.bindings.registerHolderSource('tier', (exec, ctx, code) => tiers.service.membersAt(exec, ctx, code));
  const plans = plansModule(deps, {
    benefits,
    privileges: privileges.service.bindings,
    tiers: tiers.service,
    earningChanged: (ctx, trx) => earning.service.config.invalidate(ctx, trx),
  });
  const engagement = engagementModule(deps, { benefits });
  return [
    earning,
    tiers,
    engagement,
    ...spending,
    privileges,
    plans,
    webhooksModule(deps),
    auditModule(deps),
    // The tier report places members without a stored state at the ladder's base tier.
    analyticsModule(deps, { ladderOf: (programId) => tiers.service.config.ladder(programId) }),
    // What-if replays and simulates through the earning, tiers and engagement services.
    whatifModule(deps, { earning: earning.service, tiers: tiers.service, engagement: engagement.service }),
    pagesModule(deps, { mall: spending.find((m) => m.name === 'mall')!.service as MallService }),
  ];
}

export type Services = CoreServices & Record<string, unknown>;

export interface Laurel {
  database: Database;
  services: Services;
  hooks: Hooks;
  jobs: JobRegistry;
  http: App;
  scheduler: Scheduler;
  /** create a program with every module's defaults (point types, …) in one transaction */
  createProgram(input: CreateProgramInput, trx: Trx): Promise<Program>;
  /** a context for acting on a program as the system (seeding, jobs, the CLI) */
  systemContext(program: Program, job: string): ProgramContext;
  close(): Promise<void>;
}

export interface LaurelOptions {
  database: Database;
  logger?: FastifyServerOptions['logger'];
  /** the deployment clock (program clocks derive from it for live programs) */
  clock?: Clock;
  /** per-key token buckets of this process; absent or perSecond 0: no limit */
  rateLimit?: RateLimitOptions;
}

/**
 * Compose Laurel: services over one database, their jobs, and the HTTP API. Nothing listens
 * or runs in the background until the caller says so (`serve`), so tests use the same object.
 */
export async function createLaurel(options: LaurelOptions): Promise<Laurel> {
  const { database } = options;
  const db = database.db;
  const clock = options.clock ?? systemClock;
  const hooks = new Hooks();

  const programs = new ProgramsService(db, clock);
  const access = new AccessService(db, clock);
  const members = new MembersService(db);
  const jobs = new JobRegistry();
  const sandboxClock = new SandboxClock(db, programs, jobs);
  const pointTypes = new PointTypesService(db);
  const ledger = new LedgerService(db, pointTypes);
  const ledgerQueries = new LedgerQueries(db, pointTypes);
  const core: CoreServices = { programs, access, members, sandboxClock, pointTypes, ledger, ledgerQueries };
  // Sweeps walk disjoint member ranges in parallel where there are connections to do it on.
  const sweepWalkers = database.engine === 'postgres' ? 2 : 1;
  const modules = domainModules({ db, clock, core, hooks, sweepWalkers });
  const services: Services = { ...core };
  for (const m of modules) services[m.name] = m.service;

  for (const job of ledgerJobs(ledger, pointTypes, { walkers: sweepWalkers })) jobs.register(job);
  for (const m of modules) for (const job of m.jobs ?? []) jobs.register(job);

  const systemContext = (program: Program, job: string): ProgramContext => ({
    program: { id: program.id, mode: program.mode, timeZone: program.timeZone, currency: program.currency, settings: program.settings },
    clock: program.mode === 'sandbox' ? clockOf(program) : fixedClock(clock.now()),
    actor: { type: 'system', job },
  });
  // Each module's defaults for a new program, run in the transaction that creates it.
  const createProgram = async (input: CreateProgramInput, trx: Trx): Promise<Program> => {
    const program = await programs.create(input, trx);
    const ctx = systemContext(program, 'program-setup');
    await pointTypes.createDefaults(ctx, trx);
    for (const m of modules) await m.setupProgram?.(trx, ctx);
    return program;
  };

  const http = await createHttp({ logger: options.logger ?? false, db, version: VERSION });
  const operators = new OperatorsService(db, clock);
  services.operators = operators;
  const programCache = installAuth(http, access, programs, { authenticate: (token) => operators.authenticate(token), scopesOf: (role) => ROLE_SCOPES[role] });
  installRateLimit(http, options.rateLimit);

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
  programRoutes(http, { programs, sandboxClock, forget: (id) => programCache.forget(id), create: createProgram });
  accessRoutes(http, access);
  memberRoutes(http, members);
  ledgerRoutes(http, { ledger, queries: ledgerQueries, pointTypes, members });
  for (const m of modules) m.routes?.(http);
  // The console and the portal: operator sign-in, member-scoped portal routes, the built front end.
  operatorRoutes(http, operators);
  portalRoutes(http, {
    operators,
    programs,
    members,
    ledgerQueries,
    engagement: services.engagement as EngagementService,
    mall: services.mall as MallService,
    draws: services.draws as DrawsService,
    tiers: services.tiers as TiersService | undefined,
    pages: services.pages as PagesService | undefined,
  });
  serveConsole(http);

  const scheduler = new Scheduler(db, jobs, http.log, clock);

  return {
    database,
    services,
    hooks,
    jobs,
    http,
    scheduler,
    createProgram,
    systemContext,
    async close() {
      await scheduler.stop();
      await http.close();
      await database.close();
    },
  };
}
