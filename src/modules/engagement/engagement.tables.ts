import type { ColumnType } from 'kysely';

/** Kysely types of the engagement tables; `src/db/migrations/0004-engagement.ts` is the truth. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T = unknown> = ColumnType<T, string, string>;

export interface CheckinSchedulesTable {
  program_id: string;
  config: Json;
  version: number;
  updated_at: Timestamp;
}

export interface CheckinStatesTable {
  member_id: string;
  program_id: string;
  longest_streak: number;
  total_days: number;
  updated_at: Timestamp;
}

export interface CheckInsTable {
  id: string;
  program_id: string;
  member_id: string;
  local_date: string;
  kind: 'check_in' | 'make_up';
  streak: number;
  cycle_day: number;
  schedule_version: number;
  rewards: Json;
  cost: Json | null;
  recorded_on: string;
  created_at: Timestamp;
}

export interface TasksTable {
  id: string;
  program_id: string;
  code: string;
  name: string;
  description: string | null;
  recurrence: 'once' | 'daily' | 'weekly' | 'monthly';
  event_type: string;
  conditions: Json;
  measure: 'count' | 'sum';
  sum_attribute: string | null;
  target: number;
  rewards: Json;
  claim: 'auto' | 'manual';
  starts_at: Timestamp | null;
  ends_at: Timestamp | null;
  status: 'active' | 'paused' | 'archived';
  position: number;
  version: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TaskProgressTable {
  member_id: string;
  task_id: string;
  period: string;
  program_id: string;
  progress: number;
  target: number;
  status: 'in_progress' | 'completed' | 'rewarded';
  completed_at: Timestamp | null;
  rewarded_at: Timestamp | null;
  rewards: Json | null;
  updated_at: Timestamp;
}

export interface MedalsTable {
  id: string;
  program_id: string;
  code: string;
  name: string;
  description: string | null;
  criterion: Json;
  criterion_kind: string;
  event_type: string | null;
  levels: Json;
  status: 'active' | 'archived';
  position: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MedalProgressTable {
  member_id: string;
  medal_id: string;
  program_id: string;
  value: number;
  updated_at: Timestamp;
}

export interface MemberMedalsTable {
  member_id: string;
  medal_id: string;
  level: number;
  program_id: string;
  awarded_at: Timestamp;
  source: Json;
}

export interface InvitationSettingsTable {
  program_id: string;
  config: Json;
  version: number;
  updated_at: Timestamp;
}

export interface ReferralCodesTable {
  member_id: string;
  program_id: string;
  code: string;
  device_hash: string | null;
  created_at: Timestamp;
}

export interface InvitationsTable {
  id: string;
  program_id: string;
  inviter_member_id: string;
  invitee_member_id: string;
  code: string;
  device_hash: string | null;
  phone_hash: string | null;
  status: 'pending' | 'qualified';
  created_at: Timestamp;
  expires_at: Timestamp;
  qualified_at: Timestamp | null;
  qualifying_event_id: string | null;
  rewards: Json | null;
}

export interface EngagementTables {
  checkin_schedules: CheckinSchedulesTable;
  checkin_states: CheckinStatesTable;
  check_ins: CheckInsTable;
  tasks: TasksTable;
  task_progress: TaskProgressTable;
  medals: MedalsTable;
  medal_progress: MedalProgressTable;
  member_medals: MemberMedalsTable;
  invitation_settings: InvitationSettingsTable;
  referral_codes: ReferralCodesTable;
  invitations: InvitationsTable;
}
