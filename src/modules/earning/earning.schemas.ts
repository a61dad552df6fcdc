import { Type } from 'typebox';
import { DateTime, Nullable } from '../../http/schemas.js';
import { CampaignSchema, EventAttributesSchemaSchema, RuleSchema } from '../rules/engine/index.js';

const ExternalEventId = Type.String({ minLength: 1, maxLength: 200, description: "the host platform's id of the event; each id is processed once" });

export const EventBody = Type.Object(
  {
    eventId: ExternalEventId,
    member: Type.String({ minLength: 1, maxLength: 300, description: 'a Laurel member id, or ext:{externalId}' }),
    type: Type.String({ minLength: 1, maxLength: 64 }),
    occurredAt: Type.Optional(DateTime('when it happened (default: now on the program clock)')),
    channel: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    attributes: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 100 })),
  },
  { additionalProperties: false },
);

export const BatchBody = Type.Object(
  { events: Type.Array(EventBody, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);

export const PreviewBody = Type.Object(
  {
    event: Type.Object({ ...EventBody.properties, eventId: Type.Optional(ExternalEventId) }, { additionalProperties: false }),
    drafts: Type.Optional(
      Type.Object(
        { rules: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 200 })), campaigns: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 200 })) },
        { additionalProperties: false, description: 'unsaved rules or campaigns (complete definitions with id and version) to try out' },
      ),
    ),
  },
  { additionalProperties: false },
);

export const EventResultSchema = Type.Object({
  eventId: Type.String(),
  id: Nullable(Type.String()),
  memberId: Nullable(Type.String()),
  type: Type.String(),
  status: Type.String({ description: 'processed, rejected (nothing earned: see reason), held (awaiting review) or invalid' }),
  reason: Nullable(Type.String()),
  replayed: Type.Boolean(),
  totals: Type.Record(Type.String(), Type.Integer()),
  awards: Type.Array(
    Type.Object({ kind: Type.String(), ruleId: Type.String(), ruleVersion: Type.Integer(), pointType: Type.String(), amount: Type.Integer() }),
  ),
  explanation: Type.Optional(Type.Unknown({ description: 'the white-box breakdown: every rule and campaign considered, why, each multiplier and cap (in a batch, only with explain=true)' })),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) })),
});

const RuleStatus = Type.Union([Type.Literal('draft'), Type.Literal('active'), Type.Literal('paused'), Type.Literal('archived')]);

/**
 * Rule and campaign bodies are checked by the rules engine itself, which knows the program's
 * point types and event types and answers with the path of every bad field. The HTTP schema
 * only insists on an object of bounded size; the engine's JSON Schema (RuleSchema,
 * CampaignSchema) documents the shape.
 */
const definitionBody = (what: string, required: boolean) =>
  Type.Object(
    {
      name: required ? Type.String({ minLength: 1, maxLength: 200 }) : Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      status: Type.Optional(RuleStatus),
    },
    { additionalProperties: true, maxProperties: 40, description: `a ${what} definition without id and version (see the rules engine schema)` },
  );

export const CreateRuleBody = definitionBody('rule', true);
export const UpdateRuleBody = Type.Object(definitionBody('rule', false).properties, { additionalProperties: true, minProperties: 1, maxProperties: 40 });
export const CreateCampaignBody = definitionBody('campaign', true);
export const UpdateCampaignBody = Type.Object(definitionBody('campaign', false).properties, { additionalProperties: true, minProperties: 1, maxProperties: 40 });
export { RuleSchema, CampaignSchema };

export const StoredRuleSchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  status: RuleStatus,
  version: Type.Integer(),
  definition: Type.Record(Type.String(), Type.Unknown()),
  createdAt: DateTime(),
  updatedAt: DateTime(),
});

export const RuleVersionSchema = Type.Object({
  version: Type.Integer(),
  status: RuleStatus,
  definition: Type.Record(Type.String(), Type.Unknown()),
  actor: Type.String(),
  createdAt: DateTime(),
});

export const EventTypeSchema = Type.Object({
  code: Type.String(),
  name: Type.String(),
  builtIn: Type.Boolean(),
  attributesSchema: Type.Unknown(),
});

export const SaveEventTypeBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100 }), attributesSchema: EventAttributesSchemaSchema },
  { additionalProperties: false },
);

export const ReviewSchema = Type.Object({
  id: Type.String(),
  memberId: Type.String(),
  eventId: Type.String(),
  pointType: Type.String(),
  amount: Type.Integer(),
  status: Type.String(),
  details: Type.Unknown(),
  decidedBy: Nullable(Type.String()),
  decidedAt: Nullable(DateTime()),
  note: Nullable(Type.String()),
  ledgerTransactionId: Nullable(Type.String()),
  createdAt: DateTime(),
});

export const DecideReviewBody = Type.Object(
  { decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]), note: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
