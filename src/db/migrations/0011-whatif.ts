/**
 * What-if (issue 11): draft configurations held beside the live one, and the runs (replays of
 * recorded events under a draft, forward simulations of a sandbox program) with their progress
 * and result. A run reads live data and writes only its own row.
 */
export const sql = /* sql */ `
create table whatif_drafts (
  id text primary key,
  program_id text not null references programs(id),
  name text not null,
  -- changed / added / removed rules and campaigns, a tier ladder, expiry policies per point type
  document jsonb not null,
  version int not null,
  created_by text not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index whatif_drafts_program on whatif_drafts (program_id, created_at);

create table whatif_runs (
  id text primary key,
  program_id text not null references programs(id),
  kind text not null check (kind in ('replay', 'simulation')),
  draft_id text references whatif_drafts(id),
  -- the draft document as it was when the run started: a later edit does not change a result
  draft jsonb,
  params jsonb not null,
  status text not null check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  processed bigint not null default 0,
  total bigint,
  cancel_requested boolean not null default false,
  result jsonb,
  error jsonb,
  created_by text not null,
  created_at timestamptz not null,
  started_at timestamptz,
  heartbeat_at timestamptz,
  finished_at timestamptz
);
create index whatif_runs_program on whatif_runs (program_id, created_at);
create index whatif_runs_draft on whatif_runs (draft_id);
create index whatif_runs_queued on whatif_runs (status) where status = 'queued';
`;
