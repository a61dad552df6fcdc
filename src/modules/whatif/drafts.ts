import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import type { Executor } from '../../db/database.js';
import type { EarningConfigService, StoredRule } from '../earning/index.js';
import { validateExpiryPolicy, type ExpiryPolicy, type PointTypesService } from '../ledger/index.js';
import type { CompiledProgram } from '../rules/engine/index.js';
import { baseRankOf, validateLadder, type Ladder, type LadderConfigInput, type TierConfigService } from '../tiers/index.js';

/**
 * A draft configuration, held beside the live one as a JSON document of differences:
 * - `rules` / `campaigns`: an entry naming a live id is a change (its fields replace the live
 *   ones, `null` removes a field, as a PATCH does); any other entry is a new rule or campaign
 *   (active unless it says otherwise);
 * - `remove`: live rules or campaigns left out;
 * - `tiers`: the whole ladder as `PUT /tiers` takes it;
 * - `expiry`: expiry policies per point type code.
 * Every part passes the validators the live configuration passes.
 */
export interface DraftDocument {
  rules?: Array<Record<string, unknown>> | undefined;
  campaigns?: Array<Record<string, unknown>> | undefined;
  remove?: string[] | undefined;
  tiers?: LadderConfigInput | undefined;
  expiry?: Record<string, ExpiryPolicy> | undefined;
}

/** A draft turned into what a replay evaluates. */
export interface ResolvedDraft {
  live: CompiledProgram;
  draft: CompiledProgram;
  liveLadder: Ladder | null;
  draftLadder: Ladder | null;
  liveExpiry: Record<string, ExpiryPolicy>;
  draftExpiry: Record<string, ExpiryPolicy>;
  /** what the draft changes, for the report */
  changes: { rules: { changed: string[]; added: string[]; removed: string[] }; tiers: boolean; expiry: string[] };
}

export interface DraftDeps {
  earning: EarningConfigService;
  ladders: TierConfigService;
  pointTypes: PointTypesService;
}

interface Definitions {
  rules: Array<Record<string, unknown>>;
  campaigns: Array<Record<string, unknown>>;
  changed: string[];
  added: string[];
  removed: string[];
}

/** The full definitions a draft puts in place of (or beside) the live ones, each validated. */
async function definitions(deps: DraftDeps, ctx: ProgramContext, exec: Executor, doc: DraftDocument): Promise<Definitions> {
  const live = new Map<string, StoredRule>();
  for (const kind of ['rule', 'campaign'] as const) for (const r of await deps.earning.list(ctx, kind, undefined, exec)) live.set(r.id, r);
  const out: Definitions = { rules: [], campaigns: [], changed: [], added: [], removed: [] };
  const seen = new Set<string>();
  const ruleIds = new Set([...live.values()].filter((r) => r.kind === 'rule').map((r) => r.id));
  const prepared: Array<{ kind: 'rule' | 'campaign'; definition: Record<string, unknown> }> = [];
  for (const kind of ['rule', 'campaign'] as const) {
    const entries = (kind === 'rule' ? doc.rules : doc.campaigns) ?? [];
    entries.forEach((entry, i) => {
      const id = typeof entry.id === 'string' ? entry.id : `${kind === 'rule' ? 'rule' : 'cmp'}_draft_${i + 1}`;
      if (seen.has(id)) throw new AppError('validation_failed', `${kind} ${id} appears twice in the draft`, { field: `${kind}s[${i}].id` });
      seen.add(id);
      const current = live.get(id);
      let definition: Record<string, unknown>;
      if (current) {
        if (current.kind !== kind) throw new AppError('validation_failed', `${id} is a ${current.kind}, not a ${kind}`, { field: `${kind}s[${i}].id` });
        definition = { ...current.definition, ...entry, id, version: current.version + 1, status: entry.status ?? (current.status === 'archived' ? 'paused' : current.status) };
        for (const [k, v] of Object.entries(entry)) if (v === null) delete definition[k];
        out.changed.push(id);
      } else {
        definition = { ...entry, id, version: 1, status: entry.status ?? 'active' };
        out.added.push(id);
      }
      if (kind === 'rule') ruleIds.add(id);
      prepared.push({ kind, definition });
    });
  }
  for (const id of doc.remove ?? []) {
    const current = live.get(id);
    if (!current) throw new AppError('validation_failed', `remove: ${id} is not a rule or campaign of this program`, { field: 'remove', id });
    if (seen.has(id)) throw new AppError('validation_failed', `${id} is both changed and removed`, { field: 'remove', id });
    // Left out = not active in the draft: the live definition, paused.
    prepared.push({ kind: current.kind, definition: { ...current.definition, version: current.version + 1, status: 'paused' } });
    out.removed.push(id);
  }
  for (const id of out.removed) ruleIds.delete(id);
  for (const p of prepared) {
    await deps.earning.validate(ctx, exec, p.kind, p.definition, ruleIds);
    (p.kind === 'rule' ? out.rules : out.campaigns).push(p.definition);
  }
  return out;
}

/** A ladder as the tiers module would store it, from a draft (tiers keep the live ids by code). */
function draftLadder(input: LadderConfigInput, pointTypes: Set<string>, live: Ladder | null, programId: string): Ladder {
  const { policy, metrics, tiers } = validateLadder(input, pointTypes);
  const liveIds = new Map((live?.tiers ?? []).map((t) => [t.code, t.id]));
  return {
    id: live?.id ?? 'draft',
    programId,
    code: input.code ?? live?.code ?? 'main',
    name: input.name ?? live?.name ?? 'Tiers',
    version: (live?.version ?? 0) + 1,
    policy,
    metrics,
    tiers: tiers.map((t, i) => ({ ...t, id: liveIds.get(t.code) ?? `draft:${t.code}`, rank: i + 1 })),
    baseRank: baseRankOf(tiers),
    updatedAt: new Date(0),
  };
}

/** Checks a draft document against the program as it is now; throws the validators' errors. */
export async function validateDraft(deps: DraftDeps, ctx: ProgramContext, exec: Executor, doc: DraftDocument): Promise<void> {
  await resolveDraft(deps, ctx, exec, doc);
}

export async function resolveDraft(deps: DraftDeps, ctx: ProgramContext, exec: Executor, doc: DraftDocument): Promise<ResolvedDraft> {
  const defs = await definitions(deps, ctx, exec, doc);
  const types = await deps.pointTypes.list(ctx, exec);
  const codes = new Set(types.map((t) => t.code));
  const liveExpiry = Object.fromEntries(types.map((t) => [t.code, t.expiryPolicy]));
  const draftExpiry = { ...liveExpiry };
  for (const [code, policy] of Object.entries(doc.expiry ?? {})) {
    if (!codes.has(code)) throw new AppError('point_type_not_found', `expiry: point type ${code} does not exist`, { field: `expiry.${code}` });
    validateExpiryPolicy(policy);
    draftExpiry[code] = policy;
  }
  const liveLadder = await deps.ladders.ladder(ctx.program.id, exec);
  const ladder = doc.tiers ? draftLadder(doc.tiers, codes, liveLadder, ctx.program.id) : liveLadder;
  const live = await deps.earning.compiledProgram(ctx, exec);
  const changed = defs.rules.length + defs.campaigns.length > 0;
  const draft = changed ? await deps.earning.compiledProgram(ctx, exec, { rules: defs.rules, campaigns: defs.campaigns }) : live;
  return {
    live,
    draft,
    liveLadder,
    draftLadder: ladder,
    liveExpiry,
    draftExpiry,
    changes: { rules: { changed: defs.changed, added: defs.added, removed: defs.removed }, tiers: doc.tiers !== undefined, expiry: Object.keys(doc.expiry ?? {}) },
  };
}
