import type { LaurelModule, ModuleDeps } from '../../app.js';
import { fixedClock } from '../../core/clock.js';
import { inTransaction } from '../../db/database.js';
import type { JobDefinition } from '../../jobs/job.js';
import type { BenefitsService } from './benefits.service.js';
import { BirthdayService } from './birthday.service.js';
import { privilegeRoutes } from './privileges.routes.js';
import { PrivilegesService } from './privileges.service.js';

export interface PrivilegesModuleService {
  bindings: PrivilegesService;
  birthday: BirthdayService;
}

/**
 * Privileges (issue 5): benefits bound to tiers and plans, granted on entry (the tierChanged hook,
 * in the transaction of the change) and each period (a job on the program clock), revoked or
 * kept on leaving; birthday gifts once a year.
 */
export function privilegesModule(deps: ModuleDeps, benefits: BenefitsService): LaurelModule<PrivilegesModuleService> {
  const bindings = new PrivilegesService(deps.db, benefits);
  const birthday = new BirthdayService(deps.db, benefits, deps.core.ledger);
  deps.hooks.onTierChanged('privileges', (trx, ctx, changes) => bindings.tierChanged(trx, ctx, changes));
  const jobs: JobDefinition[] = [
    {
      // After tier evaluation and plan expiry at the same instant: only those still holding get the new period's quota.
      name: 'privileges.grant',
      order: 70,
      everyMs: 10 * 60_000,
      nextDue: async (db, program, after, until) => {
        const at = await bindings.nextPeriodStart(db, program.id, program.timeZone, after);
        return at && at.getTime() <= until.getTime() ? at : null;
      },
      run: async ({ db, program, asOf }) => {
        const ctx = { program, clock: fixedClock(asOf), actor: { type: 'system' as const, job: 'privileges.grant' } };
        return inTransaction(db, async (trx) => ({ ...(await bindings.reconcile(trx, ctx)), granted: await bindings.grantDue(trx, ctx) }));
      },
    },
    {
      name: 'benefits.birthday',
      order: 75,
      everyMs: 30 * 60_000,
      nextDue: (db, program, after, until) => birthday.nextDue(db, program, after, until),
      run: ({ program, asOf }) => birthday.run(program, asOf),
    },
  ];
  return { name: 'privileges', service: { bindings, birthday }, jobs, routes: (app) => privilegeRoutes(app, bindings, birthday) };
}
