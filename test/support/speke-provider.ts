/**
 * A SPEKE v2.0 and v2.1 key provider for the tests, written from the AWS SPEKE v2 and v2.1 pages
 * (standard payload components, encryption contract) and independent of src/. It speaks the
 * versions it is started with (default both; `['2.0']`: a v2.0-only provider, which answers a v2.1
 * request 400 'Unsupported SPEKE version' as AWS describes), checks that CPIX@version goes with
 * X-Speke-Version (2.3 with 2.0, 2.4 with 2.1), and answers a CPIX request with the
 * same document filled in (a content key per ContentKey, derived from its kid, and each DRMSystem's
 * PSSH, ContentProtectionData, HLSSignalingData and URIExtXKey), serves AES-128 keys at
 * /key/{kid} (the URI it hands out), and can fail on demand.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { EndpointSpec } from './live.js';

export const SYSTEM_IDS = {
  widevine: 'edef8ba9-79d6-4ace-a3c8-27dcd51d21ed',
  playready: '9a04f079-9840-4286-ab92-e65be0885f95',
  fairplay: '94ce86fb-07ff-4f43-adb8-93d2fa968ca2',
  clearKeyAes128: '3ea8778f-7742-4bf9-b18b-e834b2acbd47',
  irdeto: '80a6be7e-1448-4c37-9e70-d5aebe04c8d2',
};

export type ProviderFailure = { status: number } | 'hang' | 'malformed' | 'missing-key' | 'doctype' | undefined;

export interface ReceivedCpix {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly kids: string[];
}

export interface SpekeProvider {
  readonly url: string;
  /** The CPIX requests received, in order. */
  readonly requests: ReceivedCpix[];
  /** Key requests (GET /key/{kid}) received. */
  readonly keyFetches: string[];
  /** Fails as `mode` says from now on: every CPIX request, or those `when` picks. */
  fail(mode: ProviderFailure, when?: (request: ReceivedCpix) => boolean): void;
  close(): Promise<void>;
}

const SECRET = 'packhouse-test-provider';

/** The content key the provider gives a kid (hex or UUID form). */
export function providerKey(kid: string): Buffer {
  return createHmac('sha256', SECRET).update(kid.replace(/-/g, '').toLowerCase()).digest().subarray(0, 16);
}

/** A version 1 pssh box (ISO/IEC 23001-7 §8.1) naming the kids, with a small payload. */
export function testPssh(systemId: string, kids: readonly string[], data: Buffer = Buffer.from('packhouse-test')): Buffer {
  const sys = Buffer.from(systemId.replace(/-/g, ''), 'hex');
  const kidBytes = kids.map((k) => Buffer.from(k.replace(/-/g, ''), 'hex'));
  const size = 8 + 4 + 16 + 4 + 16 * kidBytes.length + 4 + data.length;
  const out = Buffer.alloc(size);
  out.writeUInt32BE(size, 0);
  out.write('pssh', 4, 'latin1');
  out.writeUInt32BE(0x01000000, 8);
  sys.copy(out, 12);
  out.writeUInt32BE(kidBytes.length, 28);
  kidBytes.forEach((k, i) => k.copy(out, 32 + 16 * i));
  out.writeUInt32BE(data.length, 32 + 16 * kidBytes.length);
  data.copy(out, 36 + 16 * kidBytes.length);
  return out;
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

const CPIX_OF: Readonly<Record<string, string>> = { '2.0': '2.3', '2.1': '2.4' };

export async function startSpekeProvider(port = 0, options: { versions?: readonly ('2.0' | '2.1')[] } = {}): Promise<SpekeProvider> {
  const versions: readonly string[] = options.versions ?? ['2.0', '2.1'];
  let failMode: ProviderFailure;
  let failWhen: ((request: ReceivedCpix) => boolean) | undefined;
  const requests: ReceivedCpix[] = [];
  const keyFetches: string[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const key = /^\/key\/([0-9a-f-]{32,36})$/.exec(path);
      if (req.method === 'GET' && key) {
        keyFetches.push(key[1]!);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'access-control-allow-origin': '*' }).end(providerKey(key[1]!));
        return;
      }
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const kids = [...body.matchAll(/<cpix:ContentKey\b[^>]*\bkid="([^"]+)"/g)].map((m) => m[1]!);
      const received = { headers: req.headers, body, kids };
      requests.push(received);
      const failure = failWhen && !failWhen(received) ? undefined : failMode;
      if (failure === 'hang') return; // never answers
      if (failure && typeof failure === 'object') {
        res.writeHead(failure.status, { 'content-type': 'text/plain' }).end(`test provider failing with ${failure.status}`);
        return;
      }
      const version = String(req.headers['x-speke-version'] ?? '');
      if (!versions.includes(version)) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('Unsupported SPEKE version');
        return;
      }
      const cpixVersion = /<cpix:CPIX\b[^>]*\sversion="([^"]*)"/.exec(body)?.[1];
      if (cpixVersion !== CPIX_OF[version]) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`CPIX@version ${CPIX_OF[version]} expected with X-Speke-Version ${version}, not ${cpixVersion}`);
        return;
      }
      if (failure === 'malformed') {
        res.writeHead(200, { 'content-type': 'application/xml' }).end('<cpix:CPIX xmlns:cpix="urn:dashif:org:cpix"><cpix:ContentKeyList>');
        return;
      }
      if (failure === 'doctype') {
        res.writeHead(200, { 'content-type': 'application/xml' }).end('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><cpix:CPIX xmlns:cpix="urn:dashif:org:cpix">&a;</cpix:CPIX>');
        return;
      }
      let out = body.replace(/<cpix:ContentKey\b([^>]*?)\bkid="([^"]+)"([^>]*?)\/>/g, (_m, pre: string, kid: string, post: string) =>
        failure === 'missing-key' ? `<cpix:ContentKey${pre}kid="${kid}"${post}/>` : `<cpix:ContentKey${pre}kid="${kid}"${post}><cpix:Data><pskc:Secret><pskc:PlainValue>${b64(providerKey(kid))}</pskc:PlainValue></pskc:Secret></cpix:Data></cpix:ContentKey>`,
      );
      out = out.replace(/<cpix:DRMSystem kid="([^"]+)" systemId="([^"]+)">([\s\S]*?)<\/cpix:DRMSystem>/g, (_m, kid: string, systemId: string, inner: string) => {
        const uri = systemId === SYSTEM_IDS.fairplay ? `skd://${kid}` : `${base}/key/${kid}`;
        const pssh = testPssh(systemId, [kid]);
        const filled = inner
          .replace('<cpix:PSSH/>', `<cpix:PSSH>${b64(pssh)}</cpix:PSSH>`)
          .replace('<cpix:ContentProtectionData/>', `<cpix:ContentProtectionData>${b64(`<cenc:pssh>${b64(pssh)}</cenc:pssh>`)}</cpix:ContentProtectionData>`)
          .replace('<cpix:URIExtXKey/>', `<cpix:URIExtXKey>${b64(uri)}</cpix:URIExtXKey>`)
          .replace('<cpix:HLSSignalingData playlist="media"/>', `<cpix:HLSSignalingData playlist="media">${b64(`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="${uri}"`)}</cpix:HLSSignalingData>`)
          .replace('<cpix:HLSSignalingData playlist="master"/>', `<cpix:HLSSignalingData playlist="master">${b64(`#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="${uri}"`)}</cpix:HLSSignalingData>`);
        return `<cpix:DRMSystem kid="${kid}" systemId="${systemId}">${filled}</cpix:DRMSystem>`;
      });
      res.writeHead(200, { 'content-type': 'application/xml', 'x-speke-version': version, 'x-speke-user-agent': 'packhouse-test-provider' }).end(out);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}/speke/v2`,
    requests,
    keyFetches,
    fail: (mode, when) => {
      failMode = mode;
      failWhen = when;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// Run on its own to try an encrypted endpoint by hand (README, "Encryption"):
//   node dist/test/support/speke-provider.js [port] [2.0]   (2.0: a SPEKE v2.0-only provider)
// Its keys are derived from the key ids by a fixed secret: for trying Packhouse out, never for content.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const only20 = process.argv[3] === '2.0';
  const provider = await startSpekeProvider(Number(process.argv[2] ?? 9000), only20 ? { versions: ['2.0'] } : {});
  console.log(`test SPEKE v${only20 ? '2.0' : '2.0/v2.1'} key provider: ${provider.url} (keys at ${provider.url.replace(/\/speke\/v2$/, '/key/{kid}')})`);
}

/**
 * An origin endpoint encrypted with keys from a SPEKE provider at `url` (resource id
 * `res-{name}`, the PRESET_*_1 contract, 2 s segments, an HLS manifest `index`). `encryption`
 * adds to Segment.Encryption; `endpoint` adds to (or replaces in) the endpoint itself.
 */
export function spekeEndpoint(o: {
  name: string;
  container: 'TS' | 'CMAF';
  method: Record<string, string>;
  url: string;
  systems: string[];
  encryption?: Record<string, unknown>;
  endpoint?: Partial<EndpointSpec>;
}): EndpointSpec {
  return {
    OriginEndpointName: o.name,
    ContainerType: o.container,
    StartoverWindowSeconds: 600,
    Segment: {
      SegmentName: 'segment',
      SegmentDurationSeconds: 2,
      ...(o.container === 'TS' ? { TsUseAudioRenditionGroup: true } : {}),
      Encryption: {
        ...o.encryption,
        EncryptionMethod: o.method,
        SpekeKeyProvider: {
          Url: o.url,
          ResourceId: `res-${o.name}`,
          RoleArn: 'arn:aws:iam::000000000000:role/speke',
          DrmSystems: o.systems as never,
          EncryptionContractConfiguration: { PresetSpeke20Video: 'PRESET_VIDEO_1', PresetSpeke20Audio: 'PRESET_AUDIO_1' },
        },
      },
    },
    HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 2 }],
    ...o.endpoint,
  };
}
