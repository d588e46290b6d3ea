// HLS playlist reader and attribute writer, grouped by RFC 8216 clause. The hand-written playlists
// follow the shapes of the RFC's examples (§8) in our own words; the last group parses what a real
// encoder (ffmpeg) writes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { formatAttributes } from '../../src/media/hls/attributes.js';
import { PlaylistParseError, isMultivariant, parseMediaPlaylist, parseMultivariantPlaylist } from '../../src/media/hls/playlist.js';

const HAS_FFMPEG = spawnSync('ffmpeg', ['-version']).status === 0;

function throwsParse(fn: () => unknown, reason: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof PlaylistParseError, `expected PlaylistParseError, got ${String(error)}`);
    assert.match(error.message, reason);
    assert.ok(!error.message.includes('\n'), 'the reason is one line');
    return true;
  });
}

describe('§4.1 playlist file', () => {
  test('the first line must be #EXTM3U', () => {
    throwsParse(() => parseMediaPlaylist('#EXT-X-TARGETDURATION:6\n#EXTINF:6,\na.ts\n'), /not an HLS playlist/);
    throwsParse(() => parseMultivariantPlaylist(''), /#EXTM3U/);
    throwsParse(() => parseMediaPlaylist('\n#EXTM3U\n#EXT-X-TARGETDURATION:6\n'), /#EXTM3U/);
  });

  test('CRLF line ends, blank lines, comments and a byte order mark are tolerated', () => {
    const text = '\ufeff#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n\r\n# a comment, not a tag\r\n#EXTINF:4.0,\r\nseg1.ts\r\n';
    const p = parseMediaPlaylist(text);
    assert.equal(p.targetDuration, 4);
    assert.deepEqual(p.segments.map((s) => s.uri), ['seg1.ts']);
  });

  test('§6.3.1 unknown tags are ignored', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=3.0',
      '#EXT-X-PART-INF:PART-TARGET=1.0',
      '#EXT-X-KEY:METHOD=NONE',
      '#EXT-X-CUE-OUT:30',
      '#EXT-X-PART:DURATION=1.0,URI="p1.mp4",INDEPENDENT=YES',
      '#EXTINF:2.0,',
      's1.mp4',
      '#EXT-X-VENDOR-THING',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p3.mp4"',
    ].join('\n');
    const p = parseMediaPlaylist(text);
    assert.deepEqual(p.segments.map((s) => s.uri), ['s1.mp4']);
  });
});

describe('§4.2 attribute lists', () => {
  test('quoted strings keep their commas; enumerated values stay bare', () => {
    const text = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970\nhi.m3u8\n';
    const p = parseMultivariantPlaylist(text);
    assert.equal(p.variants[0]?.codecs, 'avc1.4d401f,mp4a.40.2');
    assert.deepEqual(p.variants[0]?.resolution, { width: 1280, height: 720 });
    assert.equal(p.variants[0]?.frameRate, 29.97);
  });

  test('a quoted value may hold "=" and spaces', () => {
    const p = parseMultivariantPlaylist('#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English, a=b",URI="a.m3u8"\n');
    assert.equal(p.renditions[0]?.name, 'English, a=b');
  });

  test('malformed lists are refused with the reason', () => {
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1\nx.m3u8\n'), /not closed/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,BANDWIDTH=2\nx.m3u8\n'), /more than once/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH\nx.m3u8\n'), /no '='/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=fast\nx.m3u8\n'), /not a decimal-integer/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=wide\nx.m3u8\n'), /decimal-resolution/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=avc1\nx.m3u8\n'), /must be a quoted-string/);
  });

  test('formatAttributes writes quoted strings quoted and the rest bare, skipping undefined', () => {
    const text = formatAttributes({
      BANDWIDTH: 5931112,
      'AVERAGE-BANDWIDTH': undefined,
      CODECS: { quoted: 'mp4a.40.2,avc1.4D4028' },
      RESOLUTION: '1920x1080',
      'FRAME-RATE': 29.97,
      AUDIO: { quoted: 'audio_0' },
    });
    assert.equal(text, 'BANDWIDTH=5931112,CODECS="mp4a.40.2,avc1.4D4028",RESOLUTION=1920x1080,FRAME-RATE=29.97,AUDIO="audio_0"');
    assert.equal(formatAttributes({ 'TIME-OFFSET': 0.0000001 }), 'TIME-OFFSET=0.0000001');
    assert.equal(formatAttributes({}), '');
  });

  test('formatAttributes output reads back through the parser', () => {
    const attrs = formatAttributes({ BANDWIDTH: 800000, 'AVERAGE-BANDWIDTH': 700000, CODECS: { quoted: 'avc1.64001f,mp4a.40.2' }, RESOLUTION: '640x360', 'FRAME-RATE': 25, 'CLOSED-CAPTIONS': 'NONE' });
    const p = parseMultivariantPlaylist(`#EXTM3U\n#EXT-X-STREAM-INF:${attrs}\nv.m3u8\n`);
    assert.deepEqual(p.variants[0], {
      uri: 'v.m3u8',
      bandwidth: 800000,
      averageBandwidth: 700000,
      codecs: 'avc1.64001f,mp4a.40.2',
      resolution: { width: 640, height: 360 },
      frameRate: 25,
      closedCaptions: 'NONE',
    });
  });

  test('formatAttributes refuses what no reader could parse back', () => {
    assert.throws(() => formatAttributes({ codecs: 'x' }), RangeError);
    assert.throws(() => formatAttributes({ NAME: 'two words' }), RangeError);
    assert.throws(() => formatAttributes({ NAME: 'a,b' }), RangeError);
    assert.throws(() => formatAttributes({ NAME: { quoted: 'say "hi"' } }), RangeError);
    assert.throws(() => formatAttributes({ BANDWIDTH: Number.NaN }), RangeError);
  });
});

describe('§4.3.2 media segment tags', () => {
  // Shaped like §8.1: a short VOD playlist.
  const simple = ['#EXTM3U', '#EXT-X-TARGETDURATION:10', '#EXT-X-VERSION:3', '#EXTINF:9.009,', 'https://media.example.com/first.ts', '#EXTINF:9.009,', 'https://media.example.com/second.ts', '#EXTINF:3.003,', 'https://media.example.com/third.ts', '#EXT-X-ENDLIST'].join('\n');

  test('§8.1-style playlist: durations, version, end list, defaults of the sequence numbers', () => {
    const p = parseMediaPlaylist(simple);
    assert.equal(p.version, 3);
    assert.equal(p.targetDuration, 10);
    assert.equal(p.mediaSequence, 0);
    assert.equal(p.discontinuitySequence, 0);
    assert.equal(p.endList, true);
    assert.equal(p.independentSegments, false);
    assert.equal(p.playlistType, undefined);
    assert.deepEqual(p.segments.map((s) => [s.uri, s.duration]), [
      ['https://media.example.com/first.ts', 9.009],
      ['https://media.example.com/second.ts', 9.009],
      ['https://media.example.com/third.ts', 3.003],
    ]);
    assert.equal(p.segments[0]?.discontinuity, false);
  });

  test('§8.2-style live playlist: media sequence, no end list', () => {
    const text = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:8', '#EXT-X-MEDIA-SEQUENCE:2680', '#EXT-X-DISCONTINUITY-SEQUENCE:4', '', '#EXTINF:7.975,', 'https://priv.example.com/fileSequence2680.ts', '#EXTINF:7.941,', 'https://priv.example.com/fileSequence2681.ts'].join('\n');
    const p = parseMediaPlaylist(text);
    assert.equal(p.mediaSequence, 2680);
    assert.equal(p.discontinuitySequence, 4);
    assert.equal(p.endList, false);
    assert.equal(p.segments.length, 2);
  });

  test('§4.3.2.1 EXTINF: title after the comma; a missing comma is accepted', () => {
    const p = parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:5.5,Opening, part one\na.ts\n#EXTINF:6\nb.ts\n');
    assert.equal(p.segments[0]?.title, 'Opening, part one');
    assert.equal(p.segments[0]?.duration, 5.5);
    assert.equal(p.segments[1]?.title, undefined);
    assert.equal(p.segments[1]?.duration, 6);
  });

  test('§4.3.2.1 EXTINF without a URI, and a URI without EXTINF, are errors', () => {
    throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\n'), /EXTINF is not followed by a URI/);
    throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\n#EXTINF:6,\na.ts\n'), /line 3: EXTINF is not followed by a URI/);
    throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:6\na.ts\n'), /no EXTINF/);
    throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:six,\na.ts\n'), /not a decimal number/);
  });

  test('§4.3.2.2 byte ranges: explicit offsets, and offsets continued from the previous sub-range', () => {
    const text = ['#EXTM3U', '#EXT-X-TARGETDURATION:10', '#EXT-X-VERSION:4', '#EXTINF:10,', '#EXT-X-BYTERANGE:75232@0', 'all.ts', '#EXT-X-BYTERANGE:82112', '#EXTINF:10,', 'all.ts', '#EXTINF:10,', '#EXT-X-BYTERANGE:69864', 'all.ts', '#EXTINF:10,', '#EXT-X-BYTERANGE:1000@5', 'other.ts'].join('\n');
    const p = parseMediaPlaylist(text);
    assert.deepEqual(p.segments.map((s) => s.byteRange), [
      { length: 75232, offset: 0 },
      { length: 82112, offset: 75232 },
      { length: 69864, offset: 157344 },
      { length: 1000, offset: 5 },
    ]);
  });

  test('§4.3.2.2 a range without offset must follow a sub-range of the same resource', () => {
    throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n#EXT-X-BYTERANGE:100\na.ts\n'), /same resource/);
    throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n#EXT-X-BYTERANGE:100@0\na.ts\n#EXTINF:10,\n#EXT-X-BYTERANGE:100\nb.ts\n'), /same resource/);
    throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n#EXT-X-BYTERANGE:lots\na.ts\n'), /byte range/);
  });

  test('§4.3.2.3 discontinuity marks the next segment only', () => {
    const text = ['#EXTM3U', '#EXT-X-TARGETDURATION:6', '#EXTINF:6,', 'a.ts', '#EXT-X-DISCONTINUITY', '#EXTINF:6,', 'ad1.ts', '#EXTINF:6,', 'ad2.ts', '#EXTINF:6,', '#EXT-X-DISCONTINUITY', 'b.ts'].join('\n');
    assert.deepEqual(parseMediaPlaylist(text).segments.map((s) => s.discontinuity), [false, true, false, true]);
  });

  test('§4.3.2.5 EXT-X-MAP applies to every following segment until the next one', () => {
    const text = ['#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXT-X-VERSION:7', '#EXTINF:2,', 'before.ts', '#EXT-X-MAP:URI="init-a.mp4"', '#EXTINF:2,', 'a1.m4s', '#EXTINF:2,', 'a2.m4s', '#EXT-X-DISCONTINUITY', '#EXT-X-MAP:URI="both.mp4",BYTERANGE="720@0"', '#EXTINF:2,', '#EXT-X-BYTERANGE:5000@720', 'both.mp4'].join('\n');
    const p = parseMediaPlaylist(text);
    assert.deepEqual(p.segments.map((s) => s.map), [undefined, { uri: 'init-a.mp4' }, { uri: 'init-a.mp4' }, { uri: 'both.mp4', byteRange: { length: 720, offset: 0 } }]);
    assert.deepEqual(p.segments[3]?.byteRange, { length: 5000, offset: 720 });
    throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:BYTERANGE="1@0"\n'), /URI/);
  });

  describe('§4.3.2.6 EXT-X-PROGRAM-DATE-TIME', () => {
    const at = (iso: string): number => Date.parse(iso);

    test('a tag dates its segment; later segments carry it forward by their durations', () => {
      const text = ['#EXTM3U', '#EXT-X-TARGETDURATION:4', '#EXT-X-PROGRAM-DATE-TIME:2024-04-18T19:16:56.833Z', '#EXTINF:4.0,', 's1.ts', '#EXTINF:3.5,', 's2.ts', '#EXTINF:4.0,', 's3.ts'].join('\n');
      const p = parseMediaPlaylist(text);
      assert.deepEqual(p.segments.map((s) => s.programDateTime), [at('2024-04-18T19:16:56.833Z'), at('2024-04-18T19:17:00.833Z'), at('2024-04-18T19:17:04.333Z')]);
    });

    test('a later tag re-anchors the clock', () => {
      const text = ['#EXTM3U', '#EXT-X-TARGETDURATION:4', '#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00Z', '#EXTINF:4,', 's1.ts', '#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:10Z', '#EXTINF:4,', 's2.ts', '#EXTINF:4,', 's3.ts'].join('\n');
      assert.deepEqual(parseMediaPlaylist(text).segments.map((s) => s.programDateTime), [at('2024-01-01T00:00:00Z'), at('2024-01-01T00:00:10Z'), at('2024-01-01T00:00:14Z')]);
    });

    test('segments before the first tag have no date; a discontinuity stops the carrying', () => {
      const text = ['#EXTM3U', '#EXT-X-TARGETDURATION:4', '#EXTINF:4,', 's0.ts', '#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00Z', '#EXTINF:4,', 's1.ts', '#EXT-X-DISCONTINUITY', '#EXTINF:4,', 's2.ts', '#EXT-X-PROGRAM-DATE-TIME:2024-01-01T01:00:00Z', '#EXTINF:4,', 's3.ts', '#EXTINF:4,', 's4.ts'].join('\n');
      assert.deepEqual(parseMediaPlaylist(text).segments.map((s) => s.programDateTime), [undefined, at('2024-01-01T00:00:00Z'), undefined, at('2024-01-01T01:00:00Z'), at('2024-01-01T01:00:04Z')]);
    });

    test('a thousand 1.001 s segments do not drift', () => {
      const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:1', '#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.000Z'];
      for (let i = 0; i < 1001; i++) lines.push('#EXTINF:1.001,', `s${i}.ts`);
      const p = parseMediaPlaylist(lines.join('\n'));
      assert.equal(p.segments[1000]?.programDateTime, at('2024-01-01T00:00:00Z') + 1_001_000);
    });

    test('time zone forms: Z, ±hh:mm, ±hhmm (ffmpeg), none (UTC), and finer than milliseconds', () => {
      const dates = ['2024-03-01T12:00:00.500Z', '2024-03-01T14:00:00.500+02:00', '2024-03-01T07:00:00.500-0500', '2024-03-01T12:00:00.500', '2024-03-01T12:00:00.5004Z'];
      const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:1'];
      for (const [i, d] of dates.entries()) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${d}`, '#EXTINF:1,', `s${i}.ts`);
      const got = parseMediaPlaylist(lines.join('\n')).segments.map((s) => s.programDateTime);
      const base = at('2024-03-01T12:00:00.500Z');
      assert.deepEqual(got.slice(0, 4), [base, base, base, base]);
      assert.ok(Math.abs((got[4] ?? 0) - (base + 0.4)) < 1e-6);
    });

    test('years 0000-0099 are those years, not 1900-1999 (and year 0 is a leap year)', () => {
      const dates = ['0050-01-01T00:00:00Z', '0099-12-31T23:59:59.250+01:00', '0000-02-29T12:00:00Z'];
      const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:1'];
      for (const [i, d] of dates.entries()) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${d}`, '#EXTINF:1,', `s${i}.ts`);
      const got = parseMediaPlaylist(lines.join('\n')).segments.map((s) => new Date(s.programDateTime ?? NaN).toISOString());
      assert.deepEqual(got, ['0050-01-01T00:00:00.000Z', '0099-12-31T22:59:59.250Z', '0000-02-29T12:00:00.000Z']);
    });

    test('a date that is not ISO 8601 is an error', () => {
      throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PROGRAM-DATE-TIME:yesterday\n#EXTINF:1,\na.ts\n'), /not an ISO 8601/);
      throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PROGRAM-DATE-TIME:2024-02-30T00:00:00Z\n#EXTINF:1,\na.ts\n'), /not an ISO 8601/);
    });
  });
});

describe('§4.3.3 media playlist tags', () => {
  test('§4.3.3.1 EXT-X-TARGETDURATION is required', () => {
    throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXTINF:6,\na.ts\n'), /EXT-X-TARGETDURATION/);
    throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:6.5\n'), /decimal-integer/);
  });

  test('§4.3.3.5 playlist type EVENT or VOD; §4.3.5.1 independent segments', () => {
    const p = parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-INDEPENDENT-SEGMENTS\n');
    assert.equal(p.playlistType, 'EVENT');
    assert.equal(p.independentSegments, true);
    assert.deepEqual(p.segments, []);
    throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:LIVE\n'), /EVENT or VOD/);
  });

  test('multivariant tags in a media playlist are refused', () => {
    throwsParse(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n'), /multivariant/);
  });
});

describe('§4.3.4 multivariant playlist tags', () => {
  test('§8.4-style playlist: variants with the URI on the following line', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-STREAM-INF:BANDWIDTH=1280000,AVERAGE-BANDWIDTH=1000000',
      'http://example.com/low.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=2560000,AVERAGE-BANDWIDTH=2000000',
      'http://example.com/mid.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=65000,CODECS="mp4a.40.5"',
      'http://example.com/audio-only.m3u8',
    ].join('\n');
    const p = parseMultivariantPlaylist(text);
    assert.equal(p.version, 6);
    assert.equal(p.independentSegments, true);
    assert.deepEqual(p.variants, [
      { uri: 'http://example.com/low.m3u8', bandwidth: 1280000, averageBandwidth: 1000000 },
      { uri: 'http://example.com/mid.m3u8', bandwidth: 2560000, averageBandwidth: 2000000 },
      { uri: 'http://example.com/audio-only.m3u8', bandwidth: 65000, codecs: 'mp4a.40.5' },
    ]);
  });

  test('§8.6-style playlist: audio renditions in a group referenced by the variants', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",LANGUAGE="en",NAME="English",AUTOSELECT=YES,DEFAULT=YES,CHANNELS="2"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",LANGUAGE="de",NAME="Deutsch",AUTOSELECT=YES,DEFAULT=NO,URI="de/prog.m3u8"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",URI="subs/en.m3u8"',
      '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS="avc1.42001e,mp4a.40.2",AUDIO="aac",SUBTITLES="subs",CLOSED-CAPTIONS="cc"',
      'low/video-only.m3u8',
    ].join('\n');
    const p = parseMultivariantPlaylist(text);
    assert.deepEqual(p.renditions, [
      { type: 'AUDIO', groupId: 'aac', name: 'English', default: true, autoselect: true, language: 'en', channels: '2' },
      { type: 'AUDIO', groupId: 'aac', name: 'Deutsch', default: false, autoselect: true, uri: 'de/prog.m3u8', language: 'de' },
      { type: 'SUBTITLES', groupId: 'subs', name: 'English', default: false, autoselect: false, uri: 'subs/en.m3u8', language: 'en' },
      { type: 'CLOSED-CAPTIONS', groupId: 'cc', name: 'CC1', default: false, autoselect: false },
    ]);
    assert.equal(p.variants[0]?.audio, 'aac');
    assert.equal(p.variants[0]?.subtitles, 'subs');
    assert.equal(p.variants[0]?.closedCaptions, 'cc');
  });

  test('required attributes and the URI line are enforced', () => {
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:CODECS="avc1.42001e"\na.m3u8\n'), /BANDWIDTH/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n'), /not followed by a URI/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\nb.m3u8\n'), /line 2: EXT-X-STREAM-INF is not followed by a URI/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\nstray.m3u8\n'), /does not follow an EXT-X-STREAM-INF/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,NAME="x"\n'), /GROUP-ID/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-MEDIA:TYPE=MUSIC,GROUP-ID="a",NAME="x"\n'), /TYPE MUSIC/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="a",NAME="x",URI="x.m3u8"\n'), /must not have a URI/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="x",DEFAULT=TRUE\n'), /YES or NO/);
    throwsParse(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:6\n'), /media playlist/);
  });

  test('isMultivariant tells the two kinds apart', () => {
    assert.equal(isMultivariant('#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n'), true);
    assert.equal(isMultivariant('#EXTM3U\r\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="b"\r\n'), true);
    assert.equal(isMultivariant('#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\na.ts\n'), false);
    assert.equal(isMultivariant('#EXTM3U\n'), false);
  });
});

describe('real encoder output (ffmpeg)', () => {
  test('ffmpeg is installed (README: apt-get install -y ffmpeg)', () => assert.ok(HAS_FFMPEG));
  const ffmpeg = (dir: string, args: string[]): void => {
    const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '4', ...args], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };

  test('fMP4 media playlist with PROGRAM-DATE-TIME after EXTINF: map, durations, dates one duration apart', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'packhouse-hls-'));
    try {
      ffmpeg(dir, ['-c:v', 'libx264', '-g', '25', '-c:a', 'aac', '-f', 'hls', '-hls_time', '1', '-hls_segment_type', 'fmp4', '-hls_flags', 'program_date_time+independent_segments', '-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', 'seg%03d.m4s', 'index.m3u8']);
      const text = readFileSync(path.join(dir, 'index.m3u8'), 'utf8');
      assert.equal(isMultivariant(text), false);
      const p = parseMediaPlaylist(text);
      const files = readdirSync(dir).filter((f) => f.endsWith('.m4s')).sort();
      assert.deepEqual(p.segments.map((s) => s.uri), files);
      assert.equal(p.endList, true);
      assert.equal(p.independentSegments, true);
      assert.ok(p.segments.every((s) => s.map?.uri === 'init.mp4'));
      for (let i = 1; i < p.segments.length; i++) {
        const prev = p.segments[i - 1]!;
        const cur = p.segments[i]!;
        assert.ok(prev.programDateTime !== undefined && cur.programDateTime !== undefined);
        assert.ok(Math.abs(cur.programDateTime - prev.programDateTime - prev.duration * 1000) <= 1, `segment ${i} date`);
      }
      const total = p.segments.reduce((sum, s) => sum + s.duration, 0);
      assert.ok(Math.abs(total - 4) < 0.2, `total ${total}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('multivariant playlist from -var_stream_map and -master_pl_name, and its media playlists', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'packhouse-hls-'));
    try {
      ffmpeg(dir, [
        '-map', '0:v', '-map', '0:v', '-map', '1:a',
        '-c:v', 'libx264', '-g', '25', '-s:v:0', '320x240', '-b:v:0', '500k', '-s:v:1', '160x120', '-b:v:1', '200k',
        '-c:a', 'aac', '-b:a', '64k',
        '-f', 'hls', '-hls_time', '1', '-hls_segment_type', 'mpegts', '-master_pl_name', 'master.m3u8',
        '-var_stream_map', 'v:0,agroup:aud v:1,agroup:aud a:0,agroup:aud,language:en,name:audio_en',
        '-hls_segment_filename', '%v_%03d.ts', '%v.m3u8',
      ]);
      const text = readFileSync(path.join(dir, 'master.m3u8'), 'utf8');
      assert.equal(isMultivariant(text), true);
      const p = parseMultivariantPlaylist(text);
      const video = p.variants.filter((v) => v.resolution !== undefined);
      assert.deepEqual(video.map((v) => v.resolution), [{ width: 320, height: 240 }, { width: 160, height: 120 }]);
      assert.ok(video.every((v) => v.audio === p.renditions[0]?.groupId && /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/.test(v.codecs ?? '')));
      assert.ok((video[0]?.bandwidth ?? 0) > (video[1]?.bandwidth ?? 0));
      assert.equal(p.renditions.length, 1);
      assert.equal(p.renditions[0]?.type, 'AUDIO');
      assert.equal(p.renditions[0]?.language, 'en');
      assert.equal(p.renditions[0]?.uri, 'audio_en.m3u8');
      for (const v of p.variants) {
        const child = parseMediaPlaylist(readFileSync(path.join(dir, v.uri), 'utf8'));
        assert.ok(child.segments.length >= 3, v.uri);
        assert.ok(child.segments.every((s) => s.duration <= child.targetDuration + 0.5));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
