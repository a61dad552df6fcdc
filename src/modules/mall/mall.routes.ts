import { Type } from 'typebox';
import { inTransaction } from '../../db/database.js';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, PageOf, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import { requireIdempotencyKey } from '../../http/idempotency.js';
import { clockOf, type ProgramsService } from '../programs/index.js';
import {
  ConfirmPaymentBody,
  CreateItemBody,
  EmptyBody,
  ItemListQuery,
  ItemSchema,
  OrderListQuery,
  OrderSchema,
  PlaceOrderBody,
  ReasonBody,
  RefundBody,
  ShipBody,
  SkuBody,
  SkuPatchBody,
  SupplierBody,
  SupplierCreatedSchema,
  SupplierEventBody,
  SupplierSchema,
  UpdateItemBody,
} from './mall.schemas.js';
import type { MallService } from './mall.service.js';
import { AppError } from '../../core/errors.js';

const tags = ['mall'];
const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };
const programId = Type.String({ minLength: 1, maxLength: 64 });
const ItemParams = Type.Object({ programId, itemId: Type.String({ minLength: 1, maxLength: 64 }) });
const SkuParams = Type.Object({ programId, itemId: Type.String({ minLength: 1, maxLength: 64 }), skuId: Type.String({ minLength: 1, maxLength: 64 }) });
const OrderParams = Type.Object({ programId, orderId: Type.String({ minLength: 1, maxLength: 64 }) });
const SupplierParams = Type.Object({ programId, supplierId: Type.String({ minLength: 1, maxLength: 64 }) });

export function mallRoutes(app: App, mall: MallService, programs: ProgramsService): void {
  const base = '/v1/programs/:programId/mall';

  // ---------------------------------------------------------------- catalogue
  app.post(`${base}/items`, { config: { access: 'configure' }, schema: { tags, summary: 'Create an item (with its SKUs)', params: ProgramParams, body: CreateItemBody, response: { 201: ItemSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => mall.createItem(trx, programContextOf(request), request.body)));
  app.get(`${base}/items`, { config: { access: 'read' }, schema: { tags, summary: 'Items in display order', params: ProgramParams, querystring: ItemListQuery, response: { 200: PageOf(ItemSchema), ...commonErrors } } },
    async (request) => mall.listItems(programContextOf(request), request.query));
  app.get(`${base}/items/:itemId`, { config: { access: 'read' }, schema: { tags, summary: 'One item with its SKUs and current prices', params: ItemParams, response: { 200: ItemSchema, ...commonErrors } } },
    async (request) => mall.getItem(programContextOf(request), request.params.itemId));
  app.patch(`${base}/items/:itemId`, { config: { access: 'configure' }, schema: { tags, summary: 'Change an item: shelf, schedule, limits, tiers, order', params: ItemParams, body: UpdateItemBody, response: { 200: ItemSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => mall.updateItem(trx, programContextOf(request), request.params.itemId, request.body)));
  app.post(`${base}/items/:itemId/skus`, { config: { access: 'configure' }, schema: { tags, summary: 'Add a SKU', params: ItemParams, body: SkuBody, response: { 201: ItemSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => mall.addSku(trx, programContextOf(request), request.params.itemId, request.body)));
  app.patch(`${base}/items/:itemId/skus/:skuId`, { config: { access: 'configure' }, schema: { tags, summary: 'Change a SKU: prices, promotion, stock (set or guarded delta)', params: SkuParams, body: SkuPatchBody, response: { 200: ItemSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => mall.updateSku(trx, programContextOf(request), request.params.itemId, request.params.skuId, request.body)));

  // ---------------------------------------------------------------- orders
  app.post(
    `${base}/orders`,
    { config: { access: 'spend' }, schema: { tags, summary: 'Place an order: points and stock reserved together (Idempotency-Key required)', params: ProgramParams, body: PlaceOrderBody, response: { 201: OrderSchema, ...errors } } },
    async (request, reply) => {
      const ctx = programContextOf(request);
      const key = requireIdempotencyKey(request);
      const order = await inTransaction(app.db, (trx) => mall.placeOrder(trx, ctx, { ...request.body, idempotencyKey: key }));
      if (order.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(201).send(order);
    },
  );
  app.get(`${base}/orders`, { config: { access: 'read' }, schema: { tags, summary: 'Orders, newest first', params: ProgramParams, querystring: OrderListQuery, response: { 200: PageOf(OrderSchema), ...commonErrors } } },
    async (request) => mall.listOrders(programContextOf(request), request.query));
  app.get(`${base}/orders/:orderId`, { config: { access: 'read' }, schema: { tags, summary: 'One order with its lines and history', params: OrderParams, response: { 200: OrderSchema, ...commonErrors } } },
    async (request) => mall.getOrder(programContextOf(request), request.params.orderId));

  const transition = <B>(path: string, access: 'spend' | 'configure', summary: string, body: unknown, work: (ctx: ReturnType<typeof programContextOf>, trx: Parameters<Parameters<typeof inTransaction>[1]>[0], orderId: string, body: B) => Promise<unknown>) =>
    app.post(
      `${base}/orders/:orderId/${path}`,
      { config: { access }, schema: { tags, summary, params: OrderParams, body: body as typeof EmptyBody, response: { 200: OrderSchema, ...errors } } },
      (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => work(programContextOf(request), trx, request.params.orderId, request.body as B)),
    );
  transition<{ paymentRef: string; amount: number }>('confirm-payment', 'spend', 'The host reports the cash part paid: held points are captured', ConfirmPaymentBody, (ctx, trx, id, b) => mall.confirmPayment(trx, ctx, id, b));
  transition<{ carrier: string; trackingNumber: string }>('ship', 'configure', 'Shipped, with carrier and tracking number', ShipBody, (ctx, trx, id, b) => mall.ship(trx, ctx, id, b));
  transition<object>('deliver', 'configure', 'Delivered', EmptyBody, (ctx, trx, id) => mall.deliver(trx, ctx, id));
  transition<object>('complete', 'configure', 'Completed', EmptyBody, (ctx, trx, id) => mall.complete(trx, ctx, id));
  transition<{ reason: string }>('cancel', 'spend', 'Cancel before fulfilment: points and stock come back once', ReasonBody, (ctx, trx, id, b) => mall.cancel(trx, ctx, id, b.reason));
  transition<{ reason: string; restock?: boolean }>('refund', 'configure', 'Refund after payment: points (and stock) come back once', RefundBody, (ctx, trx, id, b) => mall.refund(trx, ctx, id, b));

  // ---------------------------------------------------------------- suppliers
  app.post(`${base}/suppliers`, { config: { access: 'configure' }, schema: { tags, summary: 'Register a supplier of external goods; its key is shown once', params: ProgramParams, body: SupplierBody, response: { 201: SupplierCreatedSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => mall.createSupplier(trx, programContextOf(request), request.body.name)));
  app.get(`${base}/suppliers`, { config: { access: 'read' }, schema: { tags, summary: 'Suppliers', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(SupplierSchema) }), ...commonErrors } } },
    async (request) => ({ data: await mall.listSuppliers(programContextOf(request)) }));

  // A supplier is not an API client of the program: it authenticates with its own key, which
  // reaches only the orders it fulfils.
  app.post(
    `${base}/suppliers/:supplierId/callbacks`,
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Supplier callback: accepted, shipped, delivered or rejected (header X-Supplier-Key)',
        security: [],
        params: SupplierParams,
        headers: Type.Object({ 'x-supplier-key': Type.Optional(Type.String({ maxLength: 200 })) }),
        body: SupplierEventBody,
        response: { 200: OrderSchema, ...errors },
      },
    },
    async (request) => {
      const { programId: pid, supplierId } = request.params;
      const key = request.headers['x-supplier-key'];
      await mall.authenticateSupplier(pid, supplierId, typeof key === 'string' ? key : null);
      const program = await programs.get(pid);
      const ctx = {
        program: { id: program.id, mode: program.mode, timeZone: program.timeZone, currency: program.currency, settings: program.settings },
        clock: clockOf(program),
        actor: { type: 'system' as const, job: `supplier:${supplierId}` },
      };
      const { orderId, ...event } = request.body;
      if (!orderId) throw new AppError('validation_failed', 'orderId is required');
      return inTransaction(app.db, (trx) => mall.supplierEvent(trx, ctx, supplierId, orderId, event as never));
    },
  );
}
