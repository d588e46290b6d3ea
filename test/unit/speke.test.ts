/**
 * The SPEKE v2 client against the test key provider (test/support/speke-provider.ts): the CPIX
 * request it posts, reading keys and signaling back, keys stored once and shared (a second store
 * user and a provider outage get the same keys), hostile answers refused with their reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpixRequest, keySlots, parseCpixResponse, slotFor, CpixError } from '../../src/encryption/cpix.js';
import { ContentKeys, deriveKid, encryptionOf, KeyUnavailableError } from '../../src/encryption/content-keys.js';
import { signRequest } from '../../src/encryption/speke-client.js';
import { parseXml, XmlError } from '../../src/encryption/xml.js';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { SqlMetadataStore } from '../../src/storage/sql/sql-metadata-store.js';
import { SqliteDriver } from '../../src/storage/sql/sqlite-driver.js';
import type { OriginEndpoint } from '../../src/domain/model.js';
import { providerKey, startSpekeProvider, SYSTEM_IDS } from '../support/speke-provider.js';

const endpoint = (url: string, extra: Record<string, unknown> = {}): OriginEndpoint =>
  ({
    arn: 'arn:aws:mediapackagev2:us-east-1:000000000000:channelGroup/g/channel/c/originEndpoint/e',
    name: 'e',
    containerType: 'CMAF',
    segment: {
      Encryption: {
        EncryptionMethod: { CmafEncryptionMethod: 'CENC' },
        SpekeKeyProvider: {
          Url: url,
          ResourceId: 'movie-1',
          RoleArn: 'arn:aws:iam::000000000000:role/speke',
          DrmSystems: ['WIDEVINE', 'PLAYREADY'],
          EncryptionContractConfiguration: { PresetSpeke20Video: 'PRESET_VIDEO_2', PresetSpeke20Audio: 'PRESET_AUDIO_1' },
        },
        ...extra,
      },
    },
  }) as unknown as OriginEndpoint;

const silent = { info: () => undefined, warn: () => undefined };

test('presets map tracks to keys by resolution and channel count; SHARED is one key', () => {
  const slots = keySlots('PRESET_VIDEO_3', 'PRESET_AUDIO_2');
  assert.deepEqual(slots.map((s) => s.trackType), ['SD', 'HD', 'UHD', 'STEREO_AUDIO', 'MULTICHANNEL_AUDIO']);
  assert.equal(slotFor(slots, { kind: 'video', width: 1024, height: 576 })?.trackType, 'SD');
  assert.equal(slotFor(slots, { kind: 'video', width: 1280, height: 720 })?.trackType, 'HD');
  assert.equal(slotFor(slots, { kind: 'video', width: 3840, height: 2160 })?.trackType, 'UHD');
  assert.equal(slotFor(slots, { kind: 'audio', channels: 6 })?.trackType, 'MULTICHANNEL_AUDIO');
  assert.deepEqual(keySlots('SHARED', 'SHARED').map((s) => s.trackType), ['ALL']);
  assert.equal(slotFor(keySlots('PRESET_VIDEO_1', 'UNENCRYPTED'), { kind: 'audio', channels: 2 }), undefined);
});

test('the CPIX request carries contentId, a key and a usage rule per track type, a DRMSystem per system and key periods', () => {
  const kids = ['11111111-2222-8333-8444-555555555555', '66666666-7777-8888-9999-aaaaaaaaaaaa'];
  const slots = keySlots('PRESET_VIDEO_1', 'PRESET_AUDIO_1');
  const xml = cpixRequest({ contentId: 'a&b', scheme: 'cbcs', keys: slots.map((slot, i) => ({ kid: kids[i]!, slot, period: 7 })), systems: ['FAIRPLAY', 'WIDEVINE'] });
  const root = parseXml(xml);
  assert.equal(root.name, 'CPIX');
  assert.equal(root.attrs['contentId'], 'a&b');
  assert.equal(root.attrs['version'], '2.3');
  const names = root.children.map((c) => c.name);
  assert.deepEqual(names, ['ContentKeyList', 'DRMSystemList', 'ContentKeyPeriodList', 'ContentKeyUsageRuleList']);
  assert.equal(root.children[0]!.children.length, 2);
  assert.equal(root.children[0]!.children[0]!.attrs['commonEncryptionScheme'], 'cbcs');
  assert.equal(root.children[1]!.children.length, 4);
  assert.deepEqual(root.children[2]!.children[0]!.attrs, { id: 'keyPeriod_7', index: '7' });
  const rules = root.children[3]!.children;
  assert.deepEqual(rules.map((r) => r.attrs['intendedTrackType']), ['VIDEO', 'AUDIO']);
  assert.deepEqual(rules[0]!.children.map((c) => c.name), ['KeyPeriodFilter', 'VideoFilter']);
  assert.deepEqual(rules[1]!.children.map((c) => c.name), ['KeyPeriodFilter', 'AudioFilter']);
});

test('SPEKE 2.1 requests are CPIX 2.4 with each key period\'s live start and end; 2.0 requests stay CPIX 2.3 with the index alone', () => {
  const slot = keySlots('SHARED', 'SHARED')[0]!;
  const kid = '11111111-2222-8333-8444-555555555555';
  const doc = (spekeVersion: '2.0' | '2.1') => parseXml(cpixRequest({ spekeVersion, contentId: 'c', scheme: 'cenc', keys: [{ kid, slot, period: 887040 }], systems: ['WIDEVINE'], periodMs: 2_000_000 }));
  const v21 = doc('2.1');
  assert.equal(v21.attrs['version'], '2.4');
  assert.deepEqual(v21.children[2]!.children[0]!.attrs, { id: 'keyPeriod_887040', index: '887040', start: '2026-03-21T08:00:00Z', end: '2026-03-21T08:33:20Z' });
  const v20 = doc('2.0');
  assert.equal(v20.attrs['version'], '2.3');
  assert.deepEqual(v20.children[2]!.children[0]!.attrs, { id: 'keyPeriod_887040', index: '887040' });
  // Without rotation there is no period list in either version.
  assert.ok(!cpixRequest({ spekeVersion: '2.1', contentId: 'c', scheme: 'cenc', keys: [{ kid, slot }], systems: ['WIDEVINE'] }).includes('ContentKeyPeriod'));
});

test('the XML reader refuses DOCTYPE and entities, and bounds size and depth', () => {
  assert.throws(() => parseXml('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'), XmlError);
  assert.throws(() => parseXml('<a>&x;</a>'), /entity reference/);
  assert.throws(() => parseXml('<a>' + '<b>'.repeat(40) + '</b>'.repeat(40) + '</a>'), /nested more than/);
  assert.throws(() => parseXml(`<a>${'x'.repeat(2 << 20)}</a>`), /more than the/);
  assert.throws(() => parseXml('<a><b></a>'), XmlError);
  assert.equal(parseXml('<?xml version="1.0"?><x:a xmlns:x="u" k="&lt;1&#x41;"><![CDATA[<t>]]></x:a>').attrs['k'], '<1A');
  assert.throws(() => parseCpixResponse('<a/>', { kids: [], systems: [] }), CpixError);
});

test('SigV4 signing of a provider request (execute-api) agrees with the AWS SDK signer', async () => {
  const url = new URL('https://abc.execute-api.eu-west-1.amazonaws.com/prod/speke?x=1');
  const h = signRequest(url, '<cpix/>', { 'content-type': 'application/xml' }, { accessKeyId: 'AKID', secretAccessKey: 'secret' }, 'eu-west-1', new Date('2026-01-02T03:04:05Z'));
  assert.match(h['authorization']!, /^AWS4-HMAC-SHA256 Credential=AKID\/20260102\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/);
  assert.equal(h['x-amz-date'], '20260102T030405Z');
  const sdk = new SignatureV4({ service: 'execute-api', region: 'eu-west-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' }, sha256: Sha256 });
  const signed = await sdk.sign(
    { method: 'POST', protocol: 'https:', hostname: url.hostname, path: '/prod/speke', query: { x: '1' }, headers: { host: url.host, 'content-type': 'application/xml', 'x-amz-content-sha256': h['x-amz-content-sha256']! }, body: '<cpix/>' },
    { signingDate: new Date('2026-01-02T03:04:05Z') },
  );
  assert.equal(h['authorization'], signed.headers['authorization']);
});

test('keys come from the provider once, are shared through the store, and keep serving while the provider fails', async () => {
  const provider = await startSpekeProvider();
  const dir = mkdtempSync(join(tmpdir(), 'packhouse-speke-'));
  const store = await SqlMetadataStore.open(new SqliteDriver(join(dir, 'db.sqlite')));
  const warnings: Record<string, unknown>[] = [];
  const logger = { info: () => undefined, warn: (o: object) => warnings.push(o as Record<string, unknown>) };
  try {
    const ep = endpoint(provider.url);
    const enc = encryptionOf(ep)!;
    const keys = new ContentKeys({ store, logger, speke: { timeoutMs: 2000, maxResponseBytes: 1 << 20 } });
    const hd = await keys.keyFor(ep, enc, 0, { kind: 'video', width: 1280, height: 720 });
    assert.equal(hd!.trackType, 'HD');
    assert.equal(hd!.kid, deriveKid(ep.arn, 'movie-1', 'HD', 0));
    assert.deepEqual(hd!.key, providerKey(hd!.kid));
    assert.equal(hd!.drm.WIDEVINE!.pssh!.subarray(12, 28).toString('hex'), SYSTEM_IDS.widevine.replace(/-/g, ''));
    assert.equal(provider.requests.length, 1);
    const req = provider.requests[0]!;
    assert.equal(req.headers['x-speke-version'], '2.1');
    assert.match(req.body, /<cpix:CPIX [^>]*version="2.4"/);
    assert.match(req.body, /contentId="movie-1"/);
    assert.equal(req.kids.length, 3); // SD, HD, AUDIO
    assert.match(req.body, new RegExp(`systemId="${SYSTEM_IDS.playready}"`));
    // Another node (a fresh cache over the same store) gets the same keys without asking.
    provider.fail({ status: 500 });
    const other = new ContentKeys({ store, logger, speke: { timeoutMs: 2000, maxResponseBytes: 1 << 20 } });
    const again = await other.keyFor(ep, enc, 0, { kind: 'audio', channels: 2 });
    assert.deepEqual(again!.key, providerKey(again!.kid));
    assert.equal(provider.requests.length, 1);
    // A period not fetched yet cannot be had: the reason names the provider's answer; no key in the log.
    await assert.rejects(() => keys.keyFor(ep, enc, 1, { kind: 'audio', channels: 2 }), (e: Error) => e instanceof KeyUnavailableError && /HTTP 500/.test(e.message));
    assert.match(String(warnings[0]!['reason']), /HTTP 500/);
    assert.ok(!JSON.stringify(warnings).includes(providerKey(again!.kid).toString('base64')));
    for (const [mode, reason] of [['malformed', /not well-formed/], ['missing-key', /no key for kid/], ['doctype', /DOCTYPE/]] as const) {
      provider.fail(mode);
      const fresh = new ContentKeys({ store, logger: silent, speke: { timeoutMs: 2000, maxResponseBytes: 1 << 20 }, retryAfterMs: 0 });
      await assert.rejects(() => fresh.keyFor(ep, enc, 5, { kind: 'audio', channels: 2 }), reason);
    }
    provider.fail('hang');
    const slow = new ContentKeys({ store, logger: silent, speke: { timeoutMs: 300, maxResponseBytes: 1 << 20 } });
    await assert.rejects(() => slow.keyFor(ep, enc, 6, { kind: 'audio', channels: 2 }), /did not answer within 0.3 s/);
  } finally {
    await store.close();
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a SPEKE v2.0-only provider refuses the first 2.1 request and is asked with 2.0 from then on; a 2.1 provider gets key periods with start and end', async () => {
  const v21 = await startSpekeProvider();
  const v20 = await startSpekeProvider(0, { versions: ['2.0'] });
  const dir = mkdtempSync(join(tmpdir(), 'packhouse-speke-'));
  const store = await SqlMetadataStore.open(new SqliteDriver(join(dir, 'db.sqlite')));
  try {
    const keys = new ContentKeys({ store, logger: silent, speke: { timeoutMs: 2000, maxResponseBytes: 1 << 20 } });
    const rotating = (url: string) => endpoint(url, { KeyRotationIntervalSeconds: 60 });
    const old = rotating(v20.url);
    for (const period of [5, 6]) {
      const k = await keys.keyFor(old, encryptionOf(old)!, period, { kind: 'audio', channels: 2 });
      assert.deepEqual(k!.key, providerKey(k!.kid));
    }
    assert.deepEqual(v20.requests.map((r) => r.headers['x-speke-version']), ['2.1', '2.0', '2.0']);
    assert.match(v20.requests[1]!.body, /<cpix:ContentKeyPeriod id="keyPeriod_5" index="5"\/>/);
    const ep = rotating(v21.url);
    const k = await keys.keyFor(ep, encryptionOf(ep)!, 5, { kind: 'audio', channels: 2 });
    assert.deepEqual(k!.key, providerKey(k!.kid));
    assert.deepEqual(v21.requests.map((r) => r.headers['x-speke-version']), ['2.1']);
    assert.match(v21.requests[0]!.body, /<cpix:ContentKeyPeriod id="keyPeriod_5" index="5" start="1970-01-01T00:05:00Z" end="1970-01-01T00:06:00Z"\/>/);
  } finally {
    await store.close();
    await v21.close();
    await v20.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
