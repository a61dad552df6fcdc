export { BenefitsService, BENEFIT_KINDS } from './benefits.service.js';
export { PrivilegesService, grantPeriod } from './privileges.service.js';
export type { Binding, BindingInput, BindingPatch, BindingValidity, GrantPeriod, HolderMove, HolderSource, Target } from './privileges.service.js';
export { BirthdayService, birthdaysOn } from './birthday.service.js';
export type { BirthdaySettings } from './birthday.service.js';
export { privilegesModule } from './privileges.module.js';
export type { PrivilegesModuleService } from './privileges.module.js';
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
