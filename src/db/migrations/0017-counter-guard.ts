/**
 * One event reads its member's counters in the statement that locks the member, one round trip
 * fewer than reading them after the lock. Under READ COMMITTED that statement's snapshot may
 * predate the lock (it waited for another event of the member to commit), so the event's write
 * statement checks every counter it used still holds the value read, and this function stops
 * the statement when one does not: the event then runs again, reading its counters after the
 * lock. The SQLSTATE is Laurel's own, so the caller tells it from any other failure.
 */
export const sql = /* sql */ `
create function laurel_counters_changed() returns int language plpgsql as $$
begin
  raise exception 'an earning counter changed after it was read' using errcode = 'LRC01';
end
$$;
`;
