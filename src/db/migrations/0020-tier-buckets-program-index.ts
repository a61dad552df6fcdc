/**
 * No query reads the metric buckets by program and date: every read goes by member (the primary
 * key), in real time, in the scheduled evaluation's member ranges and in the downgrade notices.
 * The index only cost an insert on each member's first contribution to a metric on a day, on
 * every award path.
 */
export const sql = /* sql */ `
drop index tier_metric_buckets_program;
`;
