/**
 * The one closed set of error codes Laurel answers with. Domain code throws
 * `AppError(code, message, details)`; only the HTTP layer maps a code to a status
 * (see `httpStatusOf`). Codes are part of the public API: never rename one.
 */
export const errorStatus = {
  // 400: the request itself is wrong
  validation_failed: 400,
  malformed_json: 400,
  body_too_large: 400,
  unsupported_media_type: 400,
  invalid_cursor: 400,
  // 401/403: who is asking
  unauthorized: 401,
  forbidden: 403,
  // 404
  not_found: 404,
  member_not_found: 404,
  program_not_found: 404,
  point_type_not_found: 404,
  // mall, draws, benefits, charity (issue 7)
  benefit_not_found: 404,
  entitlement_not_found: 404,
  item_not_found: 404,
  sku_not_found: 404,
  order_not_found: 404,
  draw_not_found: 404,
  cause_not_found: 404,
  // engagement (issue 6)
  task_not_found: 404,
  medal_not_found: 404,
  referral_code_not_found: 404,
  // tiers (issue 5)
  tier_not_found: 404,
  tier_ladder_not_found: 404,
  tier_metric_not_found: 404,
  // data and integration (issue 8)
  webhook_not_found: 404,
  delivery_not_found: 404,
  // privileges and paid membership (issue 5)
  binding_not_found: 404,
  plan_not_found: 404,
  subscription_not_found: 404,
  // 409: the state of things refuses it
  idempotency_conflict: 409,
  idempotency_in_progress: 409,
  conflict: 409,
  already_exists: 409,
  illegal_transition: 409,
  not_sandbox: 409,
  // 422: a business rule refuses it
  insufficient_points: 422,
  member_inactive: 422,
  point_type_not_spendable: 422,
  invalid_amount: 422,
  refund_exceeds_spend: 422,
  not_refundable: 422,
  not_reversible: 422,
  reservation_not_open: 422,
  clock_backwards: 422,
  rule_invalid: 422,
  limit_reached: 422,
  out_of_stock: 422,
  not_eligible: 422,
  // mall, draws, benefits, charity (issue 7)
  not_on_shelf: 422,
  cash_not_accepted: 422,
  not_combinable: 422,
  draw_not_open: 422,
  entitlement_not_usable: 422,
  cause_closed: 422,
  // engagement (issue 6)
  checkin_disabled: 422,
  make_up_not_allowed: 422,
  task_not_claimable: 422,
  self_referral: 422,
  duplicate_device: 422,
  duplicate_phone: 422,
  already_referred: 422,
  invitations_disabled: 422,
  // tiers (issue 5)
  tier_not_purchasable: 422,
  tier_metric_not_settable: 422,
  payment_mismatch: 422,
  plan_not_purchasable: 422,
  // page configuration per channel (issue 9)
  unknown_page_item: 422,
  // 429/5xx
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }
}

export function httpStatusOf(code: ErrorCode): number {
  return errorStatus[code];
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

export const notFound = (what: string, id: string): AppError =>
  new AppError('not_found', `${what} ${id} does not exist`, { resource: what, id });
