/**
 * Helpers for the harvest end-to-end tests: S3 (the server's built-in s3rver or one started here),
 * a PUT-delaying proxy in front of an S3 store (to make harvests slow enough to observe), a fan-out
 * proxy (one encoder feeding several servers), a webhook receiver that fails its first requests,
 * job polling, and readers that turn harvested manifests into the object names they reference.
 * Media, playlist and process helpers come from ./live.ts.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import S3rver from 's3rver';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetHarvestJobCommand, type GetHarvestJobCommandOutput, type MediaPackageV2Client } from '@aws-sdk/client-mediapackagev2';
import { findAll, parseXml, readMedia, type MediaPlaylistText } from './live.js';
import type { TestServer } from './server.js';

export const S3RVER_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

// ---------------------------------------------------------------------------------------------
// S3

/** The built-in s3rver URL a server logged in its `packhouse listening` line. */
export function builtinS3Url(server: TestServer): string {
  for (const line of server.logs) {
    try {
      const entry = JSON.parse(line) as { msg?: string; s3Url?: string };
      if (entry.msg === 'packhouse listening' && entry.s3Url) return entry.s3Url;
    } catch {
      // not JSON
    }
  }
  throw new Error('the server logged no s3Url (is it running with --s3-endpoint?)');
}

export function s3Client(url: string): S3Client {
  return new S3Client({ endpoint: url, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_KEYS, maxAttempts: 1 });
}

/** Every key of a bucket (all pages), sorted. */
export async function listKeys(s3: S3Client, bucket: string, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(prefix ? { Prefix: prefix } : {}), ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** GetObject (signed with the S3RVER keys) from an s3rver or the built-in S3 endpoint; throws unless found. */
export async function getObject(s3Url: string, bucket: string, key: string): Promise<Buffer> {
  const client = s3Client(s3Url);
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  } catch (err) {
    throw new Error(`GET ${bucket}/${key} from S3 failed: ${(err as Error).name}: ${(err as Error).message}`);
  } finally {
    client.destroy();
  }
}

export interface OwnS3 {
  readonly url: string;
  readonly port: number;
  readonly directory: string;
  readonly client: S3Client;
  createBucket(name: string): Promise<void>;
  close(): Promise<void>;
}

/** An s3rver in the test process (files in a fresh temporary directory). */
export async function startS3rver(): Promise<OwnS3> {
  const directory = mkdtempSync(join(tmpdir(), 'packhouse-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory, silent: true });
  const info = await server.run();
  const url = `http://127.0.0.1:${info.port}`;
  const client = s3Client(url);
  return {
    url,
    port: info.port,
    directory,
    client,
    createBucket: async (name) => {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    close: async () => {
      client.destroy();
      await server.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Proxies

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

interface Forwarded {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

function forward(target: URL, method: string, path: string, headers: IncomingMessage['headers'], body: Buffer): Promise<Forwarded> {
  const send: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || k === 'expect' || k === 'connection' || k === 'transfer-encoding') continue;
    send[k] = v;
  }
  if (body.length > 0 || method === 'PUT' || method === 'POST') send['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname: target.hostname, port: Number(target.port), method, path, headers: send }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function reply(res: import('node:http').ServerResponse, f: Forwarded): void {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(f.headers)) {
    if (v === undefined || k === 'connection' || k === 'transfer-encoding' || k === 'keep-alive') continue;
    headers[k] = v;
  }
  headers['content-length'] = String(f.body.length);
  res.writeHead(f.status, headers);
  res.end(f.body);
}

export interface ProxiedPut {
  /** Bucket and key, decoded: `{bucket}/{key}`. */
  readonly path: string;
  readonly arrivedMs: number;
  /** When S3's answer came back (undefined while in flight). */
  doneMs?: number;
  status?: number;
}

export interface DelayProxy {
  readonly url: string;
  /** Every PUT, in arrival order. */
  readonly puts: ProxiedPut[];
  /** PUTs whose path starts with `{bucket}/{prefix}`. */
  putsUnder(bucketAndPrefix: string): ProxiedPut[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of an S3 store: each PUT waits a random minDelayMs..maxDelayMs before it
 * is forwarded; every other request is forwarded at once. Headers (Host included, so SigV4 holds)
 * and bodies are passed through unchanged.
 */
export async function startDelayProxy(targetUrl: string, minDelayMs = 300, maxDelayMs = 400): Promise<DelayProxy> {
  const target = new URL(targetUrl);
  const puts: ProxiedPut[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const arrivedMs = Date.now();
        const raw = req.url ?? '/';
        const body = await readBody(req);
        let entry: ProxiedPut | undefined;
        if (req.method === 'PUT') {
          entry = { path: decodeURIComponent(raw.split('?')[0]!.slice(1)), arrivedMs };
          puts.push(entry);
          await sleep(minDelayMs + Math.random() * (maxDelayMs - minDelayMs));
        }
        const f = await forward(target, req.method ?? 'GET', raw, req.headers, body);
        if (entry) {
          entry.doneMs = Date.now();
          entry.status = f.status;
        }
        reply(res, f);
      } catch (err) {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(String(err));
      }
    })();
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    puts,
    putsUnder: (p) => puts.filter((x) => x.path.startsWith(p)),
    close: () => closeServer(server),
  };
}

export interface Fanout {
  readonly url: string;
  close(): Promise<void>;
}

/** A fan-out target: a base URL, and optionally a rewrite of the request path (e.g. another channel). */
export type FanoutTarget = string | { readonly url: string; readonly path: (path: string) => string };

/**
 * One encoder, several channels or servers: every request is forwarded (same method, body, and the
 * same or rewritten path) to every target; the encoder gets the first target's status.
 */
export async function startFanout(targets: readonly FanoutTarget[]): Promise<Fanout> {
  const list = targets.map((t) => (typeof t === 'string' ? { url: new URL(t), path: (p: string) => p } : { url: new URL(t.url), path: t.path }));
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        const headers: IncomingMessage['headers'] = {};
        if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
        const results = await Promise.all(list.map((t) => forward(t.url, req.method ?? 'PUT', t.path(req.url ?? '/'), { ...headers, host: t.url.host }, body)));
        res.writeHead(results[0]!.status, { 'content-length': 0 });
        res.end();
      } catch (err) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(String(err));
      }
    })();
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

export interface ConnectionSink {
  readonly url: string;
  /** Connections accepted so far, each with its arrival time. */
  readonly connections: number[];
  close(): Promise<void>;
}

/** A TCP port that accepts connections and drops them at once (an S3 store that is not answering). */
export async function startConnectionSink(): Promise<ConnectionSink> {
  const connections: number[] = [];
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    connections.push(Date.now());
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Webhook receiver

export interface ReceivedPost {
  readonly atMs: number;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly text: string;
  /** Parsed body (undefined if not JSON). */
  readonly json: Record<string, unknown> | undefined;
  /** Status this receiver answered. */
  readonly answered: number;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly posts: ReceivedPost[];
  close(): Promise<void>;
}

/** Records every request; answers 500 to the first `failFirst` POSTs and 200 afterwards. */
export async function startWebhookReceiver(failFirst: number): Promise<WebhookReceiver> {
  const posts: ReceivedPost[] = [];
  let seen = 0;
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const text = body.toString('utf8');
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      const answered = req.method === 'POST' && seen++ < failFirst ? 500 : 200;
      posts.push({ atMs: Date.now(), path: req.url ?? '/', headers: req.headers, text, json, answered });
      res.writeHead(answered, { 'content-type': 'text/plain', 'content-length': 2 });
      res.end('ok');
    });
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/events`, posts, close: () => closeServer(server) };
}

// ---------------------------------------------------------------------------------------------
// Jobs

export interface JobRef {
  readonly ChannelGroupName: string;
  readonly ChannelName: string;
  readonly OriginEndpointName: string;
  readonly HarvestJobName: string;
}

export interface StatusSample {
  readonly atMs: number;
  readonly status: string;
}

/**
 * Polls GetHarvestJob every everyMs until the status is one of `until`; returns the final job and
 * every sample taken (with the time each answer arrived).
 */
export async function pollJob(
  client: MediaPackageV2Client,
  ref: JobRef,
  until: readonly string[],
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<{ job: GetHarvestJobCommandOutput; samples: StatusSample[] }> {
  const samples: StatusSample[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await client.send(new GetHarvestJobCommand(ref));
    samples.push({ atMs: Date.now(), status: job.Status ?? '' });
    if (until.includes(job.Status ?? '')) return { job, samples };
    if (Date.now() > deadline) throw new Error(`job ${ref.HarvestJobName} still ${job.Status} after ${timeoutMs} ms (wanted ${until.join('/')})`);
    await sleep(everyMs);
  }
}

/** JSON log entries of a server with the given msg (and, if given, job ARN). */
export function logEntries(server: TestServer, msg: string, job?: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of server.logs) {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e['msg'] === msg && (job === undefined || e['job'] === job)) out.push(e);
    } catch {
      // not JSON
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading harvested (and origin) manifests

export interface TimedSegment {
  readonly uri: string;
  readonly startMs: number;
  readonly durationMs: number;
  readonly map: string | undefined;
}

/** Every segment of a media playlist with its wall-clock start (PDT, carried forward) and duration in ms. */
export function timedSegments(p: MediaPlaylistText): TimedSegment[] {
  const out: TimedSegment[] = [];
  let t: number | undefined;
  for (const s of p.segments) {
    if (s.pdtMs !== undefined) t = s.pdtMs;
    if (t === undefined) throw new Error(`segment ${s.uri} has no EXT-X-PROGRAM-DATE-TIME before it`);
    const durationMs = Math.round(s.duration * 1000);
    out.push({ uri: s.uri, startMs: t, durationMs, map: s.map });
    t += durationMs;
  }
  return out;
}

/** The segments of a playlist that overlap [startMs, endMs). */
export function inWindow(segments: readonly TimedSegment[], startMs: number, endMs: number): TimedSegment[] {
  return segments.filter((s) => s.startMs < endMs && s.startMs + s.durationMs > startMs);
}

export interface MpdRepresentation {
  readonly id: string;
  readonly initialization: string;
  readonly startNumber: number;
  /** Segment file names ($RepresentationID$ and $Number$ expanded), in order. */
  readonly media: string[];
  readonly timescale: number;
  /** Sum of the timeline's durations, in seconds. */
  readonly seconds: number;
}

export interface MpdSummary {
  readonly attrs: Record<string, string>;
  readonly representations: MpdRepresentation[];
}

/** Reads an MPD's SegmentTemplate/SegmentTimeline representations (the subset a packager writes). */
export function readMpd(text: string): MpdSummary {
  const root = parseXml(text);
  if (root.name !== 'MPD') throw new Error(`root element is <${root.name}>, not <MPD>`);
  const representations: MpdRepresentation[] = [];
  for (const rep of findAll(root, 'Representation')) {
    const id = rep.attrs['id'] ?? '';
    const tpl = findAll(rep, 'SegmentTemplate')[0];
    if (!tpl) throw new Error(`Representation ${id} has no SegmentTemplate`);
    const startNumber = Number(tpl.attrs['startNumber'] ?? 1);
    const timescale = Number(tpl.attrs['timescale'] ?? 1);
    const template = tpl.attrs['media'] ?? '';
    const expand = (t: string, n?: number) => t.replace(/\$RepresentationID\$/g, id).replace(/\$Number\$/g, n === undefined ? '$Number$' : String(n));
    let count = 0;
    let ticks = 0;
    for (const s of findAll(tpl, 'S')) {
      const r = Number(s.attrs['r'] ?? 0);
      count += r + 1;
      ticks += Number(s.attrs['d']) * (r + 1);
    }
    const media = Array.from({ length: count }, (_, i) => expand(template, startNumber + i));
    representations.push({ id, initialization: expand(tpl.attrs['initialization'] ?? ''), startNumber, media, timescale, seconds: ticks / timescale });
  }
  return { attrs: root.attrs, representations };
}

export { readMedia };
