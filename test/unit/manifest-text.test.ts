// Text written into manifests cannot add lines, tags or attributes (media/manifest-text.ts and the writers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hlsQuoted, manifestUri, xmlAttr } from '../../src/media/manifest-text.js';
import { writeMediaPlaylist, writeMultivariant } from '../../src/media/hls/writer.js';
import { writeMpd } from '../../src/media/dash/mpd-writer.js';
import type { OutputSegment, OutputTrack } from '../../src/media/timeline/model.js';

test('manifestUri encodes what a URI may not hold and keeps everything else, escapes included', () => {
  assert.equal(manifestUri('index_v.m3u8?start=2026-11-28T10:00:00%2B01:00&end=1'), 'index_v.m3u8?start=2026-11-28T10:00:00%2B01:00&end=1');
  assert.equal(manifestUri('a\nb\r"c d<e>'), 'a%0Ab%0D%22c%20d%3Ce%3E');
  assert.equal(manifestUri('ü%zz%4'), '%C3%BC%25zz%254');
  assert.equal(manifestUri('seg_$RepresentationID$_$Number$.mp4'), 'seg_$RepresentationID$_$Number$.mp4');
  assert.equal(manifestUri('\ud800x'), '%EF%BF%BDx');
});

test('hlsQuoted and xmlAttr leave no quote, line break or markup', () => {
  assert.equal(hlsQuoted('en"\r\n#EXT-X-X'), "en'#EXT-X-X");
  assert.equal(xmlAttr(`a"b'<c>&\n\u0001`), 'a&quot;b&apos;&lt;c&gt;&amp;&#10;');
});

const track = (id: string): OutputTrack => ({ id, kind: 'video', codecs: 'avc1.64001f', bandwidth: 1000, timescale: 90000, container: 'ts' });
const seg: OutputSegment = { seq: 1, startMs: 0, durationMs: 2000, mediaTime: 0, mediaDuration: 180000, discontinuity: false };
const hostile = 'v\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://evil.example/x"';

test('HLS writers put every URI on its own line or inside its quotes, whatever the name', () => {
  const mv = writeMultivariant({ tracks: [track(hostile)], playlistUri: (t) => `index_${t.id}.m3u8`, version: 3 });
  assert.equal(mv.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF')).length, 1);
  assert.doesNotMatch(mv, /^http/m);
  const media = writeMediaPlaylist({ track: track(hostile), segments: [seg], segmentUri: () => `seg_${hostile}.ts`, initUri: () => `init_${hostile}.mp4`, version: 6, closed: true });
  assert.equal(media.split('\n').filter((l) => l.startsWith('#EXT-X-MAP')).length, 1);
  assert.doesNotMatch(media, /^(http|#EXT-X-STREAM-INF)/m);
  assert.match(media, /^#EXT-X-MAP:URI="init_v%0A#EXT-X-STREAM-INF:BANDWIDTH=1%0Ahttp:\/\/evil.example\/x%22.mp4"$/m);
  assert.match(media, /^seg_v%0A#EXT-X-STREAM-INF:BANDWIDTH=1%0Ahttp:\/\/evil.example\/x%22.ts$/m);
});

test('the MPD writer escapes names and URIs in attributes', () => {
  const t: OutputTrack = { ...track(`a"><Evil/>`), container: 'fmp4' };
  const mpd = writeMpd({ tracks: [t], segments: new Map([[t.id, [seg]]]), closed: true, nowMs: 0, mediaTemplate: () => `seg_"<x>.mp4`, initialization: () => 'init.mp4', minUpdatePeriodSeconds: 2, minBufferTimeSeconds: 5, suggestedPresentationDelaySeconds: 10 });
  assert.doesNotMatch(mpd, /<Evil/);
  assert.match(mpd, /id="a&quot;&gt;&lt;Evil\/&gt;"/);
  assert.match(mpd, /media="seg_%22%3Cx%3E.mp4"/);
});
