/**
 * Prometheus metrics of one Packhouse process (prom-client), served at /metrics on the API port
 * (see docs/SECURITY.md, "Metrics", for who may read them).
 *
 * One registry per process. Labels are bounded: a channel is its ARN (channels are bounded by the
 * quotas), a request by its kind (manifest or segment), never a raw URL, path or query.
 * Ingest latency and the manifest cache's answer are attributed to the request being served
 * through AsyncLocalStorage, so the services report them without carrying the request around.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import client from 'prom-client';

/** What the request in flight has learnt about itself (where the metrics need it). */
interface RequestNote {
  readonly startedNs: bigint;
  cache: 'hit' | 'miss' | 'none';
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class PackhouseMetrics {
  readonly registry = new client.Registry();
  private readonly requests = new AsyncLocalStorage<RequestNote>();

  private readonly ingestSegments = new client.Counter({ name: 'packhouse_ingest_segments_total', help: 'Segments registered on a channel timeline (each input counted once per segment kept).', labelNames: ['channel'], registers: [this.registry] });
  private readonly ingestBytes = new client.Counter({ name: 'packhouse_ingest_bytes_total', help: 'Bytes of the segments registered on a channel timeline.', labelNames: ['channel'], registers: [this.registry] });
  private readonly ingestLatency = new client.Histogram({
    name: 'packhouse_ingest_to_playlist_seconds',
    help: 'From the start of the ingest request that completed a segment (its playlist or its bytes) to the segment being listed on the timeline, that is served by the origin.',
    labelNames: ['channel'],
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly egressRequests = new client.Counter({ name: 'packhouse_egress_requests_total', help: 'Origin requests answered, by kind (manifest or segment), manifest cache outcome (hit, miss, none: not cacheable) and status class.', labelNames: ['kind', 'cache', 'status'], registers: [this.registry] });
  private readonly egressLatency = new client.Histogram({ name: 'packhouse_egress_request_seconds', help: 'Time to answer an origin request, by kind and manifest cache outcome.', labelNames: ['kind', 'cache'], buckets: SECONDS, registers: [this.registry] });
  private readonly harvestJobs = new client.Counter({ name: 'packhouse_harvest_jobs_total', help: 'Harvest jobs this node started (IN_PROGRESS) and finished (COMPLETED, FAILED).', labelNames: ['status'], registers: [this.registry] });
  private readonly harvestBytes = new client.Counter({ name: 'packhouse_harvest_bytes_total', help: 'Bytes harvest jobs wrote to S3, by the final status of the job.', labelNames: ['status'], registers: [this.registry] });
  private readonly harvestDuration = new client.Histogram({ name: 'packhouse_harvest_job_seconds', help: 'Run time of finished harvest jobs, by final status.', labelNames: ['status'], buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600], registers: [this.registry] });
  private readonly dbSeconds = new client.Histogram({ name: 'packhouse_database_seconds', help: 'Time in the database: single statements, and transactions from begin to commit.', labelNames: ['op'], buckets: SECONDS, registers: [this.registry] });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'packhouse_' });
  }

  /** Runs an ingest request, so that the segments it registers are timed from its start. */
  ingestRequest<R>(fn: () => Promise<R>): Promise<R> {
    return this.requests.run({ startedNs: process.hrtime.bigint(), cache: 'none' }, fn);
  }

  /** A segment was registered on the channel's timeline. */
  segmentRegistered(channelArn: string, bytes: number): void {
    this.ingestSegments.inc({ channel: channelArn });
    this.ingestBytes.inc({ channel: channelArn }, bytes);
    const req = this.requests.getStore();
    if (req) this.ingestLatency.observe({ channel: channelArn }, Number(process.hrtime.bigint() - req.startedNs) / 1e9);
  }

  /** Runs an origin request and counts it by kind, cache outcome and status class. */
  async egressRequest(kind: 'manifest' | 'segment', fn: () => Promise<number>): Promise<number> {
    const note: RequestNote = { startedNs: process.hrtime.bigint(), cache: 'none' };
    let status = 500;
    try {
      status = await this.requests.run(note, fn);
      return status;
    } catch (err) {
      const s = (err as { status?: unknown }).status;
      if (typeof s === 'number') status = s;
      throw err;
    } finally {
      this.egressRequests.inc({ kind, cache: note.cache, status: `${Math.floor(status / 100)}xx` });
      this.egressLatency.observe({ kind, cache: note.cache }, Number(process.hrtime.bigint() - note.startedNs) / 1e9);
    }
  }

  /** The manifest cache answered (hit) or was asked and had nothing (miss). */
  manifestCache(hit: boolean): void {
    const req = this.requests.getStore();
    if (req) req.cache = hit ? 'hit' : 'miss';
  }

  harvestStarted(): void {
    this.harvestJobs.inc({ status: 'IN_PROGRESS' });
  }

  harvestFinished(status: 'COMPLETED' | 'FAILED', bytes: number, durationMs: number | undefined): void {
    this.harvestJobs.inc({ status });
    this.harvestBytes.inc({ status }, bytes);
    if (durationMs !== undefined) this.harvestDuration.observe({ status }, durationMs / 1000);
  }

  /** Times a database call. */
  async database<R>(op: 'statement' | 'transaction', fn: () => Promise<R>): Promise<R> {
    const end = this.dbSeconds.startTimer({ op });
    try {
      return await fn();
    } finally {
      end();
    }
  }

  contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** The process's metrics. */
export const metrics = new PackhouseMetrics();
