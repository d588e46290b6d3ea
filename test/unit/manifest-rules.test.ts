// The manifest conformance checks (test/support/manifest-rules.ts) catch what they exist to catch,
// and the writers' output passes them: every MPD shape against the DASH MPD schema (xmllint), every
// playlist shape against the RFC 8216 / 8216bis rules.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { writeMpd, type MpdOptions } from '../../src/media/dash/mpd-writer.js';
import { writeMediaPlaylist, writeMultivariant, type MediaPlaylistOptions } from '../../src/media/hls/writer.js';
import type { OutputSegment, OutputTrack } from '../../src/media/timeline/model.js';
import { assertValidMpd, assertValidPlaylist, hlsErrors, mpdSchemaErrors } from '../support/manifest-rules.js';
import { findAll, parseXml } from '../support/live.js';

const T0 = 1_800_000_000_000;
const video: OutputTrack = { id: 'index_0', kind: 'video', container: 'fmp4', codecs: 'avc1.64001f', bandwidth: 1_000_000, width: 640, height: 360, frameRate: 25, timescale: 90000 };
const video2: OutputTrack = { ...video, id: 'index_1', bandwidth: 300_000, width: 320, height: 180 };
const audio: OutputTrack = { id: 'index_2', kind: 'audio', container: 'fmp4', codecs: 'mp4a.40.2', bandwidth: 64_000, timescale: 48000, sampleRate: 48000, channels: 2, language: 'en' };

function run(track: OutputTrack, fromSeq: number, count: number, wall0: number, media0: number, discSeq: number, initId: string, discontinuity = false): OutputSegment[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: fromSeq + i,
    startMs: wall0 + i * 2000,
    durationMs: 2000,
    mediaTime: Math.round((media0 + i * 2) * track.timescale),
    mediaDuration: 2 * track.timescale,
    discontinuity: i === 0 && discontinuity,
    discSeq,
    initId,
  }));
}

/** Two runs of content with an encoder restart between them (media time starts again). */
function restarted(t: OutputTrack): OutputSegment[] {
  return [...run(t, 1, 5, T0, 100, 0, `${t.id}a`), ...run(t, 6, 4, T0 + 10_000, 0, 1, `${t.id}b`, true)];
}

const mpdOptions = (closed: boolean, extra: Partial<MpdOptions> = {}): MpdOptions => ({
  tracks: [video, video2, audio],
  segments: new Map([video, video2, audio].map((t) => [t.id, restarted(t)])),
  closed,
  nowMs: T0 + 30_000,
  mediaTemplate: () => 'segment_$RepresentationID$_$Number$.g2.mp4',
  initialization: (t, id) => `segment_${t.id}_init-${id ?? 'x'}.mp4`,
  minUpdatePeriodSeconds: 2,
  minBufferTimeSeconds: 5,
  suggestedPresentationDelaySeconds: 10,
  ...extra,
});

const GOOD_MPD = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="PT10S" minBufferTime="PT5S">
<Period id="1" start="PT0S">
<AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
<Representation id="v" bandwidth="1000" codecs="avc1.64001f" width="640" height="360" frameRate="25000/1000">
<SegmentTemplate timescale="90000" startNumber="1" media="s_$Number$.mp4" initialization="i.mp4"><SegmentTimeline><S t="0" d="180000" r="4"/></SegmentTimeline></SegmentTemplate>
</Representation>
</AdaptationSet>
<SupplementalProperty schemeIdUri="urn:scte:dash:utc-time" value="2027-01-15T08:00:00.000Z"/>
</Period>
</MPD>
`;

describe('the DASH MPD schema (xmllint)', () => {
  test('accepts a well-formed live-profile MPD', async () => {
    assert.deepEqual(await mpdSchemaErrors(GOOD_MPD), []);
  });

  test('rejects a Period whose SupplementalProperty comes before its AdaptationSets', async () => {
    const bad = GOOD_MPD.replace(/(<SupplementalProperty[^>]*\/>)\n/, '').replace('<AdaptationSet', '<SupplementalProperty schemeIdUri="urn:scte:dash:utc-time" value="2027-01-15T08:00:00.000Z"/>\n<AdaptationSet');
    const errors = await mpdSchemaErrors(bad);
    assert.ok(errors.some((e) => e.includes('AdaptationSet')), errors.join('\n'));
  });

  test('rejects bad durations, dates, frame rates and missing required attributes', async () => {
    for (const [from, to] of [
      ['mediaPresentationDuration="PT10S"', 'mediaPresentationDuration="10s"'],
      ['minBufferTime="PT5S"', 'minBufferTime="PT5S" publishTime="2027-01-15 08:00:00"'],
      ['frameRate="25000/1000"', 'frameRate="25.0"'],
      [' bandwidth="1000"', ''],
      [' minBufferTime="PT5S"', ''],
      ['<S t="0" d="180000" r="4"/>', '<S t="0" r="4"/>'],
      ['startWithSAP="1"', 'startWithSAP="7"'],
      ['contentType="video"', 'contentType="movie"'],
      ['<Representation id="v"', '<Representation id="v 1"'],
      ['<Period id="1" start="PT0S">', '<Period id="1" start="PT0S" label="x">'],
    ] as const) {
      const errors = await mpdSchemaErrors(GOOD_MPD.replace(from, to));
      assert.ok(errors.length > 0, `${to || `without ${from}`} should not validate`);
    }
  });
});

describe('DrmSignaling REFERENCED (ISO/IEC 23009-1 5th edition ContentProtection references)', () => {
  const kid = (t: OutputTrack) => (t.kind === 'audio' ? '22222222-2222-4222-8222-222222222222' : '11111111-1111-4111-8111-111111111111');
  const protection: MpdOptions['contentProtection'] = (t) => [
    { schemeIdUri: 'urn:mpeg:dash:mp4protection:2011', value: 'cenc', attributes: ` cenc:default_KID="${kid(t)}"` },
    { schemeIdUri: 'urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed', value: 'Widevine', children: `<cenc:pssh>${Buffer.from(kid(t)).toString('base64')}</cenc:pssh>` },
    { schemeIdUri: 'urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e', value: 'ClearKey1.0' },
  ];

  test('each distinct element is declared once at MPD level with a refId and referenced from every AdaptationSet of every period; the MPD validates', async () => {
    for (const closed of [false, true]) {
      const mpd = writeMpd(mpdOptions(closed, { contentProtection: protection, drmSignaling: 'REFERENCED' }));
      await assertValidMpd(mpd, `REFERENCED ${closed ? 'static' : 'dynamic'} MPD`);
      const root = parseXml(mpd);
      const declared = root.children.filter((c) => c.name === 'ContentProtection');
      // Video and audio keys: two mp4protection, two Widevine, one ClearKey (the same for both).
      assert.equal(declared.length, 5, mpd);
      assert.ok(declared.every((d) => /^cp-[0-9a-f]{16}$/.test(d.attrs['refId'] ?? '')));
      const ids = new Set(declared.map((d) => d.attrs['refId']));
      const refs = findAll(root, 'ContentProtection').filter((c) => !declared.includes(c));
      assert.equal(refs.length, 2 * 2 * 3, 'three references in each AdaptationSet (video, audio) of each of the two periods');
      for (const r of refs) {
        assert.ok(ids.has(r.attrs['ref']), `${r.attrs['ref']} is declared`);
        assert.equal(r.children.length, 0);
        assert.equal(r.attrs['cenc:default_KID'], undefined);
        assert.equal(r.attrs['schemeIdUri'], declared.find((d) => d.attrs['refId'] === r.attrs['ref'])!.attrs['schemeIdUri']);
      }
      // The same content has the same refId from one update to the next.
      assert.deepEqual([...ids], [...new Set(findAll(parseXml(writeMpd(mpdOptions(closed, { contentProtection: protection, drmSignaling: 'REFERENCED', nowMs: T0 + 40_000 }))), 'ContentProtection').map((c) => c.attrs['refId']).filter(Boolean))]);
    }
    const individual = writeMpd(mpdOptions(false, { contentProtection: protection }));
    await assertValidMpd(individual, 'INDIVIDUAL MPD');
    assert.ok(!/refId=|ref=/.test(individual));
    assert.equal(findAll(parseXml(individual), 'ContentProtection').length, 2 * 2 * 3);
  });

  test('the schema refuses a ref that names no declared refId', async () => {
    const mpd = writeMpd(mpdOptions(true, { contentProtection: protection, drmSignaling: 'REFERENCED' }));
    const errors = await mpdSchemaErrors(mpd.replace(/ ref="cp-[0-9a-f]{16}"/, ' ref="cp-nowhere"'));
    assert.ok(errors.some((e) => /cp-nowhere|IDREF/i.test(e)), errors.join('\n') || 'no error');
  });
});

describe('the HLS rule checker', () => {
  const media = (body: string, head = '#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1') => `#EXTM3U\n${head}\n${body}`;

  test('accepts a plain fMP4 media playlist', () => {
    assert.deepEqual(hlsErrors(media('#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2.000,\ns1.mp4\n#EXTINF:2.000,\ns2.mp4\n#EXT-X-ENDLIST')), []);
  });

  test('catches what RFC 8216 forbids', () => {
    const cases: [string, string, RegExp][] = [
      ['an EXTINF rounding above the target duration', media('#EXT-X-MAP:URI="i.mp4"\n#EXTINF:2.600,\ns1.mp4'), /rounds above EXT-X-TARGETDURATION/],
      ['EXT-X-MAP under version 6', media('#EXT-X-MAP:URI="i.mp4"\n#EXTINF:2.000,\ns1.mp4', '#EXT-X-VERSION:5\n#EXT-X-TARGETDURATION:2'), /needs EXT-X-VERSION 6/],
      ['a float EXTINF under version 3', media('#EXTINF:2.000,\ns1.ts', '#EXT-X-VERSION:2\n#EXT-X-TARGETDURATION:2'), /needs EXT-X-VERSION 3/],
      ['an fMP4 segment without EXT-X-MAP', media('#EXTINF:2.000,\ns1.mp4'), /without an EXT-X-MAP/],
      ['no target duration', media('#EXTINF:2.000,\ns1.ts', '#EXT-X-VERSION:3'), /no EXT-X-TARGETDURATION/],
      ['a media sequence after the first segment', media('#EXTINF:2.000,\ns1.ts\n#EXT-X-MEDIA-SEQUENCE:3'), /after the first media segment/],
      ['a bad date', media('#EXT-X-PROGRAM-DATE-TIME:2027-01-15 08:00:00\n#EXTINF:2.000,\ns1.ts'), /not an ISO 8601 date-time/],
      ['a segment without EXTINF', media('s1.ts'), /has no EXTINF/],
      ['a repeated attribute', media('#EXT-X-MAP:URI="a.mp4",URI="b.mp4"\n#EXTINF:2.000,\ns1.mp4'), /appears twice/],
      ['two target durations', media('#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\ns1.ts'), /more than once/],
      ['a part longer than the part target', media('#EXT-X-MAP:URI="i.mp4"\n#EXT-X-PART:DURATION=1.200,URI="p0.mp4"', '#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=3.000\n#EXT-X-PART-INF:PART-TARGET=1.000'), /exceeds PART-TARGET/],
      ['a short non-independent part', media('#EXT-X-MAP:URI="i.mp4"\n#EXT-X-PART:DURATION=0.500,URI="p0.mp4"\n#EXT-X-PART:DURATION=1.000,URI="p1.mp4"', '#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=3.000\n#EXT-X-PART-INF:PART-TARGET=1.000'), /under 85%/],
      ['parts without PART-HOLD-BACK', media('#EXT-X-MAP:URI="i.mp4"\n#EXT-X-PART:DURATION=1.000,URI="p0.mp4"', '#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-PART-INF:PART-TARGET=1.000'), /PART-HOLD-BACK/],
      ['parts without PART-INF', media('#EXT-X-MAP:URI="i.mp4"\n#EXT-X-PART:DURATION=1.000,URI="p0.mp4"'), /without EXT-X-PART-INF/],
      ['a multivariant tag in a media playlist', media('#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n#EXTINF:2.000,\ns1.ts'), /mixes/],
    ];
    for (const [what, text, expected] of cases) {
      const errors = hlsErrors(text);
      assert.ok(errors.some((e) => expected.test(e)), `${what}: ${errors.join(' | ') || 'no error'}`);
    }
  });

  test('catches multivariant mistakes', () => {
    const mv = (body: string) => `#EXTM3U\n#EXT-X-VERSION:6\n${body}`;
    const cases: [string, string, RegExp][] = [
      ['a variant without BANDWIDTH', mv('#EXT-X-STREAM-INF:CODECS="avc1.64001f"\na.m3u8'), /required attribute BANDWIDTH/],
      ['a variant without URI', mv('#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.64001f"'), /not followed by the URI/],
      ['an unknown audio group', mv('#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.64001f",AUDIO="a"\na.m3u8'), /names no EXT-X-MEDIA group/],
      ['two members with one NAME', mv('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="1.m3u8"\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="2.m3u8"'), /share a NAME/],
      ['DEFAULT=YES with AUTOSELECT=NO', mv('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",DEFAULT=YES,AUTOSELECT=NO,URI="1.m3u8"'), /AUTOSELECT=YES/],
      ['a bad resolution', mv('#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.64001f",RESOLUTION=640*360\na.m3u8'), /not a resolution/],
      ['a bad language', mv('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="x",LANGUAGE="en_US",URI="1.m3u8"'), /RFC 5646/],
      ['a session key with METHOD=NONE', mv('#EXT-X-SESSION-KEY:METHOD=NONE,URI="k"\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.64001f"\na.m3u8'), /METHOD=NONE is not one of/],
      ['a session key without URI', mv('#EXT-X-SESSION-KEY:METHOD=AES-128\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.64001f"\na.m3u8'), /required attribute URI/],
      ['the same session key twice', mv('#EXT-X-SESSION-KEY:METHOD=AES-128,URI="k"\n#EXT-X-SESSION-KEY:METHOD=AES-128,URI="k"\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.64001f"\na.m3u8'), /two EXT-X-SESSION-KEY/],
      ['a session key with KEYFORMAT below version 5', `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://k",KEYFORMAT="com.apple.streamingkeydelivery"\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.64001f"\na.m3u8`, /needs EXT-X-VERSION 5/],
    ];
    for (const [what, text, expected] of cases) {
      const errors = hlsErrors(text);
      assert.ok(errors.some((e) => expected.test(e)), `${what}: ${errors.join(' | ') || 'no error'}`);
    }
  });
});

describe('the writers pass the checks', () => {
  test('MPDs: dynamic and static, one and two periods, every UTCTiming scheme', async () => {
    const one = new Map([video, audio].map((t) => [t.id, run(t, 1, 5, T0, 0, 0, `${t.id}a`)]));
    await assertValidMpd(writeMpd(mpdOptions(false)), 'dynamic two-period MPD');
    await assertValidMpd(writeMpd(mpdOptions(true)), 'static two-period MPD');
    await assertValidMpd(writeMpd(mpdOptions(false, { segments: one, tracks: [video, audio] })), 'dynamic one-period MPD');
    await assertValidMpd(writeMpd(mpdOptions(true, { segments: one, tracks: [video, audio] })), 'static one-period MPD');
    for (const scheme of ['http-head', 'http-iso', 'http-xsdate', 'direct']) {
      const value = scheme === 'direct' ? new Date(T0).toISOString() : 'https://time.example.com/now';
      await assertValidMpd(writeMpd(mpdOptions(false, { utcTiming: { schemeIdUri: `urn:mpeg:dash:utc:${scheme}:2014`, value } })), `MPD with UTCTiming ${scheme}`);
    }
  });

  test('playlists: multivariant, media (CMAF and TS, live and VOD, with discontinuities), LL-HLS', () => {
    assertValidPlaylist(writeMultivariant({ tracks: [video, video2, audio], playlistUri: (t) => `index_${t.id}.m3u8`, version: 6 }), 'multivariant');
    const opts = (track: OutputTrack, extra: Partial<MediaPlaylistOptions> = {}): MediaPlaylistOptions => ({
      track,
      segments: restarted(track),
      segmentUri: (s) => `segment_${track.id}_${s.seq}.${track.container === 'ts' ? 'ts' : 'mp4'}`,
      initUri: track.container === 'ts' ? undefined : (s) => `segment_${track.id}_init-${s.initId ?? 'x'}.mp4`,
      version: track.container === 'ts' ? 3 : 6,
      closed: false,
      minTargetDuration: 2,
      programDateTimeIntervalSeconds: 1,
      ...extra,
    });
    assertValidPlaylist(writeMediaPlaylist(opts(video)), 'live CMAF media playlist');
    assertValidPlaylist(writeMediaPlaylist(opts(audio, { closed: true, startTag: { timeOffset: -4.5, precise: true } })), 'VOD CMAF media playlist');
    const ts: OutputTrack = { ...video, container: 'ts' };
    assertValidPlaylist(writeMediaPlaylist(opts(ts)), 'live TS media playlist');
    const segs = restarted(video);
    const part = (s: OutputSegment, i: number) => ({ durationMs: 1000, uri: `segment_${video.id}_${s.seq}.g2.p${i}.mp4`, independent: true });
    const tail: OutputSegment = { ...segs[segs.length - 1]!, seq: segs[segs.length - 1]!.seq + 1, startMs: segs[segs.length - 1]!.startMs + 2000, discontinuity: false };
    assertValidPlaylist(
      writeMediaPlaylist(
        opts(video, {
          segments: segs,
          lowLatency: {
            partTargetSeconds: 1,
            parts: (s) => (s.seq >= segs.length - 2 ? [part(s, 0), part(s, 1)] : undefined),
            tail: { segment: tail, parts: [part(tail, 0)] },
            preloadHintUri: `segment_${video.id}_${tail.seq}.g2.p1.mp4`,
            renditionReports: [{ uri: 'low_index_1.m3u8', lastMsn: tail.seq, lastPart: 0 }],
          },
        }),
      ),
      'LL-HLS media playlist',
    );
  });
});

describe('what the writers got wrong', () => {
  const en2: OutputTrack = { ...audio, id: 'index_3', codecs: 'mp4a.40.5', bandwidth: 32_000 };

  test('two audio renditions of one language get different NAMEs in their group (RFC 8216 §4.3.4.1.1)', () => {
    const text = writeMultivariant({ tracks: [video, audio, en2], playlistUri: (t) => `index_${t.id}.m3u8`, version: 6 });
    assertValidPlaylist(text, 'multivariant with two English audio renditions');
    assert.match(text, /LANGUAGE="en"[^\n]*URI="index_index_2\.m3u8"/);
    assert.match(text, /LANGUAGE="en"[^\n]*URI="index_index_3\.m3u8"/);
  });

  test('a declared language that is not an RFC 5646 tag is mended or left out, in playlists and MPDs', async () => {
    for (const [declared, tag] of [
      ['en_US', 'en-US'],
      ['English (US)', undefined],
      ['fr', 'fr'],
    ] as const) {
      const a: OutputTrack = { ...audio, language: declared };
      const mv = writeMultivariant({ tracks: [video, a], playlistUri: (t) => `index_${t.id}.m3u8`, version: 6 });
      assertValidPlaylist(mv, `multivariant with audio language "${declared}"`);
      assert.match(mv, new RegExp(`LANGUAGE="${tag ?? 'und'}"`));
      const mpd = writeMpd(mpdOptions(true, { tracks: [video, a], segments: new Map([video, a].map((t) => [t.id, restarted(t)])) }));
      await assertValidMpd(mpd, `MPD with audio language "${declared}"`);
      if (tag) assert.match(mpd, new RegExp(`contentType="audio"[^>]* lang="${tag}"`));
      else assert.doesNotMatch(mpd, / lang=/);
    }
  });

  test('audio in two languages is two AdaptationSets, each with its lang (ISO/IEC 23009-1 §5.3.3)', async () => {
    const fr: OutputTrack = { ...en2, language: 'fr' };
    const mpd = writeMpd(mpdOptions(true, { tracks: [video, audio, fr], segments: new Map([video, audio, fr].map((t) => [t.id, restarted(t)])) }));
    await assertValidMpd(mpd, 'MPD with English and French audio');
    const sets = findAll(parseXml(mpd), 'Period').map((period) =>
      findAll(period, 'AdaptationSet').map((set) => [set.attrs['contentType'], set.attrs['lang'], findAll(set, 'Representation').map((r) => r.attrs['id'])]),
    );
    const expected = [
      ['video', undefined, ['index_0']],
      ['audio', 'en', ['index_2']],
      ['audio', 'fr', ['index_3']],
    ];
    assert.deepEqual(sets, [expected, expected]);
  });

  test('EXT-X-START TIME-OFFSET is a decimal number whatever its size (RFC 8216 §4.2)', () => {
    for (const timeOffset of [1e-7, -0.0000005, 12.3456789]) {
      const text = writeMediaPlaylist({
        track: video,
        segments: restarted(video),
        segmentUri: (s) => `s_${s.seq}.mp4`,
        initUri: (s) => `i_${s.initId ?? 'x'}.mp4`,
        version: 6,
        closed: true,
        startTag: { timeOffset, precise: false },
      });
      assertValidPlaylist(text, `EXT-X-START:TIME-OFFSET from ${timeOffset}`);
    }
  });
});
