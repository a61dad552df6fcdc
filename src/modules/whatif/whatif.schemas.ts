import { Type } from 'typebox';
import { DateTime, Nullable } from '../../http/schemas.js';
import { ExpiryPolicySchema } from '../ledger/expiry-policy.js';
import { LadderBody } from '../tiers/tiers.schemas.js';

/**
 * Rule and campaign entries are checked by the rules engine (as `POST /rules` bodies are); the
 * ladder and the expiry policies by their own schemas and validators.
 */
const Definition = Type.Object({ id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: true, maxProperties: 40 });

export const DraftDocumentSchema = Type.Object(
  {
    rules: Type.Optional(Type.Array(Definition, { maxItems: 200, description: 'an entry with the id of a live rule changes it (fields replace, null removes); any other entry adds a rule' })),
    campaigns: Type.Optional(Type.Array(Definition, { maxItems: 200, description: 'as rules' })),
    remove: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 200, description: 'ids of live rules and campaigns the draft leaves out' })),
    tiers: Type.Optional(LadderBody),
    expiry: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }), ExpiryPolicySchema, { description: 'point type code → expiry policy' })),
  },
  { additionalProperties: false },
);

export const DraftBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), document: DraftDocumentSchema }, { additionalProperties: false });
export const DraftPatch = Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), document: Type.Optional(DraftDocumentSchema) }, { additionalProperties: false, minProperties: 1 });

export const DraftSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  document: Type.Unknown(),
  version: Type.Integer(),
  createdBy: Type.String(),
  createdAt: DateTime(),
  updatedAt: DateTime(),
});

export const ReplayBody = Type.Object(
  {
    draftId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'a saved draft' })),
    document: Type.Optional(DraftDocumentSchema),
    from: DateTime('start of the period (inclusive, by occurredAt)'),
    to: Type.Optional(DateTime('end of the period (exclusive); default: now on the program clock')),
    warmupFrom: Type.Optional(DateTime('events from here to `from` only build state (caps, milestones, tier metrics); default: the first event')),
    expiryHorizon: Type.Optional(DateTime('points expiring counts lots expiring at or before it; default: `to`')),
    sample: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'members who would move tiers to list (default 20)' })),
    chunkSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 50_000, description: 'events read per statement (default 10,000)' })),
  },
  { additionalProperties: false },
);

export const SimulationBody = Type.Object(
  {
    members: Type.Integer({ minimum: 1, maximum: 10_000 }),
    months: Type.Integer({ minimum: 1, maximum: 36 }),
    seed: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }),
    purchasesPerMonth: Type.Number({ minimum: 0, maximum: 100, description: 'mean purchases per member per month (Poisson)' }),
    amount: Type.Object({ min: Type.Integer({ minimum: 1 }), max: Type.Integer({ minimum: 1 }) }, { additionalProperties: false, description: 'minor units, uniform' }),
    checkInProbability: Type.Number({ minimum: 0, maximum: 1 }),
    redeemProbability: Type.Number({ minimum: 0, maximum: 1, description: 'per member per month' }),
    redeemShare: Type.Number({ minimum: 0, maximum: 1, description: 'share of the available balance redeemed' }),
    pointType: Type.String({ minLength: 1, maxLength: 32 }),
    eventType: Type.String({ minLength: 1, maxLength: 64 }),
    channel: Nullable(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const RunSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('replay'), Type.Literal('simulation')]),
  draftId: Nullable(Type.String()),
  params: Type.Unknown(),
  status: Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
  progress: Type.Object({ processed: Type.Integer(), total: Nullable(Type.Integer()), ratio: Nullable(Type.Number()) }),
  cancelRequested: Type.Boolean(),
  result: Type.Unknown({ description: 'replay: points per rule and in total, expiring, tiers, movers, tier entries; simulation: per month figures' }),
  error: Type.Unknown(),
  createdBy: Type.String(),
  createdAt: DateTime(),
  startedAt: Nullable(DateTime()),
  finishedAt: Nullable(DateTime()),
});
