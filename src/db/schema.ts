import type { ColumnType, Generated } from 'kysely';

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

export interface DB {
  programs: ProgramsTable;
  deployment_settings: DeploymentSettingsTable;
  api_keys: ApiKeysTable;
  members: MembersTable;
  idempotency_keys: IdempotencyKeysTable;
  scheduled_jobs: ScheduledJobsTable;
}
