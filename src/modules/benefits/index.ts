export { BenefitsService, BENEFIT_KINDS } from './benefits.service.js';
export type {
  Benefit,
  BenefitKind,
  CreateBenefitInput,
  UpdateBenefitInput,
  Entitlement,
  EntitlementStatus,
  EntitlementUse,
  GrantInput,
  GrantResult,
  UseInput,
  Utilisation,
} from './benefits.service.js';
