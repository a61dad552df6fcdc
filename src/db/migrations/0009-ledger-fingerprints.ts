/**
 * Ledger idempotency compares the whole request, not just its kind and amount: each ledger
 * transaction keeps a fingerprint of the request that created it (the target transaction, the
 * counterpart, the sign, the activation time…), so a key reused for a different request is a
 * conflict. Lots get a creation sequence so lots earned at the same instant are always drawn
 * in the order they were created.
 */
export const sql = /* sql */ `
alter table ledger_transactions add column request_hash text;
alter table lots add column seq bigint generated always as identity;
`;
