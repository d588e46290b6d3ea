/**
 * `packhouse jobs [--follow] [--limit N]`: lists the harvest jobs of every account and Region in the
 * configured database (SQLite in --data-dir, or --database-url) under a header row: status, job,
 * window, destination, and what the job is at — what a QUEUED job waits for, a running job's
 * progress, the span a COMPLETED job harvested (when short of its window), a FAILED job's reason.
 * Every queued and running job is listed, and the newest N finished ones (1000 by default).
 * `--follow` redraws every second until no job is queued or running.
 */
import { ConfigError, type Config } from './config/config.js';
import { spanIsShort, type HarvestJob } from './domain/model.js';
import type { MetadataStore, ResourceRecord, TimelineStore } from './domain/ports.js';
import { harvestReadiness, type Readiness } from './domain/harvest/readiness.js';
import { openStores } from './app.js';

const iso = (ms: number) => new Date(ms).toISOString();
const secondsFrom = (ms: number, nowMs: number) => `${Math.max(0, Math.ceil((ms - nowMs) / 1000))} s`;

/** What a QUEUED job waits for, in words. */
export function waitingText(w: Readiness, nowMs: number): string {
  if (w.due) return 'due: starts at the next scheduling pass';
  const arrived = w.arrivedUpToMs !== undefined ? `; content has arrived up to ${iso(w.arrivedUpToMs)}` : '';
  switch (w.waitingFor) {
    case 'end-time':
      return `waiting for its end time (${iso(w.untilMs!)}, in ${secondsFrom(w.untilMs!, nowMs)})`;
    case 'late-content':
      return `waiting for late content: the input is live but has not reached the end time yet${arrived}`;
    case 'settle':
      return `waiting for late content: the input stopped; runs with what there is in ${secondsFrom(w.untilMs!, nowMs)}${arrived}`;
  }
}

async function stateText(r: ResourceRecord<HarvestJob>, deps: { store: MetadataStore; timeline: TimelineStore }, config: Config, nowMs: number): Promise<string> {
  const j = r.doc;
  const p = j.progress;
  switch (j.status) {
    case 'QUEUED':
      return waitingText(await harvestReadiness(deps, r, nowMs, config.harvest.settleSeconds * 1000), nowMs);
    case 'IN_PROGRESS':
      return p && p.objectsTotal
        ? `${Math.floor((100 * p.objectsWritten) / p.objectsTotal)}% (${p.objectsWritten}/${p.objectsTotal} objects, ${(p.bytesWritten / 1e6).toFixed(1)}/${(p.bytesTotal / 1e6).toFixed(1)} MB)`
        : 'planning';
    case 'COMPLETED': {
      const done = p ? `${p.objectsWritten} objects, ${(p.bytesWritten / 1e6).toFixed(1)} MB` : '';
      if (!j.harvested) return done;
      const span = `harvested ${iso(j.harvested.startMs)} .. ${iso(j.harvested.endMs)}`;
      return `${done}; ${span}${spanIsShort(j, j.harvested) ? ' (SHORT of the window: the stream stopped)' : ''}`;
    }
    default:
      return j.errorMessage ?? '';
  }
}

const COLUMNS = [11, 48, 50];

function line(cells: readonly string[]): string {
  return cells.map((c, i) => (i < COLUMNS.length ? c.padEnd(COLUMNS[i]!) : c)).join('  ').trimEnd();
}

/** Finished jobs listed by default (the newest); queued and running ones are all listed. */
export const DEFAULT_FINISHED_LIMIT = 1000;
/** Most queued or running jobs read at once (the active-job quota keeps them far fewer). */
const MAX_ACTIVE = 100_000;

export interface JobsOptions {
  readonly follow: boolean;
  /** How many finished jobs (the newest) to list. */
  readonly limit: number;
}

/** Takes `jobs`' own flags (--follow, --limit N) out of the arguments; the rest configure the stores as for `serve`. */
export function parseJobsArgs(args: readonly string[]): { options: JobsOptions; rest: string[] } {
  let follow = false;
  let limit = DEFAULT_FINISHED_LIMIT;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--follow') follow = true;
    else if (a === '--limit' || a.startsWith('--limit=')) {
      const v = a === '--limit' ? args[++i] : a.slice('--limit='.length);
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1_000_000) {
        throw new ConfigError(`--limit takes the number of finished jobs to list, from 1 to 1000000 (got ${v === undefined ? 'nothing' : JSON.stringify(v)}).`);
      }
      limit = Number(v);
    } else rest.push(a);
  }
  return { options: { follow, limit }, rest };
}

export async function jobsCommand(config: Config, options: JobsOptions, out: NodeJS.WritableStream): Promise<void> {
  const { follow, limit } = options;
  const { store, timeline } = await openStores(config, { existing: true });
  try {
    for (;;) {
      // Every queued or running job, and the newest finished ones: the oldest finished jobs are
      // what a long-lived database holds most of, and what an operator looks for least.
      const active = await store.findByStatus<HarvestJob>('harvestJob', ['QUEUED', 'IN_PROGRESS'], MAX_ACTIVE);
      const finished = await store.findByStatus<HarvestJob>('harvestJob', ['COMPLETED', 'FAILED', 'CANCELLED'], limit + 1, 'newest');
      const more = finished.length > limit;
      const jobs = [...active, ...finished.slice(0, limit)].sort((a, b) => a.createdMs - b.createdMs || (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0));
      const nowMs = Date.now();
      const rows: string[] = [];
      for (const r of jobs) {
        const j = r.doc;
        rows.push(line([j.status, `${j.groupName}/${j.channelName}/${j.endpointName}/${j.name}`, `${iso(j.startMs)} .. ${iso(j.endMs)}`, `s3://${j.bucket}/${j.destinationPath}`, await stateText(r, { store, timeline }, config, nowMs)]));
      }
      out.write(rows.length ? `${[line(['STATUS', 'JOB (group/channel/endpoint/name)', 'WINDOW', 'DESTINATION', 'STATE']), ...rows].join('\n')}\n` : 'no harvest jobs\n');
      if (more) out.write(`(older finished jobs are not listed: these are the ${limit} newest; --limit N lists more)\n`);
      if (!follow || active.length === 0) return;
      await new Promise((r) => setTimeout(r, 1000));
      out.write('\n');
    }
  } finally {
    await store.close();
  }
}
