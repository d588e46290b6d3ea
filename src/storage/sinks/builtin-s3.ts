/**
 * The built-in local S3 endpoint (s3rver, files under the data directory) that `npm start` runs
 * when no S3 store is configured, so a first harvest works with nothing else installed.
 */
import { mkdirSync } from 'node:fs';
import S3rver from 's3rver';

export interface BuiltinS3 {
  readonly url: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  close(): Promise<void>;
}

export async function startBuiltinS3(directory: string, host: string, port: number): Promise<BuiltinS3> {
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({ port, address: host === 'localhost' ? '127.0.0.1' : host, directory, silent: true });
  // Not server.run(): it never settles when the port is taken (the error is emitted, not rejected).
  const http = await new Promise<import('node:http').Server>((resolve, reject) => {
    const listening = server.listen(port, host === 'localhost' ? '127.0.0.1' : host, () => resolve(listening));
    listening.once('error', reject);
  });
  server.httpServer = http;
  const info = http.address() as { address: string; port: number };
  const address = info.address === '0.0.0.0' ? '127.0.0.1' : info.address.includes(':') ? `[${info.address}]` : info.address;
  return {
    url: `http://${address}:${info.port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    close: async () => {
      await server.close();
    },
  };
}
