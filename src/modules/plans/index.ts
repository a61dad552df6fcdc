import type { LaurelModule, ModuleDeps } from '../../app.js';
import type { Executor } from '../../db/database.js';
import type { ProgramContext } from '../../core/context.js';
import type { BenefitsService, PrivilegesService } from '../benefits/index.js';
import type { TiersService } from '../tiers/index.js';
import { planJobs } from './plans.jobs.js';
import { planRoutes } from './plans.routes.js';
import { PlansService } from './plans.service.js';

export { PlansService } from './plans.service.js';
export type { Plan, Subscription, Payment, SubscriptionResult, CreatePlanInput, UpdatePlanInput, PayInput } from './plans.service.js';

/**
 * Paid membership (issue 5, SPEC §F): plans, subscriptions, the host's payment reports, growth
 * per day. Stacks with the tier ladder: the member's plans are facts for the earning rules, plan
 * multipliers join the rules' default policy, and plan-bound privileges move with subscriptions.
 */
export function plansModule(
  deps: ModuleDeps,
  extra: { benefits: BenefitsService; privileges: PrivilegesService; tiers: TiersService; earningChanged: (ctx: ProgramContext, trx: Executor) => Promise<void> },
): LaurelModule<PlansService> {
  const { ledger, members } = deps.core;
  const service = new PlansService(deps.db, ledger, members, extra.benefits, extra.privileges, extra.earningChanged);
  deps.hooks.onMemberFacts('plans', (exec, ctx, ids) => service.memberFacts(exec, ctx, ids));
  deps.hooks.onPlanMultipliers('plans', (exec, ctx) => service.multipliers(exec, ctx));
  extra.privileges.registerHolderSource('plan', (exec, ctx, code) => service.holders(exec, ctx, code));
  return {
    name: 'plans',
    service,
    jobs: planJobs({ ledger, privileges: extra.privileges, tiers: extra.tiers }),
    routes: (app) => planRoutes(app, service),
  };
}
