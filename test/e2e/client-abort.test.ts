/**
 * A client that closes its connection mid-upload is normal traffic: the server logs it at info
 * level (not as an error with a stack) and keeps serving.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type TestServer } from '../support/server.js';
import { rawApi } from '../support/raw-api.js';

let server: TestServer;

before(async () => {
  server = await startServer();
  for (const [path, body] of [['/channelGroup', { ChannelGroupName: 'ab' }], ['/channelGroup/ab/channel', { ChannelName: 'c' }]] as const) {
    const r = await rawApi(server.url, { method: 'POST', path, body: JSON.stringify(body) });
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => {
  await server?.stop();
});

/** Sends the head of a request announcing `length` bytes, a little of the body, then closes the connection. */
async function abandon(path: string, method: string, length: number): Promise<void> {
  const u = new URL(server.url);
  const socket = connect(Number(u.port), u.hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(`${method} ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Length: ${length}\r\n\r\n`);
  socket.write(Buffer.alloc(1000, 0x47));
  await sleep(50);
  socket.destroy();
}

test('an upload abandoned mid-body is logged at info level, never as an error, on ingest and on the API', async () => {
  const before = server.logs.length;
  await abandon('/in/v1/ab/1/c/seg_0.ts', 'PUT', 5_000_000);
  await abandon('/channelGroup', 'POST', 500_000);
  const deadline = Date.now() + 10_000;
  const lines = () => server.logs.slice(before).map((l) => JSON.parse(l) as { level: number; msg: string });
  while (Date.now() < deadline && lines().filter((l) => l.msg === 'client closed the connection before the request completed').length < 2) await sleep(50);
  const logged = lines();
  assert.equal(logged.filter((l) => l.msg === 'client closed the connection before the request completed' && l.level === 30).length, 2, JSON.stringify(logged));
  assert.deepEqual(logged.filter((l) => l.level >= 50), [], 'nothing at error level');
  assert.equal((await fetch(`${server.url}/_packhouse/health`)).status, 200);
});
