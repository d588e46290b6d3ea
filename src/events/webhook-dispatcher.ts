/**
 * Delivers queued events to their webhook URLs (HTTP POST of the JSON event), at least once:
 * a failed delivery is retried with exponential backoff until it succeeds or a day has passed.
 * The outbox lives in the database, so a restart loses nothing.
 */
import type { Logger } from 'pino';
import type { Clock, MetadataStore } from '../domain/ports.js';

const MAX_BACKOFF_MS = 5 * 60_000;
const GIVE_UP_ATTEMPTS = 300;

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly deps: { store: MetadataStore; clock: Clock; logger: Logger; pollMs: number; baseBackoffMs: number; timeoutMs: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { store, clock, logger } = this.deps;
      const due = await store.dueEvents(clock.now().getTime(), 20);
      for (const e of due) {
        try {
          const res = await fetch(e.target, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'user-agent': 'packhouse-events' },
            body: e.payload,
            signal: AbortSignal.timeout(this.deps.timeoutMs),
          });
          await res.arrayBuffer().catch(() => undefined);
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          await store.markEventDelivered(e.id, e.target, clock.now().getTime());
          logger.info({ event: e.id, target: e.target, attempts: e.attempts + 1 }, 'event delivered');
        } catch (err) {
          const attempts = e.attempts + 1;
          const next = attempts >= GIVE_UP_ATTEMPTS ? Number.MAX_SAFE_INTEGER : clock.now().getTime() + Math.min(MAX_BACKOFF_MS, this.deps.baseBackoffMs * 2 ** (attempts - 1));
          await store.markEventFailed(e.id, e.target, attempts, next, (err as Error).message);
          logger.warn({ event: e.id, target: e.target, attempts, err: (err as Error).message }, 'event delivery failed; will retry');
        }
      }
    } catch (err) {
      this.deps.logger.error({ err }, 'event dispatch pass failed');
    } finally {
      this.busy = false;
    }
  }
}
