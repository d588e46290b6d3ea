/**
 * Runs harvest jobs: claims a QUEUED job once its window has ended and its content has arrived
 * (readiness.ts), or an IN_PROGRESS job whose worker's lease ran out after a crash, writes the planned objects
 * to the destination bucket, and ends the job COMPLETED or FAILED with a reason, queueing its
 * event in the same transaction. Every node may run one; leases keep a job on one worker.
 */
import { AsyncResource } from 'node:async_hooks';
import { arns } from '../arn.js';
import { ACTIVE_HARVEST_STATUSES, spanIsShort, type Channel, type HarvestedSpan, type HarvestJob, type HarvestProgress, type OriginEndpoint } from '../model.js';
import type { BlobStore, Clock, Ids, MetadataStore, ObjectSink, ResourceRecord, Scope, TimelineStore } from '../ports.js';
import { records } from '../services/context.js';
import { harvestEvents } from './events.js';
import { NoContentError, planHarvest, type HarvestPlan, type HarvestSignaling, type PlannedObject, type WindowTrack } from './planner.js';
import { harvestReadiness } from './readiness.js';
import { firstSeqOf, groupBytes, groupSegment, windowGroups } from '../output-groups.js';
import type { OutputTrack } from '../../media/timeline/model.js';
import type { ContentProtection } from '../../media/dash/mpd-writer.js';
import { outputTrack } from '../output-model.js';
import { harvestKeysProblem } from '../s3-names.js';
import { endpointRenditions, isRepackagedTs, unsupportedMessage } from '../repackaging.js';
import { metrics } from '../../metrics/metrics.js';
import { encryptionOf, KeyUnavailableError } from '../../encryption/content-keys.js';
import { collect, EncryptionNotBuiltError, type Egress } from '../../encryption/egress.js';

export interface RunnerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface HarvestRunnerSettings {
  /** Jobs this worker runs at once. */
  readonly concurrency: number;
  readonly leaseMs: number;
  /** Once ingest stopped or stalled short of EndTime: how long after EndTime a job waits before it runs with what there is. */
  readonly settleMs: number;
  /** How often a running job logs its progress. */
  readonly progressLogMs?: number | undefined;
  readonly pollMs: number;
  readonly retentionMs: number;
  /** Webhook URLs that receive the EventBridge-shaped events. */
  readonly webhooks: readonly string[];
  /** Write attempts per object before the job fails. */
  readonly writeAttempts: number;
  /** Objects written at once within one job. */
  readonly writeParallelism: number;
}

export interface HarvestRunnerDeps {
  readonly store: MetadataStore;
  readonly timeline: TimelineStore;
  readonly blobs: BlobStore;
  readonly sink: ObjectSink;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly logger: RunnerLogger;
  readonly settings: HarvestRunnerSettings;
  /** Encryption on egress: a harvest of an encrypting endpoint writes the bytes the origin serves. */
  readonly egress?: Egress | undefined;
}

class JobStopped extends Error {}
class JobFailed extends Error {}

/** Runs fn over items with at most `width` at once; the first failure stops new starts and is thrown. */
async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const lane = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, lane));
  if (failed !== undefined) throw failed;
}

/**
 * Every key the job would write is a key S3 takes and the built-in store can hold, or nothing is
 * written (a job queued before CreateHarvestJob checked its destination, or a key made longer by
 * rendition names than the create-time check could know).
 */
function checkDestination(bucket: string, objects: readonly PlannedObject[]): void {
  const problem = harvestKeysProblem(bucket, objects.map((o) => o.key));
  if (problem) throw new JobFailed(`${problem} Nothing was written; run a new harvest job with another Destination.`);
}

/** Due jobs read per query in a scheduling pass, and at most looked at in one pass. */
const PAGE = 100;
const MAX_LOOKED_AT = 2_000;

const scopeOf = (r: ResourceRecord): Scope => ({ accountId: r.accountId, region: r.region });
const iso = (ms: number) => new Date(ms).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class HarvestRunner {
  readonly owner: string;
  private readonly running = new Map<string, Promise<void>>();
  /** The windows of the jobs this worker runs (for their log lines). */
  private readonly windows = new Map<string, { startMs: number; endMs: number }>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** A wake-up arrived during a pass: run another when it ends. */
  private again = false;
  private stopped = false;
  /**
   * A pass in the context the runner was made in: a wake-up comes from inside the request that
   * queued the job, whose transaction must not take in the runner's reads and claims.
   */
  private readonly tickDetached = AsyncResource.bind(() => void this.tick());

  constructor(private readonly deps: HarvestRunnerDeps) {
    this.owner = deps.ids.uuid();
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.settings.pollMs);
    this.timer.unref();
  }

  /** Stops claiming; running jobs are abandoned to their lease (another worker resumes them). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled(this.running.values());
  }

  /**
   * A job was queued through this node: look for due jobs now rather than at the next poll (a job
   * whose window has passed starts at once). A pass that runs before the job's transaction
   * committed finds nothing new, and the next poll picks the job up as before. A job not yet due
   * (`dueMs`, its window's end, still ahead) would not be found by a pass now either: the poll
   * picks it up once it is due, so it wakes nothing (creates with a future window, the usual
   * kind, cost no scheduling pass each).
   */
  wake(dueMs?: number): void {
    if (this.stopped) return;
    if (dueMs !== undefined && dueMs > this.deps.clock.now().getTime()) return;
    if (this.ticking) this.again = true;
    else setImmediate(this.tickDetached);
  }

  /** One scheduling pass: claims due jobs up to the concurrency limit. */
  async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const free = this.deps.settings.concurrency - this.running.size;
      if (free <= 0) return;
      // Only jobs whose window has ended or whose lease ran out, earliest first, a page at a time:
      // jobs scheduled ahead cost a pass nothing, and those still waiting for late content do not
      // hide the ones behind them.
      const nowMs = this.deps.clock.now().getTime();
      let started = 0;
      const consider = async (page: readonly ResourceRecord<HarvestJob>[]) => {
        for (const c of page) {
          if (started >= free) return;
          if (this.running.has(c.arn) || !(await this.isDue(c))) continue;
          const claimed = await this.claim(c.arn);
          if (!claimed) continue;
          started++;
          const run = this.run(claimed)
            .catch((err: unknown) => this.deps.logger.error({ err, job: claimed.arn }, 'harvest: unexpected error'))
            .finally(() => this.running.delete(claimed.arn));
          this.running.set(claimed.arn, run);
        }
      };
      // Jobs that a node of an earlier version queued during a rolling upgrade carry no due time:
      // looked at on every pass, as all jobs used to be, until a write of this version dates them.
      await consider(await this.deps.store.findUndated<HarvestJob>('harvestJob', ACTIVE_HARVEST_STATUSES, PAGE));
      let after: { dueMs: number; arn: string } | undefined;
      for (let looked = 0; started < free && looked < MAX_LOOKED_AT; ) {
        const page = await this.deps.store.findDue<HarvestJob>('harvestJob', ACTIVE_HARVEST_STATUSES, nowMs, PAGE, after);
        await consider(page);
        looked += page.length;
        const last = page[page.length - 1];
        if (page.length < PAGE || !last) break;
        after = { dueMs: last.dueMs ?? 0, arn: last.arn };
      }
    } catch (err) {
      this.deps.logger.error({ err }, 'harvest: scheduling pass failed');
    } finally {
      this.ticking = false;
      if (this.again) {
        this.again = false;
        setImmediate(this.tickDetached);
      }
    }
  }

  private channelArn(r: ResourceRecord<HarvestJob>): string {
    return arns.channel(scopeOf(r), r.doc.groupName, r.doc.channelName);
  }

  /** QUEUED: the window ended and its content arrived (readiness.ts). IN_PROGRESS: lease expired. */
  private async isDue(r: ResourceRecord<HarvestJob>): Promise<boolean> {
    const now = this.deps.clock.now().getTime();
    const job = r.doc;
    if (job.status === 'IN_PROGRESS') return (job.lease?.untilMs ?? 0) < now;
    return (await harvestReadiness(this.deps, r, now, this.deps.settings.settleMs)).due;
  }

  private async claim(arn: string): Promise<ResourceRecord<HarvestJob> | undefined> {
    const { store, clock, ids, settings } = this.deps;
    return store.transaction(async (tx) => {
      const r = await tx.getResource<HarvestJob>(arn);
      const now = clock.now().getTime();
      if (!r) return undefined;
      const job = r.doc;
      const takeover = job.status === 'IN_PROGRESS' && (job.lease?.untilMs ?? 0) < now;
      if (job.status !== 'QUEUED' && !takeover) return undefined;
      const next: HarvestJob = {
        ...job,
        status: 'IN_PROGRESS',
        lease: { owner: this.owner, untilMs: now + settings.leaseMs },
        ...(takeover ? {} : { modifiedMs: now, etag: ids.etag() }),
      };
      const rec = records.harvestJob(scopeOf(r), next, settings.retentionMs);
      await tx.updateResource(rec);
      return rec;
    });
  }

  /** Renews the lease; says whether the job is still this worker's to run (not cancelled, not taken over). */
  private async heartbeat(arn: string, progress?: HarvestProgress): Promise<boolean> {
    const { store, clock, settings } = this.deps;
    return store.transaction(async (tx) => {
      const r = await tx.getResource<HarvestJob>(arn);
      if (!r || r.doc.status !== 'IN_PROGRESS' || r.doc.lease?.owner !== this.owner) return false;
      const next: HarvestJob = { ...r.doc, lease: { owner: this.owner, untilMs: clock.now().getTime() + settings.leaseMs }, ...(progress ? { progress } : {}) };
      await tx.updateResource(records.harvestJob(scopeOf(r), next, settings.retentionMs));
      return true;
    });
  }

  private async finish(arn: string, outcome: { status: 'COMPLETED'; harvested: HarvestedSpan } | { status: 'FAILED'; message: string }, progress?: HarvestProgress, startedMs?: number): Promise<void> {
    const { store, clock, ids, settings } = this.deps;
    await store.transaction(async (tx) => {
      const r = await tx.getResource<HarvestJob>(arn);
      if (!r || r.doc.status !== 'IN_PROGRESS' || r.doc.lease?.owner !== this.owner) return;
      const now = clock.now().getTime();
      const { lease: _lease, ...rest } = r.doc;
      const next: HarvestJob = {
        ...rest,
        status: outcome.status,
        ...(outcome.status === 'FAILED' ? { errorMessage: outcome.message } : { harvested: outcome.harvested }),
        ...(progress ? { progress } : {}),
        modifiedMs: now,
        etag: ids.etag(),
      };
      await tx.updateResource(records.harvestJob(scopeOf(r), next, settings.retentionMs));
      await tx.enqueueEvents(harvestEvents(next, scopeOf(r), now, settings.webhooks, ids.uuid()));
    });
    this.deps.logger.info({ job: arn, status: outcome.status, ...(outcome.status === 'FAILED' ? { reason: outcome.message } : {}), ...this.summary(arn, outcome, progress, startedMs) }, 'harvest job finished');
    metrics.harvestFinished(outcome.status, progress?.bytesWritten ?? 0, startedMs === undefined ? undefined : this.deps.clock.now().getTime() - startedMs);
  }

  /** The final line's numbers: objects, bytes, duration and throughput; the window asked for and the span harvested. */
  private summary(arn: string, outcome: { status: 'COMPLETED'; harvested: HarvestedSpan } | { status: 'FAILED'; message: string }, progress?: HarvestProgress, startedMs?: number): object {
    const job = this.windows.get(arn);
    const durationMs = startedMs === undefined ? undefined : Date.now() - startedMs;
    const bytes = progress?.bytesWritten ?? 0;
    return {
      ...(progress ? { objects: progress.objectsWritten, bytes } : {}),
      ...(durationMs !== undefined ? { durationMs, throughputMBps: Number((bytes / 1e6 / Math.max(0.001, durationMs / 1000)).toFixed(2)) } : {}),
      ...(job ? { window: { start: iso(job.startMs), end: iso(job.endMs) } } : {}),
      ...(outcome.status === 'COMPLETED'
        ? { harvested: { start: iso(outcome.harvested.startMs), end: iso(outcome.harvested.endMs) }, ...(job ? { short: spanIsShort(job, outcome.harvested) } : {}) }
        : {}),
    };
  }

  private async run(r: ResourceRecord<HarvestJob>): Promise<void> {
    const { logger, settings } = this.deps;
    const arn = r.arn;
    const abort = new AbortController();
    const startedMs = Date.now();
    let alive = true;
    let progress: HarvestProgress = { objectsWritten: 0, objectsTotal: 0, bytesWritten: 0, bytesTotal: 0 };
    this.windows.set(arn, { startMs: r.doc.startMs, endMs: r.doc.endMs });
    const beat = setInterval(() => {
      this.heartbeat(arn, progress).then(
        (ok) => {
          if (!ok && alive) {
            alive = false;
            abort.abort();
          }
        },
        (err: unknown) => logger.warn({ err, job: arn }, 'harvest: heartbeat failed'),
      );
    }, Math.max(200, Math.floor(settings.leaseMs / 4)));
    const logProgress = () => {
      const elapsedMs = Date.now() - startedMs;
      // By objects: bytesTotal counts the segments' bytes only (init segments and manifests are sized as they are written).
      const pct = progress.objectsTotal > 0 ? Math.floor((100 * progress.objectsWritten) / progress.objectsTotal) : 0;
      logger.info({ job: arn, ...progress, percent: pct, elapsedMs }, 'harvest progress');
    };
    // Progress at a steady cadence (by time, not by object), and once more at the end.
    let ticker: NodeJS.Timeout | undefined;
    try {
      const { plan, harvested, seal } = await this.plan(r);
      progress = { ...progress, objectsTotal: plan.media.length + plan.manifests.length, bytesTotal: plan.media.reduce((n, o) => n + o.bytes, 0) };
      logger.info({ job: arn, segments: plan.segmentCount, objects: progress.objectsTotal, bytes: progress.bytesTotal, window: { start: iso(r.doc.startMs), end: iso(r.doc.endMs) } }, 'harvest job started');
      metrics.harvestStarted();
      checkDestination(r.doc.bucket, [...plan.media, ...plan.manifests]);
      ticker = setInterval(logProgress, settings.progressLogMs ?? 3000);
      await this.prepareBucket(r.doc.bucket);
      const copy = async (o: PlannedObject) => {
        if (!alive) throw new JobStopped();
        const clear = o.text !== undefined ? Buffer.from(o.text) : await groupBytes(this.deps.blobs, o.blobKeys!, o.tsContinuity === true);
        const body = clear && seal && o.segment ? await seal(o, clear) : clear;
        if (!body) throw new JobFailed(`A segment of the window (${o.key.split('/').pop()}) was removed from Packhouse before it could be copied: the window slid out of the startover window. Harvest a more recent window.`);
        await this.write(r.doc.bucket, o.key, body, o.contentType, abort.signal);
        progress = { ...progress, objectsWritten: progress.objectsWritten + 1, bytesWritten: progress.bytesWritten + body.length };
      };
      // Segments go up several at a time; manifests only once every segment is in place.
      await inParallel(plan.media, settings.writeParallelism, copy);
      await inParallel(plan.manifests, 1, copy);
      alive = false;
      clearInterval(ticker);
      logProgress();
      await this.finish(arn, { status: 'COMPLETED', harvested }, progress, startedMs);
    } catch (err) {
      clearInterval(ticker);
      if (err instanceof JobStopped || abort.signal.aborted) {
        logger.info({ job: arn, ...progress }, 'harvest job stopped (cancelled or taken over)');
        return;
      }
      const known = err instanceof NoContentError || err instanceof JobFailed || err instanceof KeyUnavailableError || err instanceof EncryptionNotBuiltError;
      const message = known ? err.message : `The harvest failed: ${(err as Error).message}`;
      if (!known) logger.error({ err, job: arn }, 'harvest: job failed');
      await this.finish(arn, { status: 'FAILED', message }, progress, startedMs);
    } finally {
      alive = false;
      clearInterval(beat);
      clearInterval(ticker);
      this.windows.delete(arn);
    }
  }

  private async prepareBucket(bucket: string): Promise<void> {
    const { sink } = this.deps;
    let state: 'ok' | 'missing' | 'denied';
    try {
      state = await sink.checkBucket(bucket);
    } catch (err) {
      throw new JobFailed(`The destination S3 store could not be reached to check bucket ${bucket}: ${(err as Error).message}. Check --s3-endpoint and the S3 credentials.`);
    }
    if (state === 'missing' && sink.createsBuckets) {
      await sink.createBucket(bucket);
      return;
    }
    if (state === 'missing') throw new JobFailed(`The destination bucket ${bucket} does not exist. Create it (in the same Region) and run a new harvest job.`);
    if (state === 'denied') throw new JobFailed(`Packhouse is not allowed to write to bucket ${bucket} (access denied). Grant s3:PutObject to Packhouse's S3 credentials and run a new harvest job.`);
  }

  /** One object, retried with exponential backoff; a cancelled job stops at once. */
  private async write(bucket: string, key: string, body: Buffer, contentType: string, signal: AbortSignal): Promise<void> {
    const attempts = this.deps.settings.writeAttempts;
    for (let i = 1; ; i++) {
      if (signal.aborted) throw new JobStopped();
      try {
        await this.deps.sink.putObject(bucket, key, body, contentType, signal);
        return;
      } catch (err) {
        if (signal.aborted) throw new JobStopped();
        if (i >= attempts) throw new JobFailed(`Writing s3://${bucket}/${key} failed ${attempts} times (last error: ${(err as Error).message}). Check that the S3 store is reachable and writable, then run a new harvest job.`);
        await sleep(Math.min(8000, 250 * 2 ** (i - 1)));
      }
    }
  }

  private async plan(r: ResourceRecord<HarvestJob>): Promise<{ plan: HarvestPlan; harvested: HarvestedSpan; seal?: (o: PlannedObject, clear: Buffer) => Promise<Buffer> }> {
    const { store, timeline, clock } = this.deps;
    const job = r.doc;
    const scope = scopeOf(r);
    const endpointRec = await store.getResource<OriginEndpoint>(arns.endpoint(scope, job.groupName, job.channelName, job.endpointName));
    if (!endpointRec) throw new JobFailed(`The origin endpoint ${job.endpointName} was deleted before the harvest job could run.`);
    const channelRec = await store.getResource<Channel>(arns.channel(scope, job.groupName, job.channelName));
    if (!channelRec) throw new JobFailed(`The channel ${job.channelName} was deleted before the harvest job could run.`);
    const endpoint = endpointRec.doc;
    const resetMs = Math.max(channelRec.doc.resetMs ?? 0, endpoint.resetMs ?? 0);
    if (resetMs > job.startMs) {
      throw new JobFailed(`The ${channelRec.doc.resetMs === resetMs ? 'channel' : 'origin endpoint'} was reset at ${new Date(resetMs).toISOString()}, after the harvest window began; the earlier content was dropped.`);
    }
    const startover = endpoint.startoverWindowSeconds ?? 0;
    if (job.startMs < clock.now().getTime() - startover * 1000) {
      throw new JobFailed(`The harvest window starts before the endpoint's startover window (${startover} s) by the time the job ran, so its start is no longer held. Harvest a more recent window, or raise StartoverWindowSeconds.`);
    }
    const view = await endpointRenditions(timeline, channelRec.arn, endpoint.containerType);
    if (view.unsupported.length > 0) throw new JobFailed(unsupportedMessage(channelRec.doc.name, endpoint.name, endpoint.containerType, view.unsupported));
    const tracks: OutputTrack[] = view.renditions.map(outputTrack);
    const segDurS = Number(endpoint.segment['SegmentDurationSeconds'] ?? 6);
    const windowTracks = new Map<string, WindowTrack>();
    for (const t of tracks) {
      // Whole output segments touching the window, as the endpoint lists them. A group the stream
      // stopped inside is left out: its name stands for the whole group's bytes (005-output-segments.md).
      const wg = await windowGroups(view.timeline, channelRec.arn, t.id, job.startMs, job.endMs, segDurS);
      windowTracks.set(t.id, {
        n: wg.n,
        segments: wg.groups
          .filter((g) => g.complete)
          .map((g) => ({
            ...groupSegment(g),
            blobKeys: g.pieces.map((p) => p.key),
            bytes: g.pieces.reduce((b, p) => b + p.bytes, 0),
            initKey: g.pieces[0]!.initKey,
            // As the origin serves it: repackaged TS pieces with their counters carried on.
            tsContinuity: t.container === 'ts' && g.pieces.length > 1 && isRepackagedTs(g.pieces[0]!),
          })),
      });
    }
    // An encrypting endpoint's harvest writes what the origin serves: the same keys, IVs and key lines.
    const enc = encryptionOf(endpoint);
    let signaling: HarvestSignaling | undefined;
    let seal: ((o: PlannedObject, clear: Buffer) => Promise<Buffer>) | undefined;
    if (enc) {
      const egress = this.deps.egress;
      if (!egress) throw new JobFailed(`The origin endpoint ${endpoint.name} is configured to encrypt, and this Packhouse has no key service; nothing was written.`);
      egress.check(enc, endpoint.containerType);
      const hlsKeys = new Map<string, (startMs: number) => readonly string[]>();
      const dashProtection = new Map<string, (startMs: number) => readonly ContentProtection[]>();
      for (const t of tracks) {
        const starts = windowTracks.get(t.id)?.segments.map((s) => s.startMs) ?? [];
        if (!starts.length) continue;
        hlsKeys.set(t.id, await egress.hlsKeysFor(endpoint, enc, t, starts));
        if (endpoint.containerType === 'CMAF') dashProtection.set(t.id, await egress.dashProtectionFor(endpoint, enc, t, starts));
      }
      const rotating = enc.rotationMs !== undefined && endpoint.containerType === 'CMAF';
      signaling = { hlsKeys, dashProtection, ...(rotating ? { keyPeriodOf: (ms: number) => egress.periodAt(enc, ms) } : {}) };
      const byId = new Map(tracks.map((t) => [t.id, t]));
      const blobs = this.deps.blobs;
      const gone = (o: PlannedObject) => new JobFailed(`A segment of the window (${o.key.split('/').pop()}) was removed from Packhouse before it could be copied.`);
      seal = async (o, clear) => {
        const seg = o.segment!;
        const track = byId.get(seg.trackId)!;
        if (endpoint.containerType === 'CMAF') {
          if (seg.init) return egress.cmafInit(endpoint, enc, track, clear, seg.startMs);
          const init = seg.initKey ? await blobs.get(seg.initKey) : undefined;
          if (!init) throw gone(o);
          // Each input segment is a fragment encrypted on its own, as the origin does (IVs from its sequence number).
          const parts: Buffer[] = [];
          const first = firstSeqOf(seg.seq, seg.n);
          for (const [i, k] of (o.blobKeys ?? []).entries()) {
            const b = await blobs.get(k);
            if (!b) throw gone(o);
            parts.push(await egress.cmafFragment(endpoint, enc, track, b, init, seg.startMs, first + i));
          }
          return Buffer.concat(parts);
        }
        const sealed = await egress.tsSegment(endpoint, enc, track, seg.seq, seg.startMs, {
          chunks: async function* () {
            yield clear;
          },
          pieces: async function* () {
            for (const k of o.blobKeys ?? []) {
              const b = await blobs.get(k);
              if (!b) throw gone(o);
              yield b;
            }
          },
          length: clear.length,
        });
        return collect(sealed.chunks);
      };
    }
    const plan = planHarvest(job, endpoint, tracks, windowTracks, signaling);
    // The span every harvested track covers: from the latest first segment to the earliest last one's end.
    const spans = [...windowTracks.values()].filter((w) => w.segments.length > 0).map((w) => ({ startMs: w.segments[0]!.startMs, endMs: w.segments.at(-1)!.startMs + w.segments.at(-1)!.durationMs }));
    const harvested = { startMs: Math.max(...spans.map((x) => x.startMs)), endMs: Math.min(...spans.map((x) => x.endMs)) };
    return { plan, harvested, ...(seal ? { seal } : {}) };
  }
}
