import { Type, type TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { AppError } from '../../../core/errors.js';
import { MONTH_NAMES } from './describe.js';
import { parseIsoDate } from './local-clock.js';
import {
  ExpiryPolicySchema,
  SIMPLE_KINDS,
  expiryPolicySchemaByKind,
  type ExpiryPolicy,
  type ExpiryPolicyKind,
} from './schema.js';

type PathSegment = string | number;

const ALL_KINDS = Object.keys(expiryPolicySchemaByKind) as ExpiryPolicyKind[];
const IN_VERSION_KINDS: readonly ExpiryPolicyKind[] = [...SIMPLE_KINDS, 'byTier'];

// Containers are checked field by field, with their nested policies checked on their own,
// so an error deep inside names its exact place instead of "must match a schema in anyOf".
const ByTierShape = Type.Object(
  { kind: Type.Literal('byTier'), tiers: Type.Record(Type.String(), Type.Unknown(), { minProperties: 1 }), default: Type.Unknown() },
  { additionalProperties: false },
);
const VersionedShape = Type.Object(
  {
    kind: Type.Literal('versioned'),
    versions: Type.Array(
      Type.Object({ effectiveFrom: expiryPolicySchemaByKind.fixedDate.properties.date, policy: Type.Unknown() }, { additionalProperties: false }),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);

// Policies are checked on every earn, so each schema is compiled once, on first use.
const compiled = new Map<TSchema, Validator>();
function validatorOf(schema: TSchema): Validator {
  let validator = compiled.get(schema);
  if (validator === undefined) {
    validator = Compile(schema);
    compiled.set(schema, validator);
  }
  return validator;
}

const MAX_DAY_OF_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function refuse(path: readonly PathSegment[], problem: string, extra: Record<string, unknown> = {}): never {
  const field = formatPath(path);
  const subject = field === '' ? 'the policy' : field;
  throw new AppError('validation_failed', `invalid expiry policy: ${subject} ${problem}`, { path: field, ...extra });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pointerSegments(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}

function valueAt(root: unknown, segments: readonly PathSegment[]): unknown {
  let current: unknown = root;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}

/** Checks `value` against one schema and turns its first error into a sentence naming the field. */
function checkShape(schema: TSchema, value: unknown, path: readonly PathSegment[], kind: string): void {
  const validator = validatorOf(schema);
  if (validator.Check(value)) return;
  const [error] = validator.Errors(value);
  if (error === undefined) return;
  const at = pointerSegments(error.instancePath);
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') {
    const missing = (params['requiredProperties'] as string[])[0] ?? '?';
    refuse([...path, ...at, missing], `is required for kind ${kind}`);
  }
  if (error.keyword === 'additionalProperties') {
    const unknownField = (params['additionalProperties'] as string[])[0] ?? '?';
    refuse([...path, ...at, unknownField], `is not a field of kind ${kind}`);
  }
  if (error.keyword === 'boolean') refuse([...path, ...at], `is not a field of kind ${kind}`);
  if (error.keyword === 'enum') {
    const allowed = (params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ');
    refuse([...path, ...at], `must be one of ${allowed} (got ${JSON.stringify(valueAt(value, at))})`);
  }
  if (error.keyword === 'pattern') {
    refuse([...path, ...at], `must be a local date YYYY-MM-DD (got ${JSON.stringify(valueAt(value, at))})`);
  }
  refuse([...path, ...at], `${error.message} (got ${JSON.stringify(valueAt(value, at))})`);
}

function checkRealDate(date: string, path: readonly PathSegment[]): void {
  if (parseIsoDate(date) === null) refuse(path, `is not a real calendar date (got "${date}")`);
}

function checkPolicy(
  value: unknown,
  path: readonly PathSegment[],
  allowedKinds: readonly ExpiryPolicyKind[],
  container: string | null,
): void {
  if (!isRecord(value)) refuse(path, `must be an object with a "kind" (got ${JSON.stringify(value)})`);
  const kind = value['kind'];
  if (typeof kind !== 'string' || !(ALL_KINDS as string[]).includes(kind)) {
    refuse([...path, 'kind'], `must be one of ${ALL_KINDS.join(', ')} (got ${JSON.stringify(kind)})`);
  }
  const policyKind = kind as ExpiryPolicyKind;
  if (!allowedKinds.includes(policyKind)) {
    const why =
      policyKind === 'inactivity'
        ? 'inactivity applies to the whole balance and can only be the top-level policy'
        : `it cannot be nested inside ${container}`;
    refuse([...path, 'kind'], `is ${policyKind}, but ${why} (allowed here: ${allowedKinds.join(', ')})`);
  }

  switch (policyKind) {
    case 'byTier': {
      checkShape(ByTierShape, value, path, 'byTier');
      const tiers = value['tiers'] as Record<string, unknown>;
      for (const [tierCode, tierPolicy] of Object.entries(tiers)) {
        if (tierCode.trim() === '') refuse([...path, 'tiers'], 'must not contain a blank tier code');
        checkPolicy(tierPolicy, [...path, 'tiers', tierCode], SIMPLE_KINDS, 'byTier');
      }
      checkPolicy(value['default'], [...path, 'default'], SIMPLE_KINDS, 'byTier');
      return;
    }
    case 'versioned': {
      checkShape(VersionedShape, value, path, 'versioned');
      const versions = value['versions'] as { effectiveFrom: string; policy: unknown }[];
      versions.forEach((version, index) => {
        const versionPath = [...path, 'versions', index];
        checkRealDate(version.effectiveFrom, [...versionPath, 'effectiveFrom']);
        const previous = versions[index - 1];
        if (previous !== undefined && version.effectiveFrom <= previous.effectiveFrom) {
          refuse(
            [...versionPath, 'effectiveFrom'],
            `must be later than ${formatPath([...path, 'versions', index - 1, 'effectiveFrom'])} (${previous.effectiveFrom}); versions are listed oldest first, one per date (got ${version.effectiveFrom})`,
          );
        }
        checkPolicy(version.policy, [...versionPath, 'policy'], IN_VERSION_KINDS, 'versioned');
      });
      return;
    }
    default:
      checkShape(expiryPolicySchemaByKind[policyKind], value, path, policyKind);
  }

  if (policyKind === 'fixedDate') checkRealDate(value['date'] as string, [...path, 'date']);
  if (policyKind === 'calendarAnchor') {
    const month = value['month'] as number;
    const day = value['day'] as number;
    const maxDay = MAX_DAY_OF_MONTH[month - 1] ?? 31;
    if (day > maxDay) {
      refuse([...path, 'day'], `must be at most ${maxDay}: ${MONTH_NAMES[month - 1]} has no day ${day}`, { month, day });
    }
  }
  if (policyKind === 'inactivity') {
    (value['activityKinds'] as string[]).forEach((activityKind, index) => {
      if (activityKind.trim() !== activityKind || activityKind === '') {
        refuse([...path, 'activityKinds', index], `must be an activity kind without surrounding spaces (got ${JSON.stringify(activityKind)})`);
      }
    });
  }
}

/**
 * Refuses a policy that is malformed or meaningless, with `validation_failed` and a message
 * and `details.path` naming the field (e.g. `versions[1].policy.tiers.gold.days`).
 * Takes `unknown` so it can guard stored or hand-written configuration as well as API input.
 */
export function validateExpiryPolicy(policy: unknown): asserts policy is ExpiryPolicy {
  checkPolicy(policy, [], ALL_KINDS, null);
  // The walk above mirrors the schema; if they ever disagree, refuse rather than trust either.
  const whole = validatorOf(ExpiryPolicySchema);
  if (!whole.Check(policy)) {
    const [error] = whole.Errors(policy);
    refuse(pointerSegments(error?.instancePath ?? ''), error?.message ?? 'does not match the expiry policy schema');
  }
}
