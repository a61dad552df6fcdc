export { MallService, attributeTierLookup } from './mall.service.js';
export type {
  Item,
  ItemInput,
  ItemKind,
  ItemPatch,
  Sku,
  SkuInput,
  Order,
  OrderLine,
  OrderStatus,
  PlaceOrderInput,
  ShippingAddress,
  Supplier,
  SupplierEvent,
  TierLookup,
} from './mall.service.js';
export { mallJobs } from './mall.jobs.js';
