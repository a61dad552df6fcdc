import { Type } from 'typebox';
import { AppError } from '../../core/errors.js';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, MemberParams, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import {
  AcceptInvitationBody,
  InvitationSchema,
  InvitationSettingsBody,
  InvitationSettingsSchema,
  MemberInvitationsSchema,
  ReferralCodeBody,
  ReferralCodeSchema,
} from './invitations.schemas.js';
import type { InvitationsService } from './invitations.service.js';

const tags = ['invitations'];
const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };

export function invitationRoutes(app: App, invitations: InvitationsService): void {
  app.get(
    '/v1/programs/:programId/invitation-settings',
    { config: { access: 'read' }, schema: { tags, summary: 'The invitation programme', params: ProgramParams, response: { 200: InvitationSettingsSchema, ...commonErrors } } },
    async (request) => {
      const settings = await invitations.getSettings(programContextOf(request));
      if (!settings) throw new AppError('not_found', 'this program has no invitation programme yet', { resource: 'invitation-settings' });
      return settings;
    },
  );

  app.put(
    '/v1/programs/:programId/invitation-settings',
    {
      config: { access: 'configure' },
      schema: {
        tags, summary: 'Set the invitation programme: qualifying action and window, rewards for both sides, limits per inviter',
        params: ProgramParams, body: InvitationSettingsBody, response: { 200: InvitationSettingsSchema, ...errors },
      },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => invitations.putSettings(programContextOf(request), request.body, trx)),
  );

  app.post(
    '/v1/programs/:programId/members/:memberId/referral-code',
    {
      config: { access: 'earn' },
      schema: {
        tags, summary: "The member's referral code (made on first request, the same ever after)",
        params: MemberParams, body: Type.Optional(ReferralCodeBody), response: { 200: ReferralCodeSchema, ...errors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 200, (trx) => invitations.referralCode(programContextOf(request), request.params.memberId, request.body?.deviceId, trx)),
  );

  app.post(
    '/v1/programs/:programId/invitations',
    {
      config: { access: 'earn' },
      schema: {
        tags,
        summary: 'An invitee accepts a referral code; self-referral, a second inviter, a used device or phone and limits are refused with their own codes',
        params: ProgramParams, body: AcceptInvitationBody, response: { 201: InvitationSchema, ...errors },
      },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => invitations.accept(programContextOf(request), request.body, trx)),
  );

  app.get(
    '/v1/programs/:programId/members/:memberId/invitations',
    {
      config: { access: 'read' },
      schema: { tags, summary: "A member's referral code, the friends they invited and who invited them", params: MemberParams, response: { 200: MemberInvitationsSchema, ...commonErrors } },
    },
    async (request) => invitations.forMember(programContextOf(request), request.params.memberId),
  );
}
