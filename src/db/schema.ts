import type { ColumnType, Generated } from 'kysely';
import type { EngagementTables } from '../modules/engagement/engagement.tables.js';
import type { MallTables } from '../modules/mall/mall.tables.js';
import type { TierTables } from '../modules/tiers/tiers.tables.js';
import type { OperatorTables } from '../modules/operators/operators.tables.js';

/**
 * Table types for Kysely. Each module adds its tables here; the SQL in `migrations/` is the
 * source of truth and these types follow it.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T = unknown> = ColumnType<T, string, string>;

export interface ProgramsTable {
  id: string;
  name: string;
  mode: 'live' | 'sandbox';
  time_zone: string;
  currency: string;
  settings: Json<Record<string, unknown>>;
  clock_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface DeploymentSettingsTable {
  name: string;
  value: Json;
  updated_at: Timestamp;
}

export interface ApiKeysTable {
  id: string;
  program_id: string;
  name: string;
  hint: string;
  secret_hash: Buffer;
  scopes: string[];
  created_at: Timestamp;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

export interface MembersTable {
  id: string;
  program_id: string;
  external_id: string;
  status: Generated<'active' | 'frozen' | 'closed'>;
  name: string | null;
  phone: string | null;
  email: string | null;
  birthday: string | null;
  gender: string | null;
  region: string | null;
  attributes: Json<Record<string, unknown>>;
  tags: string[];
  joined_at: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  request_hash: string;
  response_status: number;
  response_body: Json | null;
  created_at: Timestamp;
}

export interface ScheduledJobsTable {
  name: string;
  program_id: string;
  next_run_at: Timestamp;
  last_run_at: Timestamp | null;
  last_result: Json | null;
}

export interface DB extends LedgerTables, EngagementTables, MallTables, TierTables, OperatorTables {
  programs: ProgramsTable;
  deployment_settings: DeploymentSettingsTable;
  api_keys: ApiKeysTable;
  members: MembersTable;
  idempotency_keys: IdempotencyKeysTable;
  scheduled_jobs: ScheduledJobsTable;
}

export interface PointTypesTable {
  id: string;
  program_id: string;
  code: string;
  name: string;
  kind: 'redeemable' | 'growth';
  decimals: number;
  expiry_policy: Json<unknown>;
  negative_balance: 'forbid' | 'allow';
  consumption_order: 'expiring_first' | 'oldest_first' | 'newest_first';
  expired_refund: 'expire' | 'recredit';
  expiry_notice_days: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AccountsTable {
  member_id: string;
  point_type_id: string;
  program_id: string;
  available: number;
  pending: number;
  reserved: number;
  earned: number;
  spent: number;
  expired: number;
  negative_allowed: boolean;
  last_activity_at: Timestamp | null;
  updated_at: Timestamp;
}

export interface LedgerTransactionsTable {
  id: string;
  program_id: string;
  member_id: string;
  point_type_id: string;
  kind: string;
  amount: number;
  status: string | null;
  idempotency_key: string | null;
  related_id: string | null;
  counterpart_member_id: string | null;
  source_type: string | null;
  source_id: string | null;
  reason: string | null;
  actor: string;
  details: Json | null;
  refunded: number;
  reversed: number;
  hold_until: Timestamp | null;
  occurred_at: Timestamp;
  created_at: Generated<Date>;
}

export interface LedgerEntriesTable {
  id: Generated<number>;
  program_id: string;
  member_id: string;
  point_type_id: string;
  transaction_id: string;
  kind: string;
  amount: number;
  pending_delta: number;
  available_after: number;
  pending_after: number;
  occurred_at: Timestamp;
  created_at: Generated<Date>;
}

export interface LotsTable {
  id: string;
  program_id: string;
  member_id: string;
  point_type_id: string;
  transaction_id: string;
  status: 'pending' | 'active' | 'expired' | 'cancelled';
  amount: number;
  remaining: number;
  earned_at: Timestamp;
  activates_at: Timestamp | null;
  expires_at: Timestamp | null;
  expired_amount: number;
}

export interface LotAllocationsTable {
  member_id: string;
  transaction_id: string;
  lot_id: string;
  amount: number;
  returned: number;
}

export interface ExpiryNoticesTable {
  id: string;
  program_id: string;
  member_id: string;
  point_type_id: string;
  expires_at: Timestamp;
  amount: number;
  created_at: Timestamp;
  delivered_at: Timestamp | null;
}

export interface LedgerTables {
  point_types: PointTypesTable;
  accounts: AccountsTable;
  ledger_transactions: LedgerTransactionsTable;
  ledger_entries: LedgerEntriesTable;
  lots: LotsTable;
  lot_allocations: LotAllocationsTable;
  expiry_notices: ExpiryNoticesTable;
}
