import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import type { ProcessedEvent } from '../../core/hooks.js';
import { isUniqueViolation, rawQuery, type Executor, type Trx } from '../../db/database.js';
import { readProgramConfig, writeProgramConfig } from './program-config.js';
import type { DB } from '../../db/schema.js';
import type { LedgerService, PointTypesService } from '../ledger/index.js';
import type { Member, MembersService } from '../members/index.js';
import { checkConditions, matches, type Condition } from './conditions.js';
import { SIGNALS, ledgerKey, localId, type EngagementBus, type PaidReward, type PointsReward } from './engagement.types.js';
import type { AcceptInvitationInput, InvitationSettingsInput } from './invitations.schemas.js';

export interface InvitationSettings {
  enabled: boolean;
  qualifyingEvent: { eventType: string; conditions: Condition[] };
  withinDays: number;
  inviterRewards: PointsReward[];
  inviteeRewards: PointsReward[];
  maxPerInviter: number | null;
  maxPerInviterPerMonth: number | null;
  inviteeJoinedWithinDays: number | null;
}

export interface InvitationSettingsView extends InvitationSettings {
  version: number;
  updatedAt: Date;
}

export interface InvitationRewards {
  inviter: PaidReward[];
  invitee: PaidReward[];
  /** why the inviter was not paid (e.g. frozen by then), or null */
  inviterSkipped: string | null;
}

export interface Invitation {
  id: string;
  inviterId: string;
  inviteeId: string;
  code: string;
  status: 'pending' | 'qualified' | 'expired';
  createdAt: Date;
  expiresAt: Date;
  qualifiedAt: Date | null;
  qualifyingEventId: string | null;
  rewards: InvitationRewards | null;
}

export interface MemberInvitations {
  memberId: string;
  code: string | null;
  invitedBy: Invitation | null;
  counts: { pending: number; qualified: number; expired: number };
  limit: { maxPerInviter: number | null; remaining: number | null };
  invitations: Invitation[];
}

interface InvitationRow {
  id: string;
  inviter_member_id: string;
  invitee_member_id: string;
  code: string;
  status: 'pending' | 'qualified';
  created_at: Date;
  expires_at: Date;
  qualified_at: Date | null;
  qualifying_event_id: string | null;
  rewards: InvitationRewards | null;
}

// Codes are read aloud and typed: no 0/O, 1/I/L.
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

function newCode(): string {
  const bytes = randomBytes(8);
  let out = '';
  for (let i = 0; i < 8; i++) out += CODE_ALPHABET[bytes[i]! % CODE_ALPHABET.length];
  return out;
}

/** Devices and phones are compared, never shown: they are kept as salted hashes. */
function fingerprint(programId: string, kind: 'device' | 'phone', value: string | null | undefined): string | null {
  if (!value) return null;
  const normal = kind === 'phone' ? value.replace(/[^\d+]/g, '').replace(/^\+?86(?=1\d{10}$)/, '') : value.trim();
  if (!normal) return null;
  return createHash('sha256').update(`${programId}:${kind}:${normal}`).digest('base64url');
}

/**
 * Invitations: a referral code per member; an invitee accepts once (one inviter per invitee, one
 * invitation per device and per phone, enforced by unique indexes); both sides are rewarded once
 * when the invitee performs the qualifying action within the window.
 */
export class InvitationsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly ledger: LedgerService,
    private readonly members: MembersService,
    private readonly pointTypes: PointTypesService,
    private readonly bus: EngagementBus,
  ) {}

  getSettings(ctx: ProgramContext, exec: Executor = this.db): Promise<InvitationSettingsView | null> {
    return readProgramConfig<InvitationSettings>(exec, 'invitation_settings', ctx.program.id);
  }

  async putSettings(ctx: ProgramContext, input: InvitationSettingsInput, trx: Trx): Promise<InvitationSettingsView> {
    const settings: InvitationSettings = {
      enabled: input.enabled ?? true,
      qualifyingEvent: { eventType: input.qualifyingEvent.eventType, conditions: input.qualifyingEvent.conditions ?? [] },
      withinDays: input.withinDays,
      inviterRewards: input.inviterRewards,
      inviteeRewards: input.inviteeRewards,
      maxPerInviter: input.maxPerInviter ?? null,
      maxPerInviterPerMonth: input.maxPerInviterPerMonth ?? null,
      inviteeJoinedWithinDays: input.inviteeJoinedWithinDays ?? null,
    };
    checkConditions(settings.qualifyingEvent.conditions, 'qualifyingEvent.conditions');
    for (const r of [...settings.inviterRewards, ...settings.inviteeRewards]) await this.pointTypes.get(ctx, r.pointType, trx);
    return writeProgramConfig(trx, ctx, 'invitation_settings', 'invitation_settings', settings);
  }

  /** The member's referral code, created on first request (the same code ever after). */
  async referralCode(ctx: ProgramContext, memberRef: string, deviceId: string | undefined, trx: Trx): Promise<{ memberId: string; code: string; createdAt: Date }> {
    const member = await this.activeMember(ctx, memberRef, trx);
    const device = fingerprint(ctx.program.id, 'device', deviceId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const existing = await rawQuery<{ code: string; created_at: Date; device_hash: string | null }>(
        trx,
        'select code, created_at, device_hash from referral_codes where member_id = $1',
        [member.id],
      );
      const found = existing.rows[0];
      if (found) {
        if (device && !found.device_hash) await rawQuery(trx, 'update referral_codes set device_hash = $2 where member_id = $1', [member.id, device]);
        return { memberId: member.id, code: found.code, createdAt: found.created_at };
      }
      const now = ctx.clock.now();
      const code = newCode();
      const inserted = await rawQuery(
        trx,
        `insert into referral_codes (member_id, program_id, code, device_hash, created_at) values ($1, $2, $3, $4, $5) on conflict do nothing`,
        [member.id, ctx.program.id, code, device, now],
      );
      if (inserted.rowCount === 1) return { memberId: member.id, code, createdAt: now };
      // Another request made this member's code meanwhile, or the code is taken: look again.
    }
    throw new AppError('unavailable', 'could not allocate a referral code; retry');
  }

  /** An invitee accepts an inviter's code. Every abuse case is refused with its own code. */
  async accept(ctx: ProgramContext, input: AcceptInvitationInput, trx: Trx): Promise<Invitation> {
    const settings = await this.getSettings(ctx, trx);
    if (!settings?.enabled) throw new AppError('invitations_disabled', 'this program has no active invitation programme');
    const invitee = await this.activeMember(ctx, input.invitee, trx);
    // The inviter's code row is the lock of the inviter's invitations: limits are counted exactly.
    const { rows: codes } = await rawQuery<{ member_id: string; device_hash: string | null }>(
      trx,
      'select member_id, device_hash from referral_codes where program_id = $1 and code = $2 for update',
      [ctx.program.id, input.code.toUpperCase()],
    );
    const codeRow = codes[0];
    if (!codeRow) throw new AppError('referral_code_not_found', `referral code ${input.code} does not exist`, { code: input.code });
    const inviter = await this.members.get(ctx, codeRow.member_id, trx);
    const refuse = (code: 'self_referral' | 'duplicate_device' | 'duplicate_phone' | 'already_referred', reason: string, message: string) =>
      new AppError(code, message, { reason });
    if (inviter.id === invitee.id) throw refuse('self_referral', 'same_member', 'a member cannot accept their own referral code');
    if (inviter.status !== 'active') throw new AppError('not_eligible', `the inviter is ${inviter.status}`, { reason: 'inviter_inactive' });

    const device = fingerprint(ctx.program.id, 'device', input.deviceId);
    const phone = fingerprint(ctx.program.id, 'phone', input.phone ?? invitee.phone);
    if (device && device === codeRow.device_hash) throw refuse('self_referral', 'same_device', "the invitee's device is the inviter's own");
    if (phone && phone === fingerprint(ctx.program.id, 'phone', inviter.phone)) throw refuse('self_referral', 'same_phone', "the invitee's phone is the inviter's own");

    const { rows: prior } = await rawQuery<{ inviter_member_id: string; invitee_member_id: string; device_hash: string | null; phone_hash: string | null }>(
      trx,
      `select inviter_member_id, invitee_member_id, device_hash, phone_hash from invitations
       where program_id = $1 and (invitee_member_id = $2 or (invitee_member_id = $3 and inviter_member_id = $2) or device_hash = $4 or phone_hash = $5)`,
      [ctx.program.id, invitee.id, inviter.id, device, phone],
    );
    if (prior.some((p) => p.invitee_member_id === invitee.id)) throw refuse('already_referred', 'has_inviter', 'this member has already accepted an invitation');
    if (prior.some((p) => p.invitee_member_id === inviter.id && p.inviter_member_id === invitee.id)) {
      throw refuse('self_referral', 'circular', 'the inviter was invited by this member: invitations cannot go both ways');
    }
    if (device && prior.some((p) => p.device_hash === device)) throw refuse('duplicate_device', 'device_used', 'this device has already been used to accept an invitation');
    if (phone && prior.some((p) => p.phone_hash === phone)) throw refuse('duplicate_phone', 'phone_used', 'this phone number has already been used to accept an invitation');

    const now = ctx.clock.now();
    if (settings.inviteeJoinedWithinDays !== null) {
      const cutoff = DateTime.fromJSDate(now).minus({ days: settings.inviteeJoinedWithinDays }).toJSDate();
      if (invitee.joinedAt.getTime() < cutoff.getTime()) {
        throw new AppError('not_eligible', `only members who joined in the last ${settings.inviteeJoinedWithinDays} days can accept an invitation`, { reason: 'not_a_new_member' });
      }
    }
    await this.checkLimits(ctx, trx, inviter.id, settings, now);

    const id = localId('inv', now);
    const expiresAt = DateTime.fromJSDate(now, { zone: ctx.program.timeZone }).plus({ days: settings.withinDays }).toJSDate();
    try {
      const { rows } = await rawQuery<InvitationRow>(
        trx,
        `insert into invitations (id, program_id, inviter_member_id, invitee_member_id, code, device_hash, phone_hash, status, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9) returning *`,
        [id, ctx.program.id, inviter.id, invitee.id, input.code.toUpperCase(), device, phone, now, expiresAt],
      );
      return this.toInvitation(rows[0]!, now);
    } catch (err) {
      // A concurrent acceptance won the race: the same refusal it would have met a moment later.
      if (isUniqueViolation(err, 'invitations_device')) throw refuse('duplicate_device', 'device_used', 'this device has already been used to accept an invitation');
      if (isUniqueViolation(err, 'invitations_phone')) throw refuse('duplicate_phone', 'phone_used', 'this phone number has already been used to accept an invitation');
      if (isUniqueViolation(err)) throw refuse('already_referred', 'has_inviter', 'this member has already accepted an invitation');
      throw err;
    }
  }

  private async checkLimits(ctx: ProgramContext, trx: Trx, inviterId: string, settings: InvitationSettings, now: Date): Promise<void> {
    if (settings.maxPerInviter === null && settings.maxPerInviterPerMonth === null) return;
    const monthStart = DateTime.fromJSDate(now, { zone: ctx.program.timeZone }).startOf('month').toJSDate();
    const { rows } = await rawQuery<{ open: number; this_month: number }>(
      trx,
      `select count(*) filter (where status = 'qualified' or expires_at > $2)::int as open,
              count(*) filter (where created_at >= $3)::int as this_month
       from invitations where inviter_member_id = $1`,
      [inviterId, now, monthStart],
    );
    const { open, this_month } = rows[0]!;
    if (settings.maxPerInviter !== null && open >= settings.maxPerInviter) {
      throw new AppError('limit_reached', `the inviter has reached the limit of ${settings.maxPerInviter} invitations`, { limit: 'max_per_inviter', max: settings.maxPerInviter });
    }
    if (settings.maxPerInviterPerMonth !== null && this_month >= settings.maxPerInviterPerMonth) {
      throw new AppError('limit_reached', `the inviter has reached the limit of ${settings.maxPerInviterPerMonth} invitations this month`, {
        limit: 'max_per_inviter_per_month', max: settings.maxPerInviterPerMonth,
      });
    }
  }

  /** A processed event of an invitee may qualify their invitation: both sides are paid once. */
  async onEvent(trx: Trx, ctx: ProgramContext, event: ProcessedEvent, attributes: Record<string, unknown>): Promise<void> {
    const settings = await this.getSettings(ctx, trx);
    if (!settings?.enabled || event.type !== settings.qualifyingEvent.eventType) return;
    if (!matches(settings.qualifyingEvent.conditions, attributes)) return;
    const { rows } = await rawQuery<InvitationRow>(
      trx,
      `select * from invitations where invitee_member_id = $1 and status = 'pending' for update`,
      [event.memberId],
    );
    const inv = rows[0];
    if (!inv) return;
    const at = event.occurredAt.getTime();
    if (at < inv.created_at.getTime() || at > inv.expires_at.getTime()) return;
    const now = ctx.clock.now();
    const details = { invitation: inv.id, event: event.id, eventType: event.type, settingsVersion: settings.version };
    const invitee = await this.pay(ctx, trx, inv, 'invitee', inv.invitee_member_id, settings.inviteeRewards, details);
    const inviterStatus = (await this.members.get(ctx, inv.inviter_member_id, trx)).status;
    const inviterSkipped = inviterStatus === 'active' ? null : `inviter ${inviterStatus}`;
    const inviter = inviterSkipped ? [] : await this.pay(ctx, trx, inv, 'inviter', inv.inviter_member_id, settings.inviterRewards, details);
    const rewards: InvitationRewards = { inviter, invitee, inviterSkipped };
    const updated = await rawQuery(
      trx,
      `update invitations set status = 'qualified', qualified_at = $2, qualifying_event_id = $3, rewards = $4 where id = $1 and status = 'pending'`,
      [inv.id, now, event.id, JSON.stringify(rewards)],
    );
    if (updated.rowCount !== 1) throw new Error(`invitation ${inv.id} changed under its lock`);
    if (!inviterSkipped) {
      await this.bus.behaviour(trx, ctx, inv.inviter_member_id, {
        id: inv.id, type: SIGNALS.invitationQualified, occurredAt: now, attributes: { invitee: inv.invitee_member_id },
      }, 0);
    }
  }

  private async pay(
    ctx: ProgramContext, trx: Trx, inv: InvitationRow, side: 'inviter' | 'invitee', memberId: string, rewards: PointsReward[], details: Record<string, unknown>,
  ): Promise<PaidReward[]> {
    const out: PaidReward[] = [];
    for (const r of rewards) {
      const txn = await this.ledger.earn(
        ctx,
        {
          member: memberId, pointType: r.pointType, amount: r.amount,
          idempotencyKey: ledgerKey('invitation', inv.id, side, r.pointType),
          source: { type: 'invitation', id: inv.id },
          reason: side === 'inviter' ? 'a friend you invited qualified' : 'welcome reward for accepting an invitation',
          details: { ...details, side },
        },
        trx,
      );
      out.push({ pointType: r.pointType, amount: r.amount, transactionId: txn.id });
    }
    return out;
  }

  async forMember(ctx: ProgramContext, memberRef: string): Promise<MemberInvitations> {
    const member = await this.members.get(ctx, memberRef);
    const now = ctx.clock.now();
    const settings = await this.getSettings(ctx);
    const code = await rawQuery<{ code: string }>(this.db, 'select code from referral_codes where member_id = $1', [member.id]);
    const { rows } = await rawQuery<InvitationRow>(
      this.db,
      'select * from invitations where inviter_member_id = $1 or invitee_member_id = $1 order by created_at desc, id desc limit 500',
      [member.id],
    );
    const mine = rows.filter((r) => r.inviter_member_id === member.id).map((r) => this.toInvitation(r, now));
    const by = rows.find((r) => r.invitee_member_id === member.id);
    const counts = { pending: 0, qualified: 0, expired: 0 };
    for (const i of mine) counts[i.status] += 1;
    const max = settings?.maxPerInviter ?? null;
    return {
      memberId: member.id,
      code: code.rows[0]?.code ?? null,
      invitedBy: by ? this.toInvitation(by, now) : null,
      counts,
      limit: { maxPerInviter: max, remaining: max === null ? null : Math.max(max - counts.pending - counts.qualified, 0) },
      invitations: mine,
    };
  }

  private async activeMember(ctx: ProgramContext, ref: string, trx: Trx): Promise<Member> {
    const member = await this.members.get(ctx, ref, trx);
    if (member.status !== 'active') throw new AppError('member_inactive', `member ${member.id} is ${member.status}`, { status: member.status });
    return member;
  }

  private toInvitation(r: InvitationRow, now: Date): Invitation {
    const status = r.status === 'pending' && r.expires_at.getTime() <= now.getTime() ? 'expired' : r.status;
    return {
      id: r.id, inviterId: r.inviter_member_id, inviteeId: r.invitee_member_id, code: r.code, status,
      createdAt: r.created_at, expiresAt: r.expires_at, qualifiedAt: r.qualified_at, qualifyingEventId: r.qualifying_event_id, rewards: r.rewards,
    };
  }
}
