/**
 * A TCP proxy that can go silent: while frozen it stops passing bytes either way on the
 * connections it holds and accepts new ones without connecting them onward — a database or S3
 * store that hangs (a network partition, a stuck server) rather than refusing.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface FreezableProxy {
  readonly port: number;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startFreezableProxy(targetHost: string, targetPort: number): Promise<FreezableProxy> {
  let frozen = false;
  const pairs = new Set<{ client: Socket; upstream?: Socket }>();
  const held: (() => void)[] = [];
  const wire = (pair: { client: Socket; upstream?: Socket }) => {
    const upstream = connect(targetPort, targetHost);
    pair.upstream = upstream;
    upstream.on('error', () => pair.client.destroy());
    pair.client.on('error', () => upstream.destroy());
    pair.client.pipe(upstream);
    upstream.pipe(pair.client);
    pair.client.on('close', () => {
      upstream.destroy();
      pairs.delete(pair);
    });
    upstream.on('close', () => pair.client.destroy());
  };
  const server = createServer((client) => {
    const pair: { client: Socket; upstream?: Socket } = { client };
    pairs.add(pair);
    client.on('error', () => undefined);
    if (frozen) {
      client.pause();
      held.push(() => {
        client.resume();
        wire(pair);
      });
    } else wire(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => {
      frozen = true;
      for (const p of pairs) {
        if (!p.upstream) continue;
        p.client.unpipe(p.upstream);
        p.upstream.unpipe(p.client);
        p.client.pause();
        p.upstream.pause();
      }
    },
    thaw: () => {
      frozen = false;
      for (const p of pairs) {
        if (!p.upstream) continue;
        p.client.pipe(p.upstream);
        p.upstream.pipe(p.client);
      }
      for (const go of held.splice(0)) go();
    },
    close: async () => {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
