/**
 * Ledger transactions reach the webhook outbox once per statement instead of once per row. A
 * batch of a thousand earns, or an expiry sweep of a million lots, ran the row trigger's
 * subscription probe a thousand (a million) times, about 7 µs each, to find in nearly every
 * program that nobody subscribes. The statement trigger reads the statement's new rows as a
 * transition table: one probe, and when someone subscribes, one set-based insert, in the rows'
 * order (the outbox's identity is the delivery order).
 */
export const sql = /* sql */ `
drop trigger ledger_transactions_outbox on ledger_transactions;
drop function laurel_ledger_outbox();

create function laurel_ledger_outbox() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from webhook_subscriptions s
                 where s.active and s.deleted_at is null and s.program_id in (select n.program_id from inserted n)) then
    return null;
  end if;
  insert into webhook_outbox (message_id, program_id, subscription_id, type, payload, created_at, next_attempt_at)
  select 'msg_' || n.id, n.program_id, s.id, n.type,
    jsonb_build_object(
      'transactionId', n.id, 'kind', n.kind, 'status', n.status,
      'memberId', n.member_id, 'externalId', (select m.external_id from members m where m.id = n.member_id),
      'pointType', (select p.code from point_types p where p.id = n.point_type_id),
      'amount', n.amount, 'relatedId', n.related_id,
      'source', case when n.source_type is null then null else jsonb_build_object('type', n.source_type, 'id', n.source_id) end,
      'reason', n.reason, 'actor', n.actor, 'occurredAt', n.occurred_at),
    n.occurred_at, n.occurred_at
  from (
    select i.*, row_number() over () as ord,
      case i.kind
        when 'earn' then 'points.earned'
        when 'activation' then 'points.activated'
        when 'spend' then 'points.spent'
        when 'capture' then 'points.spent'
        when 'expiry' then 'points.expired'
        when 'refund' then 'points.refunded'
        when 'reversal' then 'points.reversed'
        when 'cancel_pending' then 'points.reversed'
        when 'adjustment' then 'points.adjusted'
        else null end as type
    from inserted i
  ) n
  join webhook_subscriptions s on s.program_id = n.program_id and s.active and s.deleted_at is null
    and (n.type = any(s.event_types) or '*' = any(s.event_types))
  where n.type is not null
  order by n.ord, s.id
  on conflict (subscription_id, message_id) do nothing;
  return null;
end $$;

create trigger ledger_transactions_outbox after insert on ledger_transactions
  referencing new table as inserted
  for each statement execute function laurel_ledger_outbox();
`;
