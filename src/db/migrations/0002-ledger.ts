/**
 * The points ledger.
 *
 * - `point_types`: the currencies of a program (program-level configuration).
 * - `accounts`: one cached balance per member and point type, changed only together with a
 *   ledger entry in the same transaction. `available` may go below zero only where the point
 *   type allows debt (`negative_allowed`, copied from the type and kept in step with it).
 * - `ledger_transactions`: one row per operation (earn, spend, reserve, refund, …) with its
 *   idempotency key, cause and links to what it refunds or reverses.
 * - `ledger_entries`: append-only; each records the change to available and pending of one
 *   account and the balances after it.
 * - `lots`: points credited together with one expiry instant, computed when earned and never
 *   recomputed; `remaining` is what is left to spend (of a pending lot: what will activate).
 *   Invariant per account:
 *   greatest(available, 0) = sum(remaining of active lots); a debt (negative balance) is repaid
 *   by the next points to arrive.
 * - `lot_allocations`: which lots a spend, hold or transfer drew from and how much, so refunds go
 *   back to their own lots and expiry removes only what a lot still has.
 */
export const sql = /* sql */ `
create table point_types (
  id text primary key,
  program_id text not null references programs(id),
  code text not null,
  name text not null,
  kind text not null check (kind in ('redeemable', 'growth')),
  decimals int not null default 0 check (decimals between 0 and 4),
  expiry_policy jsonb not null,
  negative_balance text not null default 'forbid' check (negative_balance in ('forbid', 'allow')),
  consumption_order text not null default 'expiring_first'
    check (consumption_order in ('expiring_first', 'oldest_first', 'newest_first')),
  expired_refund text not null default 'expire' check (expired_refund in ('expire', 'recredit')),
  expiry_notice_days int not null default 30 check (expiry_notice_days between 0 and 365),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (program_id, code)
);

create table accounts (
  member_id text not null references members(id),
  point_type_id text not null references point_types(id),
  program_id text not null,
  available bigint not null default 0,
  pending bigint not null default 0 check (pending >= 0),
  reserved bigint not null default 0 check (reserved >= 0),
  earned bigint not null default 0,
  spent bigint not null default 0,
  expired bigint not null default 0,
  negative_allowed boolean not null default false,
  last_activity_at timestamptz,
  updated_at timestamptz not null,
  primary key (member_id, point_type_id),
  check (available >= 0 or negative_allowed)
);
create index accounts_point_type on accounts (point_type_id);
create index accounts_program on accounts (program_id, point_type_id);

create table ledger_transactions (
  id text not null,
  program_id text not null,
  member_id text not null references members(id),
  point_type_id text not null references point_types(id),
  kind text not null check (kind in ('earn', 'spend', 'reserve', 'capture', 'release', 'refund', 'reversal',
    'adjustment', 'expiry', 'transfer_out', 'transfer_in', 'activation', 'cancel_pending')),
  amount bigint not null check (amount >= 0),
  -- reserve: open → captured | released; earn: active | pending | cancelled
  status text,
  idempotency_key text,
  related_id text,
  counterpart_member_id text,
  source_type text,
  source_id text,
  reason text,
  actor text not null,
  details jsonb,
  refunded bigint not null default 0,
  reversed bigint not null default 0,
  hold_until timestamptz,
  occurred_at timestamptz not null,
  created_at timestamptz not null default now(),
  primary key (member_id, id),
  unique (member_id, idempotency_key)
);
create unique index ledger_transactions_id on ledger_transactions (id);
create index ledger_transactions_related on ledger_transactions (member_id, related_id) where related_id is not null;
create index ledger_transactions_open_holds on ledger_transactions (program_id, hold_until) where status = 'open';
create index ledger_transactions_source on ledger_transactions (program_id, source_type, source_id) where source_id is not null;
create index ledger_transactions_point_type on ledger_transactions (point_type_id);

create table ledger_entries (
  id bigint generated always as identity,
  program_id text not null,
  member_id text not null references members(id),
  point_type_id text not null references point_types(id),
  transaction_id text not null,
  kind text not null,
  amount bigint not null,
  pending_delta bigint not null default 0,
  available_after bigint not null,
  pending_after bigint not null,
  occurred_at timestamptz not null,
  created_at timestamptz not null default now(),
  primary key (member_id, id)
);
create index ledger_entries_history on ledger_entries (member_id, point_type_id, id desc);
create index ledger_entries_transaction on ledger_entries (transaction_id);
create index ledger_entries_program_time on ledger_entries (program_id, occurred_at);
create index ledger_entries_point_type on ledger_entries (point_type_id);

create table lots (
  id text not null,
  program_id text not null,
  member_id text not null references members(id),
  point_type_id text not null references point_types(id),
  transaction_id text not null,
  status text not null check (status in ('pending', 'active', 'expired', 'cancelled')),
  amount bigint not null check (amount > 0),
  remaining bigint not null check (remaining >= 0 and remaining <= amount),
  earned_at timestamptz not null,
  activates_at timestamptz,
  expires_at timestamptz,
  expired_amount bigint not null default 0,
  primary key (member_id, id)
);
create unique index lots_id on lots (id);
create index lots_spendable on lots (member_id, point_type_id, expires_at) where status = 'active' and remaining > 0;
create index lots_expiry_due on lots (program_id, expires_at) where status = 'active' and remaining > 0;
create index lots_activation_due on lots (program_id, activates_at) where status = 'pending';
create index lots_transaction on lots (member_id, transaction_id);
create index lots_point_type on lots (point_type_id);

create table lot_allocations (
  member_id text not null references members(id),
  transaction_id text not null,
  lot_id text not null,
  amount bigint not null check (amount > 0),
  returned bigint not null default 0 check (returned >= 0 and returned <= amount),
  primary key (member_id, transaction_id, lot_id)
);
create index lot_allocations_lot on lot_allocations (member_id, lot_id);

-- Upcoming-expiry notices, one per account and expiry instant, delivered later as webhooks.
create table expiry_notices (
  id text primary key,
  program_id text not null,
  member_id text not null references members(id),
  point_type_id text not null references point_types(id),
  expires_at timestamptz not null,
  amount bigint not null,
  created_at timestamptz not null,
  delivered_at timestamptz,
  unique (member_id, point_type_id, expires_at)
);
create index expiry_notices_program on expiry_notices (program_id, created_at);
create index expiry_notices_point_type on expiry_notices (point_type_id);
`;
