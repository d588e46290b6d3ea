/**
 * The same server driven by the Python clients: boto3/botocore (through test/fixtures/boto3_flow.py,
 * which reports what it saw as JSON) and the aws cli (v1). Both must be installed on the machine;
 * when they are not, the tests fail and say what is missing (they are never skipped).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LOCAL_ACCOUNT, ROOT, startServer, type TestServer } from '../support/server.js';

const SCRIPT = join('test', 'fixtures', 'boto3_flow.py');
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ARN = `arn:aws:mediapackagev2:us-east-1:${LOCAL_ACCOUNT}:`;

let server: TestServer;

/** The environment of every Python process: the local key pair, us-east-1, no config files. */
function pythonEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '',
    AWS_ACCESS_KEY_ID: 'packhouse',
    AWS_SECRET_ACCESS_KEY: 'packhouse',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    PYTHONIOENCODING: 'utf-8',
  };
  // pyenv shims need their own variables to find the interpreter.
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('PYENV') && v !== undefined) env[k] = v;
  if (process.env['LANG']) env['LANG'] = process.env['LANG'];
  return env;
}

function run(cmd: string, args: readonly string[], timeoutMs = 60_000) {
  return spawnSync(cmd, args, { cwd: ROOT, env: pythonEnv(), encoding: 'utf8', timeout: timeoutMs });
}

/** Fails (never skips) with a message naming what is missing. */
function requireTool(cmd: string, args: readonly string[], what: string): string {
  const r = run(cmd, args, 30_000);
  if (r.error || r.status !== 0) {
    throw new Error(
      `${what} is required by this test but is not usable on this machine ` +
        `(\`${cmd} ${args.join(' ')}\` ${r.error ? `failed: ${r.error.message}` : `exited ${r.status}: ${r.stderr.trim()}`}). ` +
        'Install it (pip install boto3 awscli) and run the test again.',
    );
  }
  return `${r.stdout}${r.stderr}`.trim();
}

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

interface Step {
  ok: boolean;
  value?: Record<string, unknown>;
  error?: string;
  trace?: string;
}

describe('boto3 (test/fixtures/boto3_flow.py)', () => {
  let flow: { versions: Record<string, string>; steps: Record<string, Step>; sent: { operation: string; method: string; url: string }[] };

  before(() => {
    requireTool('python3', ['-c', 'import boto3, botocore; print(botocore.__version__)'], 'python3 with boto3/botocore');
    const r = run('python3', [SCRIPT, server.url], 90_000);
    if (r.error || r.status !== 0) {
      throw new Error(`python3 ${SCRIPT} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}\n${r.stdout}`);
    }
    try {
      flow = JSON.parse(r.stdout) as typeof flow;
    } catch (err) {
      throw new Error(`python3 ${SCRIPT} printed no JSON (${(err as Error).message}):\n${r.stdout}\n${r.stderr}`);
    }
  });

  /** The value of a step that must have succeeded. */
  function ok(name: string): Record<string, unknown> {
    const s = flow.steps[name];
    assert.ok(s, `step ${name} ran`);
    assert.ok(s.ok, `step ${name} failed in boto3: ${s.error}\n${s.trace ?? ''}`);
    return s.value ?? {};
  }

  test('botocore has the operations used here (ResetChannelState needs a recent botocore)', () => {
    assert.match(flow.versions['botocore'] ?? '', /^1\.(4[3-9]|[5-9]\d)\./, `botocore ${flow.versions['botocore']}`);
  });

  test('create_channel_group and create_channel', () => {
    const g = ok('create_group');
    assert.equal(g['ChannelGroupName'], 'py1');
    assert.equal(g['Arn'], `${ARN}channelGroup/py1`);
    assert.equal(g['Description'], 'from boto3');
    assert.deepEqual(g['Tags'], { client: 'boto3' });
    assert.equal(g['CreatedAtIsDatetime'], true);
    assert.match(String(g['RequestId']), UUID_RE, 'ResponseMetadata.RequestId comes from x-amzn-RequestId');
    const c = ok('create_channel');
    assert.equal(c['ChannelName'], 'pc');
    assert.equal(c['Arn'], `${ARN}channelGroup/py1/channel/pc`);
    assert.equal(c['InputType'], 'CMAF');
    assert.deepEqual(c['IngestEndpointIds'], ['1', '2']);
  });

  test('get_channel uses the trailing-slash URI and succeeds', () => {
    const v = ok('get_channel');
    assert.equal(v['status'], 200);
    assert.equal(v['ChannelName'], 'pc');
    assert.equal(v['Description'], 'boto3 channel');
    assert.equal(new URL(String(v['url'])).pathname, '/channelGroup/py1/channel/pc/');
  });

  test('create_origin_endpoint (CMAF, startover window)', () => {
    const v = ok('create_endpoint');
    assert.equal(v['Arn'], `${ARN}channelGroup/py1/channel/pc/originEndpoint/pe`);
    assert.equal(v['ContainerType'], 'CMAF');
    assert.equal(v['StartoverWindowSeconds'], 3600);
    assert.deepEqual(v['HlsManifestNames'], ['index']);
  });

  test('create_harvest_job with integer timestamps: integers on the wire, the same instants back, a client token sent unasked', () => {
    const v = ok('create_job');
    assert.equal(v['HarvestJobName'], 'pyjob1');
    assert.equal(v['Status'], 'QUEUED');
    assert.equal(v['Arn'], `${ARN}channelGroup/py1/channel/pc/originEndpoint/pe/harvestJob/pyjob1`);
    assert.deepEqual(v['Tags'], { k: 'v' });
    const wire = v['wireSchedule'] as { StartTime: number; EndTime: number };
    assert.ok(Number.isInteger(wire.StartTime) && Number.isInteger(wire.EndTime), `botocore sent integers: ${JSON.stringify(wire)}`);
    assert.equal(wire.StartTime, v['requestedStart']);
    assert.equal(v['StartTime'], v['requestedStart']);
    assert.equal(v['EndTime'], v['requestedEnd']);
    assert.match(String(v['clientToken']), /^\S+$/, 'botocore filled x-amzn-client-token');
    assert.equal(ok('create_job2')['Status'], 'QUEUED');
  });

  test('get_harvest_job returns the stored job', () => {
    const v = ok('get_job');
    const created = ok('create_job');
    assert.equal(v['HarvestJobName'], 'pyjob1');
    assert.equal(v['Status'], 'QUEUED');
    assert.deepEqual(v['Tags'], { k: 'v' });
    assert.equal(v['StartTime'], created['requestedStart']);
    assert.equal(v['EndTime'], created['requestedEnd']);
    assert.equal(v['CreatedAt'], v['ModifiedAt']);
    assert.deepEqual(v['Destination'], { S3Destination: { BucketName: 'boto3-bucket', DestinationPath: 'clips/pyjob1' } });
    assert.deepEqual(v['HarvestedManifests'], { HlsManifests: [{ ManifestName: 'index' }] });
    assert.equal(v['ErrorMessage'], null);
    assert.equal(typeof v['ETag'], 'string');
  });

  test('the list_harvest_jobs paginator (PageSize 1) returns each job once, newest first, following nextToken', () => {
    const v = ok('list_jobs');
    assert.deepEqual(v['pages'], [['pyjob2'], ['pyjob1']]);
    const urls = (v['urls'] as string[]).map((u) => new URL(u));
    assert.equal(urls.length, 2);
    for (const u of urls) {
      assert.equal(u.pathname, '/channelGroup/py1/harvestJob');
      assert.equal(u.searchParams.get('maxResults'), '1');
      assert.equal(u.searchParams.get('channelName'), 'pc');
    }
    assert.equal(urls[0]!.searchParams.get('nextToken'), null);
    assert.ok(urls[1]!.searchParams.get('nextToken'), 'the second page asked with nextToken');
  });

  test('a bad request: ClientError with Error.Code ValidationException and response["ValidationExceptionType"]', () => {
    const v = ok('validation_error');
    assert.equal(v['code'], 'ValidationException');
    assert.equal(v['ValidationExceptionType'], 'END_TIME_EARLIER_THAN_START_TIME');
    assert.equal(v['status'], 400);
    assert.equal(v['modelledClass'], true, 'caught as client.exceptions.ValidationException');
    assert.equal(typeof v['message'], 'string');
    assert.ok(String(v['message']).length > 0);
  });

  test('a missing channel: ResourceNotFoundException with response["ResourceTypeNotFound"] CHANNEL', () => {
    const v = ok('not_found');
    assert.equal(v['code'], 'ResourceNotFoundException');
    assert.equal(v['ResourceTypeNotFound'], 'CHANNEL');
    assert.equal(v['status'], 404);
    assert.equal(v['modelledClass'], true, 'caught as client.exceptions.ResourceNotFoundException');
  });

  test('tag_resource / untag_resource / list_tags_for_resource on the job ARN (sent percent-encoded)', () => {
    const v = ok('tags');
    const encoded = encodeURIComponent(`${ARN}channelGroup/py1/channel/pc/originEndpoint/pe/harvestJob/pyjob1`);
    assert.equal(new URL(String(v['tagUrl'])).pathname, `/tags/${encoded}`, 'botocore encodes ":" and "/" in the ARN label');
    assert.ok(String(v['tagUrl']).includes('%2F'));
    assert.deepEqual(v['afterTag'], { k: 'v', added: 'yes' });
    assert.deepEqual(new URL(String(v['untagUrl'])).searchParams.getAll('tagKeys'), ['k']);
    assert.deepEqual(v['afterUntag'], { added: 'yes' });
  });

  test('cancel_harvest_job: PUT, 200 {}, the job reads CANCELLED', () => {
    const v = ok('cancel');
    assert.equal(v['method'], 'PUT');
    assert.equal(v['httpStatus'], 200);
    assert.deepEqual(v['body'], {});
    assert.equal(v['Status'], 'CANCELLED');
  });

  test('the harvest_job_finished waiter returns for the cancelled job', () => {
    const v = ok('waiter');
    assert.ok((v['seconds'] as number) < 3, `the waiter returned after ${String(v['seconds'])} s`);
  });

  test('the harvest_job_finished waiter keeps polling a QUEUED job and returns once it is cancelled 1.5 s later', () => {
    const v = ok('waiter_while_queued');
    const seconds = v['seconds'] as number;
    assert.ok(seconds >= 1.5 && seconds < 6, `the waiter returned after ${seconds} s`);
    assert.ok((v['polls'] as number) >= 2, `the waiter polled ${String(v['polls'])} times`);
  });

  test('reset_channel_state returns ResetAt as a datetime; get_channel then shows it', () => {
    const v = ok('reset_channel');
    assert.deepEqual(v['keys'], ['Arn', 'ChannelGroupName', 'ChannelName', 'ResetAt']);
    assert.equal(v['Arn'], `${ARN}channelGroup/py1/channel/pc`);
    assert.equal(v['ResetAtType'], 'datetime');
    assert.ok(Math.abs((v['ResetAt'] as number) - (v['now'] as number)) < 10, 'ResetAt is now');
    assert.equal(typeof v['GetChannelResetAt'], 'number', 'get_channel has ResetAt');
    assert.ok(Math.abs((v['GetChannelResetAt'] as number) - (v['ResetAt'] as number)) < 0.001, 'the same instant');
  });

  test('reset_origin_endpoint_state returns ResetAt as a datetime; get_origin_endpoint then shows it', () => {
    const v = ok('reset_endpoint');
    assert.deepEqual(v['keys'], ['Arn', 'ChannelGroupName', 'ChannelName', 'OriginEndpointName', 'ResetAt']);
    assert.equal(v['Arn'], `${ARN}channelGroup/py1/channel/pc/originEndpoint/pe`);
    assert.equal(v['ResetAtType'], 'datetime');
    assert.ok(Math.abs((v['ResetAt'] as number) - (v['now'] as number)) < 10, 'ResetAt is now');
    assert.ok(Math.abs((v['GetOriginEndpointResetAt'] as number) - (v['ResetAt'] as number)) < 0.001, 'the same instant');
  });
});

describe('aws cli (v1)', () => {
  const aws = (...args: string[]) => run('aws', ['mediapackagev2', ...args, '--endpoint-url', server.url, '--output', 'json'], 60_000);
  let createdEtag: unknown;

  before(() => {
    requireTool('aws', ['--version'], 'the aws cli');
  });

  test('create-channel-group', () => {
    const r = aws('create-channel-group', '--channel-group-name', 'cli1', '--description', 'from the cli');
    assert.equal(r.status, 0, `aws exited ${r.status}: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out['ChannelGroupName'], 'cli1');
    assert.equal(out['Arn'], `${ARN}channelGroup/cli1`);
    assert.equal(out['Description'], 'from the cli');
    assert.ok(out['CreatedAt'] !== undefined && out['EgressDomain'] !== undefined);
    createdEtag = out['ETag'];
    assert.equal(typeof createdEtag, 'string');
  });

  test('get-channel-group', () => {
    const r = aws('get-channel-group', '--channel-group-name', 'cli1');
    assert.equal(r.status, 0, `aws exited ${r.status}: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out['ChannelGroupName'], 'cli1');
    assert.equal(out['Arn'], `${ARN}channelGroup/cli1`);
    assert.equal(out['Description'], 'from the cli');
    assert.equal(out['ETag'], createdEtag);
  });

  test('list-channel-groups', () => {
    const r = aws('list-channel-groups');
    assert.equal(r.status, 0, `aws exited ${r.status}: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { Items?: { ChannelGroupName: string; Arn: string }[] };
    const cli1 = (out.Items ?? []).find((g) => g.ChannelGroupName === 'cli1');
    assert.ok(cli1, `cli1 is listed: ${r.stdout}`);
    assert.equal(cli1.Arn, `${ARN}channelGroup/cli1`);
  });

  test('a bad channel group name: exit code 254/255 and ValidationException on stderr', () => {
    const r = aws('create-channel-group', '--channel-group-name', 'bad name!');
    assert.ok(r.status === 254 || r.status === 255, `exit code ${r.status} (stderr: ${r.stderr})`);
    assert.match(r.stderr, /ValidationException/);
    assert.match(r.stderr, /CreateChannelGroup/);
    const list = JSON.parse(aws('list-channel-groups').stdout) as { Items?: { ChannelGroupName: string }[] };
    assert.ok(!(list.Items ?? []).some((g) => g.ChannelGroupName === 'bad name!'), 'nothing was created');
  });
});
