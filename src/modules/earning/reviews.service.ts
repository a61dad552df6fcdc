import type { Kysely } from 'kysely';
import { actorLabel, type ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { rawQuery, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { LedgerService } from '../ledger/index.js';

export interface Review {
  id: string;
  memberId: string;
  eventId: string;
  pointType: string;
  amount: number;
  status: 'pending' | 'approved' | 'rejected';
  details: unknown;
  decidedBy: string | null;
  decidedAt: Date | null;
  note: string | null;
  ledgerTransactionId: string | null;
  createdAt: Date;
}

interface ReviewRow {
  id: string; member_id: string; event_id: string; point_type: string; amount: number; status: Review['status'];
  details: unknown; decided_by: string | null; decided_at: Date | null; note: string | null; ledger_transaction_id: string | null; created_at: Date;
}

const toReview = (r: ReviewRow): Review => ({
  id: r.id, memberId: r.member_id, eventId: r.event_id, pointType: r.point_type, amount: r.amount, status: r.status,
  details: r.details, decidedBy: r.decided_by, decidedAt: r.decided_at, note: r.note, ledgerTransactionId: r.ledger_transaction_id, createdAt: r.created_at,
});

/** Awards above a program's threshold wait here until an operator approves or rejects them. */
export class ReviewsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly ledger: LedgerService,
  ) {}

  async list(ctx: ProgramContext, status: Review['status'] = 'pending'): Promise<Review[]> {
    const { rows } = await rawQuery<ReviewRow>(
      this.db,
      'select * from award_reviews where program_id = $1 and status = $2 order by created_at, id limit 500',
      [ctx.program.id, status],
    );
    return rows.map(toReview);
  }

  /** Deciding twice the same way answers with the first decision; the other way is refused. */
  async decide(ctx: ProgramContext, trx: Trx, id: string, decision: 'approve' | 'reject', note?: string): Promise<Review> {
    const { rows } = await rawQuery<ReviewRow>(trx, 'select * from award_reviews where program_id = $1 and id = $2 for update', [ctx.program.id, id]);
    const review = rows[0];
    if (!review) throw new AppError('not_found', `review ${id} does not exist`, { id });
    const target = decision === 'approve' ? 'approved' : 'rejected';
    if (review.status === target) return toReview(review);
    if (review.status !== 'pending') throw new AppError('illegal_transition', `review ${id} is already ${review.status}`, { status: review.status });
    let txnId: string | null = null;
    if (decision === 'approve') {
      const txn = await this.ledger.earn(
        ctx,
        {
          member: review.member_id,
          pointType: review.point_type,
          amount: review.amount,
          idempotencyKey: `review:${review.id}`,
          source: { type: 'event', id: review.event_id },
          reason: 'approved after review',
          details: review.details,
        },
        trx,
      );
      txnId = txn.id;
    }
    const updated = await rawQuery<ReviewRow>(
      trx,
      `update award_reviews set status = $3, decided_by = $4, decided_at = $5, note = $6, ledger_transaction_id = $7
       where program_id = $1 and id = $2 returning *`,
      [ctx.program.id, id, target, actorLabel(ctx.actor), ctx.clock.now(), note ?? null, txnId],
    );
    return toReview(updated.rows[0]!);
  }
}
