import { Type } from 'typebox';
import { DateTime, Nullable, PageQuery } from '../../http/schemas.js';

const Points = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });
const Cash = Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'minor units of the program currency' });
const Mixed = Type.Object({ points: Points, cash: Cash }, { additionalProperties: false, description: 'the points + cash option' });
const Promo = Type.Object({ points: Points, from: DateTime(), until: DateTime() }, { additionalProperties: false, description: 'a promotional points price for a period' });
const Stock = Type.Integer({ minimum: 0, maximum: 2_000_000_000, description: 'null: unlimited' });
const ItemKind = Type.Union(['coupon', 'benefit', 'product', 'virtual', 'external'].map((k) => Type.Literal(k)));
const OrderStatus = Type.Union(['awaiting_payment', 'paid', 'submitted', 'shipped', 'fulfilled', 'completed', 'cancelled', 'refunded'].map((k) => Type.Literal(k)));
const Limit = Type.Integer({ minimum: 1, maximum: 1_000_000 });

export const SkuBody = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    attributes: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 30 })),
    pointsPrice: Type.Optional(Nullable(Points)),
    mixed: Type.Optional(Nullable(Mixed)),
    promo: Type.Optional(Nullable(Promo)),
    stock: Type.Optional(Nullable(Stock)),
  },
  { additionalProperties: false },
);

export const SkuPatchBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    attributes: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 30 })),
    pointsPrice: Type.Optional(Nullable(Points)),
    mixed: Type.Optional(Nullable(Mixed)),
    promo: Type.Optional(Nullable(Promo)),
    stock: Type.Optional(Nullable(Stock)),
    stockDelta: Type.Optional(Type.Integer({ minimum: -2_000_000_000, maximum: 2_000_000_000, description: 'restock (positive) or write off (negative), guarded' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

const Limits = Type.Object(
  { perDay: Type.Optional(Nullable(Limit)), perOrder: Type.Optional(Nullable(Limit)), lifetime: Type.Optional(Nullable(Limit)) },
  { additionalProperties: false, description: 'per member: per local day of the program, per order, over a lifetime' },
);

const itemFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
  category: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
  images: Type.Optional(Type.Array(Type.String({ format: 'uri', maxLength: 2000 }), { maxItems: 20 })),
  tierCodes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50, description: 'only members of these tiers may order (empty: everyone)' })),
  limits: Type.Optional(Limits),
  minBalance: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'the balance a member needs to redeem' })),
  combinable: Type.Optional(Type.Boolean({ description: 'false: the item must be alone in its order' })),
  onShelf: Type.Optional(Type.Boolean()),
  shelfFrom: Type.Optional(Nullable(DateTime())),
  shelfUntil: Type.Optional(Nullable(DateTime())),
  sortOrder: Type.Optional(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 })),
};

export const CreateItemBody = Type.Object(
  {
    kind: ItemKind,
    ...itemFields,
    benefitCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'coupon and benefit items: the benefit granted per unit' })),
    supplierId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'external items: the supplier that fulfils them' })),
    skus: Type.Optional(Type.Array(SkuBody, { maxItems: 100 })),
  },
  { additionalProperties: false },
);

export const UpdateItemBody = Type.Object(
  { ...itemFields, name: Type.Optional(itemFields.name) },
  { additionalProperties: false, minProperties: 1 },
);

export const SkuSchema = Type.Object({
  id: Type.String(),
  itemId: Type.String(),
  code: Type.String(),
  name: Type.String(),
  attributes: Type.Record(Type.String(), Type.Unknown()),
  pointsPrice: Nullable(Type.Integer()),
  mixed: Nullable(Type.Object({ points: Type.Integer(), cash: Type.Integer() })),
  promo: Nullable(Type.Object({ points: Type.Integer(), from: DateTime(), until: DateTime() })),
  currentPointsPrice: Nullable(Type.Integer()),
  stock: Nullable(Type.Integer()),
});

export const ItemSchema = Type.Object(
  {
    id: Type.String(),
    kind: ItemKind,
    name: Type.String(),
    description: Nullable(Type.String()),
    category: Nullable(Type.String()),
    images: Type.Array(Type.String()),
    benefitId: Nullable(Type.String()),
    supplierId: Nullable(Type.String()),
    tierCodes: Type.Array(Type.String()),
    limits: Type.Object({ perDay: Nullable(Type.Integer()), perOrder: Nullable(Type.Integer()), lifetime: Nullable(Type.Integer()) }),
    minBalance: Type.Integer(),
    combinable: Type.Boolean(),
    onShelf: Type.Boolean(),
    shelfFrom: Nullable(DateTime()),
    shelfUntil: Nullable(DateTime()),
    availableNow: Type.Boolean(),
    sortOrder: Type.Integer(),
    skus: Type.Array(SkuSchema),
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
  { $id: 'MallItem' },
);

export const ItemListQuery = Type.Object(
  {
    ...PageQuery.properties,
    available: Type.Optional(Type.Boolean({ description: 'only what is on the shelf now' })),
    category: Type.Optional(Type.String({ maxLength: 100 })),
    kind: Type.Optional(ItemKind),
  },
  { additionalProperties: false },
);

export const Shipping = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    phone: Type.String({ minLength: 3, maxLength: 32 }),
    address: Type.String({ minLength: 1, maxLength: 1000 }),
    region: Type.Optional(Type.String({ maxLength: 200 })),
    postalCode: Type.Optional(Type.String({ maxLength: 20 })),
  },
  { additionalProperties: false },
);

export const PlaceOrderBody = Type.Object(
  {
    memberId: Type.String({ minLength: 1, maxLength: 300, description: 'a Laurel member id, or ext:{externalId}' }),
    lines: Type.Array(
      Type.Object(
        {
          skuId: Type.String({ minLength: 1, maxLength: 64 }),
          quantity: Type.Integer({ minimum: 1, maximum: 1000 }),
          payment: Type.Optional(Type.Union([Type.Literal('points'), Type.Literal('mixed')], { description: 'points alone (default) or points + cash' })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 20 },
    ),
    shipping: Type.Optional(Shipping),
  },
  { additionalProperties: false },
);

const Transition = Type.Object({
  from: Nullable(OrderStatus),
  to: OrderStatus,
  at: Type.String(),
  by: Type.String(),
  note: Type.Optional(Type.String()),
});

export const OrderSchema = Type.Object(
  {
    id: Type.String(),
    memberId: Type.String(),
    status: OrderStatus,
    fulfilment: Type.Union([Type.Literal('instant'), Type.Literal('shipping'), Type.Literal('supplier')]),
    supplierId: Nullable(Type.String()),
    pointType: Type.String(),
    pointsTotal: Type.Integer(),
    cashTotal: Type.Integer(),
    paymentDueAt: Nullable(DateTime()),
    paymentRef: Nullable(Type.String()),
    shipping: Nullable(Shipping),
    carrier: Nullable(Type.String()),
    trackingNumber: Nullable(Type.String()),
    supplierRef: Nullable(Type.String()),
    source: Nullable(Type.Object({ type: Type.String(), id: Type.String() })),
    lines: Type.Array(
      Type.Object({
        lineNo: Type.Integer(),
        itemId: Type.String(),
        skuId: Type.String(),
        quantity: Type.Integer(),
        payment: Type.Union([Type.Literal('points'), Type.Literal('mixed')]),
        unitPoints: Type.Integer(),
        unitCash: Type.Integer(),
      }),
    ),
    history: Type.Array(Transition),
    placedAt: DateTime(),
    updatedAt: DateTime(),
    replayed: Type.Boolean(),
  },
  { $id: 'MallOrder' },
);

export const OrderListQuery = Type.Object(
  { ...PageQuery.properties, memberId: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })), status: Type.Optional(OrderStatus) },
  { additionalProperties: false },
);

export const ConfirmPaymentBody = Type.Object(
  { paymentRef: Type.String({ minLength: 1, maxLength: 200 }), amount: Type.Integer({ minimum: 1, description: 'the cash paid, minor units: must equal the cash part' }) },
  { additionalProperties: false },
);
export const ShipBody = Type.Object(
  { carrier: Type.String({ minLength: 1, maxLength: 100 }), trackingNumber: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);
export const ReasonBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });
export const RefundBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500 }), restock: Type.Optional(Type.Boolean({ description: 'put the units back in stock (default true)' })) },
  { additionalProperties: false },
);
export const EmptyBody = Type.Object({}, { additionalProperties: false });

export const SupplierBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export const SupplierSchema = Type.Object({ id: Type.String(), name: Type.String(), keyHint: Type.String(), createdAt: DateTime() });
export const SupplierCreatedSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  keyHint: Type.String(),
  createdAt: DateTime(),
  key: Type.String({ description: 'shown once: the supplier authenticates its callbacks with it (X-Supplier-Key)' }),
});

export const SupplierEventBody = Type.Union([
  Type.Object({ orderId: Type.String({ maxLength: 64 }), event: Type.Literal('accepted'), supplierRef: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
  Type.Object(
    {
      orderId: Type.String({ maxLength: 64 }),
      event: Type.Literal('shipped'),
      supplierRef: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      carrier: Type.String({ minLength: 1, maxLength: 100 }),
      trackingNumber: Type.String({ minLength: 1, maxLength: 100 }),
    },
    { additionalProperties: false },
  ),
  Type.Object({ orderId: Type.String({ maxLength: 64 }), event: Type.Literal('delivered'), supplierRef: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }, { additionalProperties: false }),
  Type.Object(
    { orderId: Type.String({ maxLength: 64 }), event: Type.Literal('rejected'), supplierRef: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), reason: Type.String({ minLength: 1, maxLength: 500 }) },
    { additionalProperties: false },
  ),
]);
