// Continuity counters across the pieces of one TS output segment (src/media/package/ts-continuity.ts):
// fMP4 segments made by ffmpeg are repackaged into TS, each starting its counters at 0; ffmpeg
// reads their plain concatenation as corrupt and the rewriter's join cleanly. Then the rules on
// packets made by hand: no payload, duplicates, null packets, a piece cut mid-packet, any chunking.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { repackageFmp4 } from '../../src/media/package/fmp4-to-ts.js';
import { TsContinuityRewriter, joinContinuous, streamContinuous } from '../../src/media/package/ts-continuity.js';
import { NO_FFMPEG, run } from '../support/media-fixtures.js';
import { seededRandom } from '../support/seeded-random.js';

const pidOf = (b: Uint8Array, i: number) => ((b[i * 188 + 1]! & 0x1f) << 8) | b[i * 188 + 2]!;
const ccOf = (b: Uint8Array, i: number) => b[i * 188 + 3]! & 0x0f;

/** ffmpeg's complaints reading a TS file (every stream decoded), one per line. */
function complaints(file: string): string[] {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'warning', '-i', file, '-map', '0', '-f', 'null', '-'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr.split('\n').filter((l) => l.trim() !== '');
}

/** A TS packet: PID, counter, whether it has a payload (adaptation_field_control '01' or '10'), a byte to fill it with. */
function packet(pid: number, cc: number, payload = true, fill = 0xab): Uint8Array {
  const p = new Uint8Array(188).fill(fill);
  p.set([0x47, pid >> 8, pid & 0xff, (payload ? 0x10 : 0x20) | cc]);
  if (!payload) p[4] = 183;
  return p;
}

describe('TS continuity across the pieces of an output segment, read by ffmpeg', { skip: NO_FFMPEG }, () => {
  let dir: string;
  let pieces: Buffer[];
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-cc-'));
    run(dir, [
      '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '3',
      '-c:v', 'libx264', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'hls', '-hls_time', '1', '-hls_segment_type', 'fmp4',
      '-hls_playlist_type', 'vod', '-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', 's%d.m4s', 'p.m3u8',
    ]);
    const init = readFileSync(path.join(dir, 'init.mp4'));
    pieces = [0, 1, 2].map((i) => repackageFmp4(init, readFileSync(path.join(dir, `s${i}.m4s`))).bytes);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('three repackaged pieces: concatenated as they are, ffmpeg finds corrupt packets; joined, none, and every PID counts on by one', () => {
    const raw = path.join(dir, 'raw.ts');
    writeFileSync(raw, Buffer.concat(pieces));
    assert.ok(complaints(raw).some((l) => /corrupt/i.test(l)), 'the plain concatenation has counter jumps ffmpeg reports');

    const joined = joinContinuous(pieces);
    const file = path.join(dir, 'joined.ts');
    writeFileSync(file, joined);
    assert.deepEqual(complaints(file), []);
    // ffmpeg's own continuity check (logged at debug level) has nothing to say either.
    const debug = spawnSync('ffprobe', ['-v', 'debug', '-show_packets', '-of', 'csv', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.equal(debug.status, 0);
    assert.doesNotMatch(debug.stderr, /continuity check failed/i);

    // Same length, only the counters changed, the first piece untouched, no PID jumps.
    assert.equal(joined.length, pieces.reduce((n, p) => n + p.length, 0));
    assert.ok(joined.subarray(0, pieces[0]!.length).equals(pieces[0]!));
    const plain = Buffer.concat(pieces);
    const last = new Map<number, number>();
    for (let i = 0; i * 188 < joined.length; i++) {
      const a = joined.subarray(i * 188, i * 188 + 188);
      const b = plain.subarray(i * 188, i * 188 + 188);
      assert.ok(a.subarray(0, 3).equals(b.subarray(0, 3)) && a.subarray(4).equals(b.subarray(4)) && (a[3]! & 0xf0) === (b[3]! & 0xf0), `packet ${i}: only the counter changes`);
      const prev = last.get(pidOf(joined, i));
      if (prev !== undefined) assert.equal(ccOf(joined, i), (prev + 1) & 0x0f, `packet ${i} (PID ${pidOf(joined, i)})`);
      last.set(pidOf(joined, i), ccOf(joined, i));
    }
  });

  test('the bytes do not depend on how the pieces arrive in chunks', async () => {
    const whole = joinContinuous(pieces);
    const random = seededRandom(10);
    for (let round = 0; round < 5; round++) {
      const chunked = pieces.map((p) => {
        const chunks: Buffer[] = [];
        for (let at = 0; at < p.length; ) {
          const n = 1 + Math.floor(random() * (round === 0 ? 3 : 5000));
          chunks.push(p.subarray(at, at + n));
          at += n;
        }
        return chunks;
      });
      const out: Buffer[] = [];
      for await (const c of streamContinuous(chunked)) out.push(c);
      assert.ok(Buffer.concat(out).equals(whole), `round ${round}`);
    }
  });
});

describe('TsContinuityRewriter rules', () => {
  const counters = (b: Uint8Array) => Array.from({ length: b.length / 188 }, (_, i) => ccOf(b, i));

  test('two pieces starting at 0 become one count; the first packet of a PID keeps its counter', () => {
    const a = Buffer.concat([packet(0x100, 0), packet(0x101, 7), packet(0x100, 1)]);
    const b = Buffer.concat([packet(0x100, 0), packet(0x101, 0), packet(0x100, 1)]);
    assert.deepEqual(counters(joinContinuous([a, b])), [0, 7, 1, 2, 8, 3]);
  });

  test('a packet without payload carries the current counter, the next with payload counts on', () => {
    const a = Buffer.concat([packet(0x100, 0), packet(0x100, 0, false)]);
    const b = Buffer.concat([packet(0x100, 0, false), packet(0x100, 0), packet(0x100, 0, false), packet(0x100, 1)]);
    assert.deepEqual(counters(joinContinuous([a, b])), [0, 0, 0, 1, 1, 2]);
    // A PID whose first packet has no payload: its counter stands, the next payload packet is one on.
    assert.deepEqual(counters(joinContinuous([Buffer.concat([packet(0x100, 5, false), packet(0x100, 9)])])), [5, 6]);
  });

  test('a duplicate packet in a piece repeats the counter; null packets pass unchanged; counters wrap at 16', () => {
    const a = Buffer.concat(Array.from({ length: 15 }, (_, i) => packet(0x100, i)));
    const b = Buffer.concat([packet(0x100, 0), packet(0x100, 0), packet(0x1fff, 3), packet(0x100, 1)]);
    assert.deepEqual(counters(joinContinuous([a, b])).slice(14), [14, 15, 15, 3, 0]);
  });

  test('a piece cut mid-packet passes its tail unchanged and the next piece starts on a packet; the length never changes', () => {
    const cut = Buffer.concat([packet(0x100, 0), packet(0x100, 1).subarray(0, 100)]);
    const next = Buffer.concat([packet(0x100, 0), packet(0x100, 1)]);
    const out = joinContinuous([cut, next]);
    assert.equal(out.length, cut.length + next.length);
    assert.ok(out.subarray(0, cut.length).equals(cut));
    assert.deepEqual([ccOf(out.subarray(cut.length), 0), ccOf(out.subarray(cut.length), 1)], [1, 2]);
  });

  test('bytes that are not TS pass unchanged; the input is never modified', () => {
    const junk = Buffer.alloc(188 * 3, 0x12);
    const before = Buffer.from(junk);
    const w = new TsContinuityRewriter();
    assert.ok(Buffer.concat([w.push(junk), w.endPiece()]).equals(before));
    const p = packet(0x100, 0);
    const copy = Buffer.from(p);
    w.push(packet(0x100, 4));
    w.endPiece();
    const out = w.push(p);
    assert.equal(ccOf(out, 0), 5);
    assert.ok(Buffer.from(p).equals(copy));
  });
});
