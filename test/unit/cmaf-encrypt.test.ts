// CMAF Common Encryption (src/media/encrypt): real CMAF made by ffmpeg at test time (H.264 + AAC,
// H.264 with several CAVLC slices, H.265, AC-3, E-AC-3, and Packhouse's own TS → CMAF output) is
// encrypted with cenc and cbcs. ffmpeg decrypts it with the key to the very frames of the clear
// input and does not without it; mp4box reads the protection boxes; ffmpeg's own bitstream reader
// (trace_headers) says where each slice header ends, which cbcs keeps clear; hostile input is refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createDecipheriv } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createFile, MP4BoxBuffer } from 'mp4box';

import { readBoxes, readFragmentSamples, readInitSegment } from '../../src/media/container/isobmff.js';
import { CmafEncryptError, DRM_SYSTEM_IDS, encryptFragment, encryptInit, psshBox, uuidBytes, type CmafScheme, type CmafTrackEncryption } from '../../src/media/encrypt/cmaf-encrypt.js';
import { ParameterSets, sliceHeaderBits } from '../../src/media/encrypt/slice-header.js';
import { repackageTs } from '../../src/media/package/ts-to-cmaf.js';
import { HAS_X265, NO_FFMPEG, run } from '../support/media-fixtures.js';

const KEY_HEX = '3c2a5e7f9b1d0e4f6a8c2b4d6e8f0a1c';
const KEY = Buffer.from(KEY_HEX, 'hex');
const KID = Buffer.from('d2b5f1c0a3e94b7c8e1f2a3b4c5d6e7f', 'hex');

function encryption(scheme: CmafScheme, includePsshInFragments = true): CmafTrackEncryption {
  return {
    scheme,
    kid: KID,
    key: KEY,
    iv: scheme === 'cenc' ? Buffer.from('f1e2d3c4b5a69788', 'hex') : Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
    pssh: [psshBox(uuidBytes(DRM_SYSTEM_IDS.W3C_COMMON), Buffer.alloc(0), [KID]), psshBox(uuidBytes(DRM_SYSTEM_IDS.WIDEVINE), Buffer.from('0801', 'hex'))],
    includePsshInFragments,
  };
}

/** ffmpeg's per-frame md5 of every decoded stream (the header comments dropped), or its error. */
function framemd5(file: string, key?: string): Promise<{ status: number | null; frames: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ffmpeg', ['-hide_banner', '-v', 'error', ...(key ? ['-decryption_key', key] : []), '-i', file, '-f', 'framemd5', '-'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const status = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ status, frames: stdout.split('\n').filter((l) => l && !l.startsWith('#')).join('\n'), stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// mp4box as the independent box reader

interface Mp4Box {
  type: string;
  start: number;
  size: number;
  boxes?: Mp4Box[];
  entries?: Mp4Box[];
  [field: string]: unknown;
}

function mp4box(bytes: Buffer): Mp4Box[] {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const file = createFile();
  let error: unknown;
  file.onError = (_module: string, message: string) => {
    error = message;
  };
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(ab, 0));
  file.flush();
  assert.equal(error, undefined, `mp4box: ${String(error)}`);
  return (file as unknown as { boxes: Mp4Box[] }).boxes;
}

function find(boxes: readonly Mp4Box[] | undefined, type: string): Mp4Box[] {
  const out: Mp4Box[] = [];
  for (const b of boxes ?? []) {
    if (b.type === type) out.push(b);
    out.push(...find(b.boxes, type), ...find(b.entries, type));
  }
  return out;
}

const hex = (v: unknown): string => (typeof v === 'string' ? v.replace(/-/g, '').toLowerCase() : Buffer.from(v as Uint8Array).toString('hex'));

/** The protection boxes of an encrypted init segment, as mp4box reads them. */
function checkInit(init: Buffer, enc: CmafTrackEncryption, entries: readonly string[]): void {
  const boxes = mp4box(init);
  const sampleEntries = find(boxes, 'stsd').flatMap((s) => s.entries ?? []);
  assert.deepEqual(
    sampleEntries.map((e) => e.type),
    entries.map((e) => (['mp4a', 'ac-3', 'ec-3'].includes(e) ? 'enca' : 'encv')),
  );
  assert.deepEqual(
    find(boxes, 'frma').map((f) => f.data_format),
    entries,
  );
  for (const schm of find(boxes, 'schm')) {
    assert.equal(schm.scheme_type, enc.scheme);
    assert.equal(schm.scheme_version, 0x10000);
  }
  const tencs = find(boxes, 'tenc');
  assert.equal(tencs.length, entries.length);
  tencs.forEach((tenc, i) => {
    assert.equal(hex(tenc.default_KID), KID.toString('hex'));
    assert.equal(tenc.default_isProtected, 1);
    const video = !['mp4a', 'ac-3', 'ec-3'].includes(entries[i]!);
    if (enc.scheme === 'cenc') {
      assert.equal(tenc.version, 0);
      assert.equal(tenc.default_Per_Sample_IV_Size, 8);
    } else {
      assert.equal(tenc.version, 1);
      assert.equal(tenc.default_Per_Sample_IV_Size, 0);
      assert.equal(tenc.default_constant_IV_size, 16);
      assert.equal(hex(tenc.default_constant_IV), enc.iv.toString('hex'));
      assert.deepEqual([tenc.default_crypt_byte_block, tenc.default_skip_byte_block], video ? [1, 9] : [0, 0]);
    }
  });
  const pssh = boxes.find((b) => b.type === 'moov')!.boxes!.filter((b) => b.type === 'pssh');
  assert.deepEqual(
    pssh.map((p) => hex(p.system_id)),
    [DRM_SYSTEM_IDS.W3C_COMMON, DRM_SYSTEM_IDS.WIDEVINE].map((u) => u.replace(/-/g, '')),
  );
}

/**
 * senc/saiz/saio of every traf of an encrypted fragment: one entry per trun sample, sizes as saiz
 * says, saio pointing at the first entry, subsamples covering each sample exactly; sidx sizes
 * matching the boxes they index; pssh in the moof when asked.
 */
function checkFragment(frag: Buffer, enc: CmafTrackEncryption, videoTracks: ReadonlySet<number>): void {
  const boxes = mp4box(frag);
  const moofs = boxes.filter((b) => b.type === 'moof');
  assert.ok(moofs.length > 0);
  for (const moof of moofs) {
    assert.equal(moof.boxes!.filter((b) => b.type === 'pssh').length, enc.includePsshInFragments ? 2 : 0);
    for (const traf of moof.boxes!.filter((b) => b.type === 'traf')) {
      const kids = traf.boxes!;
      const trackId = (kids.find((b) => b.type === 'tfhd') as { track_id: number } & Mp4Box).track_id;
      const video = videoTracks.has(trackId);
      const tfhd = kids.find((b) => b.type === 'tfhd')!;
      const sizes = kids
        .filter((b) => b.type === 'trun')
        .flatMap((t) => Array.from({ length: t.sample_count as number }, (_, i) => (t.sample_size as number[])[i] ?? (tfhd.default_sample_size as number)));
      const [senc, saiz, saio] = ['senc', 'saiz', 'saio'].map((t) => {
        const found = kids.filter((b) => b.type === t);
        assert.equal(found.length, 1, `one ${t} per traf`);
        return found[0]!;
      });
      // senc, read from the bytes: sample_count, then per sample the IV and the subsamples.
      const count = frag.readUInt32BE(senc!.start + 12);
      assert.equal(count, sizes.length, 'senc sample count = trun sample count');
      assert.equal(frag.readUIntBE(senc!.start + 9, 3), video ? 2 : 0, 'senc flags');
      assert.equal(saiz!.sample_count, count);
      const ivSize = enc.scheme === 'cenc' ? 8 : 0;
      let p = senc!.start + 16;
      assert.equal(moof.start + (saio!.offset as number[])[0]!, p, 'saio points at the first senc entry');
      assert.equal(saio!.entry_count, 1);
      for (let i = 0; i < count; i++) {
        const entryStart = p;
        p += ivSize;
        if (video) {
          const n = frag.readUInt16BE(p);
          assert.ok(n > 0, 'a video sample has at least one subsample');
          p += 2;
          let covered = 0;
          for (let j = 0; j < n; j++, p += 6) {
            const clear = frag.readUInt16BE(p);
            const prot = frag.readUInt32BE(p + 2);
            if (enc.scheme === 'cenc') assert.equal(prot % 16, 0, 'cenc protects whole blocks');
            covered += clear + prot;
          }
          assert.equal(covered, sizes[i], `subsamples of sample ${i} cover it`);
        }
        const infoSize = (saiz!.default_sample_info_size as number) || (saiz!.sample_info_size as number[])[i];
        assert.equal(p - entryStart, infoSize, 'saiz size = senc entry size');
      }
      assert.equal(p, senc!.start + senc!.size, 'senc holds exactly the entries');
    }
  }
  for (const [i, b] of boxes.entries()) {
    if (b.type !== 'sidx') continue;
    const refs = b.references as { referenced_size: number }[];
    const anchor = b.start + b.size + (b.first_offset as number);
    const at = boxes.findIndex((x) => x.start === anchor);
    assert.ok(at > i, 'sidx first_offset lands on a box');
    const moof = boxes[at]!;
    const mdat = boxes[at + 1]!;
    assert.equal(refs[0]!.referenced_size, moof.size + mdat.size, 'sidx size follows the grown moof');
  }
}


/**
 * Decrypts every sample of an encrypted fragment independently of the encryptor, from 23001-7:
 * cenc is AES-CTR over the protected bytes of a sample taken as one stream (IV from senc, counter
 * in the low 64 bits); cbcs restarts AES-CBC from the constant IV at each subsample and decrypts
 * one block in ten, and decrypts audio samples whole (a trailing partial block is clear).
 */
function decryptSamples(frag: Buffer, clearInit: Buffer, enc: CmafTrackEncryption): Buffer[] {
  const info = readInitSegment(clearInit);
  const boxes = mp4box(frag);
  const sencs = find(boxes, 'senc');
  const runs = readFragmentSamples(frag, info);
  assert.equal(sencs.length, runs.length);
  const out: Buffer[] = [];
  runs.forEach((run, r) => {
    const senc = sencs[r]!;
    const subsamples = (frag.readUIntBE(senc.start + 9, 3) & 2) !== 0;
    const video = info.tracks.find((t) => t.trackId === run.trackId)!.kind === 'video';
    let p = senc.start + 16;
    for (const s of run.samples) {
      const sample = Buffer.from(frag.subarray(s.offset, s.offset + s.size));
      const iv = enc.scheme === 'cenc' ? Buffer.concat([frag.subarray(p, p + 8), Buffer.alloc(8)]) : enc.iv;
      p += enc.scheme === 'cenc' ? 8 : 0;
      let ranges: [number, number][] = [[0, sample.length]];
      if (subsamples) {
        ranges = [];
        const n = frag.readUInt16BE(p);
        p += 2;
        let at = 0;
        for (let j = 0; j < n; j++, p += 6) {
          at += frag.readUInt16BE(p);
          const prot = frag.readUInt32BE(p + 2);
          ranges.push([at, at + prot]);
          at += prot;
        }
      }
      if (enc.scheme === 'cenc') {
        const d = createDecipheriv('aes-128-ctr', enc.key, iv);
        for (const [a, b] of ranges) d.update(sample.subarray(a, b)).copy(sample, a);
      } else {
        for (const [a, b] of ranges) {
          const blocks: Buffer[] = [];
          const stride = video ? 160 : 16;
          for (let q = a; b - q >= 16; q += stride) blocks.push(sample.subarray(q, q + 16));
          if (blocks.length === 0) continue;
          const plain = createDecipheriv('aes-128-cbc', enc.key, enc.iv).setAutoPadding(false).update(Buffer.concat(blocks));
          blocks.forEach((blk, k) => plain.copy(blk, 0, 16 * k, 16 * k + 16));
        }
      }
      out.push(sample);
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------

interface Case {
  name: string;
  init: Buffer;
  fragments: Buffer[];
  entries: string[];
}

function hlsCase(dir: string, name: string, args: string[], entries: string[]): Case {
  run(dir, ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', ...args, '-f', 'hls', '-hls_segment_type', 'fmp4', '-hls_time', '1', '-hls_playlist_type', 'vod', '-hls_fmp4_init_filename', `${name}-init.mp4`, '-hls_segment_filename', `${name}-%d.m4s`, `${name}.m3u8`]);
  const fragments = readdirSync(dir)
    .filter((f) => f.startsWith(`${name}-`) && f.endsWith('.m4s'))
    .sort((a, b) => parseInt(a.slice(name.length + 1), 10) - parseInt(b.slice(name.length + 1), 10))
    .map((f) => readFileSync(path.join(dir, f)));
  return { name, init: readFileSync(path.join(dir, `${name}-init.mp4`)), fragments, entries };
}

describe('CMAF encryption checked by ffmpeg and mp4box', { skip: NO_FFMPEG }, () => {
  let dir: string;
  const cases: Case[] = [];
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-cmafenc-'));
    // H.264 High (CABAC, B-frames, weighted prediction) with AAC: two tracks in one fragment, sidx per track.
    cases.push(hlsCase(dir, 'avc-aac', ['-t', '2', '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-bf', '2', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac'], ['avc1', 'mp4a']));
    // H.264 Baseline (CAVLC), four slices per picture: several subsamples per sample.
    cases.push(hlsCase(dir, 'avc-slices', ['-t', '2', '-map', '0:v', '-c:v', 'libx264', '-profile:v', 'baseline', '-x264-params', 'slices=4', '-g', '25', '-pix_fmt', 'yuv420p'], ['avc1']));
    if (HAS_X265) cases.push(hlsCase(dir, 'hevc', ['-t', '1.5', '-map', '0:v', '-c:v', 'libx265', '-tag:v', 'hvc1', '-x265-params', 'log-level=error:keyint=25:bframes=3', '-pix_fmt', 'yuv420p'], ['hvc1']));
    cases.push(hlsCase(dir, 'ac3', ['-t', '1', '-map', '1:a', '-c:a', 'ac3'], ['ac-3']));
    cases.push(hlsCase(dir, 'eac3', ['-t', '1', '-map', '1:a', '-c:a', 'eac3'], ['ec-3']));
    // Packhouse's own TS → CMAF output.
    run(dir, ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '2', '-c:v', 'libx264', '-bf', '2', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', 'in.ts']);
    const repackaged = repackageTs(readFileSync(path.join(dir, 'in.ts')));
    cases.push({ name: 'ts-to-cmaf', init: repackaged.init, fragments: [repackaged.media], entries: ['avc1', 'mp4a'] });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** framemd5 of init + fragment i of the clear input, computed once for both schemes. */
  const clearCache = new Map<string, Promise<string>>();
  function clearFrames(c: Case, i: number): Promise<string> {
    const name = `${c.name}.${i}`;
    let found = clearCache.get(name);
    if (found === undefined) {
      const file = path.join(dir, `${name}.clear.mp4`);
      writeFileSync(file, Buffer.concat([c.init, c.fragments[i]!]));
      found = framemd5(file).then((r) => {
        assert.equal(r.status, 0, r.stderr);
        assert.ok(r.frames.length > 0);
        return r.frames;
      });
      clearCache.set(name, found);
    }
    return found;
  }

  for (const scheme of ['cenc', 'cbcs'] as const) {
    test(`${scheme}: ffmpeg decrypts every case to the clear frames, not without the key; mp4box reads schm/tenc/senc/saiz/saio/pssh`, async () => {
      assert.ok(cases.length >= 5);
      const decodes: (() => Promise<void>)[] = [];
      for (const c of cases) {
        const enc = encryption(scheme, c.name !== 'eac3');
        const init = encryptInit(c.init, enc);
        const fragments = c.fragments.map((f) => encryptFragment(f, c.init, enc));
        // Deterministic: the same input gives the same bytes.
        assert.ok(encryptInit(c.init, enc).equals(init), `${c.name}: init deterministic`);
        assert.ok(encryptFragment(c.fragments[0]!, c.init, enc).equals(fragments[0]!), `${c.name}: fragment deterministic`);

        checkInit(init, enc, c.entries);
        const videoTracks = new Set(readInitSegment(c.init).tracks.filter((t) => t.kind === 'video').map((t) => t.trackId));
        for (const f of fragments) checkFragment(f, enc, videoTracks);

        // Each fragment is decoded on its own (init + fragment): ffmpeg 5.1's mov demuxer applies the
        // sample encryption of the last moof it parsed ahead to every packet, so a file of several
        // small encrypted fragments does not decode even when each one is right.
        c.fragments.forEach((_, i) => {
          const encFile = path.join(dir, `${c.name}.${i}.${scheme}.mp4`);
          writeFileSync(encFile, Buffer.concat([init, fragments[i]!]));
          decodes.push(async () => {
            const clear = await clearFrames(c, i);
            const decrypted = await framemd5(encFile, KEY_HEX);
            assert.equal(decrypted.status, 0, `${c.name} fragment ${i}: ${decrypted.stderr}`);
            assert.equal(decrypted.frames, clear, `${c.name} fragment ${i}: decrypted frames equal the clear ones`);
            // Without the key (checked on one case per codec family): no clean decode.
            if (i > 0 || !['avc-aac', 'hevc', 'eac3'].includes(c.name)) return;
            const keyless = await framemd5(encFile);
            assert.ok(keyless.status !== 0 || keyless.frames !== clear, `${c.name}: no key does not decode`);
          });
        });
        // Every mdat payload changed (nothing left clear by accident), and kept its size.
        c.fragments.forEach((clearFragment, i) => {
          const mdatsOf = (b: Buffer) => readBoxes(b, 0, b.length, 'fragment', true).filter((x) => x.type === 'mdat').map((x) => b.subarray(x.body, x.end));
          const before = mdatsOf(clearFragment);
          const after = mdatsOf(fragments[i]!);
          assert.deepEqual(after.map((x) => x.length), before.map((x) => x.length));
          after.forEach((m, j) => assert.ok(!m.equals(before[j]!), `${c.name}: mdat ${j} of fragment ${i} encrypted`));
        });
      }
      // Three ffmpeg processes at a time.
      const queue = [...decodes];
      await Promise.all(
        [0, 1, 2].map(async () => {
          for (let job = queue.shift(); job !== undefined; job = queue.shift()) await job();
        }),
      );
    });
  }

  test('a fragment of several moof/mdat pairs (chunked CMAF): every sample decrypts to the clear one by an independent decryptor', () => {
    run(dir, ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '1', '-c:v', 'libx264', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '200000', 'chunked.mp4']);
    const file = readFileSync(path.join(dir, 'chunked.mp4'));
    const top = readBoxes(file, 0, file.length, 'file', true);
    const pick = (types: string[]) => Buffer.concat(top.filter((b) => types.includes(b.type)).map((b) => file.subarray(b.start, b.end)));
    const init = pick(['ftyp', 'moov']);
    const fragment = pick(['moof', 'mdat']);
    assert.ok(top.filter((b) => b.type === 'moof').length >= 4, 'several moofs');
    const clearSamples = readFragmentSamples(fragment, readInitSegment(init)).flatMap((r) => r.samples.map((s) => fragment.subarray(s.offset, s.offset + s.size)));
    const videoTracks = new Set(readInitSegment(init).tracks.filter((t) => t.kind === 'video').map((t) => t.trackId));
    for (const scheme of ['cenc', 'cbcs'] as const) {
      const enc = encryption(scheme);
      const encrypted = encryptFragment(fragment, init, enc);
      checkFragment(encrypted, enc, videoTracks);
      const decrypted = decryptSamples(encrypted, init, enc);
      assert.equal(decrypted.length, clearSamples.length);
      let changed = 0;
      decrypted.forEach((d, i) => {
        assert.ok(d.equals(clearSamples[i]!), `${scheme}: sample ${i} decrypts to the clear sample`);
      });
      const encryptedSamples = readFragmentSamples(encrypted, readInitSegment(init)).flatMap((r) => r.samples.map((s) => encrypted.subarray(s.offset, s.offset + s.size)));
      encryptedSamples.forEach((e, i) => {
        if (!e.equals(clearSamples[i]!)) changed++;
      });
      // Every sample of 16 bytes or more has encrypted bytes.
      assert.equal(changed, clearSamples.filter((x) => x.length >= 16).length, `${scheme}: samples encrypted`);
    }
  });

  test('cbcs keeps each slice header clear: where it ends agrees with ffmpeg trace_headers', () => {
    // Also interlaced H.264 (MBAFF: frame_mbs_only_flag 0) with two slices and three references.
    const interlaced = hlsCase(dir, 'avc-interlaced', ['-t', '1', '-map', '0:v', '-s', '320x192', '-c:v', 'libx264', '-flags', '+ildct+ilme', '-x264-params', 'interlaced=1:ref=3:slices=2', '-g', '25', '-pix_fmt', 'yuv420p'], ['avc1']);
    for (const c of [...cases, interlaced]) {
      const info = readInitSegment(c.init);
      const track = info.tracks.find((t) => t.kind === 'video');
      if (track === undefined) continue;
      const codec = track.decoderConfig!.kind === 'avcC' ? 'avc' : 'hevc';
      const file = path.join(dir, `${c.name}.clear.mp4`);
      writeFileSync(file, Buffer.concat([c.init, ...c.fragments]));
      const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'trace', '-i', file, '-map', '0:v', '-c', 'copy', '-bsf:v', 'trace_headers', '-f', 'null', '-'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
      assert.equal(r.status, 0);
      // Each "Slice Header" / "Slice Segment Header" section lists bit position, name and bits of
      // each element; the header ends where its last element (alignment bits included) ends.
      const expected: number[] = [];
      let inSlice = false;
      let end = 0;
      for (const line of r.stderr.split('\n')) {
        const m = /\[trace_headers @ [^\]]+\] (.*)$/.exec(line);
        if (!m) continue;
        const el = /^(\d+)\s+(\S+)\s+([01]+) = /.exec(m[1]!);
        if (el) {
          if (inSlice) end = Number(el[1]) + el[3]!.length;
          continue;
        }
        if (inSlice) expected.push(Math.ceil(end / 8));
        inSlice = /^Slice (Segment )?Header$/.test(m[1]!.trim());
      }
      if (inSlice) expected.push(Math.ceil(end / 8));

      const sets = ParameterSets.fromConfig(codec, track.decoderConfig!.bytes);
      const L = (track.decoderConfig!.bytes[codec === 'avc' ? 4 : 21]! & 3) + 1;
      const got: number[] = [];
      for (const frag of c.fragments) {
        for (const runOf of readFragmentSamples(frag, info).filter((x) => x.trackId === track.trackId)) {
          for (const s of runOf.samples) {
            for (let p = s.offset; p < s.offset + s.size; ) {
              const len = frag.readUIntBE(p, L);
              const nal = frag.subarray(p + L, p + L + len);
              const type = codec === 'avc' ? nal[0]! & 0x1f : (nal[0]! >> 1) & 0x3f;
              if (codec === 'avc' ? type >= 1 && type <= 5 : type <= 9 || (type >= 16 && type <= 21)) got.push(Math.ceil(sliceHeaderBits(codec, nal, sets) / 8));
              else sets.learn(codec, nal);
              p += L + len;
            }
          }
        }
      }
      assert.ok(got.length > 10, c.name);
      assert.deepEqual(got, expected, `${c.name}: slice header sizes`);
    }
  });
});

describe('CMAF encryption refuses hostile input', { skip: NO_FFMPEG }, () => {
  let dir: string;
  let init: Buffer;
  let fragment: Buffer;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-cmafenc-bad-'));
    const c = hlsCase(dir, 'v', ['-t', '1', '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac'], ['avc1', 'mp4a']);
    init = c.init;
    fragment = c.fragments[0]!;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function refused(work: () => unknown, reason: RegExp): void {
    assert.throws(work, (e: unknown) => {
      assert.ok(e instanceof CmafEncryptError, `expected CmafEncryptError, got ${String(e)}`);
      assert.match(e.message, reason);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    });
  }
  const patched = (buf: Buffer, at: number, bytes: number[]) => {
    const b = Buffer.from(buf);
    Buffer.from(bytes).copy(b, at);
    return b;
  };

  test('bad keys, KIDs, IVs and pssh entries', () => {
    for (const scheme of ['cenc', 'cbcs'] as const) {
      const enc = encryption(scheme);
      refused(() => encryptFragment(fragment, init, { ...enc, key: Buffer.alloc(15) }), /content key must be 16 bytes/);
      refused(() => encryptInit(init, { ...enc, kid: Buffer.alloc(8) }), /KID must be 16 bytes/);
      refused(() => encryptFragment(fragment, init, { ...enc, iv: Buffer.alloc(scheme === 'cenc' ? 16 : 8) }), /IV must be/);
      refused(() => encryptInit(init, { ...enc, pssh: [Buffer.from('not a box')] }), /not one complete pssh box/);
      refused(() => encryptInit(init, { ...enc, scheme: 'cens' as CmafScheme }), /unknown encryption scheme/);
    }
    refused(() => psshBox(Buffer.alloc(4), Buffer.alloc(0)), /SystemID has 16 bytes/);
    assert.equal(psshBox(uuidBytes(DRM_SYSTEM_IDS.PLAYREADY), Buffer.from('ab', 'hex')).toString('hex'), '00000021' + '70737368' + '00000000' + DRM_SYSTEM_IDS.PLAYREADY.replace(/-/g, '') + '00000001' + 'ab');
  });

  test('malformed, inconsistent or already encrypted files', () => {
    const enc = encryption('cenc');
    const top = readBoxes(fragment, 0, fragment.length, 'f', true);
    const moof = top.find((b) => b.type === 'moof')!;
    const mdat = top.find((b) => b.type === 'mdat')!;
    refused(() => encryptFragment(fragment.subarray(0, fragment.length - 100), init, enc), /truncated/);
    refused(() => encryptFragment(fragment.subarray(0, mdat.start), init, enc), /not followed by an mdat|mdat bytes can hold/);
    refused(() => encryptFragment(Buffer.concat([fragment.subarray(0, moof.start), fragment.subarray(mdat.start)]), init, enc), /no moof|follows no moof/);
    // The first trun's first sample size made larger than the mdat: trun and mdat disagree.
    const trun = readBoxes(fragment, moof.body, moof.end, 'moof')
      .filter((b) => b.type === 'traf')
      .flatMap((t) => readBoxes(fragment, t.body, t.end, 'traf'))
      .find((b) => b.type === 'trun')!;
    const flags = fragment.readUIntBE(trun.body + 1, 3);
    const firstSize = trun.body + 8 + (flags & 1 ? 4 : 0) + (flags & 4 ? 4 : 0) + (flags & 0x100 ? 4 : 0);
    assert.ok(flags & 0x200);
    refused(() => encryptFragment(patched(fragment, firstSize, [0, 0x10, 0, 0]), init, enc), /outside the mdat|lies outside/);
    // A NAL unit length running past its sample.
    const firstSample = readFragmentSamples(fragment, readInitSegment(init))[0]!.samples[0]!;
    refused(() => encryptFragment(patched(fragment, firstSample.offset, [0, 0x7f, 0xff, 0xff]), init, enc), /NAL unit of \d+ bytes runs past the end of the sample/);
    // Already encrypted input.
    const encInit = encryptInit(init, enc);
    refused(() => encryptInit(encInit, enc), /already encrypted/);
    refused(() => encryptFragment(encryptFragment(fragment, init, enc), init, enc), /already (has|encrypted)/);
    // A sample entry outside the supported codecs.
    const at = init.indexOf('avc1', 0, 'latin1');
    refused(() => encryptInit(patched(init, at, [...Buffer.from('mp4v')]), enc), /cannot be encrypted/);
    refused(() => encryptFragment(fragment, patched(init, at, [...Buffer.from('mp4v')]), enc), /cannot be encrypted/);
    refused(() => encryptInit(Buffer.from('not an mp4 file at all'), enc), /box|ISO-BMFF/);
    refused(() => encryptFragment(fragment, fragment, enc), /moov/);
  });

  test('random corruption gives a result or a CmafEncryptError, never another error; the input is never changed', () => {
    let seed = 0x2545f491;
    const rand = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    for (const scheme of ['cenc', 'cbcs'] as const) {
      const enc = encryption(scheme);
      for (let i = 0; i < 150; i++) {
        const target = i % 3 === 0 ? init : fragment;
        const bad = Buffer.from(target);
        const edits = 1 + rand(4);
        for (let e = 0; e < edits; e++) {
          // Mostly the headers and tables near the start, where a change matters most.
          const at = rand(4) === 0 ? rand(bad.length) : rand(Math.min(bad.length, 2500));
          bad[at] = rand(256);
        }
        const cut = rand(5) === 0 ? bad.subarray(0, rand(bad.length)) : bad;
        const copy = Buffer.from(cut);
        try {
          if (target === init) encryptInit(cut, enc);
          else encryptFragment(cut, init, enc);
        } catch (err) {
          assert.ok(err instanceof CmafEncryptError, `${scheme} case ${i}: ${String(err)}`);
          assert.ok(!err.message.includes('\n'));
        }
        assert.ok(cut.equals(copy), 'input unchanged');
      }
    }
  });
});
