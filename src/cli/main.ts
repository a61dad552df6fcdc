#!/usr/bin/env node
import { join } from 'node:path';
import { createLaurel, VERSION } from '../app.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { openDatabase } from '../db/database.js';
import { analyze, startEmbeddedMaintenance } from '../db/maintenance.js';
import { migrate } from '../db/migrate.js';
import { seedDemo } from '../demo/seed.js';
import { productionLogger } from '../http/server.js';
import { verifyLedger } from '../modules/ledger/index.js';
import type { OperatorsService } from '../modules/operators/index.js';
import { NatsIngestion } from '../integration/nats/ingestion.js';
import type { EventsService } from '../modules/earning/index.js';

const USAGE = `laurel ${VERSION} — membership and points platform

usage: laurel <command> [options]

commands:
  serve [--demo]   run the API (and console); --demo seeds a demo program on first start
  migrate          apply database migrations and exit
  seed-demo        create a demo program with a few members and print its API key
  verify-ledger [programId]
                   check every ledger invariant; exits 1 and lists violations when one fails

environment: PORT, HOST, DATABASE_URL, DATABASE_POOL_SIZE, LAUREL_DATA_DIR, LAUREL_ADMIN_KEY, LOG_LEVEL,
             LAUREL_NATS_URL (and LAUREL_NATS_STREAM, _SUBJECT, _DURABLE… for broker ingestion) (see README)`;

async function open(config: Config) {
  const database = await openDatabase({ url: config.databaseUrl, poolSize: config.databasePoolSize, dataDir: join(config.dataDir, 'pgdata') });
  await migrate(database.db, (line) => process.stderr.write(`${line}\n`));
  return database;
}

async function serve(config: Config, demo: boolean): Promise<void> {
  const database = await open(config);
  const laurel = await createLaurel({
    database,
    logger: productionLogger(config.logLevel),
    rateLimit: config.rateLimit,
  });
  const log = laurel.http.log;
  const { generated } = await laurel.services.access.initAdminKey(config.adminKey);
  const firstAdmin = await (laurel.services.operators as OperatorsService).ensureFirstAdmin();

  let seeded: Awaited<ReturnType<typeof seedDemo>> | null = null;
  if (demo) {
    const existing = await laurel.services.programs.list({ limit: 1 });
    if (existing.data.length === 0) seeded = await seedDemo(laurel);
  }
  if (database.engine === 'pglite') await analyze(database);
  const stopMaintenance = startEmbeddedMaintenance(database, config.maintenanceMinutes, log);
  if (config.scheduler) laurel.scheduler.start();
  // Broker ingestion only when configured; it connects (and reconnects) in the background, so
  // the API serves whether or not the broker is reachable.
  const ingestion = config.natsUrl
    ? new NatsIngestion(
        { events: (laurel.services.earning as { events: EventsService }).events, access: laurel.services.access, programs: laurel.services.programs, log: log.child({ component: 'nats' }) },
        { url: config.natsUrl, ...config.nats },
      )
    : null;
  ingestion?.start();

  const address = await laurel.http.listen({ port: config.port, host: config.host });
  const base = address.replace('[::1]', 'localhost');
  const lines = [
    '',
    `Laurel ${VERSION} is running on ${database.engine === 'pglite' ? `the embedded database (${config.dataDir})` : 'PostgreSQL'}`,
    `  API docs:      ${base}/docs`,
    `  OpenAPI:       ${base}/openapi.json`,
    `  health:        ${base}/health`,
  ];
  lines.splice(2, 0, `  console:       ${base}/console   (member portal: ${base}/portal)`);
  if (generated) lines.push(`  admin key:     ${generated}   (shown once; it is stored hashed)`);
  if (firstAdmin) lines.push(`  console admin: ${firstAdmin.username} / ${firstAdmin.password}   (shown once; change it)`);
  if (config.natsUrl) lines.push(`  NATS ingestion: ${config.natsUrl} stream ${config.nats.stream}, subject ${config.nats.subject}, consumer ${config.nats.durable}`);
  if (seeded) {
    lines.push(`  demo program:  ${seeded.programId}`);
    lines.push(`  demo API key:  ${seeded.apiKey}   (shown once)`);
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    stopMaintenance();
    // Stop fetching first: the batch in hand commits and is acked before the database closes.
    await ingestion?.stop();
    // Fastify's close waits for in-flight requests, then the scheduler's running job, then the pool.
    await laurel.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve':
      return serve(config, rest.includes('--demo'));
    case 'migrate': {
      const database = await open(config);
      await database.close();
      process.stdout.write('migrations applied\n');
      return;
    }
    case 'seed-demo': {
      const database = await open(config);
      const laurel = await createLaurel({ database });
      const seed = await seedDemo(laurel);
      process.stdout.write(`${JSON.stringify(seed, null, 2)}\n`);
      await laurel.close();
      return;
    }
    case 'verify-ledger': {
      const database = await open(config);
      const report = await verifyLedger(database.db, rest[0] ?? null);
      await database.close();
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(report.ok ? `ledger verified: ${report.accountsChecked} accounts, no violation\n` : `ledger has ${report.violations.length} violations\n`);
      if (!report.ok) process.exitCode = 1;
      return;
    }
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`configuration error: ${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
