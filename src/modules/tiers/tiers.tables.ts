import type { ColumnType } from 'kysely';

/** Kysely types of the tier tables; `src/db/migrations/0006-tiers.ts` is the truth. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T = unknown> = ColumnType<T, string, string>;

export interface TierLaddersTable {
  id: string;
  program_id: string;
  code: string;
  name: string;
  policy: Json;
  version: number;
  evaluated_through: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TiersTable {
  id: string;
  program_id: string;
  ladder_id: string;
  code: string;
  name: string;
  rank: number;
  colour: string | null;
  icon: string | null;
  description: string | null;
  config: Json;
  active: boolean;
  updated_at: Timestamp;
}

export interface TierMetricsTable {
  program_id: string;
  code: string;
  name: string;
  source: Json;
  updated_at: Timestamp;
}

export interface TierMetricBucketsTable {
  member_id: string;
  metric: string;
  local_date: string;
  program_id: string;
  value: number;
}

export interface TierMetricValuesTable {
  member_id: string;
  metric: string;
  program_id: string;
  value: number;
  updated_at: Timestamp;
}

export interface MemberTiersTable {
  member_id: string;
  program_id: string;
  ladder_id: string;
  joined_on: string;
  rank: number;
  source: 'qualified' | 'purchased' | 'manual' | 'lifetime' | 'base';
  since: Timestamp;
  qualified_rank: number;
  qualified_since: Timestamp;
  attained_on: string;
  valid_until: Timestamp | null;
  grace_until: Timestamp | null;
  counters_from: string | null;
  carry: Json<Record<string, number>>;
  purchased_rank: number | null;
  purchased_until: Timestamp | null;
  manual_rank: number | null;
  manual_until: Timestamp | null;
  manual_reason: string | null;
  lifetime_rank: number;
  version: number;
  updated_at: Timestamp;
}

export interface TierHistoryTable {
  id: string;
  program_id: string;
  member_id: string;
  ladder_id: string;
  from_tier_id: string | null;
  from_rank: number;
  to_tier_id: string | null;
  to_rank: number;
  source: string;
  qualified_rank: number;
  cause: string;
  cause_id: string | null;
  reason: string | null;
  actor: string;
  valid_until: Timestamp | null;
  tier_snapshot: Json | null;
  metrics: Json | null;
  details: Json | null;
  occurred_at: Timestamp;
}

export interface TierTables {
  tier_ladders: TierLaddersTable;
  tiers: TiersTable;
  tier_metrics: TierMetricsTable;
  tier_metric_buckets: TierMetricBucketsTable;
  tier_metric_values: TierMetricValuesTable;
  member_tiers: MemberTiersTable;
  tier_history: TierHistoryTable;
}
