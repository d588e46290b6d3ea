/**
 * The built-in S3 endpoint (the same code `npm start` runs in the node) in a process of its own, for
 * the benchmarks' `--s3 external`: started by startExternalS3 in support.ts with an IPC channel, it
 * listens on a free loopback port, keeps its files in the directory given as its one argument and
 * sends `{ url }` to its parent; it answers `'cpu'` with its CPU time in ms, and exits when asked
 * (`'close'`), on SIGTERM, or when its parent goes away.
 */
import { startBuiltinS3 } from '../src/storage/sinks/builtin-s3.js';

const directory = process.argv[2];
if (!directory || !process.send) throw new Error('usage: started by the benchmarks (support.ts startExternalS3) with an IPC channel: node s3-server.js <directory>');
const send = process.send.bind(process);

const server = await startBuiltinS3({ directory, host: '127.0.0.1', port: 0, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  await server.close();
  process.exit(0);
};
process.on('message', (m) => {
  if (m === 'cpu') {
    const u = process.cpuUsage();
    send({ cpuMs: (u.user + u.system) / 1000 });
  } else if (m === 'close') void close();
});
process.on('disconnect', () => void close());
process.on('SIGTERM', () => void close());
send({ url: server.url });
