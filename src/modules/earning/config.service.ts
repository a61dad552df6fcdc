import type { Kysely } from 'kysely';
import { actorLabel, type ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { recordAudit, type Hooks } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { rawQuery, type Executor } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { PointTypesService } from '../ledger/index.js';
import {
  type RuleVersionFacts,
  builtInEventTypes,
  compileProgram,
  validateCampaign,
  validateEventTypeSchema,
  validateRule,
  type CampaignDefinition,
  type CompiledProgram,
  type EventAttributesSchema,
  type ProgramContext as EngineProgram,
  type RuleContext,
  type RuleDefinition,
} from '../rules/engine/index.js';

export type RuleKind = 'rule' | 'campaign';
export type RuleStatus = 'draft' | 'active' | 'paused' | 'archived';

export interface StoredRule {
  id: string;
  kind: RuleKind;
  name: string;
  status: RuleStatus;
  version: number;
  definition: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export interface RuleVersion {
  version: number;
  status: RuleStatus;
  definition: Record<string, unknown>;
  actor: string;
  createdAt: Date;
}

export interface EventType {
  code: string;
  name: string;
  builtIn: boolean;
  attributesSchema: EventAttributesSchema;
}

/** Program settings the earning engine reads (under `settings.earning`). */
export interface EarningSettings {
  /** channel code → owned | partner (growth only from owned channels, say) */
  channels?: Record<string, 'owned' | 'partner'>;
  /** the program's default multiplier policy */
  multipliers?: unknown;
  /** events of one type a member may send per minute; more are rejected */
  velocityPerMinute?: Record<string, number>;
  /** an event awarding more than this (per point type) is held for an operator's review */
  reviewAbove?: Record<string, number>;
  /** 'black' hides formulas from member-facing reads; operators always see them */
  explanation?: 'white' | 'black';
}

export function earningSettings(ctx: ProgramContext): EarningSettings {
  return ((ctx.program.settings as { earning?: EarningSettings }).earning ?? {}) as EarningSettings;
}

interface RuleRow {
  id: string;
  kind: RuleKind;
  name: string;
  status: RuleStatus;
  version: number;
  definition: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

const toRule = (r: RuleRow): StoredRule => ({
  id: r.id,
  kind: r.kind,
  name: r.name,
  status: r.status,
  version: r.version,
  definition: r.definition,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** How often a process asks whether the program's earning configuration moved. */
const CONFIG_CHECK_MS = 1_000;

/**
 * Event types, rules and campaigns, each change stored as a new version, and the program's
 * active configuration compiled once per change into plain functions held in memory. Every
 * process notices a change within a second through `earning_config.version`.
 */
export class EarningConfigService {
  private readonly compiled = new Map<string, { version: number; program: CompiledProgram; types: Map<string, EventType>; checkedAt: number }>();
  private readonly versionFacts = new Map<string, RuleVersionFacts>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly pointTypes: PointTypesService,
    private readonly hooks?: Hooks,
  ) {}

  /** Another module changed something the compiled rules read (a plan's multiplier): compile again. */
  async invalidate(ctx: ProgramContext, trx: Executor): Promise<void> {
    await this.bump(ctx, trx);
  }

  // ------------------------------------------------------------ event types

  async eventTypes(ctx: ProgramContext, exec: Executor = this.db): Promise<EventType[]> {
    const { rows } = await rawQuery<{ code: string; name: string; attributes_schema: EventAttributesSchema }>(
      exec,
      'select code, name, attributes_schema from event_types where program_id = $1 order by code',
      [ctx.program.id],
    );
    const custom = new Map(rows.map((r) => [r.code, r]));
    const builtIns: EventType[] = Object.entries(builtInEventTypes)
      .filter(([code]) => !custom.has(code))
      .map(([code, schema]) => ({ code, name: code.replace(/_/g, ' '), builtIn: true, attributesSchema: schema as EventAttributesSchema }));
    return [...builtIns, ...rows.map((r) => ({ code: r.code, name: r.name, builtIn: false, attributesSchema: r.attributes_schema }))].sort((a, b) =>
      a.code.localeCompare(b.code),
    );
  }

  async eventType(ctx: ProgramContext, code: string, exec: Executor = this.db): Promise<EventType> {
    const found = (await this.eventTypes(ctx, exec)).find((t) => t.code === code);
    if (!found) throw new AppError('not_found', `event type "${code}" is not declared in this program`, { eventType: code });
    return found;
  }

  async saveEventType(ctx: ProgramContext, trx: Executor, input: { code: string; name: string; attributesSchema: unknown }): Promise<EventType> {
    const issues = validateEventTypeSchema(input.attributesSchema, 'attributesSchema');
    if (issues.length) {
      throw new AppError('validation_failed', `${issues[0]!.path}: ${issues[0]!.message}`, { issues });
    }
    const now = ctx.clock.now();
    const prior = await rawQuery<{ name: string; attributes_schema: unknown }>(trx, 'select name, attributes_schema from event_types where program_id = $1 and code = $2', [
      ctx.program.id,
      input.code,
    ]);
    await rawQuery(
      trx,
      `insert into event_types (program_id, code, name, attributes_schema, created_at, updated_at) values ($1, $2, $3, $4, $5, $5)
       on conflict (program_id, code) do update set name = excluded.name, attributes_schema = excluded.attributes_schema, updated_at = excluded.updated_at`,
      [ctx.program.id, input.code, input.name, JSON.stringify(input.attributesSchema), now],
    );
    await this.bump(ctx, trx);
    const saved: EventType = { code: input.code, name: input.name, builtIn: false, attributesSchema: input.attributesSchema as EventAttributesSchema };
    const before = prior.rows[0] && { code: input.code, name: prior.rows[0].name, attributesSchema: prior.rows[0].attributes_schema };
    await recordAudit(trx, ctx, { action: before ? 'update' : 'create', resourceType: 'event_type', resourceId: input.code, before, after: saved });
    return saved;
  }

  // ------------------------------------------------------------ rules and campaigns

  async list(ctx: ProgramContext, kind: RuleKind, status?: RuleStatus, exec: Executor = this.db): Promise<StoredRule[]> {
    const { rows } = await rawQuery<RuleRow>(
      exec,
      `select * from earning_rules where program_id = $1 and kind = $2 and ($3::text is null or status = $3) order by created_at, id`,
      [ctx.program.id, kind, status ?? null],
    );
    return rows.map(toRule);
  }

  async get(ctx: ProgramContext, kind: RuleKind, id: string, exec: Executor = this.db, forUpdate = false): Promise<StoredRule> {
    const { rows } = await rawQuery<RuleRow>(
      exec,
      `select * from earning_rules where program_id = $1 and kind = $2 and id = $3${forUpdate ? ' for update' : ''}`,
      [ctx.program.id, kind, id],
    );
    if (!rows[0]) throw new AppError('not_found', `${kind} ${id} does not exist`, { id });
    return toRule(rows[0]);
  }

  async versions(ctx: ProgramContext, kind: RuleKind, id: string): Promise<RuleVersion[]> {
    await this.get(ctx, kind, id);
    const { rows } = await rawQuery<{ version: number; status: RuleStatus; definition: Record<string, unknown>; actor: string; created_at: Date }>(
      this.db,
      'select version, status, definition, actor, created_at from earning_rule_versions where rule_id = $1 order by version desc',
      [id],
    );
    return rows.map((r) => ({ version: r.version, status: r.status, definition: r.definition, actor: r.actor, createdAt: r.created_at }));
  }

  /**
   * What stored explanations leave out of the rule versions they name (name, priority, stacking,
   * condition), by `${ruleId}@${version}`. A version never changes once saved, so what was read
   * once is kept (up to a bound) for every later read.
   */
  async ruleVersionFacts(ctx: ProgramContext, wanted: Array<{ ruleId: string; version: number }>, exec: Executor = this.db): Promise<Map<string, RuleVersionFacts>> {
    const out = new Map<string, RuleVersionFacts>();
    const missing = new Map<string, { ruleId: string; version: number }>();
    for (const w of wanted) {
      const key = `${w.ruleId}@${w.version}`;
      const known = this.versionFacts.get(key);
      if (known) out.set(key, known);
      else missing.set(key, w);
    }
    if (missing.size === 0) return out;
    const list = [...missing.values()];
    const { rows } = await rawQuery<{ rule_id: string; version: number; definition: Record<string, unknown> }>(
      exec,
      `select v.rule_id, v.version, v.definition from earning_rule_versions v join earning_rules r on r.id = v.rule_id
       join unnest($2::text[], $3::int[]) as w(rule_id, version) on w.rule_id = v.rule_id and w.version = v.version
       where r.program_id = $1`,
      [ctx.program.id, list.map((w) => w.ruleId), list.map((w) => w.version)],
    );
    if (this.versionFacts.size > 10_000) this.versionFacts.clear();
    for (const r of rows) {
      const d = r.definition;
      const facts: RuleVersionFacts = { name: String(d.name), priority: Number(d.priority), stacking: d.stacking === 'exclusive' ? 'exclusive' : 'cumulative', condition: d.condition };
      this.versionFacts.set(`${r.rule_id}@${r.version}`, facts);
      out.set(`${r.rule_id}@${r.version}`, facts);
    }
    return out;
  }

  async create(ctx: ProgramContext, trx: Executor, kind: RuleKind, body: Record<string, unknown>): Promise<StoredRule> {
    const id = newId(kind === 'rule' ? 'rule' : 'campaign', ctx.clock.now().getTime());
    const status = (body.status as RuleStatus | undefined) ?? 'draft';
    const definition: Record<string, unknown> = { ...body, id, version: 1, status };
    await this.validate(ctx, trx, kind, definition);
    const now = ctx.clock.now();
    const { rows } = await rawQuery<RuleRow>(
      trx,
      `insert into earning_rules (id, program_id, kind, name, status, version, definition, created_at, updated_at)
       values ($1, $2, $3, $4, $5, 1, $6, $7, $7) returning *`,
      [id, ctx.program.id, kind, definition.name, status, JSON.stringify(definition), now],
    );
    await this.recordVersion(ctx, trx, id, 1, status, definition);
    await this.bump(ctx, trx);
    await recordAudit(trx, ctx, { action: 'create', resourceType: kind, resourceId: id, after: definition });
    return toRule(rows[0]!);
  }

  /** Every change is a new version; past awards keep the version they used. */
  async update(ctx: ProgramContext, trx: Executor, kind: RuleKind, id: string, patch: Record<string, unknown>): Promise<StoredRule> {
    const current = await this.get(ctx, kind, id, trx, true);
    if (current.status === 'archived') throw new AppError('illegal_transition', `${kind} ${id} is archived`, { status: 'archived' });
    const version = current.version + 1;
    const status = (patch.status as RuleStatus | undefined) ?? current.status;
    const definition: Record<string, unknown> = { ...current.definition, ...patch, id, version, status };
    for (const [k, v] of Object.entries(patch)) if (v === null) delete definition[k];
    await this.validate(ctx, trx, kind, definition);
    const { rows } = await rawQuery<RuleRow>(
      trx,
      `update earning_rules set name = $3, status = $4, version = $5, definition = $6, updated_at = $7
       where program_id = $1 and id = $2 returning *`,
      [ctx.program.id, id, definition.name, status, version, JSON.stringify(definition), ctx.clock.now()],
    );
    await this.recordVersion(ctx, trx, id, version, status, definition);
    await this.bump(ctx, trx);
    await recordAudit(trx, ctx, { action: 'update', resourceType: kind, resourceId: id, before: current.definition, after: definition });
    return toRule(rows[0]!);
  }

  private async recordVersion(ctx: ProgramContext, trx: Executor, id: string, version: number, status: RuleStatus, definition: object) {
    await rawQuery(
      trx,
      'insert into earning_rule_versions (rule_id, version, status, definition, actor, created_at) values ($1, $2, $3, $4, $5, $6)',
      [id, version, status, JSON.stringify(definition), actorLabel(ctx.actor), ctx.clock.now()],
    );
  }

  /** The checks every saved rule or campaign passes; what-if drafts pass the same (`ruleIds`: the rules a draft campaign may name). */
  async validate(ctx: ProgramContext, exec: Executor, kind: RuleKind, definition: Record<string, unknown>, ruleIds?: ReadonlySet<string>) {
    const ruleCtx = await this.ruleContext(ctx, exec);
    if (kind === 'rule') {
      // The engine's schema knows only the statuses it evaluates; archived rules are never compiled.
      validateRule({ ...definition, status: definition.status === 'archived' ? 'paused' : definition.status }, ruleCtx).throwIfAny('rule is invalid');
    } else {
      const ids = ruleIds ?? new Set((await this.list(ctx, 'rule', undefined, exec)).map((r) => r.id));
      validateCampaign({ ...definition, status: definition.status === 'archived' ? 'paused' : definition.status }, ruleCtx, ids).throwIfAny('campaign is invalid');
    }
  }

  async ruleContext(ctx: ProgramContext, exec: Executor = this.db): Promise<RuleContext> {
    const settings = earningSettings(ctx);
    const types = await this.pointTypes.list(ctx, exec);
    const custom = (await this.eventTypes(ctx, exec)).filter((t) => !t.builtIn);
    // Paid plans' multipliers join the program's default policy; rates set in the settings win.
    const planRates = this.hooks ? await this.hooks.planMultipliers(exec, ctx) : {};
    const own = settings.multipliers as EngineProgram['multiplierDefaults'] | undefined;
    const multipliers = Object.keys(planRates).length ? { ...own, plans: { ...planRates, ...own?.plans } } : own;
    const program: EngineProgram = {
      timeZone: ctx.program.timeZone,
      pointTypes: Object.fromEntries(types.map((t) => [t.code, { decimals: t.decimals }])),
      ...(settings.channels ? { channelKinds: settings.channels } : {}),
      ...(multipliers ? { multiplierDefaults: multipliers } : {}),
    };
    return { program, eventTypes: Object.fromEntries(custom.map((t) => [t.code, t.attributesSchema])) };
  }

  private async bump(ctx: ProgramContext, trx: Executor): Promise<void> {
    await rawQuery(
      trx,
      `insert into earning_config (program_id, version) values ($1, 1)
       on conflict (program_id) do update set version = earning_config.version + 1`,
      [ctx.program.id],
    );
    this.compiled.delete(ctx.program.id);
  }

  /**
   * The program's active rules and campaigns, compiled. `drafts` (a preview) replaces or adds
   * definitions without saving them.
   */
  async compiledProgram(ctx: ProgramContext, exec: Executor = this.db, drafts?: { rules?: unknown[]; campaigns?: unknown[] }): Promise<CompiledProgram> {
    if (!drafts) return (await this.snapshot(ctx, exec)).program;
    return this.compile(ctx, exec, drafts);
  }

  /**
   * The compiled rules with the event types they were compiled against, cached together: both
   * move only with `earning_config.version`, so an event needs no query of its own for its type.
   */
  async snapshot(ctx: ProgramContext, exec: Executor = this.db): Promise<{ program: CompiledProgram; types: Map<string, EventType> }> {
    const hit = this.compiled.get(ctx.program.id);
    if (hit && Date.now() - hit.checkedAt < CONFIG_CHECK_MS) return hit;
    const { rows } = await rawQuery<{ version: number }>(exec, 'select version from earning_config where program_id = $1', [ctx.program.id]);
    const version = rows[0]?.version ?? 0;
    if (hit && hit.version === version) {
      hit.checkedAt = Date.now();
      return hit;
    }
    const types = new Map((await this.eventTypes(ctx, exec)).map((t) => [t.code, t]));
    const entry = { version, program: await this.compile(ctx, exec), types, checkedAt: Date.now() };
    this.compiled.set(ctx.program.id, entry);
    return entry;
  }

  private async compile(ctx: ProgramContext, exec: Executor, drafts?: { rules?: unknown[]; campaigns?: unknown[] }): Promise<CompiledProgram> {
    const ruleCtx = await this.ruleContext(ctx, exec);
    const { rows } = await rawQuery<{ kind: RuleKind; definition: Record<string, unknown> }>(
      exec,
      `select kind, definition from earning_rules where program_id = $1 and status = 'active' order by created_at, id`,
      [ctx.program.id],
    );
    const rules = new Map<string, RuleDefinition>();
    const campaigns = new Map<string, CampaignDefinition>();
    for (const r of rows) (r.kind === 'rule' ? rules : campaigns).set(String(r.definition.id), r.definition as never);
    for (const d of drafts?.rules ?? []) rules.set(String((d as { id: string }).id), d as RuleDefinition);
    for (const d of drafts?.campaigns ?? []) campaigns.set(String((d as { id: string }).id), d as CampaignDefinition);
    return compileProgram({ program: ruleCtx.program, ...(ruleCtx.eventTypes ? { eventTypes: ruleCtx.eventTypes } : {}), rules: [...rules.values()], campaigns: [...campaigns.values()] });
  }
}
