// fMP4 → TS repackaging (src/media/package/fmp4-to-ts.ts): fMP4 HLS segments made by ffmpeg at test
// time are repackaged and ffprobe reads what the muxer wrote: every packet's PTS, DTS and keyframe
// flag against ffprobe's reading of the fMP4 (on the 90 kHz clock), codec parameters, PAT/PMT
// first, continuity counters, and the refusals of what TS cannot carry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { readTsSegment } from '../../src/media/container/mpegts.js';
import { repackageFmp4 } from '../../src/media/package/fmp4-to-ts.js';
import { RepackageError } from '../../src/media/package/ts-to-cmaf.js';
import { HAS_X265, NO_FFMPEG, run, type ProbeStream } from '../support/media-fixtures.js';

interface Packet {
  stream_index: number;
  pts?: number;
  dts?: number;
  flags: string;
}

function probe(file: string): { streams: (ProbeStream & { has_b_frames?: number; pix_fmt?: string })[]; packets: Packet[] } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_streams', '-show_entries', 'packet=stream_index,pts,dts,flags', '-of', 'json', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', `ffprobe ${file} printed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { streams: (ProbeStream & { has_b_frames?: number })[]; packets: Packet[] };
}

function timeBase(file: string): number[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=time_base', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => parseInt(l.split('/')[1]!, 10)); // an AC-3 stream's line goes on with ",side_data,"
}

describe('fMP4 → TS repackaging checked by ffprobe', { skip: NO_FFMPEG }, () => {
  let dir: string;
  const hls = (name: string, args: string[], audio = ['-c:a', 'aac', '-ac', '2']) => {
    run(dir, [
      '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '4',
      ...args, ...audio, '-f', 'hls', '-hls_time', '2', '-hls_segment_type', 'fmp4', '-hls_playlist_type', 'vod',
      '-hls_fmp4_init_filename', `${name}-init.mp4`, '-hls_segment_filename', `${name}-%d.m4s`, `${name}.m3u8`,
    ]);
  };
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-fmp4ts-'));
    hls('avc', ['-c:v', 'libx264', '-profile:v', 'high', '-bf', '2', '-g', '50', '-pix_fmt', 'yuv420p']);
    const baseline = ['-c:v', 'libx264', '-profile:v', 'baseline', '-g', '50', '-pix_fmt', 'yuv420p'];
    hls('ac3', baseline, ['-c:a', 'ac3', '-ac', '6']);
    hls('eac3', baseline, ['-c:a', 'eac3', '-ac', '2']);
    if (HAS_X265) hls('hevc', ['-c:v', 'libx265', '-x265-params', 'log-level=error:bframes=3:keyint=50', '-tag:v', 'hvc1', '-pix_fmt', 'yuv420p']);
    run(dir, ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '2', '-c:a', 'libopus', '-f', 'hls', '-hls_time', '2', '-hls_segment_type', 'fmp4', '-hls_playlist_type', 'vod', '-hls_fmp4_init_filename', 'opus-init.mp4', '-hls_segment_filename', 'opus-%d.m4s', 'opus.m3u8']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function compare(name: string): void {
    const init = readFileSync(path.join(dir, `${name}-init.mp4`));
    const segments = readdirSync(dir).filter((f) => new RegExp(`^${name}-\\d+\\.m4s$`).test(f));
    assert.ok(segments.length >= 2);
    for (const seg of segments) {
      const media = readFileSync(path.join(dir, seg));
      const out = repackageFmp4(init, media);
      const tsFile = path.join(dir, `${seg}.ts`);
      const mp4File = path.join(dir, `${seg}.mp4`);
      writeFileSync(tsFile, out.bytes);
      writeFileSync(mp4File, Buffer.concat([init, media]));
      // PAT, then PMT, then media; every packet 188 bytes with the sync byte; continuity counters without a gap.
      assert.equal(out.bytes.length % 188, 0);
      const pid = (i: number) => ((out.bytes[i * 188 + 1]! & 0x1f) << 8) | out.bytes[i * 188 + 2]!;
      assert.equal(pid(0), 0);
      assert.equal(pid(1), 0x1000);
      const cc = new Map<number, number>();
      for (let i = 0; i * 188 < out.bytes.length; i++) {
        assert.equal(out.bytes[i * 188], 0x47);
        const c = out.bytes[i * 188 + 3]! & 0x0f;
        const prev = cc.get(pid(i));
        if (prev !== undefined) assert.equal(c, (prev + 1) & 0x0f, `packet ${i}: continuity counter`);
        cc.set(pid(i), c);
      }
      // Our own TS reader finds the codecs the muxer reports.
      assert.deepEqual(readTsSegment(out.bytes).streams.map((s) => s.codec), out.codecs);
      const a = probe(mp4File);
      const b = probe(tsFile);
      const scales = timeBase(mp4File);
      assert.equal(b.streams.length, a.streams.length);
      for (let i = 0; i < a.streams.length; i++) {
        const sa = a.streams[i]!;
        const sb = b.streams.find((x) => x.codec_type === sa.codec_type)!;
        const ib = b.streams.indexOf(sb);
        const label = `${seg} ${sa.codec_name}`;
        for (const field of ['codec_name', 'profile', 'level', 'width', 'height', 'sample_rate', 'channels', 'pix_fmt'] as const) {
          assert.equal(sb[field as keyof typeof sb], sa[field as keyof typeof sa], `${label}: ${field}`);
        }
        const pa = a.packets.filter((p) => p.stream_index === i);
        const pb = b.packets.filter((p) => p.stream_index === ib);
        assert.equal(pb.length, pa.length, `${label}: packet count`);
        const to90k = (t: number) => Math.round((t * 90000) / scales[i]!);
        for (let k = 0; k < pa.length; k++) {
          assert.ok(Math.abs(pb[k]!.pts! - to90k(pa[k]!.pts!)) <= 1, `${label} packet ${k}: pts ${pb[k]!.pts} vs ${to90k(pa[k]!.pts!)}`);
          assert.ok(Math.abs(pb[k]!.dts! - to90k(pa[k]!.dts!)) <= 1, `${label} packet ${k}: dts ${pb[k]!.dts} vs ${to90k(pa[k]!.dts!)}`);
          assert.equal(pb[k]!.flags[0] === 'K', pa[k]!.flags[0] === 'K', `${label} packet ${k}: keyframe`);
        }
      }
      const d = spawnSync('ffmpeg', ['-v', 'error', '-i', tsFile, '-f', 'null', '-'], { encoding: 'utf8' });
      assert.equal(d.status, 0);
      assert.equal(d.stderr, '', `${seg}: ffmpeg decodes the TS without a message`);
      // Same bytes in, same bytes out.
      assert.ok(repackageFmp4(Buffer.from(init), Buffer.from(media)).bytes.equals(out.bytes));
    }
  }

  test('H.264 with B-frames and AAC: PTS, DTS, keyframes and codec parameters as in the fMP4; PAT/PMT first; no continuity gap', () => compare('avc'));

  test('H.265 with B-frames (hvc1)', { skip: HAS_X265 ? false : 'ffmpeg has no libx265' }, () => compare('hevc'));

  test('AC-3 5.1 and E-AC-3: stream types 0x81 / 0x87 with their registration descriptors, syncframes timed as in the fMP4', () => {
    compare('ac3');
    compare('eac3');
    for (const [name, type, format] of [
      ['ac3', 0x81, 'AC-3'],
      ['eac3', 0x87, 'EAC3'],
    ] as const) {
      const out = repackageFmp4(readFileSync(path.join(dir, `${name}-init.mp4`)), readFileSync(path.join(dir, `${name}-0.m4s`)));
      assert.match(out.codecs[0]!, /^avc1\.42/);
      assert.equal(out.codecs[1], name === 'ac3' ? 'ac-3' : 'ec-3');
      const pmt = out.bytes.subarray(188, 376);
      assert.ok(pmt.includes(Buffer.from([type, 0xe1, 0x01, 0xf0, 6, 0x05, 4, ...Buffer.from(format)])), `${name}: PMT entry`);
      const audio = readTsSegment(out.bytes).streams[1]!;
      assert.deepEqual([audio.codec, audio.channels, audio.sampleRate], [out.codecs[1], name === 'ac3' ? 6 : 2, 48000]);
    }
  });

  test('refusals: Opus (TS carries AAC here), a truncated fragment, garbage', () => {
    const refused = (f: () => unknown, reason: RegExp) =>
      assert.throws(f, (e: unknown) => {
        assert.ok(e instanceof RepackageError, String(e));
        assert.match(e.message, reason);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    refused(() => repackageFmp4(readFileSync(path.join(dir, 'opus-init.mp4')), readFileSync(path.join(dir, 'opus-0.m4s'))), /AAC/);
    const init = readFileSync(path.join(dir, 'avc-init.mp4'));
    const media = readFileSync(path.join(dir, 'avc-0.m4s'));
    refused(() => repackageFmp4(init, media.subarray(0, media.length - 5000)), /truncated/);
    refused(() => repackageFmp4(init, Buffer.alloc(1000, 7)), /box/);
  });
});
