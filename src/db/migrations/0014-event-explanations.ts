/**
 * Stored explanations are written a thousand at a time by batch ingestion and only ever read
 * back whole, never queried inside: `json` keeps the engine's text as it is, where `jsonb` parsed
 * and re-encoded several kilobytes per event. Where the server has lz4 (PostgreSQL 14+ built with
 * it; not the embedded engine) they are compressed with it, several times cheaper than pglz.
 */
export const sql = /* sql */ `
alter table events alter column explanation type json using explanation::json;
do $$ begin
  alter table events alter column explanation set compression lz4;
exception when feature_not_supported then null;
end $$;
`;
