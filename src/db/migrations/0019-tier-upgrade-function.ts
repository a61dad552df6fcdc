/**
 * The writes of a real-time upgrade, in a function the award's statement calls only when the
 * member moves up. As data-modifying CTEs they were part of every award's statement, and
 * PostgreSQL prepares a write (opens the table's indexes, takes its locks, sets up its triggers)
 * whether or not a row reaches it: about 50 µs per award of the eleven indexes of the state and
 * the history, paid by the awards that change no tier, which are nearly all of them. A function
 * prepares its statements when it runs, and it runs only for an upgrade.
 *
 * `state` and `history` are rows as JSON (column names as keys), so the caller does not depend on
 * the order of the tables' columns. Returns 1 when written, 0 when the guard did not hold: the
 * state changed since the caller read it (another award upgraded the member at the same time).
 */
export const sql = /* sql */ `
create function laurel_tier_upgrade(stored boolean, expected_version int, state jsonb, history jsonb) returns int
language plpgsql as $$
begin
  if stored then
    update member_tiers t set rank = s.rank, source = s.source, since = s.since, qualified_rank = s.qualified_rank,
      qualified_since = s.qualified_since, attained_on = s.attained_on, valid_until = s.valid_until, grace_until = s.grace_until,
      counters_from = s.counters_from, carry = s.carry, version = t.version + 1, updated_at = s.updated_at
    from jsonb_populate_record(null::member_tiers, state) s
    where t.member_id = s.member_id and t.version = expected_version;
  else
    insert into member_tiers select * from jsonb_populate_record(null::member_tiers, state)
    on conflict (member_id) do nothing;
  end if;
  if not found then
    return 0;
  end if;
  insert into tier_history select * from jsonb_populate_record(null::tier_history, history);
  return 1;
end $$;
`;
