/**
 * `packhouse jobs [--follow]`: lists the harvest jobs of every account and Region in the
 * configured database (SQLite in --data-dir, or --database-url) with their status and progress;
 * `--follow` redraws every second until no job is queued or running.
 */
import type { Config } from './config/config.js';
import type { HarvestJob } from './domain/model.js';
import { openStores } from './app.js';

function row(j: HarvestJob): string {
  const p = j.progress;
  const pct = p && p.objectsTotal ? `${Math.floor((100 * p.objectsWritten) / p.objectsTotal)}% (${p.objectsWritten}/${p.objectsTotal} objects, ${(p.bytesWritten / 1e6).toFixed(1)}/${(p.bytesTotal / 1e6).toFixed(1)} MB)` : '';
  const window = `${new Date(j.startMs).toISOString()} .. ${new Date(j.endMs).toISOString()}`;
  return [j.status.padEnd(11), `${j.groupName}/${j.channelName}/${j.endpointName}/${j.name}`.padEnd(48), window, `s3://${j.bucket}/${j.destinationPath}`, pct || (j.errorMessage ?? '')].join('  ');
}

export async function jobsCommand(config: Config, follow: boolean, out: NodeJS.WritableStream): Promise<void> {
  const { store } = await openStores(config, { existing: true });
  try {
    for (;;) {
      const jobs = await store.findByStatus<HarvestJob>('harvestJob', ['QUEUED', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED'], 1000);
      const lines = jobs.map((r) => row(r.doc));
      out.write(`${lines.length ? lines.join('\n') : 'no harvest jobs'}\n`);
      const active = jobs.some((r) => r.doc.status === 'QUEUED' || r.doc.status === 'IN_PROGRESS');
      if (!follow || !active) return;
      await new Promise((r) => setTimeout(r, 1000));
      out.write('\n');
    }
  } finally {
    await store.close();
  }
}
