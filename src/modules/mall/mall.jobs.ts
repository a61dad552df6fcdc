import { fixedClock } from '../../core/clock.js';
import type { ProgramSnapshot } from '../../core/context.js';
import { inTransaction } from '../../db/database.js';
import type { JobDefinition } from '../../jobs/job.js';
import type { MallService } from './mall.service.js';

/**
 * Orders whose cash part was not confirmed in time are cancelled: points released, stock back.
 * Ordered before the ledger's own hold release (20), whose holds outlive the payment window.
 */
export function mallJobs(mall: MallService): JobDefinition[] {
  return [
    {
      name: 'mall.cancel-unpaid',
      order: 15,
      everyMs: 60_000,
      nextDue: (_db, program: ProgramSnapshot, after, until) => mall.nextPaymentDue(program.id, after, until),
      run: async ({ db, program, asOf }) => {
        const ctx = { program, clock: fixedClock(asOf), actor: { type: 'system' as const, job: 'mall.cancel-unpaid' } };
        let cancelled = 0;
        for (const id of await mall.overdueOrders(program.id, asOf)) {
          await inTransaction(db, (trx) => mall.cancel(trx, ctx, id, 'payment not confirmed in time'))
            .then(() => cancelled++)
            .catch((err) => {
              // Paid or cancelled by a request in the meantime: nothing left to do.
              if ((err as { code?: string }).code !== 'illegal_transition') throw err;
            });
        }
        return { cancelled };
      },
    },
  ];
}
