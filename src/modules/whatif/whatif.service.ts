import type { Kysely } from 'kysely';
import { actorLabel, type ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { recordAudit } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { decodeCursor, pageLimit, toPage, type Page } from '../../core/pagination.js';
import { rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import { clockOf, type Program, type ProgramsService } from '../programs/index.js';
import { resolveDraft, validateDraft, type DraftDeps, type DraftDocument } from './drafts.js';
import { replay, ReplayCancelled, type ReplayObserver, type ReplayParams, type ReplayResult } from './replay.js';
import { simulate, type SimulationDeps, type SimulationParams, type SimulationResult } from './simulate.js';

/** A running run whose process has written no progress for this long is taken as abandoned. */
const STALE_MS = 10 * 60_000;

export interface Draft {
  id: string;
  name: string;
  document: DraftDocument;
  version: number;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Run {
  id: string;
  kind: 'replay' | 'simulation';
  draftId: string | null;
  params: Record<string, unknown>;
  status: RunStatus;
  progress: { processed: number; total: number | null; ratio: number | null };
  cancelRequested: boolean;
  result: ReplayResult | SimulationResult | null;
  error: { code: string; message: string } | null;
  createdBy: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface ReplayInput {
  from: string;
  to?: string | undefined;
  warmupFrom?: string | undefined;
  expiryHorizon?: string | undefined;
  sample?: number | undefined;
  chunkSize?: number | undefined;
}

interface DraftRow {
  id: string;
  name: string;
  document: DraftDocument;
  version: number;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

interface RunRow {
  id: string;
  program_id: string;
  kind: 'replay' | 'simulation';
  draft_id: string | null;
  draft: DraftDocument | null;
  params: Record<string, unknown>;
  status: RunStatus;
  processed: number;
  total: number | null;
  cancel_requested: boolean;
  result: ReplayResult | SimulationResult | null;
  error: { code: string; message: string } | null;
  created_by: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const toDraft = (r: DraftRow): Draft => ({ id: r.id, name: r.name, document: r.document, version: r.version, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at });

function toRun(r: RunRow, withResult = true): Run {
  const processed = Number(r.processed);
  const total = r.total === null ? null : Number(r.total);
  return {
    id: r.id,
    kind: r.kind,
    draftId: r.draft_id,
    params: r.params,
    status: r.status,
    progress: { processed, total, ratio: total ? Math.min(1, processed / total) : r.status === 'succeeded' ? 1 : null },
    cancelRequested: r.cancel_requested,
    result: withResult ? r.result : null,
    error: r.error,
    createdBy: r.created_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** Observers a caller in this process may attach to a run (tests compare events one by one). */
export interface RunHooks {
  event?: ReplayObserver['event'];
  chunk?: (processed: number, total: number) => Promise<void> | void;
}

const DEFAULT_CHUNK = 10_000;

/**
 * Drafts beside the live configuration, and runs over them. A run is a row (whatif_runs) that a
 * process claims and works on in the background, writing its progress every chunk and reading
 * a cancel request at the same time; its result is stored with it. A replay only reads live
 * data; a simulation acts through the real services on a sandbox program.
 */
export class WhatifService {
  private readonly running = new Map<string, Promise<Run>>();
  private readonly hooks = new Map<string, RunHooks>();
  private kicking: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly programs: ProgramsService,
    private readonly drafts: DraftDeps,
    private readonly sim: SimulationDeps & { baseTier(programId: string): Promise<string | null> },
  ) {}

  // ---------------------------------------------------------------- drafts

  async createDraft(ctx: ProgramContext, trx: Trx, input: { name: string; document: DraftDocument }): Promise<Draft> {
    await validateDraft(this.drafts, ctx, trx, input.document);
    const now = ctx.clock.now();
    const { rows } = await rawQuery<DraftRow>(
      trx,
      `insert into whatif_drafts (id, program_id, name, document, version, created_by, created_at, updated_at)
       values ($1, $2, $3, $4, 1, $5, $6, $6) returning *`,
      [newId('whatifDraft'), ctx.program.id, input.name, JSON.stringify(input.document), actorLabel(ctx.actor), now],
    );
    await recordAudit(trx, ctx, { action: 'create', resourceType: 'whatif_draft', resourceId: rows[0]!.id, after: input.document });
    return toDraft(rows[0]!);
  }

  async updateDraft(ctx: ProgramContext, trx: Trx, id: string, input: { name?: string | undefined; document?: DraftDocument | undefined }): Promise<Draft> {
    const current = await this.getDraft(ctx, id, trx, true);
    const document = input.document ?? current.document;
    await validateDraft(this.drafts, ctx, trx, document);
    const { rows } = await rawQuery<DraftRow>(
      trx,
      'update whatif_drafts set name = $3, document = $4, version = version + 1, updated_at = $5 where program_id = $1 and id = $2 returning *',
      [ctx.program.id, id, input.name ?? current.name, JSON.stringify(document), ctx.clock.now()],
    );
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'whatif_draft', resourceId: id, before: current.document, after: document });
    return toDraft(rows[0]!);
  }

  async deleteDraft(ctx: ProgramContext, trx: Trx, id: string): Promise<void> {
    const current = await this.getDraft(ctx, id, trx, true);
    // Runs keep the document they ran with; they only lose the link.
    await rawQuery(trx, 'update whatif_runs set draft_id = null where draft_id = $1', [id]);
    await rawQuery(trx, 'delete from whatif_drafts where id = $1', [id]);
    await recordAudit(trx, ctx, { action: 'delete', resourceType: 'whatif_draft', resourceId: id, before: current.document });
  }

  async getDraft(ctx: ProgramContext, id: string, exec: Executor = this.db, forUpdate = false): Promise<Draft> {
    const { rows } = await rawQuery<DraftRow>(exec, `select * from whatif_drafts where program_id = $1 and id = $2${forUpdate ? ' for update' : ''}`, [ctx.program.id, id]);
    if (!rows[0]) throw new AppError('not_found', `draft ${id} does not exist`, { id });
    return toDraft(rows[0]);
  }

  async listDrafts(ctx: ProgramContext): Promise<Draft[]> {
    const { rows } = await rawQuery<DraftRow>(this.db, 'select * from whatif_drafts where program_id = $1 order by created_at desc, id desc', [ctx.program.id]);
    return rows.map(toDraft);
  }

  // ---------------------------------------------------------------- runs

  /** Queue a replay of a draft (or of `document` unsaved, or of nothing: the live configuration). */
  async startReplay(ctx: ProgramContext, trx: Trx, input: ReplayInput & { draftId?: string | undefined; document?: DraftDocument | undefined }): Promise<Run> {
    const document = input.draftId ? (await this.getDraft(ctx, input.draftId, trx)).document : (input.document ?? {});
    await validateDraft(this.drafts, ctx, trx, document);
    const params = this.replayParams(ctx, input);
    return this.queue(ctx, trx, 'replay', input.draftId ?? null, document, {
      from: params.from.toISOString(),
      to: params.to.toISOString(),
      warmupFrom: params.warmupFrom?.toISOString() ?? null,
      expiryHorizon: params.expiryHorizon.toISOString(),
      sample: params.sample,
      chunkSize: params.chunkSize,
    });
  }

  async startSimulation(ctx: ProgramContext, trx: Trx, params: SimulationParams): Promise<Run> {
    if (ctx.program.mode !== 'sandbox') throw new AppError('not_sandbox', 'a forward simulation runs on a sandbox program: create one (mode sandbox) with the configuration to rehearse');
    if (params.amount.max < params.amount.min) throw new AppError('validation_failed', 'amount.max is below amount.min', { field: 'amount.max' });
    return this.queue(ctx, trx, 'simulation', null, null, params as unknown as Record<string, unknown>);
  }

  private replayParams(ctx: ProgramContext, input: ReplayInput): ReplayParams {
    const date = (s: string | undefined, field: string) => {
      if (s === undefined) return undefined;
      const d = new Date(s);
      if (Number.isNaN(d.getTime())) throw new AppError('validation_failed', `${field} is not a valid instant`, { field });
      return d;
    };
    const from = date(input.from, 'from')!;
    // A replay reaches the present by default, and not past the program's own clock.
    const now = ctx.clock.now();
    const to = date(input.to, 'to') ?? now;
    if (to.getTime() <= from.getTime()) throw new AppError('validation_failed', 'to must be after from', { field: 'to' });
    const warmupFrom = date(input.warmupFrom, 'warmupFrom') ?? null;
    if (warmupFrom && warmupFrom.getTime() > from.getTime()) throw new AppError('validation_failed', 'warmupFrom must not be after from', { field: 'warmupFrom' });
    return { from, to, warmupFrom, expiryHorizon: date(input.expiryHorizon, 'expiryHorizon') ?? to, sample: input.sample ?? 20, chunkSize: input.chunkSize ?? DEFAULT_CHUNK };
  }

  private async queue(ctx: ProgramContext, trx: Trx, kind: Run['kind'], draftId: string | null, draft: DraftDocument | null, params: Record<string, unknown>): Promise<Run> {
    const now = ctx.clock.now();
    const { rows } = await rawQuery<RunRow>(
      trx,
      `insert into whatif_runs (id, program_id, kind, draft_id, draft, params, status, created_by, created_at)
       values ($1, $2, $3, $4, $5, $6, 'queued', $7, $8) returning *`,
      [newId('whatifRun'), ctx.program.id, kind, draftId, draft ? JSON.stringify(draft) : null, JSON.stringify(params), actorLabel(ctx.actor), new Date()],
    );
    return toRun(rows[0]!);
  }

  async getRun(ctx: ProgramContext, id: string): Promise<Run> {
    const { rows } = await rawQuery<RunRow>(this.db, 'select * from whatif_runs where program_id = $1 and id = $2', [ctx.program.id, id]);
    if (!rows[0]) throw new AppError('not_found', `run ${id} does not exist`, { id });
    return toRun(rows[0]);
  }

  async listRuns(ctx: ProgramContext, page: { cursor?: string | undefined; limit?: number | undefined }): Promise<Page<Run>> {
    const limit = pageLimit(page.limit);
    const after = decodeCursor(page.cursor);
    const { rows } = await rawQuery<RunRow>(
      this.db,
      `select * from whatif_runs where program_id = $1 ${after ? 'and id < $3' : 'and $3::text is null'} order by id desc limit $2`,
      [ctx.program.id, limit + 1, after ?? null],
    );
    return toPage(rows, limit, (r) => r.id, (r) => toRun(r, false));
  }

  /** Ask a run to stop: a queued run stops at once, a running one at its next chunk. */
  async cancel(ctx: ProgramContext, trx: Trx, id: string): Promise<Run> {
    const { rows } = await rawQuery<RunRow>(
      trx,
      `update whatif_runs set cancel_requested = true,
         status = case when status = 'queued' then 'cancelled' else status end,
         finished_at = case when status = 'queued' then $3 else finished_at end
       where program_id = $1 and id = $2 returning *`,
      [ctx.program.id, id, new Date()],
    );
    if (!rows[0]) throw new AppError('not_found', `run ${id} does not exist`, { id });
    const run = toRun(rows[0]);
    if (['succeeded', 'failed'].includes(run.status)) throw new AppError('illegal_transition', `run ${id} has already ${run.status}`, { status: run.status });
    return run;
  }

  /** Attach in-process observers to a run before it starts (tests). */
  observe(runId: string, hooks: RunHooks): void {
    this.hooks.set(runId, hooks);
  }

  /**
   * Claim and start the queued runs of this deployment in this process (called after the request
   * that queued a run commits). Returns the runs started.
   */
  kick(): Promise<string[]> {
    const claim = this.claim();
    this.kicking = claim.catch(() => []);
    return claim;
  }

  /**
   * After a process died: runs it left `running` (no heartbeat for STALE_MS, and not running
   * here) end as failed — a replay is cheap to ask for again, and a simulation must not write its
   * members twice — and runs still queued are claimed. The `whatif.recover` job calls it.
   */
  async recover(programId: string): Promise<{ abandoned: number; started: number }> {
    const { rowCount } = await rawQuery(
      this.db,
      `update whatif_runs set status = 'failed', finished_at = $2,
         error = jsonb_build_object('code', 'abandoned', 'message', 'the process running it stopped; ask for the run again')
       where program_id = $1 and status = 'running' and heartbeat_at < $3 and not (id = any($4::text[]))`,
      [programId, new Date(), new Date(Date.now() - STALE_MS), [...this.running.keys()]],
    );
    const started = await this.kick();
    return { abandoned: rowCount, started: started.length };
  }

  private async claim(): Promise<string[]> {
    const { rows } = await rawQuery<{ id: string }>(
      this.db,
      `update whatif_runs set status = 'running', started_at = $1, heartbeat_at = $1
       where id in (select id from whatif_runs where status = 'queued' order by created_at limit 8 for update skip locked)
       returning id`,
      [new Date()],
    );
    for (const { id } of rows) {
      const work = this.execute(id).finally(() => {
        this.running.delete(id);
        this.hooks.delete(id);
      });
      this.running.set(id, work);
      // The caller does not wait: failures land in the run's row.
      work.catch(() => {});
    }
    return rows.map((r) => r.id);
  }

  /** The run as it ends, when it runs in this process (tests, the CLI); otherwise as it is now. */
  async wait(ctx: ProgramContext, id: string): Promise<Run> {
    await this.kicking;
    const work = this.running.get(id);
    if (work) await work.catch(() => {});
    return this.getRun(ctx, id);
  }

  private async execute(id: string): Promise<Run> {
    const { rows } = await rawQuery<RunRow>(this.db, 'select * from whatif_runs where id = $1', [id]);
    const row = rows[0]!;
    const program = await this.programs.get(row.program_id);
    const ctx = contextOf(program);
    const hooks = this.hooks.get(id);
    // Progress and the cancel request share one statement per chunk.
    const step = async (processed: number, total: number): Promise<boolean> => {
      await hooks?.chunk?.(processed, total);
      const { rows: r } = await rawQuery<{ cancel_requested: boolean }>(
        this.db,
        'update whatif_runs set processed = $2, total = $3, heartbeat_at = $4 where id = $1 returning cancel_requested',
        [id, processed, total, new Date()],
      );
      return !r[0]?.cancel_requested;
    };
    try {
      let result: ReplayResult | SimulationResult;
      if (row.kind === 'replay') {
        const p = row.params as { from: string; to: string; warmupFrom: string | null; expiryHorizon: string; sample: number; chunkSize: number };
        const resolved = await resolveDraft(this.drafts, ctx, this.db, row.draft ?? {});
        const observer: ReplayObserver = { chunk: step, ...(hooks?.event ? { event: hooks.event } : {}) };
        result = await replay(
          this.db,
          ctx,
          resolved,
          { from: new Date(p.from), to: new Date(p.to), warmupFrom: p.warmupFrom ? new Date(p.warmupFrom) : null, expiryHorizon: new Date(p.expiryHorizon), sample: p.sample, chunkSize: p.chunkSize },
          observer,
        );
      } else {
        const baseTier = await this.sim.baseTier(program.id);
        let cancelled = false;
        result = await simulate(this.sim, ctx.program, program.clockAt!, id, row.params as unknown as SimulationParams, baseTier, async (d, t) => {
          cancelled = !(await step(d, t));
          return !cancelled;
        });
        if (cancelled) throw new ReplayCancelled(0, 0);
      }
      await this.finish(id, 'succeeded', result, null);
    } catch (err) {
      if (err instanceof ReplayCancelled) await this.finish(id, 'cancelled', null, null);
      else {
        const e = err as AppError;
        await this.finish(id, 'failed', null, { code: e.code ?? 'internal', message: e.message });
      }
    }
    return toRun((await rawQuery<RunRow>(this.db, 'select * from whatif_runs where id = $1', [id])).rows[0]!);
  }

  private async finish(id: string, status: RunStatus, result: unknown, error: unknown): Promise<void> {
    await rawQuery(this.db, 'update whatif_runs set status = $2, result = $3, error = $4, finished_at = $5 where id = $1', [
      id,
      status,
      result === null ? null : JSON.stringify(result),
      error === null ? null : JSON.stringify(error),
      new Date(),
    ]);
  }
}

function contextOf(program: Program): ProgramContext {
  const snapshot = { id: program.id, mode: program.mode, timeZone: program.timeZone, currency: program.currency, settings: program.settings };
  return { program: snapshot, clock: clockOf(program), actor: { type: 'system', job: 'whatif' } };
}
