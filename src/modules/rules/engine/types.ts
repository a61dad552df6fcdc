import type { EventAttributesSchema } from './event-types.js';
import type { MultiplierPolicy } from './schemas.js';

/** A behaviour reported by the host platform, already checked against its type's schema. */
export interface EngineEvent {
  type: string;
  occurredAt: Date;
  channel: string | null;
  /** amounts are integers in minor units */
  attributes: Record<string, unknown>;
}

/** What the caller knows about the member at the time of the event. */
export interface MemberContext {
  tierCode: string | null;
  planCodes: readonly string[];
  tags: readonly string[];
  segments: readonly string[];
  /** 'YYYY-MM-DD'; the year is ignored */
  birthday: string | null;
  joinedAt: Date;
}

export interface PointTypeInfo {
  /** 0 for whole points; 1 stores 1.2 stars as 12 smallest units */
  decimals: number;
}

export type ChannelKind = 'owned' | 'partner';

export interface ProgramContext {
  /** IANA zone: every day, week, month and year the engine speaks of is local to it */
  timeZone: string;
  pointTypes: Readonly<Record<string, PointTypeInfo>>;
  /**
   * Channel code → kind, for `event.channelKind` (growth only from owned channels). Channels
   * belong to the program, so this lives here rather than on the member.
   */
  channelKinds?: Readonly<Record<string, ChannelKind>>;
  /** Known tier and plan codes; when given, rules naming others are refused at save time. */
  tierCodes?: readonly string[];
  planCodes?: readonly string[];
  /** The program's default multiplier policy; a rule's own policy overrides it key by key. */
  multiplierDefaults?: MultiplierPolicy;
}

/** Everything validation and compilation need besides the rule itself. */
export interface RuleContext {
  program: ProgramContext;
  /** custom event types of the program, added to (or overriding) the built-in ones */
  eventTypes?: Readonly<Record<string, EventAttributesSchema>>;
}

/**
 * Counter values read by the caller before evaluating: amounts already awarded per cap key,
 * amounts used per budget key, running counts per milestone key. Every key listed by
 * `requiredCounterKeys` must be present (0 when there is no row yet): a missing key is a caller
 * bug that would silently lift a cap, so the engine refuses it.
 */
export type CounterSnapshot = ReadonlyMap<string, number> | Readonly<Record<string, number>>;
