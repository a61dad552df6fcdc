import type { LaurelModule, ModuleDeps } from '../../app.js';
import { BenefitsService } from '../benefits/index.js';
import { benefitRoutes } from '../benefits/benefits.routes.js';
import { CharityService } from '../charity/index.js';
import { charityRoutes } from '../charity/charity.routes.js';
import { DrawsService } from '../draws/index.js';
import { drawRoutes } from '../draws/draws.routes.js';
import { mallJobs, MallService } from './index.js';
import { mallRoutes } from './mall.routes.js';

/**
 * Where points are spent, composed in dependency order: benefits (the catalogue and entitlements
 * the mall and draws grant), the mall, draws (which award mall items), charity.
 */
export function spendingModules(deps: ModuleDeps): LaurelModule[] {
  const { db, core } = deps;
  const benefits = new BenefitsService(db, core.members);
  const mall = new MallService(db, core.ledger, core.members, benefits);
  const draws = new DrawsService(db, core.ledger, core.members, benefits, mall);
  const charity = new CharityService(db, core.ledger, core.members);
  return [
    { name: 'benefits', service: benefits, routes: (app) => benefitRoutes(app, benefits) },
    { name: 'mall', service: mall, jobs: mallJobs(mall), routes: (app) => mallRoutes(app, mall, core.programs) },
    { name: 'draws', service: draws, routes: (app) => drawRoutes(app, draws) },
    { name: 'charity', service: charity, routes: (app) => charityRoutes(app, charity) },
  ];
}
