import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface OperatorsTable {
  id: string;
  username: string;
  display_name: string | null;
  password_hash: string;
  role: 'admin' | 'operator' | 'viewer';
  created_at: Timestamp;
  disabled_at: Timestamp | null;
}

export interface OperatorSessionsTable {
  token_hash: string;
  operator_id: string;
  csrf_token: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface OperatorTables {
  operators: OperatorsTable;
  operator_sessions: OperatorSessionsTable;
}
