/**
 * What the container parser tests share: running ffmpeg to make real segments at test time,
 * ffprobe's view of them, the codec profile tables ffprobe names, byte concatenation, and the
 * check that a parser refuses bad input with a one-line MediaParseError.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { MediaParseError } from '../../src/media/container/isobmff.js';

export const HAS_FFMPEG = spawnSync('ffmpeg', ['-version']).status === 0 && spawnSync('ffprobe', ['-version']).status === 0;
export const HAS_X265 = HAS_FFMPEG && spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' }).stdout.includes('libx265');
export const NO_FFMPEG = HAS_FFMPEG ? false : 'ffmpeg/ffprobe are not installed';

export interface ProbeStream {
  index: number;
  codec_type: string;
  codec_name: string;
  codec_tag_string?: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  start_time?: string;
  start_pts?: number;
  time_base?: string;
  id?: string;
}
export interface ProbePacket {
  stream_index: number;
  pts?: number;
  duration?: number;
}

/** ffmpeg with `args` in `cwd`; fails the test with ffmpeg's message. */
export function run(cwd: string, args: string[]): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

export function probeStreams(file: string): ProbeStream[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { streams: ProbeStream[] }).streams;
}

export function probePackets(file: string): ProbePacket[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,pts,duration', '-of', 'json', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { packets: ProbePacket[] }).packets;
}

/** profile_idc of the H.264 profiles ffprobe names. */
export const AVC_PROFILES: Record<string, number> = { Baseline: 66, 'Constrained Baseline': 66, Main: 77, Extended: 88, High: 100, 'High 10': 110, 'High 4:2:2': 122, 'High 4:4:4 Predictive': 244 };
/** general_profile_idc of the HEVC profiles ffprobe names. */
export const HEVC_PROFILES: Record<string, number> = { Main: 1, 'Main 10': 2, 'Main Still Picture': 3, Rext: 4 };

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `parse` throws a MediaParseError whose one-line message matches `reason`. */
export function expectParseError(parse: () => unknown, reason: RegExp): void {
  assert.throws(parse, (e: unknown) => {
    assert.ok(e instanceof MediaParseError, `expected MediaParseError, got ${String(e)}`);
    assert.match(e.message, reason);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}
