/**
 * Real players in a real browser: Debian's Chromium (headless, driven by playwright-core) loads a
 * page with dash.js or hls.js from node_modules and plays a URL of Packhouse's origin with Media
 * Source Extensions, reporting how far playback got, the players' errors and the DASH periods it
 * went through. Chromium comes from Debian (`apt-get install -y chromium`), as ffmpeg does.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);

// The players' browser builds, read from the project's node_modules (their package exports hide them).
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DASH_JS = join(ROOT, 'node_modules/dashjs/dist/modern/umd/dash.all.min.js');
const HLS_JS = join(ROOT, 'node_modules/hls.js/dist/hls.min.js');

export interface PlayResult {
  /** The video element's position when playback stopped being watched (s). */
  readonly currentTime: number;
  /** Seconds played since playback began (currentTime minus where it began). */
  readonly played: number;
  readonly ended: boolean;
  readonly errors: readonly string[];
  /** DASH: ids of the periods dash.js switched to, in order. */
  readonly periods: readonly string[];
  readonly decodedFrames: number;
  /** Seconds the page watched. */
  readonly wallSeconds: number;
}

const PAGE = `<!doctype html><html><body>
<script src="/dash.js"></script><script src="/hls.js"></script>
<script>
window.play = (kind, url, target, rate, timeoutMs, lowLatency, clearkeys) => new Promise((resolve) => {
  const video = document.createElement('video');
  video.muted = true;
  document.body.appendChild(video);
  const errors = [];
  const periods = [];
  const t0 = performance.now();
  // Where playback began: a live stream starts far from 0 (DASH media time is seconds since 1970).
  let from;
  video.addEventListener('playing', () => { if (from === undefined) from = video.currentTime; });
  const played = () => (from === undefined ? 0 : video.currentTime - from);
  video.addEventListener('error', () => errors.push('video element: ' + (video.error ? video.error.code + ' ' + video.error.message : '?')));
  video.addEventListener('playing', () => { video.playbackRate = rate; });
  if (kind === 'dash') {
    const p = dashjs.MediaPlayer().create();
    p.updateSettings({ debug: { logLevel: dashjs.Debug.LOG_LEVEL_NONE } });
    p.on(dashjs.MediaPlayer.events.ERROR, (e) => errors.push('dash.js: ' + JSON.stringify(e.error || e)));
    p.on(dashjs.MediaPlayer.events.PERIOD_SWITCH_COMPLETED, (e) => periods.push(String(e.toStreamInfo && e.toStreamInfo.id)));
    // EME with the W3C ClearKey key system: the keys are given to the CDM here, no licence server.
    if (clearkeys) p.setProtectionData({ 'org.w3.clearkey': { clearkeys } });
    p.initialize(video, url, true);
  } else {
    const h = new Hls({ lowLatencyMode: !!lowLatency });
    h.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) errors.push('hls.js: ' + d.type + ' ' + d.details); });
    h.loadSource(url);
    h.attachMedia(video);
    h.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch((e) => errors.push('play(): ' + e.message)));
  }
  // Done on the player's own events: enough played (timeupdate), the end, an error; the timeout
  // only bounds a player that never gets there.
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(bound);
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : { totalVideoFrames: 0 };
    resolve({ currentTime: video.currentTime, played: played(), ended: video.ended, errors, periods, decodedFrames: q.totalVideoFrames, wallSeconds: (performance.now() - t0) / 1000 });
  };
  const bound = setTimeout(finish, timeoutMs);
  video.addEventListener('timeupdate', () => { if (played() >= target) finish(); });
  video.addEventListener('ended', finish);
  const push = errors.push.bind(errors);
  errors.push = (...e) => { const n = push(...e); finish(); return n; };
});
</script></body></html>`;

/** DASH with EME and the W3C ClearKey key system (org.w3.clearkey): base64url key id to base64url content key. */
export type ClearKeys = Readonly<Record<string, string>>;

/** The ClearKey entry of a key id (hex or UUID form) and its 16-byte content key. */
export function clearKey(kid: string, key: Buffer): [string, string] {
  return [Buffer.from(kid.replace(/-/g, ''), 'hex').toString('base64url'), key.toString('base64url')];
}

export interface BrowserPlayer {
  /**
   * Plays until `untilSeconds` have been played (from where playback began), the end, or an error —
   * decided on the player's own events (timeupdate, ended, error) — or, at the latest, the timeout.
   */
  play(kind: 'dash' | 'hls', url: string, o: { untilSeconds: number; rate?: number; timeoutMs?: number; lowLatency?: boolean; clearkeys?: ClearKeys }): Promise<PlayResult>;
  /** Whether the browser can decode the given MSE type (e.g. 'video/mp4; codecs="avc1.64001f"'). */
  canPlay(type: string): Promise<boolean>;
  close(): Promise<void>;
}

export async function startBrowserPlayer(): Promise<BrowserPlayer> {
  const files: Record<string, { type: string; body: string | Buffer }> = {
    '/': { type: 'text/html', body: PAGE },
    '/dash.js': { type: 'text/javascript', body: readFileSync(DASH_JS) },
    '/hls.js': { type: 'text/javascript', body: readFileSync(HLS_JS) },
  };
  const server: Server = createServer((req, res) => {
    const f = files[req.url ?? ''];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f.type }).end(f.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
  const open = async () => {
    const page = await browser.newPage();
    await page.goto(pageUrl);
    return page;
  };
  return {
    async play(kind, url, o) {
      const page = await open();
      try {
        return await page.evaluate(
          // Runs in the page: `play` is the page's own function (above).
          ([k, u, target, rate, timeoutMs, ll, keys]) => (globalThis as unknown as { play: (...a: unknown[]) => Promise<PlayResult> }).play(k, u, target, rate, timeoutMs, ll, keys),
          [kind, url, o.untilSeconds, o.rate ?? 1, o.timeoutMs ?? 30_000, o.lowLatency ?? false, o.clearkeys ?? null] as const,
        );
      } finally {
        await page.close();
      }
    },
    async canPlay(type) {
      const page = await open();
      try {
        return await page.evaluate((t) => (globalThis as unknown as { MediaSource: { isTypeSupported(x: string): boolean } }).MediaSource.isTypeSupported(t), type);
      } finally {
        await page.close();
      }
    },
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
