/**
 * The real-time upgrade function takes what an upgrade changes and works out the rest itself.
 * Its caller computed every column of the new state for every award, upgrade or not (six
 * conditional expressions, the effective tier twice over, thirty-six arguments), and PostgreSQL
 * sets up each of those expressions on every run of the award's statement whether or not a row
 * reaches them: about 30 µs an award. Now the statement passes the new qualified and effective
 * tier, and the function:
 * - keeps `since` unless the effective tier moves, and clears the grace period, as before;
 * - inserts a first state with the base tier's empty overrides (no bought, assigned or lifetime
 *   tier: a member without a stored state has none);
 * - records the history with the tier ids and snapshots it is given, indexed by rank, and the end
 *   of the tier the member now holds (an assignment's or a purchase's end when one of those is
 *   the effective source);
 * - returns 1 in `written` when the state was written, 0 when the version guard did not hold,
 *   and echoes the new tier for the caller's result.
 */
export const sql = /* sql */ `
drop function laurel_tier_upgrade(boolean, int, text, text, text, date, int, text, timestamptz, int, timestamptz, date, timestamptz,
  timestamptz, date, jsonb, int, timestamptz, int, timestamptz, text, int, timestamptz, text, text, int, text, timestamptz, jsonb, jsonb,
  text, text, text, text, jsonb);

create function laurel_tier_upgrade(
  stored boolean, expected_version int,
  p_member text, p_program text, p_ladder text, p_joined_on date, p_from_rank int, p_rank int, p_source text,
  p_qualified_rank int, p_valid_until timestamptz, p_counters_from date, p_carry jsonb, p_attained_on date, p_at timestamptz,
  h_id text, h_metrics jsonb, h_cause text, h_cause_id text, h_reason text, h_actor text, h_details jsonb,
  tier_ids text[], snapshots jsonb[],
  out written int, out new_rank int, out new_source text, out new_valid timestamptz)
language plpgsql as $$
declare
  held_until timestamptz;
begin
  new_rank := p_rank;
  new_source := p_source;
  new_valid := p_valid_until;
  if stored then
    update member_tiers set rank = p_rank, source = p_source, since = case when rank <> p_rank then p_at else since end,
      qualified_rank = p_qualified_rank, qualified_since = p_at, attained_on = p_attained_on, valid_until = p_valid_until,
      grace_until = null, counters_from = p_counters_from, carry = p_carry, version = version + 1, updated_at = p_at
    where member_id = p_member and version = expected_version
    returning case p_source when 'manual' then manual_until when 'purchased' then purchased_until else p_valid_until end into held_until;
  else
    insert into member_tiers (member_id, program_id, ladder_id, joined_on, rank, source, since, qualified_rank, qualified_since,
      attained_on, valid_until, grace_until, counters_from, carry, purchased_rank, purchased_until, manual_rank, manual_until,
      manual_reason, lifetime_rank, version, updated_at)
    values (p_member, p_program, p_ladder, p_joined_on, p_rank, p_source, p_at, p_qualified_rank, p_at,
      p_attained_on, p_valid_until, null, p_counters_from, p_carry, null, null, null, null, null, 0, expected_version, p_at)
    on conflict (member_id) do nothing;
    held_until := p_valid_until;
  end if;
  if not found then
    written := 0;
    return;
  end if;
  written := 1;
  insert into tier_history (id, program_id, member_id, ladder_id, from_tier_id, from_rank, to_tier_id, to_rank, source, qualified_rank,
    cause, cause_id, reason, actor, valid_until, tier_snapshot, metrics, details, occurred_at)
  values (h_id, p_program, p_member, p_ladder, tier_ids[p_from_rank], p_from_rank, tier_ids[p_rank], p_rank, p_source, p_qualified_rank,
    h_cause, h_cause_id, h_reason, h_actor, held_until, snapshots[p_rank], h_metrics, h_details, p_at);
end $$;
`;
