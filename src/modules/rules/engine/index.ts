/**
 * The earning rules engine: pure, deterministic, no database and no HTTP. The caller loads the
 * active rule and campaign versions, compiles them once per configuration change
 * (`compileProgram`), lists the counters an event needs (`requiredCounterKeys`), loads them,
 * calls `evaluate`, and writes the awards, the guarded counter increments and the explanation
 * in one transaction.
 */
export { compileProgram, validateProgramContext, type CompileProgramInput, type CompiledProgram } from './compile.js';
export { evaluate, requiredCounterKeys, type Award, type EvaluateOptions, type EvaluationResult, type ExplainMode } from './evaluate.js';
export { compileRule, validateRule, type CompiledRule } from './rules.js';
export { compileCampaign, validateCampaign, scheduleMiss, type CompiledCampaign, type CompiledSchedule } from './campaigns.js';
export {
  ALWAYS,
  compileCondition,
  validateCondition,
  MAX_CONDITION_DEPTH,
  MAX_CONDITION_NODES,
  MAX_LIST_VALUES,
  type CompiledCondition,
  type ConditionFailure,
} from './conditions.js';
export { EvalContext } from './context.js';
export {
  compactedRuleVersions,
  fromStoredExplanation,
  toStoredExplanation,
  withoutOtherEventTypes,
  type RuleVersionFacts,
  type StoredExplanation,
} from './stored-explanation.js';
export { FIXED_FIELDS, resolveField, scopeFor, eventTypeSchemas, type ConditionScope, type FieldKind, type FieldType } from './fields.js';
export {
  builtInEventTypes,
  validateEventAttributes,
  validateEventTypeSchema,
  EventAttributesSchemaSchema,
  AttributeSchema,
  EVENT_TYPE_NAME_PATTERN,
  type BuiltInEventType,
  type EventAttributesSchema,
  type AttributeDefinition,
} from './event-types.js';
export {
  RuleSchema,
  CampaignSchema,
  ConditionSchema,
  RewardSchema,
  CapsSchema,
  BudgetSchema,
  MultiplierPolicySchema,
  MilestoneSchema,
  ScheduleSchema,
  DecimalSchema,
  OPS,
  type Op,
  type Condition,
  type LeafCondition,
  type Reward,
  type FixedReward,
  type PerUnitReward,
  type PercentageReward,
  type Caps,
  type Budget,
  type MultiplierPolicy,
  type Milestone,
  type Threshold,
  type Schedule,
  type Recurrence,
  type RuleDefinition,
  type CampaignDefinition,
} from './schemas.js';
export {
  capKey,
  budgetKey,
  milestoneKey,
  parseCounterKey,
  type CounterIncrement,
  type CapTrace,
  type ParsedCounterKey,
  type SourceKind,
} from './caps.js';
export { crossings } from './milestones.js';
export { multiplierFor, type Combine, type MultiplierTrace } from './multipliers.js';
export { parseDecimal, exactRound, type Ratio, type Rounding } from './decimal.js';
export { ZoneClock, periodBucket, isoWeekKey, type LocalTime, type Period } from './local-time.js';
export {
  toMemberView,
  EXPLANATION_VERSION,
  type Explanation,
  type RuleTrace,
  type CampaignTrace,
  type AwardTrace,
  type LineTrace,
  type MilestoneTrace,
  type MemberView,
  type RuleOutcome,
  type CampaignOutcome,
} from './explanation.js';
export type { Issue } from './issues.js';
export type { EngineEvent, MemberContext, ProgramContext, PointTypeInfo, RuleContext, CounterSnapshot, ChannelKind } from './types.js';
