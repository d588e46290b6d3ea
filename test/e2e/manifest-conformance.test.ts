/**
 * Every kind of manifest Packhouse writes, from a real server fed by real ffmpeg, checked as a
 * strict client would: each MPD against the DASH MPD schema (xmllint), each HLS playlist against
 * the RFC 8216 / 8216bis rules (test/support/manifest-rules.ts).
 *
 * A CMAF channel (1 s input segments, 2 s output segments) carries HLS, LL-HLS and five DASH
 * manifests covering the endpoint options (no UTCTiming, each UtcTiming mode, both Compactness
 * values, the DVB-DASH profile with DvbSettings, the SegmentTemplateFormat). Its encoder stops and
 * a second session starts again from media time 0 (an encoder restart). A TS channel carries HLS
 * and LL-HLS. Checked: the live manifests while the second session runs (the dynamic MPD then has
 * two periods), the time-shifted ones over both sessions (static, two periods), and the ones a
 * harvest job writes to the built-in S3 (s3rver).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateHarvestJobCommand, waitUntilHarvestJobFinished, type MediaPackageV2Client } from '@aws-sdk/client-mediapackagev2';
import { startServer, type TestServer } from '../support/server.js';
import {
  closedWindowEnd,
  createLiveChannel,
  expectEncoderSuccess,
  findAll,
  get,
  parseXml,
  readMaster,
  readMedia,
  signedRequest,
  startEncoder,
  startTeeProxy,
  waitFor,
  waitPastAnnounced,
  type EndpointSpec,
  type RunningProcess,
  type TeeProxy,
} from '../support/live.js';
import { builtinS3Url, getObject, listKeys, s3Client } from '../support/harvest.js';
import { assertValidMpd, assertValidPlaylist } from '../support/manifest-rules.js';

const G = 'conformance';
const CM = 'cmaf';
const TS = 'ts';
const SESSION_SECONDS = 8;
const TIME_SOURCE = 'https://time.example.com/now';

/**
 * The DASH manifests (wire JSON: the pinned SDK lacks Compactness, Profiles and DvbSettings, so the
 * endpoint is created with a signed request of our own).
 */
const DASH: readonly ({ ManifestName: string } & Record<string, unknown>)[] = [
  { ManifestName: 'dash' },
  { ManifestName: 'dash-head', UtcTiming: { TimingMode: 'HTTP_HEAD', TimingSource: TIME_SOURCE }, Compactness: 'NONE' },
  { ManifestName: 'dash-iso', UtcTiming: { TimingMode: 'HTTP_ISO', TimingSource: TIME_SOURCE }, Compactness: 'STANDARD' },
  { ManifestName: 'dash-xsdate', UtcTiming: { TimingMode: 'HTTP_XSDATE', TimingSource: TIME_SOURCE }, SegmentTemplateFormat: 'NUMBER_WITH_TIMELINE' },
  {
    ManifestName: 'dash-dvb',
    UtcTiming: { TimingMode: 'UTC_DIRECT' },
    Profiles: ['DVB_DASH'],
    DvbSettings: { FontDownload: { Url: 'https://fonts.example.com/f.woff', MimeType: 'application/font-woff', FontFamily: 'Example' }, ErrorMetrics: [{ ReportingUrl: 'https://metrics.example.com/r', Probability: 500 }] },
  },
];

const CMAF_ENDPOINT = {
  OriginEndpointName: 'ep',
  ContainerType: 'CMAF',
  StartoverWindowSeconds: 600,
  Segment: { SegmentName: 'segment', SegmentDurationSeconds: 2 },
  HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 1, StartTag: { TimeOffset: -4, Precise: true } }],
  LowLatencyHlsManifests: [{ ManifestName: 'low', ProgramDateTimeIntervalSeconds: 1 }],
  DashManifests: DASH,
};

const TS_ENDPOINT: EndpointSpec = {
  OriginEndpointName: 'ep',
  ContainerType: 'TS',
  StartoverWindowSeconds: 600,
  Segment: { SegmentName: 'segment', SegmentDurationSeconds: 2, TsUseAudioRenditionGroup: true },
  HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 2 }],
  LowLatencyHlsManifests: [{ ManifestName: 'low', ProgramDateTimeIntervalSeconds: 1 }],
};

interface Fetched {
  readonly name: string;
  readonly text: string;
}

describe('manifest conformance: MPDs against the DASH schema, playlists against RFC 8216', () => {
  let server: TestServer;
  let client: MediaPackageV2Client;
  let cmTee: TeeProxy;
  let tsTee: TeeProxy;
  let sessionB: RunningProcess;
  const base = (channel: string) => `${server.url}/out/v1/${G}/${channel}/ep`;
  const live: { mpds: Fetched[]; playlists: Fetched[] } = { mpds: [], playlists: [] };
  const shifted: { mpds: Fetched[]; playlists: Fetched[] } = { mpds: [], playlists: [] };
  const harvested: { mpds: Fetched[]; playlists: Fetched[] } = { mpds: [], playlists: [] };

  /** A multivariant playlist and every media playlist it names, under a base URL and query. */
  async function playlistTree(url: string, query: string, into: Fetched[]): Promise<void> {
    const res = await get(`${url}${query}`);
    assert.equal(res.status, 200, `${url}${query}: ${res.text}`);
    into.push({ name: `${url}${query}`, text: res.text });
    const mv = readMaster(res.text);
    const children = [...mv.variants.map((v) => v.uri), ...mv.media.map((m) => m['URI']!)];
    assert.ok(children.length >= 3, res.text);
    for (const c of children) {
      const child = new URL(c, `${url}${query}`).toString();
      const r = await get(child);
      assert.equal(r.status, 200, `${child}: ${r.text}`);
      into.push({ name: child, text: r.text });
    }
  }

  async function collect(query: string, into: { mpds: Fetched[]; playlists: Fetched[] }): Promise<void> {
    for (const m of DASH) {
      const url = `${base(CM)}/${m.ManifestName}.mpd${query}`;
      const res = await get(url);
      assert.equal(res.status, 200, `${url}: ${res.text}`);
      into.mpds.push({ name: url, text: res.text });
    }
    for (const channel of [CM, TS]) for (const name of ['index', 'low']) await playlistTree(`${base(channel)}/${name}.m3u8`, query, into.playlists);
  }

  async function harvest(channel: string, name: string, startMs: number, endMs: number, dash: boolean): Promise<void> {
    const ref = { ChannelGroupName: G, ChannelName: channel, OriginEndpointName: 'ep', HarvestJobName: name };
    await client.send(
      new CreateHarvestJobCommand({
        ...ref,
        HarvestedManifests: {
          HlsManifests: [{ ManifestName: 'index' }],
          LowLatencyHlsManifests: [{ ManifestName: 'low' }],
          ...(dash ? { DashManifests: DASH.map((m) => ({ ManifestName: m.ManifestName })) } : {}),
        },
        ScheduleConfiguration: { StartTime: new Date(startMs), EndTime: new Date(endMs) },
        Destination: { S3Destination: { BucketName: 'conformance', DestinationPath: `${name}/` } },
      }),
    );
    const w = await waitUntilHarvestJobFinished({ client, maxWaitTime: 90, minDelay: 1, maxDelay: 1 }, ref);
    assert.equal(w.state, 'SUCCESS', `harvest ${name}: ${JSON.stringify(w.reason)}`);
  }

  before(async () => {
    server = await startServer();
    client = server.client();
    await createLiveChannel(client, G, CM, []);
    const created = await signedRequest(server.url, 'POST', `/channelGroup/${G}/channel/${CM}/originEndpoint`, JSON.stringify(CMAF_ENDPOINT));
    assert.equal(created.status, 200, created.text);
    for (const m of DASH) assert.ok(created.text.includes(`"ManifestName":"${m.ManifestName}"`), created.text);
    await createLiveChannel(client, G, TS, [TS_ENDPOINT], { createGroup: false });
    cmTee = await startTeeProxy(server.url);
    tsTee = await startTeeProxy(server.url);
    const tsEncoder = startEncoder({ baseUrl: tsTee.url, group: G, channel: TS, ingest: 1, segmentType: 'mpegts', seconds: 2 * SESSION_SECONDS, hlsTime: 1 });
    await expectEncoderSuccess(startEncoder({ baseUrl: cmTee.url, group: G, channel: CM, ingest: 1, segmentType: 'fmp4', seconds: SESSION_SECONDS, hlsTime: 1, uniqueNames: true }), 'session A');
    await cmTee.settled();
    const firstPdt = readMedia((await get(`${base(CM)}/index_index_0.m3u8`)).text).segments[0]!.pdtMs!;
    const tsFirstPdt = readMedia((await get(`${base(TS)}/index_index_0.m3u8`)).text).segments[0]!.pdtMs!;
    sessionB = startEncoder({ baseUrl: cmTee.url, group: G, channel: CM, ingest: 1, segmentType: 'fmp4', seconds: SESSION_SECONDS, hlsTime: 1, uniqueNames: true, look: 'b' });
    // Live, while session B runs: the window holds the end of session A and the start of session B.
    await waitFor('session B in the live MPD', async () => {
      const r = await get(`${base(CM)}/dash.mpd`);
      return r.status === 200 && findAll(parseXml(r.text), 'Period').length === 2 ? true : undefined;
    });
    await collect('', live);
    await Promise.all([expectEncoderSuccess(sessionB, 'session B'), expectEncoderSuccess(tsEncoder, 'TS encoder')]);
    await Promise.all([cmTee.settled(), tsTee.settled()]);
    await waitPastAnnounced([cmTee, tsTee]);
    const end = await closedWindowEnd([cmTee, tsTee]);
    await collect(`?start=${Math.ceil(Math.max(firstPdt, tsFirstPdt) / 1000)}&end=${end}`, shifted);
    await harvest(CM, 'cmaf-job', firstPdt, end * 1000, true);
    await harvest(TS, 'ts-job', tsFirstPdt, end * 1000, false);
    const s3Url = builtinS3Url(server);
    const s3 = s3Client(s3Url);
    try {
      for (const key of await listKeys(s3, 'conformance')) {
        if (!/\.(m3u8|mpd)$/.test(key)) continue;
        const text = (await getObject(s3Url, 'conformance', key)).toString('utf8');
        (key.endsWith('.mpd') ? harvested.mpds : harvested.playlists).push({ name: `s3://conformance/${key}`, text });
      }
    } finally {
      s3.destroy();
    }
  });

  after(async () => {
    await sessionB?.kill('SIGKILL');
    await cmTee?.close();
    await tsTee?.close();
    await server?.stop();
  });

  const periods = (xml: string) => findAll(parseXml(xml), 'Period').length;
  const mpdType = (xml: string) => /<MPD [^>]*type="(\w+)"/.exec(xml)?.[1];

  test('live MPDs (dynamic, two periods; every UtcTiming mode, Compactness, DVB-DASH, SegmentTemplateFormat) validate', async () => {
    assert.equal(live.mpds.length, DASH.length);
    for (const m of live.mpds) {
      assert.equal(mpdType(m.text), 'dynamic', m.name);
      assert.equal(periods(m.text), 2, `${m.name}: the window spans the encoder restart\n${m.text}`);
      await assertValidMpd(m.text, m.name);
    }
    assert.ok(live.mpds.some((m) => m.text.includes('urn:mpeg:dash:utc:http-head:2014')), 'an MPD with UTCTiming');
  });

  test('time-shifted MPDs (static, two periods) validate', async () => {
    assert.equal(shifted.mpds.length, DASH.length);
    for (const m of shifted.mpds) {
      assert.equal(mpdType(m.text), 'static', m.name);
      assert.equal(periods(m.text), 2, `${m.name}: the window spans the encoder restart\n${m.text}`);
      await assertValidMpd(m.text, m.name);
    }
  });

  test('harvested MPDs (static, two periods) validate', async () => {
    assert.equal(harvested.mpds.length, DASH.length, harvested.mpds.map((m) => m.name).join(', '));
    for (const m of harvested.mpds) {
      assert.equal(mpdType(m.text), 'static', m.name);
      assert.equal(periods(m.text), 2, m.name);
      await assertValidMpd(m.text, m.name);
    }
  });

  test('live playlists (multivariant, media, LL-HLS; CMAF and TS) follow RFC 8216', () => {
    // Two channels × two manifests × (one multivariant + three media playlists).
    assert.equal(live.playlists.length, 16);
    assert.ok(live.playlists.some((p) => p.text.includes('#EXT-X-PART:')), 'LL-HLS parts are among them');
    assert.ok(live.playlists.some((p) => p.text.includes('#EXT-X-DISCONTINUITY')), 'the encoder restart is among them');
    for (const p of live.playlists) assertValidPlaylist(p.text, p.name);
  });

  test('time-shifted playlists follow RFC 8216', () => {
    assert.equal(shifted.playlists.length, 16);
    for (const p of shifted.playlists) assertValidPlaylist(p.text, p.name);
  });

  test('harvested playlists follow RFC 8216', () => {
    // CMAF and TS jobs × (HLS + LL-HLS) × (one multivariant + three media playlists).
    assert.equal(harvested.playlists.length, 16, harvested.playlists.map((p) => p.name).join(', '));
    for (const p of harvested.playlists) assertValidPlaylist(p.text, p.name);
  });
});
