// TS → CMAF repackaging (src/media/package): segments made by ffmpeg at test time are repackaged and
// what the muxer wrote is read back by ffprobe: every packet's PTS, DTS, duration and keyframe flag
// against ffprobe's reading of the input TS, codec parameters (AC-3/E-AC-3 configuration boxes against
// ffmpeg's own), and the refusals of bad input.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { readInitSegment, readMediaSegment } from '../../src/media/container/isobmff.js';
import { readTsSegment } from '../../src/media/container/mpegts.js';
import { RepackageError, repackageTs } from '../../src/media/package/ts-to-cmaf.js';
import { HAS_X265, NO_FFMPEG, run, type ProbeStream } from '../support/media-fixtures.js';

interface Packet {
  stream_index: number;
  pts?: number;
  dts?: number;
  duration?: number;
  flags: string;
}

function probe(file: string): { streams: (ProbeStream & { has_b_frames?: number; pix_fmt?: string })[]; packets: Packet[] } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_streams', '-show_entries', 'packet=stream_index,pts,dts,duration,flags', '-of', 'json', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { streams: (ProbeStream & { has_b_frames?: number })[]; packets: Packet[] };
}

function expectRefused(bytes: Uint8Array, reason: RegExp): void {
  assert.throws(
    () => repackageTs(bytes),
    (e: unknown) => {
      assert.ok(e instanceof RepackageError, `expected RepackageError, got ${String(e)}`);
      assert.match(e.message, reason);
      assert.ok(!e.message.includes('\n'));
      return true;
    },
  );
}

/** Packets of one PID, by index in the file. */
function packetsOf(ts: Buffer, pid: number): number[] {
  const out: number[] = [];
  for (let i = 0; i * 188 < ts.length; i++) if ((((ts[i * 188 + 1]! & 0x1f) << 8) | ts[i * 188 + 2]!) === pid) out.push(i);
  return out;
}

function without(ts: Buffer, drop: ReadonlySet<number>): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i * 188 < ts.length; i++) if (!drop.has(i)) parts.push(ts.subarray(i * 188, i * 188 + 188));
  return Buffer.concat(parts);
}

describe('TS → CMAF repackaging checked by ffprobe', { skip: NO_FFMPEG }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-repack-'));
    const sources = ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'];
    // H.264 High with two B-frames and AAC (44.1 kHz: 1024-sample frames are no whole number of 90 kHz ticks).
    run(dir, [...sources, '-t', '4', '-c:v', 'libx264', '-profile:v', 'high', '-bf', '2', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2', '-f', 'mpegts', 'avc.ts']);
    // The same codecs with other PIDs (another PMT): the init segment must not change.
    run(dir, [...sources, '-t', '4', '-c:v', 'libx264', '-profile:v', 'high', '-bf', '2', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2', '-mpegts_start_pid', '0x300', '-mpegts_pmt_start_pid', '0x1100', '-f', 'mpegts', 'avc-pids.ts']);
    // Baseline, no B-frames, mono audio.
    run(dir, [...sources, '-t', '2', '-c:v', 'libx264', '-profile:v', 'baseline', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '1', '-f', 'mpegts', 'baseline.ts']);
    if (HAS_X265) run(dir, [...sources, '-t', '2', '-c:v', 'libx265', '-x265-params', 'log-level=error:bframes=3:keyint=25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', 'hevc.ts']);
    run(dir, ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '1', '-c:a', 'mp2', '-f', 'mpegts', 'mp2.ts']);
    // AC-3 5.1 (stream type 0x81) and E-AC-3 5.1 the DVB way (stream type 0x06 with the enhanced AC-3 descriptor), at 44.1 kHz.
    const baseline = ['-c:v', 'libx264', '-profile:v', 'baseline', '-g', '25', '-pix_fmt', 'yuv420p'];
    run(dir, [...sources, '-t', '2', ...baseline, '-c:a', 'ac3', '-ac', '6', '-f', 'mpegts', 'ac3.ts']);
    run(dir, [...sources, '-t', '2', ...baseline, '-c:a', 'eac3', '-ac', '6', '-mpegts_flags', 'system_b', '-f', 'mpegts', 'eac3.ts']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Repackages a TS file to init + fragment on disk and compares every packet with ffprobe's reading of the TS. */
  function compare(name: string): { out: ReturnType<typeof repackageTs>; mp4: ReturnType<typeof probe>; ts: ReturnType<typeof probe> } {
    const input = readFileSync(path.join(dir, name));
    const out = repackageTs(input);
    const file = path.join(dir, `${name}.mp4`);
    writeFileSync(file, Buffer.concat([out.init, out.media]));
    const ts = probe(path.join(dir, name));
    const mp4 = probe(file);
    assert.equal(mp4.streams.length, ts.streams.length, `${name}: one track per elementary stream`);
    for (let i = 0; i < ts.streams.length; i++) {
      const a = ts.streams[i]!;
      const b = mp4.streams[i]!;
      const label = `${name} stream ${i} (${a.codec_name})`;
      for (const field of ['codec_type', 'codec_name', 'profile', 'level', 'width', 'height', 'sample_rate', 'channels', 'has_b_frames', 'pix_fmt'] as const) {
        assert.equal(b[field as keyof typeof b], a[field as keyof typeof a], `${label}: ${field}`);
      }
      const pa = ts.packets.filter((p) => p.stream_index === i);
      const pb = mp4.packets.filter((p) => p.stream_index === i);
      assert.equal(pb.length, pa.length, `${label}: packet count`);
      // Video times are the PES PTS/DTS exactly. An audio PES holds several AAC frames: the frames after
      // its first are timed PES PTS + k·1024/rate, which ffmpeg's TS reader rounds its own way (±1 tick).
      const tolerance = a.codec_type === 'audio' ? 1 : 0;
      for (let k = 0; k < pa.length; k++) {
        assert.ok(Math.abs(pb[k]!.pts! - pa[k]!.pts!) <= tolerance, `${label} packet ${k}: pts ${pb[k]!.pts} vs ${pa[k]!.pts}`);
        assert.ok(Math.abs(pb[k]!.dts! - pa[k]!.dts!) <= tolerance, `${label} packet ${k}: dts ${pb[k]!.dts} vs ${pa[k]!.dts}`);
        assert.equal(pb[k]!.flags[0] === 'K', pa[k]!.flags[0] === 'K', `${label} packet ${k}: keyframe`);
        // (ffprobe reports audio packet durations from the frame size, not from the file.)
        if (k + 1 < pb.length && a.codec_type === 'video') assert.equal(pb[k]!.duration, pb[k + 1]!.dts! - pb[k]!.dts!, `${label} packet ${k}: duration is the DTS step`);
      }
    }
    return { out, mp4, ts };
  }

  test('H.264 High with B-frames and 44.1 kHz AAC: every PTS, DTS, keyframe and codec parameter as in the TS', () => {
    const { out, mp4 } = compare('avc.ts');
    assert.ok(mp4.packets.some((p) => p.stream_index === 0 && p.pts !== p.dts), 'B-frames: some composition offsets');
    const facts = readTsSegment(readFileSync(path.join(dir, 'avc.ts'))).streams;
    assert.deepEqual(out.codecs, facts.map((s) => s.codec), 'codec strings as the TS reader finds them');
    assert.match(out.codecs[0]!, /^avc1\.6400[0-9a-f]{2}$/);
    assert.equal(out.codecs[1], 'mp4a.40.2');
    // Our own fMP4 reader agrees on the tracks and the fragment.
    const init = readInitSegment(out.init);
    assert.deepEqual(init.tracks.map((t) => [t.kind, t.codec, t.timescale]), [
      ['video', out.codecs[0], 90000],
      ['audio', 'mp4a.40.2', 90000],
    ]);
    const frag = readMediaSegment(out.media, init);
    assert.deepEqual(frag.fragments.map((f) => f.sampleCount), out.tracks.map((t) => t.sampleCount));
    assert.equal(frag.earliestTime[1], facts[0]!.firstPts, 'video EPT = first PTS');
    assert.equal(frag.earliestTime[2], facts[1]!.firstPts, 'audio EPT = first PTS');
  });

  test('baseline H.264 and mono AAC', () => {
    const { out } = compare('baseline.ts');
    assert.match(out.codecs[0]!, /^avc1\.42/);
  });

  test('H.265 with B-frames: hvcC from the in-band VPS/SPS/PPS, hvc1 codec string as the TS reader finds it', { skip: HAS_X265 ? false : 'ffmpeg has no libx265' }, () => {
    const { out } = compare('hevc.ts');
    const facts = readTsSegment(readFileSync(path.join(dir, 'hevc.ts'))).streams;
    assert.equal(out.codecs[0], facts[0]!.codec);
    assert.match(out.codecs[0]!, /^hvc1\./);
    assert.equal(readInitSegment(out.init).tracks[0]!.codec, out.codecs[0]);
  });

  /** The body of the first box of this type in an MP4 file. */
  function boxBody(file: Buffer, type: string): Buffer {
    const at = file.indexOf(type, 0, 'latin1');
    assert.ok(at >= 4, `no ${type} box`);
    return file.subarray(at + 4, at - 4 + file.readUInt32BE(at - 4));
  }

  test('AC-3 5.1 (stream type 0x81) and E-AC-3 5.1 (stream type 0x06 with its DVB descriptor): ac-3 / ec-3 tracks timed from the PES PTS, dac3 / dec3 as ffmpeg writes them', () => {
    for (const [name, entry, config, pmtType] of [
      ['ac3.ts', 'ac-3', 'dac3', 0x81],
      ['eac3.ts', 'ec-3', 'dec3', 0x06],
    ] as const) {
      const input = readFileSync(path.join(dir, name));
      const pmt = input.indexOf(Buffer.from([0x47, 0x50, 0x00]));
      assert.ok(input.subarray(pmt, pmt + 188).includes(Buffer.from([pmtType, 0xe1, 0x01])), `${name}: the audio stream has stream type 0x${pmtType.toString(16)}`);
      const { out, mp4 } = compare(name);
      assert.equal(out.codecs[1], entry);
      assert.deepEqual(readTsSegment(input).streams.map((s) => s.codec), out.codecs, 'codec strings as the TS reader finds them');
      const audio = mp4.streams[1]!;
      assert.equal(audio.codec_tag_string, entry);
      assert.equal(audio.sample_rate, '44100');
      const init = readInitSegment(out.init);
      assert.deepEqual([init.tracks[1]!.codec, init.tracks[1]!.channels], [entry, 6], 'our fMP4 reader reads dac3 / dec3');
      // ffmpeg's MP4 muxer builds the same configuration box from the same syncframes.
      run(dir, ['-i', name, '-map', '0:a', '-c', 'copy', `${name}.ref.mp4`]);
      const ref = boxBody(readFileSync(path.join(dir, `${name}.ref.mp4`)), config);
      assert.equal(boxBody(out.init, config).toString('hex'), ref.toString('hex'), `${name}: ${config}`);
      // Every AC-3 frame lasts 1536 samples: durations step by 1536/44100 s on the 90 kHz clock, without drift.
      const frames = mp4.packets.filter((p) => p.stream_index === 1);
      const span = frames.at(-1)!.pts! - frames[0]!.pts!;
      assert.ok(Math.abs(span - ((frames.length - 1) * 1536 * 90000) / 44100) <= 1, `${name}: ${frames.length} frames over ${span} ticks`);
    }
  });

  test('same bytes in, same bytes out; another PMT (other PIDs) with the same codecs gives the same init segment', () => {
    const input = readFileSync(path.join(dir, 'avc.ts'));
    const a = repackageTs(input);
    const b = repackageTs(Buffer.from(input));
    assert.ok(a.init.equals(b.init) && a.media.equals(b.media));
    const other = repackageTs(readFileSync(path.join(dir, 'avc-pids.ts')));
    assert.ok(other.init.equals(a.init), 'the init segment depends on the codec configuration only');
    const bare = repackageTs(input, { media: false });
    assert.equal(bare.media.length, 0);
    assert.deepEqual({ ...bare, media: a.media }, a, 'without the fragment: the same init segment, codecs and track times');
  });

  test('refusals: a codec CMAF cannot carry, lost packets, a truncated PES, a segment cut mid-packet, garbage', () => {
    expectRefused(readFileSync(path.join(dir, 'mp2.ts')), /MPEG-1 audio|MPEG-2 audio/);
    const input = readFileSync(path.join(dir, 'avc.ts'));
    const video = packetsOf(input, 0x100);
    const mid = video[Math.floor(video.length / 2)]!;
    expectRefused(without(input, new Set([mid, mid + 1].filter((i) => video.includes(i)))), /missing before packet/);
    const audio = packetsOf(input, 0x101);
    expectRefused(without(input, new Set([audio[audio.length - 1]!])), /truncated or corrupt/);
    expectRefused(input.subarray(0, input.length - 100), /188-byte/);
    expectRefused(Buffer.alloc(188 * 10, 0x47), /PAT|PMT|program/i);
  });
});
