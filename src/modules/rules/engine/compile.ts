import { AppError } from '../../../core/errors.js';
import { compileCampaign, validateCampaign, type CompiledCampaign } from './campaigns.js';
import { validateEventTypeSchema, EVENT_TYPE_NAME_PATTERN, type EventAttributesSchema } from './event-types.js';
import { Issues, type Issue } from './issues.js';
import { ZoneClock } from './local-time.js';
import { compilePolicy, mergePolicy, validatePolicy, type CompiledPolicy } from './multipliers.js';
import { compileRule, validateRule, type CompiledRule } from './rules.js';
import type { CampaignDefinition, RuleDefinition } from './schemas.js';
import type { ProgramContext, RuleContext } from './types.js';

/**
 * A program's active rule and campaign versions compiled together: sorted once, indexed by
 * event type, with the zone clock and a template of the totals. Compile when the
 * configuration changes, evaluate many times.
 */
export interface CompileProgramInput {
  program: ProgramContext;
  /** the program's custom event types (built-ins are always known) */
  eventTypes?: Readonly<Record<string, EventAttributesSchema>>;
  rules: readonly RuleDefinition[];
  campaigns?: readonly CampaignDefinition[];
}

export interface CompiledProgram {
  program: ProgramContext;
  clock: ZoneClock;
  /** evaluation order: priority descending, then id, then version */
  rules: readonly CompiledRule[];
  rulesByType: ReadonlyMap<string, readonly CompiledRule[]>;
  /** priority descending, then id */
  campaigns: readonly CompiledCampaign[];
  campaignsByType: ReadonlyMap<string, readonly CompiledCampaign[]>;
  /** tier and plan multipliers for campaign bonuses: the program default, never campaign multipliers */
  campaignBonusPolicy: CompiledPolicy;
  /** every point type of the program, sorted, at 0 */
  totalsTemplate: Readonly<Record<string, number>>;
  /**
   * Whether any rule, campaign or multiplier reads what other modules know of a member (tier,
   * plans, segments). When none does, ingestion skips asking them: a query per event saved.
   */
  readsMemberFacts: boolean;
}

const MEMBER_FACT_FIELD = /"member\.(tier|plans|segments)"/;
const TIER_OR_PLAN_RATES = /"(tiers|plans)":\{"/;

/** Over-inclusive on purpose: a needless read costs a query, a missed one a wrong award. */
function readsMemberFacts(input: CompileProgramInput): boolean {
  const definitions = JSON.stringify([input.rules, input.campaigns ?? []]);
  return MEMBER_FACT_FIELD.test(definitions) || TIER_OR_PLAN_RATES.test(definitions) || TIER_OR_PLAN_RATES.test(JSON.stringify(input.program.multiplierDefaults ?? {}));
}

const CODE_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Checks the program context and custom event types; rules are checked against them. */
export function validateProgramContext(ctx: RuleContext): Issues {
  const issues = new Issues();
  const out: Issue[] = issues.list;
  const p = ctx.program;
  try {
    new ZoneClock(p.timeZone);
  } catch {
    out.push({ path: 'program.timeZone', message: `unknown IANA time zone ${JSON.stringify(p.timeZone)}` });
  }
  const pts = Object.entries(p.pointTypes ?? {});
  if (pts.length === 0) out.push({ path: 'program.pointTypes', message: 'a program needs at least one point type' });
  for (const [code, info] of pts) {
    if (!CODE_RE.test(code)) out.push({ path: `program.pointTypes.${code}`, message: 'point type codes are letters, digits, _ . - (at most 64)' });
    if (!Number.isInteger(info?.decimals) || info.decimals < 0 || info.decimals > 6) {
      out.push({ path: `program.pointTypes.${code}.decimals`, message: 'must be an integer from 0 to 6' });
    }
  }
  for (const [name, schema] of Object.entries(ctx.eventTypes ?? {})) {
    if (!new RegExp(EVENT_TYPE_NAME_PATTERN).test(name)) out.push({ path: `eventTypes.${name}`, message: 'event type names are lower_snake_case' });
    out.push(...validateEventTypeSchema(schema, `eventTypes.${name}`));
  }
  validatePolicy(p.multiplierDefaults, 'program.multiplierDefaults', p, out);
  return issues;
}

function prefixed(issues: Issues, prefix: string): Issue[] {
  return issues.list.map((i) => ({ path: i.path === '' ? prefix : `${prefix}.${i.path}`, message: i.message }));
}

function fail(what: string, list: Issue[]): never {
  const first = list[0]!;
  throw new AppError('rule_invalid', `${what}: ${first.path}: ${first.message}`, { path: first.path, issues: list });
}

export function compileProgram(input: CompileProgramInput): CompiledProgram {
  const ctx: RuleContext = { program: input.program, eventTypes: input.eventTypes };
  validateProgramContext(ctx).throwIfAny('program is invalid');

  const rules: CompiledRule[] = [];
  input.rules.forEach((def, i) => {
    const issues = validateRule(def, ctx);
    if (!issues.ok) fail(`rule ${String((def as { id?: unknown }).id)} is invalid`, prefixed(issues, `rules[${i}]`));
    rules.push(compileRule(def, ctx));
  });
  checkVersions(rules);
  rules.sort((a, b) => b.priority - a.priority || cmp(a.id, b.id) || a.version - b.version);

  const ruleIds = new Set(rules.map((r) => r.id));
  const campaigns: CompiledCampaign[] = [];
  (input.campaigns ?? []).forEach((def, i) => {
    const issues = validateCampaign(def, ctx, ruleIds);
    if (!issues.ok) fail(`campaign ${String((def as { id?: unknown }).id)} is invalid`, prefixed(issues, `campaigns[${i}]`));
    campaigns.push(compileCampaign(def, ctx, ruleIds));
  });
  const seen = new Set<string>();
  for (const c of campaigns) {
    if (seen.has(c.id)) throw new AppError('rule_invalid', `campaign ${c.id} is given twice`, { path: 'campaigns', id: c.id });
    seen.add(c.id);
  }
  campaigns.sort((a, b) => b.priority - a.priority || cmp(a.id, b.id));

  const totals: Record<string, number> = {};
  for (const pt of Object.keys(input.program.pointTypes).sort(cmp)) totals[pt] = 0;

  return {
    program: input.program,
    clock: new ZoneClock(input.program.timeZone),
    rules,
    rulesByType: indexByType(rules),
    campaigns,
    campaignsByType: indexByType(campaigns),
    campaignBonusPolicy: compilePolicy({ ...mergePolicy(input.program.multiplierDefaults, undefined), campaigns: false }),
    totalsTemplate: Object.freeze(totals),
    readsMemberFacts: readsMemberFacts(input),
  };
}

/** Several versions of one rule may be passed only if their validity windows do not overlap. */
function checkVersions(rules: CompiledRule[]): void {
  const byId = new Map<string, CompiledRule[]>();
  for (const r of rules) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
  for (const [id, versions] of byId) {
    for (let i = 0; i < versions.length; i++) {
      for (let j = i + 1; j < versions.length; j++) {
        const a = versions[i]!;
        const b = versions[j]!;
        if (a.version === b.version) throw new AppError('rule_invalid', `rule ${id} version ${a.version} is given twice`, { path: 'rules', id });
        const overlap = (a.validFrom ?? -Infinity) < (b.validTo ?? Infinity) && (b.validFrom ?? -Infinity) < (a.validTo ?? Infinity);
        if (overlap) {
          throw new AppError('rule_invalid', `rule ${id}: versions ${a.version} and ${b.version} have overlapping validity windows`, {
            path: 'rules',
            id,
            versions: [a.version, b.version],
          });
        }
      }
    }
  }
}

function indexByType<T extends { eventTypes: ReadonlySet<string> }>(items: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) for (const t of it.eventTypes) m.set(t, [...(m.get(t) ?? []), it]);
  return m;
}

/** Code-point order: locale-independent, so every server sorts alike. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
