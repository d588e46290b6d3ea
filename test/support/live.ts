/**
 * Helpers for live end-to-end tests: a channel with origin endpoints made through the SDK, ffmpeg
 * as a live HLS encoder pushing to Packhouse, a recording "tee" proxy between the two (to know
 * the exact bytes ffmpeg sent), ffprobe / ffmpeg decode checks on origin URLs, a small HLS and
 * MPD reader of our own (independent of src/), and raw SigV4-signed control-plane requests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateOriginEndpointCommand,
  type CreateOriginEndpointCommandInput,
  type MediaPackageV2Client,
} from '@aws-sdk/client-mediapackagev2';
import { LOCAL_KEYS } from './server.js';

// ---------------------------------------------------------------------------------------------
// Control plane

export type EndpointSpec = Omit<CreateOriginEndpointCommandInput, 'ChannelGroupName' | 'ChannelName'>;

/** Creates a channel group (unless it exists), a channel in it, and the given origin endpoints. */
export async function createLiveChannel(
  client: MediaPackageV2Client,
  group: string,
  channel: string,
  endpoints: readonly EndpointSpec[],
  options: { createGroup?: boolean } = {},
): Promise<void> {
  if (options.createGroup !== false) await client.send(new CreateChannelGroupCommand({ ChannelGroupName: group }));
  await client.send(new CreateChannelCommand({ ChannelGroupName: group, ChannelName: channel }));
  for (const e of endpoints) await client.send(new CreateOriginEndpointCommand({ ChannelGroupName: group, ChannelName: channel, ...e }));
}

/** A CMAF endpoint with an HLS manifest (PDT every 2 s) and a DASH manifest. */
export function cmafEndpoint(name: string, startoverWindowSeconds = 600): EndpointSpec {
  return {
    OriginEndpointName: name,
    ContainerType: 'CMAF',
    StartoverWindowSeconds: startoverWindowSeconds,
    Segment: { SegmentName: 'segment', SegmentDurationSeconds: 2 },
    HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 2 }],
    DashManifests: [{ ManifestName: 'dash' }],
  };
}

/** A TS endpoint with an HLS manifest (PDT every 2 s) and audio in a rendition group. */
export function tsEndpoint(name: string, startoverWindowSeconds = 600): EndpointSpec {
  return {
    OriginEndpointName: name,
    ContainerType: 'TS',
    StartoverWindowSeconds: startoverWindowSeconds,
    // Audio arrives as its own rendition; in TS output it goes into an audio group only with this set (DATAPLANE 2.3.2).
    Segment: { SegmentName: 'segment', SegmentDurationSeconds: 2, TsUseAudioRenditionGroup: true },
    HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 2 }],
  };
}

/**
 * A raw control-plane request signed with SigV4 (service mediapackagev2), for operations the
 * pinned SDK lacks (ResetChannelState, ResetOriginEndpointState).
 */
export async function signedRequest(serverUrl: string, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const u = new URL(serverUrl);
  const signer = new SignatureV4({ service: 'mediapackagev2', region: 'us-east-1', credentials: LOCAL_KEYS, sha256: Sha256, uriEscapePath: true });
  const headers: Record<string, string> = { host: u.host, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
  const signed = await signer.sign({ method, protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path, query: {}, headers, ...(body !== undefined ? { body } : {}) });
  const send = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k.toLowerCase() !== 'host'));
  const res = await fetch(`${serverUrl}${path}`, { method, headers: send, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, text: await res.text() };
}

/** ResetChannelState (POST /channelGroup/{g}/channel/{c}/reset). */
export function resetChannel(serverUrl: string, group: string, channel: string): Promise<{ status: number; text: string }> {
  return signedRequest(serverUrl, 'POST', `/channelGroup/${encodeURIComponent(group)}/channel/${encodeURIComponent(channel)}/reset`);
}

// ---------------------------------------------------------------------------------------------
// Processes

export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Settles when the process exits (never rejects). */
  readonly done: Promise<ProcessResult>;
  stderr(): string;
  /** Sends the signal (if still running) and waits for exit. */
  kill(signal?: NodeJS.Signals): Promise<ProcessResult>;
}

/** Every process started here, so that a failing test does not leave encoders behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export function runProcess(cmd: string, args: readonly string[], options: { timeoutMs?: number; stdin?: boolean } = {}): RunningProcess {
  const child = spawn(cmd, [...args], { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  // A consumer killed while we still write to it: the write fails with EPIPE, which is expected.
  child.stdin?.on('error', () => undefined);
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
  const done = new Promise<ProcessResult>((resolve) => {
    child.once('error', (err) => {
      stderr += `\nspawn error: ${err.message}`;
    });
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    done,
    stderr: () => stderr,
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return done;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ffmpeg as a live encoder

export interface EncoderOptions {
  /** Base of the ingest URL, e.g. http://127.0.0.1:1234 (Packhouse itself or a tee proxy). */
  readonly baseUrl: string;
  readonly group: string;
  readonly channel: string;
  readonly ingest: 1 | 2;
  readonly segmentType: 'fmp4' | 'mpegts';
  /** Length of the encode in seconds. */
  readonly seconds: number;
  /** HLS segment duration in seconds (the GOP is 25 fps × hlsTime frames). Default 2. */
  readonly hlsTime?: number;
  /** Real-time pacing (-re); default true. */
  readonly realtime?: boolean;
  /**
   * Pacing slower (or faster) than real time: `-readrate` (e.g. 0.8 reads 0.8 s of media per
   * second). ffmpeg's program date-times follow the media clock, so they fall behind the wall
   * clock as a slow encoder's would. Overrides `realtime`.
   */
  readonly readrate?: number;
  /** Playlist entries kept by ffmpeg; default 6. */
  readonly listSize?: number;
  /** Picture and tone: 'a' (testsrc2, 440 Hz, the default) or 'b' (testsrc, 880 Hz) — different bytes, same layout. */
  readonly look?: 'a' | 'b';
  /**
   * Segment numbers from the epoch (`-hls_start_number_source epoch`), so that file names differ
   * between encoder sessions; default false: ffmpeg numbers from 0 in every session.
   */
  readonly uniqueNames?: boolean;
  /**
   * 'lavfi' (default): the encoder makes its own test picture and tone. 'stdin': it encodes a NUT
   * stream written to its stdin (see startSharedSource), as redundant encoders fed by one source.
   */
  readonly input?: 'lavfi' | 'stdin';
  /** Bit rate of the first video rendition (default 600k: 2-second segments of about 170 KB). */
  readonly videoBitrate?: string;
  /** Size of the test picture, the first video rendition's (default VIDEO_SIZES[0], 320x180). */
  readonly pictureSize?: { readonly width: number; readonly height: number };
}

export const VIDEO_SIZES = [
  { width: 320, height: 180 },
  { width: 160, height: 90 },
] as const;
export const FPS = 25;

/**
 * ffmpeg arguments of a live HLS push: two H.264 renditions (320x180, 160x90) and one AAC audio
 * rendition, in separate media playlists index_0 / index_1 / index_2 under index.m3u8, segments
 * index_{v}_{n}.ts|m4s, init segments init_{v}.mp4 (fMP4), PDT on every segment, HTTP PUT.
 */
export function encoderArgs(o: EncoderOptions): string[] {
  const hlsTime = o.hlsTime ?? 2;
  const gop = Math.round(FPS * hlsTime);
  const base = `${o.baseUrl}/in/v1/${o.group}/${o.ingest}/${o.channel}`;
  const ext = o.segmentType === 'fmp4' ? 'm4s' : 'ts';
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-v',
    'error',
    ...(o.input === 'stdin' ? ['-f', 'nut', '-i', 'pipe:0'] : lavfiInputs(o.look, o.readrate ?? (o.realtime !== false), o.pictureSize)),
    '-t',
    String(o.seconds),
    '-map',
    '0:v',
    '-map',
    '0:v',
    '-map',
    `${o.input === 'stdin' ? 0 : 1}:a`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-b:v:0',
    o.videoBitrate ?? '600k',
    '-s:v:1',
    `${VIDEO_SIZES[1].width}x${VIDEO_SIZES[1].height}`,
    '-b:v:1',
    '150k',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-ac',
    '2',
    '-f',
    'hls',
    '-hls_time',
    String(hlsTime),
    '-hls_list_size',
    String(o.listSize ?? 6),
    '-hls_segment_type',
    o.segmentType,
    '-hls_flags',
    'program_date_time+independent_segments',
    ...(o.segmentType === 'fmp4' ? ['-hls_fmp4_init_filename', 'init_%v.mp4'] : []),
    ...(o.uniqueNames ? ['-hls_start_number_source', 'epoch'] : []),
    '-master_pl_name',
    'index.m3u8',
    '-var_stream_map',
    'v:0,agroup:a v:1,agroup:a a:0,agroup:a',
    '-method',
    'PUT',
    '-hls_segment_filename',
    `${base}/index_%v_%d.${ext}`,
    `${base}/index_%v.m3u8`,
  ];
}

/** The lavfi test picture (320x180, 25 fps) and tone inputs, each read in real time when `pace` is true, at that rate when a number. */
function lavfiInputs(look: 'a' | 'b' | undefined, pace: boolean | number, size: { readonly width: number; readonly height: number } = VIDEO_SIZES[0]): string[] {
  const re = typeof pace === 'number' ? ['-readrate', String(pace)] : pace ? ['-re'] : [];
  return [
    ...re,
    '-f',
    'lavfi',
    '-i',
    `${look === 'b' ? 'testsrc' : 'testsrc2'}=size=${size.width}x${size.height}:rate=${FPS}`,
    ...re,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${look === 'b' ? 880 : 440}:sample_rate=48000`,
  ];
}

/** Starts ffmpeg as a live encoder; killed with SIGKILL after seconds + 30 s at the latest. */
export function startEncoder(o: EncoderOptions): RunningProcess {
  return runProcess('ffmpeg', encoderArgs(o), { timeoutMs: (o.seconds + 30) * 1000, stdin: o.input === 'stdin' });
}

/**
 * One live source for several encoders started with input 'stdin': ffmpeg makes the test picture
 * and tone in real time (-re) as uncompressed NUT, and every chunk is written to each encoder's
 * stdin, `delayMs` later for that encoder. Encoders fed this way see the same frames at the same
 * moment (up to the delay), so their media timestamps match and their PDTs differ only by the
 * delay and scheduling — which two ffmpeg processes started side by side do not guarantee (their
 * start-up, and so their PDT origin, can differ by a second on a loaded machine).
 */
export function startSharedSource(seconds: number, targets: readonly { encoder: RunningProcess; delayMs?: number }[]): RunningProcess {
  const src = runProcess(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-nostats', '-v', 'error', ...lavfiInputs('a', true), '-t', String(seconds), '-map', '0:v', '-map', '1:a', '-c:v', 'rawvideo', '-pix_fmt', 'yuv420p', '-c:a', 'pcm_s16le', '-f', 'nut', 'pipe:1'],
    { timeoutMs: (seconds + 30) * 1000 },
  );
  const out = src.child.stdout!;
  out.removeAllListeners('data'); // the bytes go to the encoders, not into a string
  const write = (t: { encoder: RunningProcess }, chunk: Buffer | null) => {
    const stdin = t.encoder.child.stdin;
    if (!stdin || stdin.destroyed || stdin.writableEnded) return;
    if (chunk) stdin.write(chunk);
    else stdin.end();
  };
  const deliver = (chunk: Buffer | null) => {
    for (const t of targets) {
      if (t.delayMs) setTimeout(() => write(t, chunk), t.delayMs);
      else write(t, chunk);
    }
  };
  out.on('data', (c: Buffer) => deliver(c));
  out.on('end', () => deliver(null));
  return src;
}

/** Waits for an encoder to finish and throws (with its stderr) unless it exited 0. */
export async function expectEncoderSuccess(enc: RunningProcess, what = 'ffmpeg encoder'): Promise<ProcessResult> {
  const r = await enc.done;
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code ?? r.signal}:\n${r.stderr}`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// ffprobe and decode checks

export interface ProbeStream {
  index: number;
  codec_type: string;
  codec_name: string;
  profile?: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  level?: number;
  /** Hex dump, with -show_data. */
  extradata?: string;
  tags?: Record<string, string>;
}

export interface ProbeResult {
  streams: ProbeStream[];
  format: { format_name: string; duration?: string; nb_streams: number; nb_programs?: number };
  programs?: { program_id: number; tags?: Record<string, string>; streams: ProbeStream[] }[];
}

/** ffprobe -show_streams -show_format (and -show_programs) as parsed JSON; throws on failure. */
export async function ffprobe(url: string, extra: readonly string[] = []): Promise<ProbeResult> {
  const r = await runProcess('ffprobe', ['-v', 'error', ...extra, '-show_streams', '-show_format', '-show_programs', '-of', 'json', url], { timeoutMs: 30_000 }).done;
  if (r.code !== 0) throw new Error(`ffprobe ${url} exited with ${r.code ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ProbeResult;
}

/** Bytes of ffprobe's -show_data hex dump ("00000000: 0142 c00c ...  .B..."). */
export function hexDumpBytes(dump: string | undefined): Buffer {
  const hex = (dump ?? '')
    .split('\n')
    .map((l) => /^[0-9a-f]{8}: ((?:[0-9a-f]{2,4} ?)+)/i.exec(l)?.[1] ?? '')
    .join('')
    .replace(/\s+/g, '');
  return Buffer.from(hex, 'hex');
}

/**
 * The RFC 6381 codec string of a stream as ffprobe (-show_data) reports it: H.264 from the avcC
 * record or the SPS in Annex B extradata, AAC from the AudioSpecificConfig (or the profile name).
 */
export function rfc6381(stream: ProbeStream): string {
  const x = hexDumpBytes(stream.extradata);
  if (stream.codec_name === 'h264') {
    let sps: Buffer | undefined;
    if (x[0] === 1) sps = x.subarray(1, 4);
    else {
      for (let i = 0; i + 4 < x.length; i++) {
        if (x[i] === 0 && x[i + 1] === 0 && x[i + 2] === 1 && (x[i + 3]! & 0x1f) === 7) {
          sps = x.subarray(i + 4, i + 7);
          break;
        }
      }
    }
    if (!sps || sps.length < 3) throw new Error(`no H.264 SPS in the extradata of stream ${stream.index}`);
    return `avc1.${sps.toString('hex')}`;
  }
  if (stream.codec_name === 'aac') {
    const aot = x.length >= 1 ? x[0]! >> 3 : ({ LC: 2, 'HE-AAC': 5, 'HE-AACv2': 29 } as Record<string, number>)[stream.profile ?? ''];
    if (aot === undefined) throw new Error(`unknown AAC profile ${stream.profile}`);
    return `mp4a.40.${aot}`;
  }
  throw new Error(`no RFC 6381 mapping for ${stream.codec_name}`);
}

/** ffprobe (with -show_data) of bytes written to a temporary file, e.g. an init segment plus a media segment. */
export async function ffprobeBytes(parts: readonly Buffer[], ext: string): Promise<ProbeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'packhouse-probe-'));
  const file = join(dir, `probe.${ext}`);
  try {
    writeFileSync(file, Buffer.concat(parts));
    return await ffprobe(file, ['-show_data']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Decodes a URL completely with ffmpeg (`-v error -f null -`); returns stderr (empty on a clean
 * decode) and the exit code. `outArgs` go before the null output, e.g. ['-t', '6'].
 */
export async function decode(url: string, inArgs: readonly string[] = [], outArgs: readonly string[] = []): Promise<ProcessResult> {
  return runProcess('ffmpeg', ['-hide_banner', '-nostdin', '-nostats', '-v', 'error', ...inArgs, '-i', url, ...outArgs, '-f', 'null', '-'], { timeoutMs: 60_000 }).done;
}

/**
 * Decodes with `-v error -stats` and returns the last reported media time (seconds) of the
 * output, parsed from the "time=" field of the final progress line; see errorLines for the rest.
 */
export async function decodedDuration(url: string, inArgs: readonly string[] = [], outArgs: readonly string[] = []): Promise<{ seconds: number; result: ProcessResult }> {
  const result = await runProcess('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-stats', ...inArgs, '-i', url, ...outArgs, '-f', 'null', '-'], { timeoutMs: 60_000 }).done;
  const times = [...result.stderr.matchAll(/time=(\d+):(\d+):(\d+(?:\.\d+)?)/g)];
  const last = times[times.length - 1];
  const seconds = last ? Number(last[1]) * 3600 + Number(last[2]) * 60 + Number(last[3]) : NaN;
  return { seconds, result };
}

/** stderr lines that are not ffmpeg progress reports (what a clean decode must not print). */
export function errorLines(stderr: string): string[] {
  return stderr
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^frame=|^size=|time=\d+:\d+/.test(l));
}

// ---------------------------------------------------------------------------------------------
// Tee proxy: records every file an encoder sends and forwards it to Packhouse

export interface CapturedRequest {
  readonly method: string;
  /** Path as sent, e.g. /in/v1/g/1/c/index_0_3.m4s */
  readonly path: string;
  /** The last path component. */
  readonly file: string;
  readonly body: Buffer;
  /** Status Packhouse answered (and the proxy passed back to the encoder). */
  readonly status: number;
  readonly atMs: number;
}

export interface TeeProxy {
  readonly url: string;
  readonly requests: CapturedRequest[];
  /** Bodies of PUT/POST requests for files whose name matches, in the order they were sent. */
  files(match: RegExp): CapturedRequest[];
  /** Resolves once every request received so far was forwarded and answered. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    // An encoder killed mid-upload: the body never completes.
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client went away before the body was complete'));
    });
  });
}

function forward(target: URL, method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { hostname: target.hostname, port: Number(target.port), method, path, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Starts a local HTTP server that receives an encoder's requests, records them (in the order
 * their bodies completed) and forwards each one, whole, to `targetUrl` with the same method and
 * path; the encoder gets Packhouse's status back.
 *
 * Forwarding is serial by default: one request at a time, in that order, each after Packhouse
 * answered the previous one — the behaviour of an encoder on one persistent HTTP/1.1 connection
 * (ffmpeg itself does not wait for answers, which makes arrival order at Packhouse a race).
 * `delayMs` holds each request back that long after it arrived (MediaLive's "Send Delay Msec"
 * for its second pipeline). Several target URLs take the requests in turn, as behind a
 * round-robin load balancer.
 */
export async function startTeeProxy(targetUrl: string | readonly string[], options: { serial?: boolean; delayMs?: number } = {}): Promise<TeeProxy> {
  const targets = (typeof targetUrl === 'string' ? [targetUrl] : targetUrl).map((u) => new URL(u));
  const serial = options.serial !== false;
  const delayMs = options.delayMs ?? 0;
  const requests: CapturedRequest[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  const pending = new Set<Promise<unknown>>();
  const server: Server = createServer((req, res) => {
    const work = (async () => {
      let body: Buffer;
      try {
        body = await readAll(req);
      } catch {
        return; // nothing to forward: the encoder died mid-request
      }
      const path = req.url ?? '/';
      const headers: Record<string, string> = {};
      const ct = req.headers['content-type'];
      if (typeof ct === 'string') headers['content-type'] = ct;
      const entry = { method: req.method ?? 'GET', path, file: path.split('?')[0]!.split('/').pop() ?? '', body, atMs: Date.now() };
      const index = requests.length;
      requests.push({ ...entry, status: 0 });
      const send = async () => {
        if (delayMs > 0) await sleep(Math.max(0, entry.atMs + delayMs - Date.now()));
        try {
          const status = await forward(targets[index % targets.length]!, entry.method, path, headers, body);
          requests[index] = { ...entry, status };
          if (!res.destroyed) {
            res.writeHead(status, { 'content-length': 0 });
            res.end();
          }
        } catch (err) {
          requests[index] = { ...entry, status: 502 };
          if (!res.destroyed) {
            res.writeHead(502, { 'content-type': 'text/plain' });
            res.end(String(err));
          }
        }
      };
      if (serial) {
        queue = queue.then(send);
        await queue;
      } else await send();
    })();
    pending.add(work);
    void work.finally(() => pending.delete(work));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    files: (match) => requests.filter((r) => (r.method === 'PUT' || r.method === 'POST') && match.test(r.file)),
    settled: async () => {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The latest end (PDT + EXTINF, epoch ms) of any segment announced in the playlists the encoders sent. */
export function announcedEnd(tees: readonly TeeProxy[]): number {
  let end = 0;
  for (const t of tees) {
    for (const p of t.files(/\.m3u8$/)) {
      const text = p.body.toString('utf8');
      if (!text.includes('#EXTINF')) continue;
      for (const s of readMedia(text).segments) if (s.pdtMs !== undefined) end = Math.max(end, s.pdtMs + s.duration * 1000);
    }
  }
  return end;
}

/**
 * Waits until the wall clock is past the end of every segment the encoders announced: Packhouse
 * lists a live segment only once its end is not in the future.
 */
export async function waitPastAnnounced(tees: readonly TeeProxy[], marginMs = 200): Promise<void> {
  const wait = announcedEnd(tees) + marginMs - Date.now();
  if (wait > 0) await sleep(wait);
}

/**
 * An `end` for a start/end window (whole epoch seconds) after every segment the encoders
 * announced, waiting until it has passed so that the window is closed.
 */
export async function closedWindowEnd(tees: readonly TeeProxy[], marginMs = 200): Promise<number> {
  const end = Math.ceil(announcedEnd(tees) / 1000);
  const wait = end * 1000 + marginMs - Date.now();
  if (wait > 0) await sleep(wait);
  return end;
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Fetched {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly text: string;
}

export async function get(url: string, method: 'GET' | 'HEAD' = 'GET'): Promise<Fetched> {
  const res = await fetch(url, { method });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body, text: body.toString('utf8') };
}

/** Sends raw bytes to a URL (an encoder's request without the encoder). */
export async function send(url: string, method: string, body?: Buffer | string): Promise<Fetched> {
  const res = await fetch(url, { method, ...(body !== undefined ? { body } : {}) });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body: buf, text: buf.toString('utf8') };
}

/** Polls until fn returns a value other than undefined, or throws after timeoutMs with the last note. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 250): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    await sleep(everyMs);
  }
}

/** A TCP port that was free a moment ago (for a server that must come back on the same port). */
export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------------------------
// A small HLS reader of our own (RFC 8216 lines and attribute lists)

/** Parses an attribute list: A=1,B="x,y",C=0x1F -> { A: '1', B: 'x,y', C: '0x1F' } (quotes removed). */
export function attributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0] === '') break;
    out[m[1]!] = m[2]!.startsWith('"') ? m[2]!.slice(1, -1) : m[2]!;
  }
  return out;
}

export interface Hls {
  readonly lines: string[];
  /** Values of every occurrence of a tag (text after the colon, '' without one). */
  tags(name: string): string[];
}

function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

function tagsOf(ls: readonly string[], name: string): string[] {
  return ls.filter((l) => l === `#${name}` || l.startsWith(`#${name}:`)).map((l) => (l.includes(':') ? l.slice(l.indexOf(':') + 1) : ''));
}

export interface MasterPlaylist extends Hls {
  readonly variants: { attrs: Record<string, string>; uri: string }[];
  readonly media: Record<string, string>[];
}

export function readMaster(text: string): MasterPlaylist {
  const ls = lines(text);
  if (ls[0] !== '#EXTM3U') throw new Error(`not a playlist: ${text.slice(0, 80)}`);
  const variants: { attrs: Record<string, string>; uri: string }[] = [];
  for (let i = 0; i < ls.length; i++) {
    if (ls[i]!.startsWith('#EXT-X-STREAM-INF:')) {
      const uri = ls[i + 1];
      if (uri === undefined || uri.startsWith('#')) throw new Error(`EXT-X-STREAM-INF without URI at line ${i + 1}`);
      variants.push({ attrs: attributes(ls[i]!.slice('#EXT-X-STREAM-INF:'.length)), uri });
    }
  }
  return { lines: ls, tags: (n) => tagsOf(ls, n), variants, media: tagsOf(ls, 'EXT-X-MEDIA').map(attributes) };
}

/** ISO 8601 date-time, also with a colon-less zone (ffmpeg writes +0000). */
export function parseDate(text: string): number {
  const ms = Date.parse(text.trim().replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  if (!Number.isFinite(ms)) throw new Error(`not a date-time: ${text}`);
  return ms;
}

export interface PlaylistSegment {
  readonly uri: string;
  readonly duration: number;
  readonly seq: number;
  /** Epoch ms of an EXT-X-PROGRAM-DATE-TIME directly before this segment. */
  readonly pdtMs?: number;
  readonly discontinuity: boolean;
  /** The EXT-X-MAP URI in effect. */
  readonly map?: string;
  /** The EXT-X-KEY attribute lists in effect (the last consecutive run of EXT-X-KEY tags before it). */
  readonly keys: readonly string[];
}

export interface MediaPlaylistText extends Hls {
  readonly targetDuration: number;
  readonly mediaSequence: number;
  readonly endList: boolean;
  readonly segments: PlaylistSegment[];
}

export function readMedia(text: string): MediaPlaylistText {
  const ls = lines(text);
  if (ls[0] !== '#EXTM3U') throw new Error(`not a playlist: ${text.slice(0, 80)}`);
  const num = (tag: string, dflt: number) => {
    const v = tagsOf(ls, tag)[0];
    return v === undefined ? dflt : Number(v);
  };
  const mediaSequence = num('EXT-X-MEDIA-SEQUENCE', 0);
  const segments: PlaylistSegment[] = [];
  let duration: number | undefined;
  let pdt: number | undefined;
  let disc = false;
  let map: string | undefined;
  let keys: string[] = [];
  let previousWasKey = false;
  for (const l of ls) {
    const isKey = l.startsWith('#EXT-X-KEY:');
    if (isKey) keys = previousWasKey ? [...keys, l.slice('#EXT-X-KEY:'.length)] : [l.slice('#EXT-X-KEY:'.length)];
    previousWasKey = isKey;
    if (isKey) continue;
    if (l.startsWith('#EXTINF:')) duration = Number(l.slice(8).split(',')[0]);
    else if (l.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = parseDate(l.slice('#EXT-X-PROGRAM-DATE-TIME:'.length));
    else if (l === '#EXT-X-DISCONTINUITY') disc = true;
    else if (l.startsWith('#EXT-X-MAP:')) map = attributes(l.slice('#EXT-X-MAP:'.length))['URI'];
    else if (!l.startsWith('#')) {
      if (duration === undefined) throw new Error(`segment ${l} has no EXTINF`);
      segments.push({ uri: l, duration, seq: mediaSequence + segments.length, ...(pdt !== undefined ? { pdtMs: pdt } : {}), discontinuity: disc, ...(map !== undefined ? { map } : {}), keys });
      duration = undefined;
      pdt = undefined;
      disc = false;
    }
  }
  return {
    lines: ls,
    tags: (n) => tagsOf(ls, n),
    targetDuration: num('EXT-X-TARGETDURATION', NaN),
    mediaSequence,
    endList: ls.includes('#EXT-X-ENDLIST'),
    segments,
  };
}

/** Start instants (epoch ms) of every segment: PDT where given, else carried from the previous one. */
export function segmentTimes(p: MediaPlaylistText): number[] {
  const out: number[] = [];
  let t: number | undefined;
  for (const s of p.segments) {
    if (s.pdtMs !== undefined) t = s.pdtMs;
    if (t === undefined) throw new Error(`segment ${s.uri} has no PDT before it`);
    out.push(t);
    t += s.duration * 1000;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A small MPD reader (enough XML for the MPDs a packager writes)

export interface XmlElement {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlElement[];
}

/**
 * Parses XML into elements (no text nodes, no DTD); throws on anything not well-formed: a tag
 * that does not close, mismatched nesting, duplicate attributes, unescaped '<' or '&'.
 */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const s = text.replace(/^\uFEFF/, '');
  const fail = (msg: string): never => {
    throw new Error(`XML not well-formed at offset ${i}: ${msg}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (i < s.length && /\s/.test(s[i]!)) i++;
      if (s.startsWith('<?', i)) {
        const e = s.indexOf('?>', i);
        if (e < 0) fail('unterminated processing instruction');
        i = e + 2;
      } else if (s.startsWith('<!--', i)) {
        const e = s.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else return;
    }
  };
  const checkText = (t: string) => {
    if (t.includes('<')) fail('"<" in text');
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(t)) fail('unescaped "&"');
  };
  const element = (): XmlElement => {
    if (s[i] !== '<') fail('expected "<"');
    i++;
    const nm = /^[A-Za-z_][\w.:-]*/.exec(s.slice(i));
    if (!nm) fail('expected an element name');
    const name = nm![0];
    i += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      while (/\s/.test(s[i] ?? '')) i++;
      if (s.startsWith('/>', i)) {
        i += 2;
        return { name, attrs, children: [] };
      }
      if (s[i] === '>') {
        i++;
        break;
      }
      const am = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(s.slice(i));
      if (!am) fail(`bad attribute in <${name}>`);
      if (am![1]! in attrs) fail(`duplicate attribute ${am![1]} in <${name}>`);
      const value = am![3] ?? am![4] ?? '';
      checkText(value);
      attrs[am![1]!] = value.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
      i += am![0].length;
    }
    const children: XmlElement[] = [];
    for (;;) {
      const next = s.indexOf('<', i);
      if (next < 0) fail(`<${name}> is not closed`);
      checkText(s.slice(i, next));
      i = next;
      if (s.startsWith('<!--', i)) {
        const e = s.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else if (s.startsWith('</', i)) {
        const cm = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(s.slice(i));
        if (!cm || cm[1] !== name) fail(`expected </${name}>`);
        i += cm![0].length;
        return { name, attrs, children };
      } else children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== s.length) fail('content after the root element');
  return root;
}

/** All descendants (depth first) with the given element name. */
export function findAll(e: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (x: XmlElement) => {
    for (const c of x.children) {
      if (c.name === name) out.push(c);
      walk(c);
    }
  };
  walk(e);
  return out;
}

/** Total duration in seconds of a SegmentTimeline's S entries (with repeats), over the timescale. */
export function timelineSeconds(template: XmlElement): { seconds: number; count: number } {
  const timescale = Number(template.attrs['timescale'] ?? 1);
  let ticks = 0;
  let count = 0;
  for (const s of findAll(template, 'S')) {
    const r = Number(s.attrs['r'] ?? 0);
    ticks += Number(s.attrs['d']) * (r + 1);
    count += r + 1;
  }
  return { seconds: ticks / timescale, count };
}

/** Durations in seconds of every segment of a SegmentTimeline (S entries expanded by @r). */
export function timelineDurations(template: XmlElement): number[] {
  const timescale = Number(template.attrs['timescale'] ?? 1);
  const out: number[] = [];
  for (const s of findAll(template, 'S')) {
    const r = Number(s.attrs['r'] ?? 0);
    for (let i = 0; i <= r; i++) out.push(Number(s.attrs['d']) / timescale);
  }
  return out;
}

/** Seconds of an ISO 8601 duration such as PT1M2.5S. */
export function isoSeconds(d: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(d);
  if (!m) throw new Error(`not an ISO 8601 duration: ${d}`);
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}
