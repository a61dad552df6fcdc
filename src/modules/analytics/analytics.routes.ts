import { Type } from 'typebox';
import { programContextOf } from '../../http/auth.js';
import { commonErrors, LocalDate, Nullable } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import { REPORTS, toCsv, type AnalyticsService, type ReportName } from './analytics.service.js';

const ReportParams = Type.Object({
  programId: Type.String({ minLength: 1, maxLength: 64 }),
  report: Type.Union(
    REPORTS.map((r) => Type.Literal(r)),
    { description: REPORTS.join(', ') },
  ),
});
const ReportQuery = Type.Object(
  {
    from: LocalDate('first local date (program time zone), inclusive'),
    to: LocalDate('last local date, inclusive'),
    groupBy: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], { default: 'day' })),
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'csv: text/csv (so does Accept: text/csv)' })),
  },
  { additionalProperties: false },
);
const ReportSchema = Type.Object({
  report: Type.String(),
  from: Type.String(),
  to: Type.String(),
  groupBy: Type.String(),
  timeZone: Type.String(),
  columns: Type.Array(Type.String()),
  rows: Type.Array(Type.Record(Type.String(), Nullable(Type.Union([Type.String(), Type.Number()])))),
  note: Type.Optional(Type.String()),
});

export function analyticsRoutes(app: App, analytics: AnalyticsService): void {
  app.get(
    '/v1/programs/:programId/reports/:report',
    {
      config: { access: 'read' },
      schema: {
        tags: ['reports'],
        summary: 'A report for a period in the program time zone, by day, week or month (JSON or CSV)',
        description:
          'points: issued, spent, refunded, expired, reversed, adjusted and outstanding (liability) per point type; consumption: spent ÷ issued, median days from earning to spending, breakage (expired ÷ (spent + expired)); rules: awards per rule and campaign; tasks: completions; tiers: distribution now and movement; benefits: utilisation; check-ins; streaks; exchanges: by item and category; draws; members: new, active, total; settlement: points issued and redeemed per API client and channel (partner settlement; a refund or clawback counts against the client and channel of what it follows).',
        params: ReportParams,
        querystring: ReportQuery,
        response: { 200: ReportSchema, ...commonErrors },
      },
    },
    async (request, reply) => {
      const ctx = programContextOf(request);
      const { from, to, groupBy, format } = request.query;
      const report = await analytics.run(ctx, request.params.report as ReportName, { from, to, groupBy });
      const wantsCsv = format === 'csv' || (format === undefined && /\btext\/csv\b/.test(request.headers.accept ?? ''));
      if (wantsCsv) {
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${report.report}-${report.from}-${report.to}.csv"`)
          .serializer((payload: unknown) => payload as string)
          .send(toCsv(report));
      }
      return report;
    },
  );
}
