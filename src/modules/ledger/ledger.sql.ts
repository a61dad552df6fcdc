/**
 * The ledger's hot SQL, written by hand: each operation is one or two statements.
 *
 * Concurrency rules every statement here follows:
 * - The account row is the lock of a member's balance in a point type. Every path that changes
 *   lots first locks (updates) the account row, in an earlier statement of the same transaction,
 *   so that under READ COMMITTED the statement reading lots starts after the lock is held and
 *   sees every change committed before it.
 * - Balances change only with a guard in the same statement (`available >= $n`), and the
 *   caller checks what the statement changed.
 * - The transaction row carries the idempotency key under a unique index: a duplicate inserts
 *   nothing (`on conflict do nothing`) and so changes nothing else.
 */
import { prepared, preparedWhileShort } from '../../db/database.js';
import type { ConsumptionOrder } from './point-types.service.js';

const TXN_COLUMNS = `id, program_id, member_id, point_type_id, kind, amount, status, idempotency_key, related_id,
  counterpart_member_id, source_type, source_id, reason, actor, details, hold_until, occurred_at, request_hash,
  api_key_id, channel`;

/**
 * Earn in one statement: the transaction, the account upsert, the lot and the entry.
 * A debt (negative balance) is repaid first: the lot keeps only what exceeds it.
 * $1 program, $2 member, $3 txn id, $4 point type, $5 amount, $6 status ('active'|'pending'),
 * $7 idempotency key, $8 source type, $9 source id, $10 reason, $11 actor, $12 details,
 * $13 occurred at, $14 negative allowed, $15 counts as activity, $16 lot id, $17 activates at,
 * $18 expires at, $19 entry kind, $20 related id, $21 txn kind, $22 member status must be active,
 * $23 request fingerprint, $24 API key (attribution), $25 channel
 */
export const EARN = prepared(`
with m as (
  select id from members where id = $2 and program_id = $1 and (status = 'active' or not $22)
), txn as (
  insert into ledger_transactions (${TXN_COLUMNS})
  select $3, $1, m.id, $4, $21, $5, $6, $7, $20, null, $8, $9, $10, $11, $12, null, $13, $23, $24, $25 from m
  on conflict (member_id, idempotency_key) do nothing
  returning id
), acct as (
  insert into accounts as a (member_id, point_type_id, program_id, available, pending, earned, negative_allowed, last_activity_at, updated_at)
  select $2, $4, $1,
    case when $6 = 'pending' then 0 else $5::bigint end,
    case when $6 = 'pending' then $5::bigint else 0 end,
    case when $6 = 'pending' then 0 else $5::bigint end,
    $14, case when $15 then $13::timestamptz end, $13
  from txn
  on conflict (member_id, point_type_id) do update set
    available = a.available + excluded.available,
    pending = a.pending + excluded.pending,
    earned = a.earned + excluded.earned,
    last_activity_at = greatest(a.last_activity_at, excluded.last_activity_at),
    updated_at = excluded.updated_at
  returning available, pending
), lot as (
  insert into lots (id, program_id, member_id, point_type_id, transaction_id, status, amount, remaining, earned_at, activates_at, expires_at)
  select $16, $1, $2, $4, $3, $6, $5,
    case when $6 = 'pending' then $5::bigint else least($5::bigint, greatest(acct.available, 0)) end,
    $13, $17, $18
  from acct
  returning id
), entry as (
  insert into ledger_entries (program_id, member_id, point_type_id, transaction_id, kind, amount, pending_delta, available_after, pending_after, occurred_at)
  select $1, $2, $4, $3, $19,
    case when $6 = 'pending' then 0 else $5::bigint end,
    case when $6 = 'pending' then $5::bigint else 0 end,
    acct.available, acct.pending, $13
  from acct
  returning id
)
select (select id from txn) as id, (select available from acct) as available, (select pending from acct) as pending`);

/**
 * The first half of every debit: record the transaction and take the amount off `available`
 * under a guard. $6 may allow debt (a clawback under a policy that permits it).
 * $1 program, $2 member, $3 txn id, $4 point type, $5 amount, $6 guard off (debt allowed),
 * $7 kind, $8 status, $9 idempotency key, $10 related id, $11 counterpart, $12 source type,
 * $13 source id, $14 reason, $15 actor, $16 details, $17 hold until, $18 occurred at,
 * $19 add to spent, $20 add to reserved, $21 counts as activity, $22 member must be active,
 * $23 request fingerprint, $24 API key (attribution), $25 channel
 */
export const DEBIT_ACCOUNT = prepared(`
with m as (
  select id from members where id = $2 and program_id = $1 and (status = 'active' or not $22)
), txn as (
  insert into ledger_transactions (${TXN_COLUMNS})
  select $3, $1, m.id, $4, $7, $5, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $23, $24, $25 from m
  on conflict (member_id, idempotency_key) do nothing
  returning id
), acct as (
  update accounts a set
    available = a.available - $5,
    spent = a.spent + $19,
    reserved = a.reserved + $20,
    last_activity_at = case when $21 then greatest(a.last_activity_at, $18) else a.last_activity_at end,
    updated_at = $18
  from txn
  where a.member_id = $2 and a.point_type_id = $4 and (a.available >= $5 or $6)
  returning a.available, a.pending
)
select (select id from txn) as id, (select available from acct) as available, (select pending from acct) as pending`);

// Ties fall back to the creation sequence: lots earned at one instant are drawn in creation order.
export const ORDER_BY: Record<ConsumptionOrder, string> = {
  expiring_first: 'expires_at asc nulls last, earned_at asc, seq asc',
  oldest_first: 'earned_at asc, seq asc',
  newest_first: 'earned_at desc, seq desc',
};

/**
 * The second half of a debit: draw the amount from the account's active lots in the point type's
 * consumption order, record the allocations, and write the entry.
 * $1 member, $2 point type, $3 amount to draw, $4 txn id, $5 program, $6 entry kind,
 * $7 entry amount (signed change to available), $8 available after, $9 pending after, $10 occurred at
 */
export function drawFromLots(order: ConsumptionOrder): string {
  return prepared(`
with candidates as (
  select id, remaining,
    coalesce(sum(remaining) over (order by ${ORDER_BY[order]} rows between unbounded preceding and 1 preceding), 0) as before
  from lots
  where member_id = $1 and point_type_id = $2 and status = 'active' and remaining > 0
), takes as (
  select id, least(remaining, $3::bigint - before) as take from candidates where before < $3::bigint
), drawn as (
  update lots l set remaining = l.remaining - t.take
  from takes t where l.member_id = $1 and l.id = t.id
  returning l.id, t.take
), allocations as (
  insert into lot_allocations (member_id, transaction_id, lot_id, amount)
  select $1, $4, id, take from drawn
  returning amount
), entry as (
  insert into ledger_entries (program_id, member_id, point_type_id, transaction_id, kind, amount, pending_delta, available_after, pending_after, occurred_at)
  values ($5, $1, $2, $4, $6, $7, 0, $8, $9, $10)
  returning id
)
select coalesce((select sum(amount) from allocations), 0)::bigint as drawn`);
}

export const INSERT_ENTRY = `
insert into ledger_entries (program_id, member_id, point_type_id, transaction_id, kind, amount, pending_delta, available_after, pending_after, occurred_at)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;

export const INSERT_TRANSACTION = `
insert into ledger_transactions (${TXN_COLUMNS})
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
on conflict (member_id, idempotency_key) do nothing
returning id`;

export const LOCK_ACCOUNT = `
select available, pending, reserved, negative_allowed from accounts
where member_id = $1 and point_type_id = $2 for update`;

/**
 * Many earns in one statement (batch ingestion, bulk credits, scheduled grants). Balances are
 * summed per account before the upsert (one statement cannot update a row twice); each entry's
 * balance-after is the account's balance before the batch plus a running sum in input order;
 * each lot keeps what its credit added to the spendable balance (a debt is repaid first).
 * $1 program, $2 actor, $3 occurred at, $4… parallel arrays, one element per earn, except $12:
 * the details as one JSON array, each wrapped in a one-element array (null where none), since an
 * array literal of JSON texts is slow to build and to parse once it reaches hundreds of kilobytes.
 * $17 the API key (attribution), $18 channels (one per earn). The same CTEs (input … entries;
 * `entries` returns each transaction_id with its available_after) serve inside a caller's own
 * statement with the parameters numbered from `first`, so that a caller writing its own rows for
 * the same earns (events, say) sends both in one round trip.
 */
export function earnBatchCtes(first: number): string {
  const p = (n: number) => `$${first + n - 1}`;
  return `input as (
  select txn_id, member_id, point_type_id, amount, idem_key, source_type, source_id, reason, (details -> 0)::jsonb as details,
    expires_at, lot_id, negative_allowed, request_hash, channel, ord
  from rows from (unnest(${p(4)}::text[]), unnest(${p(5)}::text[]), unnest(${p(6)}::text[]), unnest(${p(7)}::bigint[]), unnest(${p(8)}::text[]), unnest(${p(9)}::text[]),
    unnest(${p(10)}::text[]), unnest(${p(11)}::text[]), json_array_elements(${p(12)}::json), unnest(${p(13)}::timestamptz[]), unnest(${p(14)}::text[]), unnest(${p(15)}::boolean[]), unnest(${p(16)}::text[]),
    unnest(${p(18)}::text[]))
    with ordinality as i(txn_id, member_id, point_type_id, amount, idem_key, source_type, source_id, reason, details, expires_at, lot_id, negative_allowed, request_hash, channel, ord)
), txn as (
  insert into ledger_transactions (id, program_id, member_id, point_type_id, kind, amount, status, idempotency_key, source_type, source_id, reason, actor, details, occurred_at, request_hash, api_key_id, channel)
  select i.txn_id, ${p(1)}, i.member_id, i.point_type_id, 'earn', i.amount, 'active', i.idem_key, i.source_type, i.source_id, i.reason, ${p(2)}, i.details, ${p(3)}, i.request_hash, ${p(17)}, i.channel
  from input i
  on conflict (member_id, idempotency_key) do nothing
  returning id
), done as (
  select i.* from input i join txn on txn.id = i.txn_id
), sums as (
  select member_id, point_type_id, sum(amount)::bigint as total, bool_or(negative_allowed) as negative_allowed from done group by member_id, point_type_id
), acct as (
  insert into accounts as a (member_id, point_type_id, program_id, available, earned, negative_allowed, last_activity_at, updated_at)
  select member_id, point_type_id, ${p(1)}, total, total, negative_allowed, ${p(3)}, ${p(3)} from sums
  on conflict (member_id, point_type_id) do update set
    available = a.available + excluded.available,
    earned = a.earned + excluded.earned,
    last_activity_at = greatest(a.last_activity_at, excluded.last_activity_at),
    updated_at = excluded.updated_at
  returning member_id, point_type_id, available, pending
), steps as (
  select d.*, acct.pending,
    acct.available - s.total + sum(d.amount) over (partition by d.member_id, d.point_type_id order by d.ord) as after
  from done d
  join sums s on s.member_id = d.member_id and s.point_type_id = d.point_type_id
  join acct on acct.member_id = d.member_id and acct.point_type_id = d.point_type_id
), lots_in as (
  insert into lots (id, program_id, member_id, point_type_id, transaction_id, status, amount, remaining, earned_at, expires_at)
  select lot_id, ${p(1)}, member_id, point_type_id, txn_id, 'active', amount,
    greatest(after, 0) - greatest(after - amount, 0), ${p(3)}, expires_at
  from steps
  returning id
), entries as (
  insert into ledger_entries (program_id, member_id, point_type_id, transaction_id, kind, amount, pending_delta, available_after, pending_after, occurred_at)
  select ${p(1)}, member_id, point_type_id, txn_id, 'earn', amount, 0, after, pending, ${p(3)} from steps
  returning transaction_id, available_after
)`;
}

export const EARN_BATCH = preparedWhileShort(`with ${earnBatchCtes(1)}
select transaction_id as id, available_after as available from entries`);
