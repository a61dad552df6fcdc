/**
 * Builders shared by the engine's tests (not exported through index.ts). Free of vitest on
 * purpose: the build compiles every non-test file under src.
 */
import { AppError } from '../../../core/errors.js';
import { compileProgram, type CompiledProgram } from './compile.js';
import { evaluate, requiredCounterKeys, type EvaluateOptions, type EvaluationResult } from './evaluate.js';
import type { EventAttributesSchema } from './event-types.js';
import type { CampaignDefinition, RuleDefinition } from './schemas.js';
import type { EngineEvent, MemberContext, ProgramContext } from './types.js';

export const PROGRAM: ProgramContext = {
  timeZone: 'Asia/Shanghai',
  pointTypes: { points: { decimals: 0 }, growth: { decimals: 0 }, stars: { decimals: 1 } },
  channelKinds: { app: 'owned', store: 'owned', ota: 'partner' },
  tierCodes: ['silver', 'gold', 'platinum'],
  planCodes: ['plus', 'family'],
};

export const STAY: Record<string, EventAttributesSchema> = {
  stay: {
    type: 'object',
    properties: {
      nights: { type: 'integer', minimum: 0 },
      hotel: { type: 'string' },
      checkIn: { type: 'string', format: 'date' },
      bookedAt: { type: 'string', format: 'date-time' },
      score: { type: 'number' },
      roomType: { type: 'string', enum: ['standard', 'suite'] },
      coupons: { type: 'array', items: { type: 'string' } },
      vouchers: { type: 'array', items: { type: 'integer' } },
    },
    required: ['nights'],
  },
};

export function member(over: Partial<MemberContext> = {}): MemberContext {
  return {
    tierCode: null,
    planCodes: [],
    tags: [],
    segments: [],
    birthday: null,
    joinedAt: new Date('2024-01-01T00:00:00+08:00'),
    ...over,
  };
}

/** An event at a local Shanghai time given as 'YYYY-MM-DDTHH:mm' (or any ISO string with offset). */
export function event(type: string, attributes: Record<string, unknown> = {}, at = '2025-03-05T12:00', channel: string | null = 'app'): EngineEvent {
  const iso = /[+-]\d{2}:\d{2}$|Z$/.test(at) ? at : `${at}:00+08:00`;
  return { type, occurredAt: new Date(iso), channel, attributes };
}

export function rule(over: Partial<RuleDefinition> & Pick<RuleDefinition, 'id'>): RuleDefinition {
  return {
    version: 1,
    name: `Rule ${over.id}`,
    priority: 0,
    stacking: 'cumulative',
    eventTypes: ['purchase'],
    rewards: [{ type: 'fixed', pointType: 'points', amount: 10 }],
    ...over,
  };
}

export function program(
  rules: RuleDefinition[],
  campaigns: CampaignDefinition[] = [],
  over: Partial<ProgramContext> = {},
): CompiledProgram {
  return compileProgram({ program: { ...PROGRAM, ...over }, eventTypes: STAY, rules, campaigns });
}

/**
 * Evaluates with the counters requiredCounterKeys lists for this member (so every test also checks
 * that the list is enough): `values` by key (or key suffix), 0 otherwise.
 */
export function run(
  p: CompiledProgram,
  e: EngineEvent,
  m: MemberContext = member(),
  values: Record<string, number> = {},
  options?: EvaluateOptions,
): EvaluationResult {
  const counters = new Map<string, number>();
  for (const k of requiredCounterKeys(p, e, m)) {
    const hit = Object.entries(values).find(([suffix]) => k === suffix || k.endsWith(suffix));
    counters.set(k, hit ? hit[1] : 0);
  }
  return evaluate(p, e, m, counters, options);
}

/** Sum awarded per point type. */
export function total(r: EvaluationResult, pointType = 'points'): number {
  return r.totals[pointType] ?? 0;
}

/** Asserts that `fn` throws a rule_invalid AppError whose details point at `path`. */
export function expectRuleInvalid(fn: () => unknown, path: string, message?: RegExp): AppError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof AppError)) throw new Error(`expected a rule_invalid AppError, got ${String(caught)}`);
  const got = (caught.details as { path?: unknown } | undefined)?.path;
  if (caught.code !== 'rule_invalid') throw new Error(`expected code rule_invalid, got ${caught.code}: ${caught.message}`);
  if (got !== path) throw new Error(`expected path ${path}, got ${String(got)} (${caught.message})`);
  if (message && !message.test(caught.message)) throw new Error(`expected the message to match ${message}, got: ${caught.message}`);
  return caught;
}
