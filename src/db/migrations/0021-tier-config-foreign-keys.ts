/**
 * A member's tier state and history no longer reference the program and ladder rows by foreign
 * key. Every upgrade inserted both rows, and each such key is a check that locks the one ladder
 * row (and the one program row) FOR KEY SHARE: an executor run per key per upgrade, about 20 µs
 * of the upgrade's writes in all, and a row every concurrent upgrade of the program locks. The
 * ladder and program ids come from the program's own configuration, whose rows are never
 * deleted; the member keys stay. The ladder index of the history served only those keys.
 */
export const sql = /* sql */ `
alter table member_tiers drop constraint member_tiers_program_id_fkey;
alter table member_tiers drop constraint member_tiers_ladder_id_fkey;
alter table tier_history drop constraint tier_history_ladder_id_fkey;
drop index tier_history_ladder;
`;
