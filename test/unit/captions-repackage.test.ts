// Captions carried in the video (ATSC A/53 Part 4: CEA-608 pairs and CEA-708 DTVCC packets in
// user_data_registered_itu_t_t35 SEI) survive repackaging: an H.264 TS made by ffmpeg gets a
// caption SEI in every access unit, goes TS → CMAF (repackageTs) and back CMAF → TS
// (repackageFmp4), and ffmpeg reads the same caption bytes, frame by frame, and the same 608 text
// with the same times from all three.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { repackageFmp4 } from '../../src/media/package/fmp4-to-ts.js';
import { repackageTs } from '../../src/media/package/ts-to-cmaf.js';
import { NO_FFMPEG, run } from '../support/media-fixtures.js';

const SECONDS = 3;
const FPS = 25;

/** A byte with odd parity, as CEA-608 sends it. */
function odd(b: number): number {
  let ones = 0;
  for (let x = b; x; x >>= 1) ones += x & 1;
  return ones % 2 ? b : b | 0x80;
}

/** The CEA-608 byte pairs of one pop-on caption: resume caption loading, erase, row 15, the text, end of caption (controls sent twice). */
function popOn(text: string): number[][] {
  const twice = (a: number, b: number) => [[odd(a), odd(b)], [odd(a), odd(b)]];
  const chars: number[][] = [];
  for (let i = 0; i < text.length; i += 2) chars.push([odd(text.charCodeAt(i)), odd(i + 1 < text.length ? text.charCodeAt(i + 1) : 0)]);
  return [...twice(0x14, 0x20), ...twice(0x14, 0x2e), ...twice(0x14, 0x70), ...chars, ...twice(0x14, 0x2f)];
}

/** An SEI NAL unit (emulation prevention applied) with one A/53 cc_data: a 608 field-1 pair and a 708 DTVCC packet start. */
function captionSei(pair: readonly number[], frame: number): Buffer {
  const dtvcc = [((frame & 3) << 6) | 1, 0x00]; // packet header (sequence number, size code 1), a null service block
  const t35 = [0xb5, 0x00, 0x31, ...Buffer.from('GA94'), 0x03, 0xc0 | 2, 0xff, 0xfc, pair[0]!, pair[1]!, 0xff, dtvcc[0]!, dtvcc[1]!, 0xff];
  const rbsp = [0x06, 0x04, t35.length, ...t35, 0x80];
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

/** An Annex B H.264 stream (with access unit delimiters) with a caption SEI before the first slice of every access unit. */
function withCaptions(annexB: Buffer): Buffer {
  const starts: number[] = [];
  for (let i = 0; i + 3 <= annexB.length; i++) {
    if (annexB[i] === 0 && annexB[i + 1] === 0 && annexB[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  const schedule: number[][] = [];
  for (let s = 0; s < SECONDS; s++) {
    const pairs = popOn(`CAPTION ${s + 1}`);
    for (let f = 0; f < FPS; f++) schedule.push(pairs[f] ?? [0x80, 0x80]);
  }
  const out: Buffer[] = [];
  let frame = -1;
  let due = false;
  starts.forEach((start, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]! - 3 : annexB.length;
    while (end > start && annexB[end - 1] === 0) end--;
    const nal = annexB.subarray(start, end);
    const type = nal[0]! & 0x1f;
    if (type === 9) {
      frame++;
      due = true;
    }
    if ((type === 1 || type === 5) && due) {
      out.push(Buffer.from([0, 0, 0, 1]), captionSei(schedule[frame] ?? [0x80, 0x80], frame));
      due = false;
    }
    out.push(Buffer.from([0, 0, 0, 1]), nal);
  });
  assert.equal(frame + 1, SECONDS * FPS);
  return Buffer.concat(out);
}

/** The A/53 caption triplets ffmpeg finds in the video, in order (its subcc output copied raw). */
function captionBytes(file: string): Buffer {
  const out = `${file}.cc`;
  run(path.dirname(file), ['-f', 'lavfi', '-i', `movie=${path.basename(file)}[out0+subcc]`, '-map', '0:s', '-c:s', 'copy', '-f', 'rawvideo', out]);
  return readFileSync(out);
}

/** The CEA-608 captions ffmpeg decodes from the video, as SRT. */
function captionText(file: string): string {
  const out = `${file}.srt`;
  run(path.dirname(file), ['-f', 'lavfi', '-i', `movie=${path.basename(file)}[out0+subcc]`, '-map', '0:s', '-f', 'srt', out]);
  return readFileSync(out, 'utf8');
}

/** Presentation times of the frames that carry caption side data, as ffprobe reads them. */
function framesWithCaptions(file: string): number[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_frames', '-show_entries', 'frame=pts_time:side_data=side_data_type', '-of', 'json', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  // Packet side data comes out too, in the same list.
  const frames = (JSON.parse(r.stdout) as { packets_and_frames: { type: string; pts_time?: string; side_data_list?: { side_data_type: string }[] }[] }).packets_and_frames.filter((f) => f.type === 'frame');
  return frames.filter((f) => f.side_data_list?.some((s) => s.side_data_type === 'ATSC A53 Part 4 Closed Captions')).map((f) => Number(f.pts_time));
}

describe('CEA-608/708 captions in H.264 SEI survive repackaging', { skip: NO_FFMPEG }, () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-captions-'));
    run(dir, ['-f', 'lavfi', '-i', `testsrc2=size=160x90:rate=${FPS}`, '-t', String(SECONDS), '-c:v', 'libx264', '-bf', '0', '-g', String(FPS), '-pix_fmt', 'yuv420p', '-x264-params', 'aud=1', '-f', 'h264', 'plain.h264']);
    writeFileSync(file('captions.h264'), withCaptions(readFileSync(file('plain.h264'))));
    run(dir, ['-fflags', '+genpts', '-r', String(FPS), '-f', 'h264', '-i', 'captions.h264', '-c', 'copy', '-f', 'mpegts', 'input.ts']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('TS → CMAF → TS: every frame keeps its caption data; the same bytes and the same 608 text at the same times', () => {
    const input = readFileSync(file('input.ts'));
    const cmaf = repackageTs(input);
    writeFileSync(file('output.mp4'), Buffer.concat([cmaf.init, cmaf.media]));
    writeFileSync(file('back.ts'), repackageFmp4(cmaf.init, cmaf.media).bytes);

    const frames = framesWithCaptions(file('input.ts'));
    assert.equal(frames.length, SECONDS * FPS, 'every frame of the input carries captions');
    const bytes = captionBytes(file('input.ts'));
    assert.equal(bytes.length, SECONDS * FPS * 6, 'two cc_data triplets a frame');
    const text = captionText(file('input.ts'));
    for (let s = 1; s <= SECONDS; s++) assert.match(text, new RegExp(`CAPTION ${s}`));

    for (const out of ['output.mp4', 'back.ts']) {
      assert.deepEqual(framesWithCaptions(file(out)), frames, `${out}: frames with captions`);
      assert.ok(captionBytes(file(out)).equals(bytes), `${out}: the same cc_data, 608 and 708`);
      assert.equal(captionText(file(out)), text, `${out}: the same captions`);
    }
  });
});
