/**
 * Partner attribution of ledger transactions, for the settlement report.
 *
 * `actor` says who made a transaction; a settlement needs whom it is attributed to, which differs
 * for follow-ups: a refund made by an operator, or a capture made by the mall's job, still belongs
 * to the partner whose request placed the spend. So each transaction carries:
 * - `api_key_id`: the API client of the request that made the original transaction (null for an
 *   operator, the deployment admin or a job); a follow-up (capture, release, refund, reversal,
 *   cancel_pending) copies its original's.
 * - `channel`: where the behaviour happened, from the event (`channel`) or the request's
 *   `Laurel-Channel` header; a follow-up copies its original's.
 * Both are null on rows written before this migration.
 */
export const sql = /* sql */ `
alter table ledger_transactions add column api_key_id text;
alter table ledger_transactions add column channel text;
`;
