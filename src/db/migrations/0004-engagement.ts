/**
 * Engagement: check-in, tasks, medals and invitations (module `engagement`).
 *
 * - `checkin_schedules`: one per program; the reward schedule and make-up rules as JSON
 *   (validated by the service), versioned so every reward names the schedule that paid it.
 * - `check_ins`: one row per member and local day (primary key): two devices checking in at once
 *   give one row, one reward. `streak` is the run of consecutive days ending on that day (make-ups
 *   repair it); `cycle_day` and `rewards` record what was paid and why.
 * - `checkin_states`: one per member; the lock that serialises a member's check-ins and make-ups,
 *   and the cached longest streak / total for medals and summaries.
 * - `tasks` / `task_progress`: task definitions and a member's progress per period
 *   (`once`, a local date, an ISO week, a month), upserted with a guard on the row.
 * - `medals` / `medal_progress` / `member_medals`: definitions with levels, the metric a member
 *   has accumulated toward each, and each level awarded once (primary key) with its date.
 * - `invitation_settings`, `referral_codes`, `invitations`: one inviter per invitee, one
 *   invitation per device and per phone (stored hashed), rewards once per invitation.
 */
export const sql = /* sql */ `
create table checkin_schedules (
  program_id text primary key references programs(id),
  config jsonb not null,
  version int not null,
  updated_at timestamptz not null
);

create table checkin_states (
  member_id text primary key references members(id),
  program_id text not null,
  longest_streak int not null default 0,
  total_days int not null default 0,
  updated_at timestamptz not null
);
create index checkin_states_program on checkin_states (program_id);

create table check_ins (
  id text not null,
  program_id text not null,
  member_id text not null references members(id),
  local_date date not null,
  kind text not null check (kind in ('check_in', 'make_up')),
  streak int not null check (streak >= 1),
  cycle_day int not null check (cycle_day >= 1),
  schedule_version int not null,
  rewards jsonb not null,
  cost jsonb,
  recorded_on date not null,
  created_at timestamptz not null,
  primary key (member_id, local_date)
);
create unique index check_ins_id on check_ins (id);
create index check_ins_program_date on check_ins (program_id, local_date);
create index check_ins_make_ups on check_ins (member_id, recorded_on) where kind = 'make_up';

create table tasks (
  id text primary key,
  program_id text not null references programs(id),
  code text not null,
  name text not null,
  description text,
  recurrence text not null check (recurrence in ('once', 'daily', 'weekly', 'monthly')),
  event_type text not null,
  conditions jsonb not null,
  measure text not null check (measure in ('count', 'sum')),
  sum_attribute text,
  target bigint not null check (target > 0),
  rewards jsonb not null,
  claim text not null check (claim in ('auto', 'manual')),
  starts_at timestamptz,
  ends_at timestamptz,
  status text not null check (status in ('active', 'paused', 'archived')),
  position int not null default 0,
  version int not null default 1,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (program_id, code)
);
create index tasks_trigger on tasks (program_id, event_type) where status = 'active';

create table task_progress (
  member_id text not null references members(id),
  task_id text not null references tasks(id),
  period text not null,
  program_id text not null,
  progress bigint not null default 0 check (progress >= 0),
  target bigint not null,
  status text not null check (status in ('in_progress', 'completed', 'rewarded')),
  completed_at timestamptz,
  rewarded_at timestamptz,
  rewards jsonb,
  updated_at timestamptz not null,
  primary key (member_id, task_id, period)
);
create index task_progress_task on task_progress (task_id, status);

create table medals (
  id text primary key,
  program_id text not null references programs(id),
  code text not null,
  name text not null,
  description text,
  criterion jsonb not null,
  criterion_kind text not null,
  event_type text,
  levels jsonb not null,
  status text not null check (status in ('active', 'archived')),
  position int not null default 0,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (program_id, code)
);
create index medals_trigger on medals (program_id, criterion_kind, event_type) where status = 'active';

create table medal_progress (
  member_id text not null references members(id),
  medal_id text not null references medals(id),
  program_id text not null,
  value bigint not null default 0,
  updated_at timestamptz not null,
  primary key (member_id, medal_id)
);
create index medal_progress_medal on medal_progress (medal_id);

create table member_medals (
  member_id text not null references members(id),
  medal_id text not null references medals(id),
  level int not null check (level >= 1),
  program_id text not null,
  awarded_at timestamptz not null,
  source jsonb not null,
  primary key (member_id, medal_id, level)
);
create index member_medals_medal on member_medals (medal_id);

create table invitation_settings (
  program_id text primary key references programs(id),
  config jsonb not null,
  version int not null,
  updated_at timestamptz not null
);

create table referral_codes (
  member_id text primary key references members(id),
  program_id text not null,
  code text not null,
  device_hash text,
  created_at timestamptz not null,
  unique (program_id, code)
);

create table invitations (
  id text primary key,
  program_id text not null,
  inviter_member_id text not null references members(id),
  invitee_member_id text not null references members(id),
  code text not null,
  device_hash text,
  phone_hash text,
  status text not null check (status in ('pending', 'qualified')),
  created_at timestamptz not null,
  expires_at timestamptz not null,
  qualified_at timestamptz,
  qualifying_event_id text,
  rewards jsonb,
  unique (program_id, invitee_member_id),
  check (inviter_member_id <> invitee_member_id)
);
create unique index invitations_device on invitations (program_id, device_hash) where device_hash is not null;
create unique index invitations_phone on invitations (program_id, phone_hash) where phone_hash is not null;
create index invitations_inviter on invitations (inviter_member_id, created_at);
create index invitations_invitee on invitations (invitee_member_id);
`;
