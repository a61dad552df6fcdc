import type { LaurelModule, ModuleDeps } from '../../app.js';
import type { EarningService } from '../earning/index.js';
import type { EngagementService } from '../engagement/index.js';
import type { TiersService } from '../tiers/index.js';
import { whatifRoutes } from './whatif.routes.js';
import { WhatifService } from './whatif.service.js';

export { WhatifService } from './whatif.service.js';
export type { Draft, Run, RunStatus, ReplayInput, RunHooks } from './whatif.service.js';
export type { DraftDocument } from './drafts.js';
export type { ReplayResult, TierMover } from './replay.js';
export type { SimulationParams, SimulationResult, MonthFigures } from './simulate.js';
export { prng } from './simulate.js';

/**
 * What-if (issue 11): drafts of the configuration beside the live one, replays of recorded
 * events under a draft without touching live data, forward simulations of sandbox programs.
 */
export function whatifModule(deps: ModuleDeps, services: { earning: EarningService; tiers: TiersService; engagement: EngagementService }): LaurelModule<WhatifService> {
  const { core } = deps;
  const service = new WhatifService(
    deps.db,
    core.programs,
    { earning: services.earning.config, ladders: services.tiers.config, pointTypes: core.pointTypes },
    {
      db: deps.db,
      clock: core.sandboxClock,
      members: core.members,
      events: services.earning.events,
      engagement: services.engagement,
      ledger: core.ledger,
      ledgerQueries: core.ledgerQueries,
      baseTier: async (programId) => {
        const ladder = await services.tiers.config.ladder(programId);
        return ladder?.tiers[ladder.baseRank - 1]?.code ?? null;
      },
    },
  );
  return {
    name: 'whatif',
    service,
    // Live deployments only (a sandbox advance has nothing due): abandoned runs end, queued ones start.
    jobs: [{ name: 'whatif.recover', order: 90, everyMs: 60_000, nextDue: async () => null, run: ({ program }) => service.recover(program.id) }],
    routes: (app) => whatifRoutes(app, service),
  };
}
