import { Type } from 'typebox';
import { DateTime, Nullable } from '../../http/schemas.js';

export const Channel = Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z][a-z0-9_]*$', description: 'a channel code: app, mini_program, web…' });
export const ChannelParams = Type.Object({ programId: Type.String({ minLength: 1, maxLength: 64 }), channel: Channel });
// Banners are rendered as links and images in members' apps: http(s) or an in-app path, never a
// script URL (javascript:, data:).
const Url = Type.String({ minLength: 1, maxLength: 2000, pattern: '^(https?://|/)\\S*$', description: 'http(s) URL or an in-app path starting with /' });

export const BannerSchema = Type.Object({
  imageUrl: Type.String(),
  title: Type.String(),
  linkUrl: Nullable(Type.String()),
  from: Nullable(DateTime()),
  until: Nullable(DateTime()),
  sortOrder: Type.Integer(),
});

export const PageConfigSchema = Type.Object({
  channel: Type.String(),
  banners: Type.Array(BannerSchema),
  itemOrder: Type.Array(Type.String()),
  updatedAt: Nullable(DateTime()),
});

export const PageConfigBody = Type.Object(
  {
    // Absent lists are empty: a PUT replaces the whole page.
    banners: Type.Optional(Type.Array(
      Type.Object(
        {
          imageUrl: Url,
          title: Type.String({ minLength: 1, maxLength: 200 }),
          linkUrl: Type.Optional(Nullable(Url)),
          from: Type.Optional(Nullable(DateTime('shown from (program clock)'))),
          until: Type.Optional(Nullable(DateTime('shown until, exclusive'))),
          sortOrder: Type.Optional(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 })),
        },
        { additionalProperties: false },
      ),
      { maxItems: 20 },
    )),
    itemOrder: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100, description: 'item ids shown first, in this order' })),
  },
  { additionalProperties: false },
);

export const PortalPageQuery = Type.Object({ channel: Channel }, { additionalProperties: false });
