/**
 * Page configuration per channel (issue 9): the banners and the mall item order a channel
 * (app, mini program, web…) shows. One row per program and channel; the banners are a small
 * ordered list read whole, so they live in the row as JSON.
 */
export const sql = /* sql */ `
create table page_configs (
  program_id text not null references programs(id),
  channel text not null,
  banners jsonb not null default '[]',
  item_order text[] not null default '{}',
  updated_at timestamptz not null,
  primary key (program_id, channel)
);
`;
