/**
 * Live ingest: encoders PUT (or POST) playlists and segments to /in/v1/{group}/{1|2}/{channel}/...
 * Files are kept as they arrive; whenever a media playlist and the segments it lists are both
 * present, those segments are read (codecs and media time from the bytes themselves), placed on
 * the channel's wall-clock timeline and moved to their permanent key. Encoders upload a playlist
 * and its newest segment concurrently, so either arrival may complete a segment.
 */
import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Logger } from 'pino';
import type { Channel, OriginEndpoint } from '../../domain/model.js';
import type { BlobStore, Clock, MetadataStore, RenditionRecord, ResourceRecord, SegmentRecord, TimelineStore } from '../../domain/ports.js';
import type { ParsedPlaylist } from './pending.js';
import type { MediaPlaylist, MultivariantPlaylist } from '../../media/hls/playlist.js';
import { MAX_SEGMENT_MS } from '../../domain/timeline-limits.js';
import { evaluatePolicy, PolicyCache, PolicyGrammarError, requestContext, type RequestFacts } from '../../domain/policy-evaluation.js';
import { DataplaneError, locateChannel } from '../channel-locator.js';
import { DependencyError } from '../../domain/errors.js';
import { probeSegment, validateSegment, type SegmentProbe } from './segment-probe.js';
import { stallAfterMs } from '../../domain/harvest/readiness.js';
import { RepackageError, repackageTs } from '../../media/package/ts-to-cmaf.js';
import { lazyCmafKey } from '../../storage/blobs/lazy-cmaf-blobs.js';
import { repackageFmp4 } from '../../media/package/fmp4-to-ts.js';
import { metrics } from '../../metrics/metrics.js';
import { PendingIndex, PLAYLIST_RE } from './pending.js';
import { checkIngestPath, implausibleTime } from './admission.js';

const MEDIA_RE = /\.(ts|m4s|mp4|m4v|m4a|cmfv|cmfa|mp4a)$/i;

/** How long ingest trusts what it last read of whether a channel has a CMAF endpoint (ms). */
const CMAF_ENDPOINTS_TTL_MS = 2000;

export interface IngestLimits {
  /** Largest segment accepted, in bytes. */
  readonly maxSegmentBytes: number;
  /** Largest playlist accepted, in bytes. */
  readonly maxPlaylistBytes: number;
  /** Program date-times further than this from the server's clock are refused (ms). */
  readonly maxClockSkewMs: number;
  /** A playlist unchanged, or a segment unplaced, this long expires (ms). */
  readonly pendingMs: number;
  /** Playlists one ingest input may hold. */
  readonly maxPlaylists: number;
  /** Segments one ingest input may hold before a playlist places them. */
  readonly maxPendingSegments: number;
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxSegmentBytes: 64 * 1024 * 1024,
  maxPlaylistBytes: 1024 * 1024,
  maxClockSkewMs: 86_400_000,
  pendingMs: 600_000,
  maxPlaylists: 32,
  maxPendingSegments: 200,
};

export interface IngestRequest {
  readonly method: string;
  readonly groupName: string;
  readonly ingestId: string;
  readonly channelName: string;
  /** Path below the channel, e.g. "index_0.m3u8" or "video/seg_12.ts". */
  readonly path: string;
  /**
   * Reads the body, refusing (413) more than `limit` bytes; called only once the route, the
   * channel and the caller's right to write are settled, so refused uploads are never buffered.
   */
  readonly body: (limit: number) => Promise<Buffer>;
  /**
   * Verifies the request's SigV4 signature and names the signer's account; throws when it cannot.
   * Without the body it checks what the headers alone allow (the payload hash declared in
   * x-amz-content-sha256, checked against the body as it is read) and answers undefined when the
   * signature covers a body hash that was not declared, so that the body must be read first.
   */
  readonly authenticate?: (body?: Buffer) => { readonly accountId: string } | undefined;
  /** What a channel policy's conditions may ask about the request (source address, headers, time). */
  readonly facts?: RequestFacts;
}

/** A file that reconciliation refused: the request that carried it (segment or playlist) is answered with it. */
interface Refusal {
  readonly paths: readonly string[];
  readonly status: number;
  readonly reason: string;
}

/** The key prefix of one channel's files: a digest of its ARN (stable, path-safe). */
export function channelKey(channelArn: string): string {
  return createHash('sha256').update(channelArn).digest('hex').slice(0, 24);
}

interface Hints {
  bandwidth?: number;
  width?: number;
  height?: number;
  frameRate?: number;
  audioGroup?: string;
  language?: string;
}

/** What this node last saw of one channel input (for the start / stop log lines only). */
interface InputActivity {
  readonly channel: string;
  readonly group: string;
  readonly channelName: string;
  readonly input: string;
  lastMs: number;
  /** Duration of its newest segment: the input counts as stopped after a few of these without a new one. */
  durationMs: number;
}

/** Which input last fed a channel's timeline, and when a restart was last logged (one line per event, not per rendition). */
interface ChannelFeed {
  input: string;
  restartLoggedMs: number;
}

export class IngestService {
  /** Serialises reconciliation per channel input in this process (a cheap guard; the timeline dedupes too). */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Channel inputs receiving segments, keyed by channel ARN and input id; an entry leaves when its input stops. */
  private readonly inputs = new Map<string, InputActivity>();
  private readonly feeds = new Map<string, ChannelFeed>();
  private watch: NodeJS.Timeout | undefined;
  /** Channel policies, parsed once per text. */
  private readonly policies = new PolicyCache();
  private readonly pending: PendingIndex;
  /** Whether each channel had a CMAF endpoint when last asked, and until when that answer is used. */
  private readonly cmafEndpoints = new Map<string, { readonly untilMs: number; readonly has: Promise<boolean> }>();

  constructor(
    private readonly deps: {
      readonly store: MetadataStore;
      readonly timeline: TimelineStore;
      readonly blobs: BlobStore;
      readonly clock: Clock;
      readonly logger: Logger;
      readonly limits: IngestLimits;
      /** Called after segments were added to a channel (retention, waiting LL-HLS readers). */
      readonly onSegments?: (channel: ResourceRecord<Channel>) => void;
    },
  ) {
    this.pending = new PendingIndex(deps.limits.pendingMs);
  }

  /**
   * Logs a line when a channel input stops (no new segment for a few target durations); the
   * other lines (start, switch, restart) are logged as segments arrive. Call stop() to end.
   */
  start(everyMs = 1000): void {
    this.watch = setInterval(() => this.noticeStops(), everyMs);
    this.watch.unref();
  }

  stop(): void {
    if (this.watch) clearInterval(this.watch);
  }

  private noticeStops(): void {
    const now = this.deps.clock.now().getTime();
    for (const [key, a] of this.inputs) {
      const quietMs = now - a.lastMs;
      if (quietMs <= stallAfterMs(a)) continue;
      this.inputs.delete(key);
      this.deps.logger.info({ channel: a.channel, group: a.group, channelName: a.channelName, input: a.input, lastSegmentAgoMs: quietMs }, 'ingest: input stopped');
      const feed = this.feeds.get(a.channel);
      if (feed && feed.input === a.input && ![...this.inputs.values()].some((x) => x.channel === a.channel)) this.feeds.delete(a.channel);
    }
  }

  /** A segment of this input was received (kept, or dropped as the other input's duplicate). */
  private received(channel: ResourceRecord<Channel>, input: string, durationMs: number, now: number): void {
    const key = `${channel.arn}\n${input}`;
    const a = this.inputs.get(key);
    if (a && now - a.lastMs <= stallAfterMs(a)) {
      a.lastMs = Math.max(a.lastMs, now);
      a.durationMs = durationMs;
      return;
    }
    this.inputs.set(key, { channel: channel.arn, group: channel.groupName, channelName: channel.name, input, lastMs: now, durationMs });
    this.deps.logger.info({ channel: channel.arn, group: channel.groupName, channelName: channel.name, input }, 'ingest: input started');
  }

  /** A segment was placed on the timeline: logs a switch of the feeding input and an encoder restart, once per channel event. */
  private appended(channel: ResourceRecord<Channel>, rec: SegmentRecord, prev: SegmentRecord | undefined, contiguous: boolean, now: number): void {
    const feed = this.feeds.get(channel.arn);
    const base = { channel: channel.arn, group: channel.groupName, channelName: channel.name };
    if (!feed) {
      this.feeds.set(channel.arn, { input: rec.source, restartLoggedMs: 0 });
    } else if (feed.input !== rec.source) {
      this.deps.logger.info({ ...base, from: feed.input, to: rec.source }, 'ingest: switched input');
      feed.input = rec.source;
    }
    // A restart shows on every rendition at once: one line per channel within a few segment durations.
    if (prev && rec.discontinuity) {
      const f = this.feeds.get(channel.arn)!;
      if (now - f.restartLoggedMs > stallAfterMs(rec)) {
        f.restartLoggedMs = now;
        const reason = prev.initKey !== rec.initKey ? 'new init segment' : !contiguous ? 'media time jumped' : 'EXT-X-DISCONTINUITY';
        this.deps.logger.info({ ...base, input: rec.source, rendition: rec.rendition, reason, at: new Date(rec.startMs).toISOString() }, 'ingest: encoder restart (discontinuity)');
      }
    }
  }

  /** Handles one ingest request; throws DataplaneError with a one-line reason on bad input. */
  async receive(req: IngestRequest): Promise<number> {
    const method = req.method.toUpperCase();
    if (req.ingestId !== '1' && req.ingestId !== '2') {
      throw new DataplaneError(404, `Ingest URLs are /in/v1/{group}/1/{channel}/... or /in/v1/{group}/2/{channel}/...; "${req.ingestId}" is not an ingest endpoint id.`);
    }
    checkIngestPath(req.path);
    // Everything below up to reading the body is decided from the URL and the headers.
    const channel = await locateChannel(this.deps.store, req.groupName, req.channelName);
    let authorized = channel.doc.policy === undefined || this.authorize(channel, req, undefined);
    if (method === 'DELETE') {
      if (!authorized) this.authorize(channel, req, await req.body(0));
      return 204;
    }
    if (method !== 'PUT' && method !== 'POST') throw new DataplaneError(405, `${req.method} is not an ingest method: encoders PUT or POST files (DELETE is accepted and ignored).`);
    const { limits } = this.deps;
    const playlist = PLAYLIST_RE.test(req.path);
    if (!playlist && !MEDIA_RE.test(req.path)) {
      throw new DataplaneError(415, `${req.path}: Packhouse ingests HLS playlists (.m3u8) and TS or fMP4 segments (.ts, .m4s, .mp4, .cmfv, .cmfa); this file type is not accepted.`);
    }
    const cid = channelKey(channel.arn);
    const prefix = `ingest/${cid}/${req.ingestId}/`;
    const key = `${prefix}${req.path}`;
    await this.withLock(`${cid}/${req.ingestId}`, () => this.admit(prefix, key, playlist));
    const body = await req.body(playlist ? limits.maxPlaylistBytes : limits.maxSegmentBytes);
    if (!authorized) authorized = this.authorize(channel, req, body);
    if (playlist) {
      const parsed = this.pending.playlist(prefix, key, body, this.deps.clock.now().getTime()).parsed;
      if (parsed.kind === 'invalid') throw new DataplaneError(400, `${req.path} is not a valid HLS playlist: ${parsed.reason}`);
      if (parsed.kind === 'media') {
        if (parsed.playlist.segments.some((seg) => seg.duration * 1000 > MAX_SEGMENT_MS)) {
          throw new DataplaneError(400, `${req.path} is not a valid HLS playlist: a segment is longer than ${MAX_SEGMENT_MS / 1000} s, the longest Packhouse accepts`);
        }
        const now = this.deps.clock.now().getTime();
        for (const seg of parsed.playlist.segments) {
          const why = seg.programDateTime === undefined ? undefined : implausibleTime(seg.programDateTime, now, limits.maxClockSkewMs);
          if (why !== undefined) throw new DataplaneError(400, `${req.path}: the EXT-X-PROGRAM-DATE-TIME of ${seg.uri} ${why}. Set the encoder's clock, or raise --ingest-max-clock-skew-seconds.`);
        }
      }
    } else {
      if (body.length === 0) throw new DataplaneError(400, `${req.path} is empty.`);
      try {
        validateSegment(req.path, body);
      } catch (err) {
        throw new DataplaneError(415, `${req.path} is not readable media: ${(err as Error).message}`);
      }
      // Media is stored at once: held back, it could let a later segment be placed before it.
      await this.deps.blobs.put(key, body);
    }
    // A playlist is stored under the input's lock, so that within this process it is never
    // rewritten while a reconciliation reads it (a store that rewrites objects in place would hand
    // that read half of it). A later playlist lists the earlier segments too, so waiting is safe.
    const refused = await this.withLock(`${cid}/${req.ingestId}`, async () => {
      if (playlist) {
        await this.deps.blobs.put(key, body);
        this.pending.stored(prefix, key, body, this.deps.clock.now().getTime());
      }
      return this.reconcile(channel, req.ingestId);
    });
    const mine = refused.find((r) => r.paths.includes(req.path));
    if (mine) throw new DataplaneError(mine.status, mine.reason);
    return 201;
  }

  /**
   * Refuses (429), before the body is read, a new playlist or segment that would take an input
   * past its limits; expired files are removed first, so a stalled encoder's leftovers free room.
   */
  private async admit(prefix: string, key: string, playlist: boolean): Promise<void> {
    const { limits } = this.deps;
    const keys = await this.deps.blobs.list(prefix);
    if (keys.includes(key)) return; // an update of a file already held
    const count = () => keys.filter((k) => PLAYLIST_RE.test(k) === playlist).length;
    const max = playlist ? limits.maxPlaylists : limits.maxPendingSegments;
    if (count() < max) return;
    const { left } = await this.expire(prefix, keys);
    if (left.filter((k) => PLAYLIST_RE.test(k) === playlist).length < max) return;
    throw new DataplaneError(
      429,
      playlist
        ? `This ingest input already holds ${max} playlists, the most Packhouse keeps per input; one that stays unchanged for ${limits.pendingMs / 1000} s expires.`
        : `This ingest input already holds ${max} segments that no playlist has placed; upload the playlists that list them (unplaced segments expire after ${limits.pendingMs / 1000} s).`,
    );
  }

  /**
   * Deletes the input's playlists and unplaced segments that have expired; returns the keys left
   * and the parsed form of each playlist left (each stored playlist is read once per call).
   */
  private async expire(prefix: string, keys: readonly string[]): Promise<{ left: string[]; playlists: Map<string, ParsedPlaylist> }> {
    const now = this.deps.clock.now().getTime();
    const gone = new Set<string>();
    const playlists = new Map<string, ParsedPlaylist>();
    // Init segments named by a playlist that is kept are kept too (an encoder sends them once).
    const inUse = new Set<string>();
    for (const k of keys.filter((key) => PLAYLIST_RE.test(key))) {
      let bytes: Buffer | undefined;
      try {
        bytes = await this.deps.blobs.get(k);
      } catch (err) {
        // This upload is stored; the playlist is read again by the input's next request.
        if (!(err instanceof DependencyError)) throw err;
        this.deps.logger.warn({ playlist: k, reason: err.message }, 'ingest: a playlist could not be read this time');
        continue;
      }
      if (!bytes) continue;
      const seen = this.pending.playlist(prefix, k, bytes, now);
      if (this.pending.expired(seen.sinceMs, now)) {
        gone.add(k);
        continue;
      }
      playlists.set(k, seen.parsed);
      if (seen.parsed.kind === 'media') for (const m of seen.parsed.mapKeys) inUse.add(m);
    }
    for (const k of keys.filter((key) => !PLAYLIST_RE.test(key))) {
      if (!inUse.has(k) && this.pending.expired(this.pending.segmentSince(prefix, k, now), now)) gone.add(k);
    }
    if (gone.size > 0) {
      await this.deps.blobs.delete([...gone]);
      this.deps.logger.info({ files: gone.size, input: prefix }, 'ingest: expired playlists and unplaced segments removed');
    }
    const left = keys.filter((k) => !gone.has(k));
    this.pending.prune(prefix, new Set(left));
    return { left, playlists };
  }

  /**
   * A channel with a resource policy only takes input the policy allows: the request must be
   * SigV4-signed by a key whose account the policy grants mediapackagev2:PutObject on the channel.
   */
  private authorize(channel: ResourceRecord<Channel>, req: IngestRequest, body: Buffer | undefined): boolean {
    let accountId: string;
    try {
      if (!req.authenticate) throw new Error('no signature could be checked');
      const caller = req.authenticate(body);
      if (caller === undefined) return false; // the signature covers the body: decided once it is read
      accountId = caller.accountId;
    } catch (err) {
      throw new DataplaneError(
        403,
        `Channel ${channel.name} has a resource policy, so ingest must be signed with AWS Signature Version 4 (service mediapackagev2) by a key the policy allows (${(err as Error).message}).`,
      );
    }
    const policy = this.policies.get(channel.doc.policy!);
    if (policy instanceof PolicyGrammarError) {
      throw new DataplaneError(403, `The resource policy of channel ${channel.name} cannot be evaluated (${policy.message}), so every upload is refused. Put a policy Packhouse accepts.`);
    }
    const context = requestContext(req.facts ?? { now: this.deps.clock.now(), secureTransport: false });
    const decision = evaluatePolicy(policy, { principal: { kind: 'account', accountId }, action: 'mediapackagev2:PutObject', resourceArn: channel.arn, context });
    if (decision !== 'allow') {
      throw new DataplaneError(
        403,
        `The resource policy of channel ${channel.name} does not allow account ${accountId} mediapackagev2:PutObject on ${channel.arn}${decision === 'deny' ? ' (an explicit Deny applies)' : ''}.`,
      );
    }
    return true;
  }

  /**
   * Whether the channel has a CMAF endpoint, so that its TS segments' CMAF fragments are stored
   * at ingest. Read at most every CMAF_ENDPOINTS_TTL_MS per channel: an endpoint created
   * meanwhile reads the fragments it misses through withLazyCmaf, which makes them then.
   */
  private hasCmafEndpoint(channel: ResourceRecord<Channel>, now: number): Promise<boolean> {
    const known = this.cmafEndpoints.get(channel.arn);
    if (known && known.untilMs > now) return known.has;
    const has = this.deps.store
      .findResources<OriginEndpoint>({ kind: 'originEndpoint', scope: { accountId: channel.accountId, region: channel.region }, groupName: channel.groupName, channelName: channel.name })
      .then((endpoints) => endpoints.some((e) => e.doc.containerType === 'CMAF'));
    // A failed read is not kept: the next segment asks again.
    has.catch(() => this.cmafEndpoints.delete(channel.arn));
    if (this.cmafEndpoints.size > 10_000) this.cmafEndpoints.clear();
    this.cmafEndpoints.set(channel.arn, { untilMs: now + CMAF_ENDPOINTS_TTL_MS, has });
    return has;
  }

  private async withLock<R>(name: string, fn: () => Promise<R>): Promise<R> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.locks.set(name, settled);
    try {
      return await next;
    } finally {
      if (this.locks.get(name) === settled) this.locks.delete(name);
    }
  }

  /** Registers every listed segment whose bytes have arrived, for every media playlist of this input. */
  private async reconcile(channel: ResourceRecord<Channel>, ingestId: string): Promise<Refusal[]> {
    const cid = channelKey(channel.arn);
    const prefix = `ingest/${cid}/${ingestId}/`;
    const { left: keys, playlists: parsed } = await this.expire(prefix, await this.deps.blobs.list(prefix));
    const playlists = [...parsed].map(([key, p]) => ({ key, parsed: p }));
    const hints = new Map<string, Hints>();
    for (const p of playlists) if (p.parsed.kind === 'multivariant') collectHints(p.key.slice(prefix.length), p.parsed.playlist, hints);
    const pendingSegments = keys.filter((k) => !PLAYLIST_RE.test(k));
    let added = 0;
    const refused: Refusal[] = [];
    for (const p of playlists) {
      if (p.parsed.kind !== 'media') continue;
      const listed = p.parsed;
      const candidates = pendingSegments.map((k) => listed.byKey.get(k)).filter((i): i is number => i !== undefined).sort((a, b) => a - b);
      if (candidates.length === 0) continue;
      const rel = p.key.slice(prefix.length);
      const rendition = rel.replace(PLAYLIST_RE, '').replace(/\//g, '_');
      added += await this.registerFrom(channel, ingestId, prefix, rel, rendition, listed, candidates, hints.get(rel) ?? {}, refused);
    }
    if (added > 0) this.deps.onSegments?.(channel);
    return refused;
  }

  private async registerFrom(
    channel: ResourceRecord<Channel>,
    ingestId: string,
    prefix: string,
    playlistPath: string,
    rendition: string,
    listed: Extract<ParsedPlaylist, { kind: 'media' }>,
    /** Indexes of the entries whose segment is waiting under the input, in order. */
    candidates: readonly number[],
    hints: Hints,
    refused: Refusal[],
  ): Promise<number> {
    const { blobs, timeline, clock } = this.deps;
    const playlist: MediaPlaylist = listed.playlist;
    const now = clock.now().getTime();
    const dir = posix.dirname(playlistPath);
    const resolveUri = (uri: string) => posix.normalize(dir === '.' ? uri : `${dir}/${uri}`);
    const known = (await timeline.listRenditions(channel.arn)).find((r) => r.id === rendition);
    let added = 0;
    for (const i of candidates) {
      const entry = playlist.segments[i]!;
      const segPath = resolveUri(entry.uri);
      const pendingKey = listed.keys[i]!;
      const durationMs = Math.round(entry.duration * 1000);
      // Without EXT-X-PROGRAM-DATE-TIME a segment is placed by arrival: the newest listed segment ends now.
      const startMs = entry.programDateTime ?? Math.round(now - listed.toEndMs[i]! - durationMs);
      const implausible = implausibleTime(startMs, now, this.deps.limits.maxClockSkewMs);
      if (implausible !== undefined) {
        refused.push({ paths: [segPath, playlistPath], status: 400, reason: `${segPath} was not placed: its program date-time ${implausible}.` });
        await blobs.delete([pendingKey]);
        continue;
      }
      // A segment already on the timeline that covers this one's midpoint is the same media.
      const mid = startMs + Math.floor(durationMs / 2);
      const twin = (await timeline.findSegments(channel.arn, rendition, mid, mid + 1))[0];
      if (twin) {
        this.received(channel, ingestId, durationMs, now);
        // Already on the timeline. From the other input it is the redundant copy: drop it. From this
        // input, the file is a newer upload under a reused name (an encoder restarted and numbers
        // from 0 again) listed by a stale playlist: keep it until the playlist that names it arrives.
        if (twin.source !== ingestId) await blobs.delete([pendingKey]);
        continue;
      }
      const bytes = await blobs.get(pendingKey);
      if (!bytes) continue;
      let initBytes: Buffer | undefined;
      let initPath: string | undefined;
      if (entry.map) {
        initPath = resolveUri(entry.map.uri);
        initBytes = await blobs.get(`${prefix}${initPath}`);
        if (!initBytes) continue; // the init segment is still on its way
      }
      let probe: SegmentProbe;
      try {
        probe = probeSegment(segPath, bytes, initBytes);
      } catch (err) {
        this.deps.logger.warn({ channel: channel.arn, segment: segPath, err: (err as Error).message }, 'ingest: unreadable segment dropped');
        await blobs.delete([pendingKey]);
        continue;
      }
      // A rendition keeps its container: output already served from it must stay valid.
      if (known !== undefined && known.container !== probe.container) {
        const name = (c: string) => (c === 'ts' ? 'MPEG-TS' : 'fMP4');
        refused.push({
          paths: [segPath, playlistPath],
          status: 415,
          reason: `${segPath} is ${name(probe.container)}, but rendition ${rendition} of channel ${channel.name} is ${name(known.container)}; a rendition cannot change container (reset the channel with ResetChannelState to start again).`,
        });
        this.deps.logger.warn({ channel: channel.arn, segment: segPath, rendition }, 'ingest: segment of the wrong container refused');
        await blobs.delete([pendingKey]);
        continue;
      }
      const cid = channelKey(channel.arn);
      const ext = posix.extname(segPath) || '.bin';
      // Unique per upload, so that registering a segment can never overwrite another's bytes.
      const finalKey = `media/${cid}/${rendition}/${startMs}-${ingestId}-${randomBytes(4).toString('hex')}${ext}`;
      // TS input is repackaged into CMAF here, once per segment (docs/design/010-packager.md): its
      // init segment stands where an fMP4 input's would, so a change of codec configuration is a
      // discontinuity for every endpoint. The fragment itself is stored only while the channel
      // has a CMAF endpoint; without one, the first read of its key makes it (withLazyCmaf).
      // fMP4 input is repackaged into MPEG-TS the same way, for TS endpoints, and always stored.
      let alt: { media: Buffer; codecs: string; key: string; store: boolean } | undefined;
      let altError: string | undefined;
      try {
        if (probe.container === 'ts') {
          const store = await this.hasCmafEndpoint(channel, now);
          const out = repackageTs(bytes, { media: store });
          initBytes = out.init;
          alt = { media: out.media, codecs: out.codecs.join(','), key: lazyCmafKey(finalKey), store };
        } else if (initBytes) {
          const out = repackageFmp4(initBytes, bytes);
          alt = { media: out.bytes, codecs: out.codecs.join(','), key: `${finalKey.slice(0, -ext.length)}.repackaged.ts`, store: true };
        }
      } catch (err) {
        if (!(err instanceof RepackageError)) throw err;
        altError = err.message;
        const [from, to] = probe.container === 'ts' ? ['TS', 'CMAF'] : ['fMP4', 'MPEG-TS'];
        this.deps.logger.warn(
          { channel: channel.arn, rendition, segment: segPath, err: err.message },
          `ingest: ${from} segment cannot be repackaged into ${to}; ${to === 'CMAF' ? 'CMAF' : 'TS'} endpoints leave it out, ${from === 'TS' ? 'TS' : 'CMAF'} endpoints serve it`,
        );
      }
      const cmaf = probe.container === 'ts' ? alt : undefined;
      const ts = probe.container === 'fmp4' ? alt : undefined;
      let initKey: string | undefined;
      if (initBytes) {
        initKey = `media/${cid}/${rendition}/init-${createHash('sha1').update(initBytes).digest('hex').slice(0, 16)}.mp4`;
        // Content-addressed: written once (a rewrite of the same key could race a reader on another node).
        if (!(await blobs.exists(initKey))) await blobs.put(initKey, initBytes);
      }
      const prev = await timeline.latestSegment(channel.arn, rendition);
      const contiguous = prev !== undefined && Math.abs(prev.mediaTime + prev.mediaDuration - probe.mediaTime) <= probe.timescale / 2;
      // A new init segment is a discontinuity too: no output segment or DASH period spans two.
      const discontinuity = entry.discontinuity || (prev !== undefined && (!contiguous || prev.initKey !== initKey));
      if (alt?.store) await blobs.put(alt.key, alt.media);
      try {
        await blobs.move(pendingKey, finalKey);
      } catch (err) {
        if (alt) await blobs.delete([alt.key]);
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // registered by a concurrent request
        throw err;
      }
      const rec = await timeline.appendSegment(
        {
          channelArn: channel.arn,
          rendition,
          startMs,
          durationMs,
          mediaTime: probe.mediaTime,
          mediaDuration: probe.mediaDuration,
          key: finalKey,
          bytes: bytes.length,
          discontinuity,
          source: ingestId,
          initKey,
          ...(cmaf ? { cmafKey: cmaf.key } : {}),
          ...(ts ? { tsKey: ts.key } : {}),
        },
      );
      this.received(channel, ingestId, durationMs, now);
      if (!rec) {
        await blobs.delete(alt ? [finalKey, alt.key] : [finalKey]); // the other ingest endpoint delivered this segment first
        continue;
      }
      this.appended(channel, rec, prev, contiguous, now);
      metrics.segmentRegistered(channel.arn, rec.bytes);
      added++;
      const record: RenditionRecord = {
        channelArn: channel.arn,
        id: rendition,
        container: probe.container,
        kind: probe.kind,
        codecs: probe.codecs,
        bandwidth: hints.bandwidth ?? Math.round((bytes.length * 8) / Math.max(0.001, entry.duration)),
        width: probe.width ?? hints.width,
        height: probe.height ?? hints.height,
        frameRate: hints.frameRate,
        sampleRate: probe.sampleRate,
        channels: probe.channels,
        language: hints.language,
        audioGroup: hints.audioGroup,
        timescale: probe.timescale,
        initKey,
        // A rendition keeps the codecs of its last repackaged segment while a bad one passes.
        ...(probe.container === 'ts'
          ? { cmafCodecs: alt?.codecs ?? (altError !== undefined ? (await timeline.listRenditions(channel.arn)).find((r) => r.id === rendition)?.cmafCodecs : undefined), cmafError: altError }
          : { tsCodecs: alt?.codecs ?? (altError !== undefined ? (await timeline.listRenditions(channel.arn)).find((r) => r.id === rendition)?.tsCodecs : undefined), tsError: altError }),
        updatedMs: now,
      };
      await timeline.upsertRendition(record);
    }
    return added;
  }
}

/** What the encoder's multivariant playlist says about each media playlist. */
function collectHints(multivariantPath: string, pl: MultivariantPlaylist, out: Map<string, Hints>): void {
  const dir = posix.dirname(multivariantPath);
  const rel = (uri: string) => posix.normalize(dir === '.' ? uri : `${dir}/${uri}`);
  for (const v of pl.variants) {
    out.set(rel(v.uri), {
      bandwidth: v.bandwidth,
      ...(v.resolution ? { width: v.resolution.width, height: v.resolution.height } : {}),
      ...(v.frameRate !== undefined ? { frameRate: v.frameRate } : {}),
      ...(v.audio !== undefined ? { audioGroup: v.audio } : {}),
    });
  }
  for (const r of pl.renditions) {
    if (!r.uri) continue;
    const existing = out.get(rel(r.uri)) ?? {};
    out.set(rel(r.uri), { ...existing, audioGroup: r.groupId, ...(r.language !== undefined ? { language: r.language } : {}) });
  }
}
