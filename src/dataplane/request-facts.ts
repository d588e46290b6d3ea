/**
 * What a policy condition may ask about a data-plane request: the client's address
 * (aws:SourceIp), whether it came over TLS (aws:SecureTransport), its User-Agent and Referer, and
 * the time. Packhouse speaks plain HTTP, so by default the client is the TCP peer and transport is
 * never secure. Behind a reverse proxy or load balancer named by --trusted-proxies, the client is
 * the right-most X-Forwarded-For address that is not itself a trusted proxy, and the transport is
 * what the nearest proxy's X-Forwarded-Proto says. Headers from any other peer are ignored, so a
 * client cannot choose its own address.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { Clock } from '../domain/ports.js';
import { normaliseIp, parseCidr, type RequestFacts } from '../domain/policy-evaluation.js';

const MAX_FORWARDED_HOPS = 32;

export class RequestFactsReader {
  private readonly trusted: BlockList | undefined;

  constructor(
    private readonly clock: Clock,
    /** Addresses or CIDR ranges of the proxies whose X-Forwarded-For / X-Forwarded-Proto are believed. */
    trustedProxies: readonly string[] = [],
  ) {
    if (trustedProxies.length === 0) return;
    this.trusted = new BlockList();
    for (const t of trustedProxies) {
      const c = parseCidr(t);
      if (!c) throw new Error(`"${t}" is not an IP address or CIDR range`);
      this.trusted.addSubnet(c.net, c.prefix, c.type);
    }
  }

  private isTrusted(ip: string | undefined): boolean {
    if (!this.trusted || ip === undefined) return false;
    const v = isIP(ip);
    return v !== 0 && this.trusted.check(ip, v === 4 ? 'ipv4' : 'ipv6');
  }

  read(req: IncomingMessage): RequestFacts {
    const h = (name: string) => (typeof req.headers[name] === 'string' ? req.headers[name] : undefined);
    const peer = normaliseIp(req.socket.remoteAddress);
    let sourceIp = peer;
    let secureTransport = false;
    if (this.isTrusted(peer)) {
      const hops = (h('x-forwarded-for') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '').slice(-MAX_FORWARDED_HOPS);
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = normaliseIp(hops[i]!.replace(/^\[(.*)\]$/, '$1'));
        if (hop === undefined || isIP(hop) === 0) break; // not an address: believe nothing further left
        sourceIp = hop;
        if (!this.isTrusted(hop)) break;
      }
      const proto = (h('x-forwarded-proto') ?? '').split(',').pop()?.trim().toLowerCase();
      secureTransport = proto === 'https';
    }
    return { now: this.clock.now(), sourceIp, userAgent: h('user-agent'), referer: h('referer'), secureTransport };
  }
}
