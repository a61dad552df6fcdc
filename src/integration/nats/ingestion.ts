import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type Consumer, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, nanos, type NatsConnection } from '@nats-io/transport-node';
import type { ProgramContext } from '../../core/context.js';
import { hasScope, type AccessService } from '../../modules/access/index.js';
import { EventBody } from '../../modules/earning/earning.schemas.js';
import type { EventInput, EventResult, EventsService } from '../../modules/earning/index.js';
import { clockOf, type ProgramsService } from '../../modules/programs/index.js';

/**
 * Behaviour events from NATS JetStream, through the same path as `POST …/events:batch`.
 *
 * A message is one event: its body is exactly the HTTP event body (`eventId`, `member`, `type`,
 * `occurredAt`, `channel`, `attributes`), its `Authorization: Bearer <key>` header a program API
 * key with the `earn` scope, which names the program (an optional `Laurel-Program` header must
 * agree). The key is checked like an HTTP request's (hash lookup, revocation honoured), so
 * whoever can publish to the subject still cannot award points without a key, and the awards are
 * attributed to that key in the settlement report.
 *
 * Delivery: a durable pull consumer, explicit acks. Each fetched batch is grouped by program and
 * ingested with one `ingestBatch` (one transaction per program and batch); a message is acked
 * only after that transaction committed. A crash between commit and ack makes JetStream deliver
 * the message again after the ack wait, and the event id makes that a replay: nothing is awarded
 * twice. A message that can never succeed (no key, bad JSON, an invalid event, an unknown member)
 * is terminated with its reason logged and, when configured, copied to a dead-letter subject.
 * An unexpected failure (the database is down) leaves the messages unacked for redelivery, one
 * message at a time, so one bad message does not hold its batch back; on its last allowed
 * delivery a message that still fails is terminated too.
 */
export interface NatsIngestionConfig {
  url: string;
  stream: string;
  /** the subject filter of the durable consumer (e.g. laurel.events.>) */
  subject: string;
  durable: string;
  /** messages per fetch (and so at most per transaction per program) */
  batchSize: number;
  ackWaitSeconds: number;
  maxDeliver: number;
  /** where terminated messages are copied with a Laurel-Dead-Reason header, if set */
  deadLetterSubject?: string | undefined;
  /**
   * How long one fetch waits for a full batch before it returns what it has (default and minimum
   * 1 s; the ack wait must be well above it, or a message could come twice in one fetch).
   */
  fetchWaitMs?: number | undefined;
}

export interface IngestionLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface IngestionDeps {
  events: EventsService;
  access: AccessService;
  programs: ProgramsService;
  log: IngestionLog;
}

/** What one fetch did, per message outcome. */
export interface BatchReport {
  fetched: number;
  /** processed now, acked */
  processed: number;
  /** already received (a redelivery), acked without effect */
  replayed: number;
  /** terminated: never redelivered */
  terminated: Array<{ seq: number; reason: string }>;
  /** left unacknowledged after a failure, to be redelivered */
  unacked: number;
}

export interface IngestionTestHooks {
  /** called after a program's transaction committed and before its messages are acked (crash tests throw here) */
  beforeAck?: (results: EventResult[]) => void | Promise<void>;
}

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
// The same validator settings as the HTTP layer: strict bodies, no coercion.
const validateEvent: ValidateFunction = addFormats(new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, strict: false })).compile(EventBody);
const MAX_MESSAGE_BYTES = 256 * 1024;

class Poison extends Error {}

interface Parsed {
  msg: JsMsg;
  ctx: ProgramContext;
  input: EventInput;
}

export class NatsIngestion {
  private nc: NatsConnection | null = null;
  private consumer: Consumer | null = null;
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly deps: IngestionDeps,
    private readonly config: NatsIngestionConfig,
    private readonly hooks: IngestionTestHooks = {},
  ) {}

  /** Connect and make sure the stream and the durable consumer exist. */
  async connect(): Promise<void> {
    if (this.nc) return;
    const nc = await connect({ servers: this.config.url, name: `laurel-ingest-${this.config.durable}`, maxReconnectAttempts: -1 });
    try {
      await this.ensureConsumer(await jetstreamManager(nc));
    } catch (err) {
      await nc.close();
      throw err;
    }
    this.nc = nc;
    this.consumer = await jetstream(nc).consumers.get(this.config.stream, this.config.durable);
  }

  /** Run in the background until `stop`: fetch, ingest, ack; a failed connection is retried. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      let backoff = 500;
      while (this.running) {
        try {
          await this.connect();
          const report = await this.processOnce();
          backoff = 500;
          if (report.fetched) this.deps.log.info({ ...report, terminated: report.terminated.length }, 'nats ingestion batch');
        } catch (err) {
          this.deps.log.error({ err }, 'nats ingestion failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, backoff));
          backoff = Math.min(backoff * 2, 30_000);
        }
      }
    })();
  }

  /** Stop fetching, let the batch in hand finish (and its acks reach the server), disconnect. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.loop = null;
    const nc = this.nc;
    this.nc = null;
    this.consumer = null;
    if (nc) await nc.drain();
  }

  /** Fetch one batch (waiting at most `fetchWaitMs`) and ingest it. */
  async processOnce(): Promise<BatchReport> {
    await this.connect();
    const messages: JsMsg[] = [];
    const iter = await this.consumer!.fetch({ max_messages: this.config.batchSize, expires: this.config.fetchWaitMs ?? 1_000 });
    for await (const m of iter) messages.push(m);
    return this.processBatch(messages);
  }

  private async processBatch(messages: JsMsg[]): Promise<BatchReport> {
    const report: BatchReport = { fetched: messages.length, processed: 0, replayed: 0, terminated: [], unacked: 0 };
    const byProgram = new Map<string, Parsed[]>();
    for (const msg of messages) {
      try {
        const parsed = await this.parse(msg);
        const group = byProgram.get(parsed.ctx.program.id) ?? [];
        group.push(parsed);
        byProgram.set(parsed.ctx.program.id, group);
      } catch (err) {
        if (err instanceof Poison) this.terminate(msg, err.message, report);
        else this.failed(msg, err, report);
      }
    }
    for (const group of byProgram.values()) await this.ingest(group, report);
    return report;
  }

  /** One program's messages in one transaction; on an unexpected failure, each alone. */
  private async ingest(group: Parsed[], report: BatchReport): Promise<void> {
    let results: EventResult[];
    try {
      results = await this.deps.events.ingestBatch(group[0]!.ctx, group.map((p) => p.input));
    } catch (err) {
      if (group.length > 1) {
        for (const one of group) await this.ingest([one], report);
      } else {
        this.failed(group[0]!.msg, err, report);
      }
      return;
    }
    // A throw here is a crash after the commit and before any ack: it leaves this call.
    await this.hooks.beforeAck?.(results);
    // Committed: now, and only now, the messages may be acknowledged.
    results.forEach((result, i) => {
      const msg = group[i]!.msg;
      if (result.status === 'invalid') {
        this.terminate(msg, `${result.error?.code ?? 'invalid'}: ${result.error?.message ?? 'the event was refused'}`, report);
        return;
      }
      msg.ack();
      if (result.replayed) report.replayed++;
      else report.processed++;
    });
  }

  private async parse(msg: JsMsg): Promise<Parsed> {
    const auth = header(msg, 'Authorization');
    const match = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!match) throw new Poison('unauthorized: an Authorization: Bearer <program API key> header is required');
    const principal = await this.deps.access.authenticate(match[1]!);
    if (!principal || principal.kind !== 'program_key') throw new Poison('unauthorized: the API key is not valid, has been revoked, or is not a program key');
    if (!hasScope(principal, 'earn')) throw new Poison('forbidden: the API key lacks the "earn" scope');
    const named = header(msg, 'Laurel-Program');
    if (named && named !== principal.programId) throw new Poison('forbidden: the Laurel-Program header names another program than the key');
    if (msg.data.length > MAX_MESSAGE_BYTES) throw new Poison(`body_too_large: an event message is at most ${MAX_MESSAGE_BYTES} bytes`);
    let body: unknown;
    try {
      body = msg.json<unknown>();
    } catch {
      throw new Poison('malformed_json: the body is not JSON');
    }
    if (!validateEvent(body)) {
      const e = validateEvent.errors?.[0];
      throw new Poison(`validation_failed: ${e?.instancePath || 'body'} ${e?.message ?? 'is not an event'}`);
    }
    const program = await this.deps.programs.get(principal.programId);
    const ctx: ProgramContext = {
      program: { id: program.id, mode: program.mode, timeZone: program.timeZone, currency: program.currency, settings: program.settings },
      clock: clockOf(program),
      actor: { type: 'api_key', id: principal.keyId },
    };
    return { msg, ctx, input: body as EventInput };
  }

  private terminate(msg: JsMsg, reason: string, report: BatchReport): void {
    this.deps.log.warn({ stream: this.config.stream, seq: msg.seq, subject: msg.subject, deliveries: msg.info.deliveryCount, reason }, 'nats message terminated');
    if (this.config.deadLetterSubject && this.nc) {
      const h = natsHeaders();
      for (const [k, v] of msg.headers ?? []) if (k.toLowerCase() !== 'authorization') for (const x of v) h.append(k, x);
      h.set('Laurel-Dead-Reason', reason.slice(0, 1_000));
      h.set('Laurel-Dead-Subject', msg.subject);
      h.set('Laurel-Dead-Seq', String(msg.seq));
      this.nc.publish(this.config.deadLetterSubject, msg.data, { headers: h });
    }
    // A plain +TERM: servers before 2.10.4 ignore a term that carries a reason and redeliver.
    msg.term();
    report.terminated.push({ seq: msg.seq, reason });
  }

  private failed(msg: JsMsg, err: unknown, report: BatchReport): void {
    if (msg.info.deliveryCount >= this.config.maxDeliver) {
      this.terminate(msg, `failed on its last allowed delivery (${msg.info.deliveryCount}): ${(err as Error)?.message ?? err}`, report);
      return;
    }
    // No ack and no nak: JetStream delivers it again after the ack wait, as after a crash.
    this.deps.log.error({ err, seq: msg.seq, deliveries: msg.info.deliveryCount }, 'nats message failed; it will be redelivered');
    report.unacked++;
  }

  private async ensureConsumer(jsm: JetStreamManager): Promise<void> {
    const { stream, subject, durable } = this.config;
    try {
      await jsm.streams.info(stream);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add({ name: stream, subjects: [subject] });
      this.deps.log.info({ stream, subject }, 'nats stream created');
    }
    const settings = { filter_subject: subject, ack_wait: nanos(this.config.ackWaitSeconds * 1_000), max_deliver: this.config.maxDeliver };
    try {
      await jsm.consumers.info(stream, durable);
      await jsm.consumers.update(stream, durable, settings);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ...settings });
    }
  }
}

/** Header names are case-insensitive, as in HTTP. */
function header(msg: JsMsg, name: string): string {
  return msg.headers?.values(name, 'insensitive')[0] ?? '';
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10059 || e?.api_error?.err_code === 10014 || /not found/i.test(String(e?.message ?? ''));
}
