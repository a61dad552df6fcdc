import { Type } from 'typebox';
import { AppError } from '../../core/errors.js';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, DateTime, ErrorResponse, LocalDate, MemberParams, Nullable, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import { ScheduleBody } from './checkin.schedule.js';
import type { CheckinService } from './checkin.service.js';

const tags = ['check-in'];
const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };
const Amounts = Type.Array(Type.Object({ pointType: Type.String(), amount: Type.Integer() }));
const Paid = Type.Object({ pointType: Type.String(), amount: Type.Integer(), transactionId: Nullable(Type.String()) });

const ScheduleSchema = Type.Object(
  {
    enabled: Type.Boolean(),
    cycle: Type.String(),
    afterLast: Type.String(),
    pointType: Type.String(),
    rewards: Type.Array(Type.Integer()),
    growth: Nullable(Type.Object({ pointType: Type.String(), rewards: Type.Array(Type.Integer()) })),
    makeUp: Type.Object({ perMonth: Type.Integer(), windowDays: Type.Integer(), cost: Type.Integer(), costPointType: Type.String(), rewarded: Type.Boolean() }),
    version: Type.Integer(),
    updatedAt: DateTime(),
  },
);

const CheckInSchema = Type.Object(
  {
    id: Type.String(),
    memberId: Type.String(),
    date: LocalDate('the local day in the program zone'),
    kind: Type.Union([Type.Literal('check_in'), Type.Literal('make_up')]),
    streak: Type.Integer(),
    cycle: Type.String(),
    cycleDay: Type.Integer(),
    scheduleVersion: Type.Integer(),
    rewards: Type.Array(Paid),
    cost: Nullable(Paid),
    recordedAt: DateTime(),
    alreadyCheckedIn: Type.Boolean({ description: 'true: the member had checked in that day already; this is that check-in' }),
  },
);

const MakeUps = Type.Object({
  perMonth: Type.Integer(), usedThisMonth: Type.Integer(), remaining: Type.Integer(), cost: Type.Integer(), costPointType: Type.String(), windowDays: Type.Integer(),
});

const SummarySchema = Type.Object({
  memberId: Type.String(),
  today: LocalDate(),
  checkedInToday: Type.Boolean(),
  currentStreak: Type.Integer(),
  longestStreak: Type.Integer(),
  totalDays: Type.Integer(),
  makeUps: MakeUps,
  next: Nullable(Type.Object({ date: LocalDate(), streak: Type.Integer(), cycleDay: Type.Integer(), rewards: Amounts })),
  checkIns: Type.Array(CheckInSchema),
});

const CalendarSchema = Type.Object({
  memberId: Type.String(),
  month: Type.String(),
  today: LocalDate(),
  currentStreak: Type.Integer(),
  longestStreak: Type.Integer(),
  makeUps: MakeUps,
  days: Type.Array(
    Type.Object({
      date: LocalDate(),
      status: Type.Union(['checked', 'made_up', 'missed', 'today', 'upcoming', 'not_joined'].map((s) => Type.Literal(s))),
      streak: Nullable(Type.Integer()),
      rewards: Amounts,
      projected: Type.Boolean({ description: 'true: what the day would pay if the streak goes on' }),
      makeUpAllowed: Type.Boolean(),
    }),
  ),
});

/** No body, or an empty object: anything else is refused. */
const NoBody = Type.Unsafe<Record<string, never> | undefined>({ type: ['object', 'null'], maxProperties: 0, description: 'no body (or {})' } as never);

export function checkinRoutes(app: App, checkin: CheckinService): void {
  app.get(
    '/v1/programs/:programId/check-in-schedule',
    { config: { access: 'read' }, schema: { tags, summary: 'The check-in reward schedule', params: ProgramParams, response: { 200: ScheduleSchema, ...commonErrors } } },
    async (request) => {
      const schedule = await checkin.getSchedule(programContextOf(request));
      if (!schedule) throw new AppError('not_found', 'this program has no check-in schedule yet', { resource: 'check-in-schedule' });
      return schedule;
    },
  );

  app.put(
    '/v1/programs/:programId/check-in-schedule',
    {
      config: { access: 'configure' },
      schema: {
        tags,
        summary: 'Set the check-in reward schedule (cycle, rewards by day, growth, make-ups); a new version applies from the next check-in',
        params: ProgramParams,
        body: ScheduleBody,
        response: { 200: ScheduleSchema, ...errors },
      },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => checkin.putSchedule(programContextOf(request), request.body, trx)),
  );

  app.post(
    '/v1/programs/:programId/members/:memberId/check-ins',
    {
      config: { access: 'earn' },
      schema: {
        tags,
        summary: "Check in for today (the program zone's day); a second check-in the same day returns the first",
        params: MemberParams,
        body: NoBody,
        response: { 201: CheckInSchema, ...errors },
      },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => checkin.checkIn(programContextOf(request), request.params.memberId, trx)),
  );

  app.post(
    '/v1/programs/:programId/members/:memberId/check-ins/make-ups',
    {
      config: { access: 'earn' },
      schema: {
        tags,
        summary: 'Make up a missed day (within the window and the monthly allowance, at its cost); repairs the streak',
        params: MemberParams,
        body: Type.Object({ date: LocalDate('the missed local day') }, { additionalProperties: false }),
        response: { 201: CheckInSchema, ...errors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 201, (trx) => checkin.makeUp(programContextOf(request), request.params.memberId, request.body.date, trx)),
  );

  app.get(
    '/v1/programs/:programId/members/:memberId/check-ins',
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: "A member's streaks, make-up allowance, next reward and check-ins (default: the last 31 days)",
        params: MemberParams,
        querystring: Type.Object({ from: Type.Optional(LocalDate()), to: Type.Optional(LocalDate()) }, { additionalProperties: false }),
        response: { 200: SummarySchema, ...commonErrors },
      },
    },
    async (request) => checkin.summary(programContextOf(request), request.params.memberId, request.query),
  );

  app.get(
    '/v1/programs/:programId/members/:memberId/check-ins/calendar',
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'The calendar of a month: checked, made up, missed, today, upcoming, and what each day pays',
        params: MemberParams,
        querystring: Type.Object({ month: Type.Optional(Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM; default: this month' })) }, { additionalProperties: false }),
        response: { 200: CalendarSchema, ...commonErrors },
      },
    },
    async (request) => checkin.calendar(programContextOf(request), request.params.memberId, request.query.month),
  );
}
