/**
 * The TimelineStore port over any SqlDriver: renditions and segments of live channels, the rows
 * the origin reads for every manifest and the harvester for every job.
 */
import type { RenditionRecord, SegmentRecord, TimelineStore } from '../../domain/ports.js';
import { MAX_SEGMENT_MS } from '../../domain/timeline-limits.js';
import type { Row, SqlDriver } from './driver.js';
import { appendToRuns, runsFromSeq, type SegmentRun, type TimedSegment } from '../../domain/timeline-runs.js';


const SEGMENT_COLUMNS = 'channel_arn, rendition, seq, start_ms, duration_ms, media_time, media_duration, blob_key, bytes, discontinuity, source, init_key, disc_seq, cmaf_key, ts_key';

/** The columns of a rendition's segments when the channel and rendition are known (fewer strings to build per row). */
const RUN_COLUMNS = 'seq, start_ms, duration_ms, media_time, media_duration, blob_key, bytes, discontinuity, source, init_key, disc_seq, cmaf_key, ts_key';

function toSegment(r: Row, channelArn?: string, rendition?: string): SegmentRecord {
  return {
    channelArn: channelArn ?? (r['channel_arn'] as string),
    rendition: rendition ?? (r['rendition'] as string),
    seq: Number(r['seq']),
    startMs: Number(r['start_ms']),
    durationMs: Number(r['duration_ms']),
    mediaTime: Number(r['media_time']),
    mediaDuration: Number(r['media_duration']),
    key: r['blob_key'] as string,
    bytes: Number(r['bytes']),
    discontinuity: Number(r['discontinuity']) === 1,
    source: r['source'] as string,
    initKey: (r['init_key'] as string | null) ?? undefined,
    discSeq: Number(r['disc_seq'] ?? 0),
    ...(typeof r['cmaf_key'] === 'string' ? { cmafKey: r['cmaf_key'] } : {}),
    ...(typeof r['ts_key'] === 'string' ? { tsKey: r['ts_key'] } : {}),
  };
}

/** What a manifest reads of a segment: no keys, sizes or sources. */
const TIMING_COLUMNS = 'seq, start_ms, duration_ms, media_time, media_duration, discontinuity, init_key, disc_seq, cmaf_key IS NOT NULL AS has_cmaf, ts_key IS NOT NULL AS has_ts';

/** Truthy column values from either database (SQLite 0/1, PostgreSQL booleans). */
const flag = (v: unknown) => v === true || Number(v) === 1;

function toTimed(r: Row): TimedSegment {
  return {
    seq: Number(r['seq']),
    startMs: Number(r['start_ms']),
    durationMs: Number(r['duration_ms']),
    mediaTime: Number(r['media_time']),
    mediaDuration: Number(r['media_duration']),
    discontinuity: Number(r['discontinuity']) === 1,
    initKey: (r['init_key'] as string | null) ?? undefined,
    discSeq: Number(r['disc_seq'] ?? 0),
    hasCmaf: flag(r['has_cmaf']),
    hasTs: flag(r['has_ts']),
  };
}

/** A rendition's timeline held in memory, as of counters (last_seq, trims). */
interface HeldRuns {
  lastSeq: number;
  trims: number;
  runs: SegmentRun[];
}

/** Rows read per statement while a rendition's runs are loaded, so no read holds the database for long. */
const LOAD_CHUNK_ROWS = 4096;

export class SqlTimelineStore implements TimelineStore {
  /**
   * Renditions' timelines as runs (timeline-runs.ts), least recently used first. A cache only:
   * every read checks the rendition's counters row (one indexed row) and reads only the rows
   * appended since; a removal (counted in `trims`) is checked against the rows left.
   */
  private readonly held = new Map<string, HeldRuns>();
  private heldRuns = 0;
  private readonly loading = new Map<string, Promise<readonly SegmentRun[]>>();

  /** @param maxHeldRuns bound on the runs kept in memory over all renditions (about 150 bytes each); 0: none. */
  constructor(
    private readonly db: SqlDriver,
    private readonly maxHeldRuns = 500_000,
  ) {}

  async segmentRuns(channelArn: string, renditions: readonly string[]): Promise<ReadonlyMap<string, readonly SegmentRun[]> | undefined> {
    if (this.maxHeldRuns <= 0) return undefined;
    const rows = await this.db.all('SELECT rendition, last_seq, trims FROM rendition_counters WHERE channel_arn = ?', [channelArn]);
    const counters = new Map(rows.map((r) => [r['rendition'] as string, { lastSeq: Number(r['last_seq']), trims: Number(r['trims']) }]));
    const out = new Map<string, readonly SegmentRun[]>();
    for (const rendition of renditions) {
      const c = counters.get(rendition);
      // No counters row: nothing was ever appended through this store (or rows were written by hand): read rows instead.
      if (!c) return undefined;
      out.set(rendition, await this.refresh(channelArn, rendition, c.lastSeq, c.trims));
    }
    return out;
  }

  /** Brings a rendition's runs up to the given counters; one load per rendition at a time, the others wait for it. */
  private refresh(channelArn: string, rendition: string, lastSeq: number, trims: number): Promise<readonly SegmentRun[]> {
    const key = `${channelArn}\n${rendition}`;
    const busy = this.loading.get(key);
    if (busy) return busy.then(() => this.refresh(channelArn, rendition, lastSeq, trims));
    const p = this.load(key, channelArn, rendition, lastSeq, trims).finally(() => this.loading.delete(key));
    this.loading.set(key, p);
    return p;
  }

  private async load(key: string, channelArn: string, rendition: string, lastSeq: number, trims: number): Promise<readonly SegmentRun[]> {
    let h = this.held.get(key);
    if (h) {
      this.held.delete(key);
      this.heldRuns -= h.runs.length;
    }
    if (h && h.trims !== trims) {
      // Segments were removed: keep what is left of the runs if the rows left are exactly those.
      const left = (await this.db.all('SELECT MIN(seq) AS lo, COUNT(*) AS n FROM segments WHERE channel_arn = ? AND rendition = ? AND seq <= ?', [channelArn, rendition, h.lastSeq]))[0];
      const lo = left?.['lo'] === null || left?.['lo'] === undefined ? h.lastSeq + 1 : Number(left['lo']);
      const runs = runsFromSeq(h.runs, lo);
      const count = runs.reduce((t, r) => t + r.count, 0);
      h = count === Number(left?.['n'] ?? 0) ? { lastSeq: h.lastSeq, trims, runs } : undefined;
    }
    if (!h) h = { lastSeq: 0, trims, runs: [] };
    // Counters read before another load finished may be older than what is held.
    while (lastSeq > h.lastSeq) {
      const rows = await this.db.all(
        `SELECT ${TIMING_COLUMNS} FROM segments WHERE channel_arn = ? AND rendition = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ${LOAD_CHUNK_ROWS}`,
        [channelArn, rendition, h.lastSeq, lastSeq],
      );
      appendToRuns(h.runs, rows.map(toTimed));
      h.lastSeq = rows.length < LOAD_CHUNK_ROWS ? lastSeq : Number(rows[rows.length - 1]!['seq']);
      // A long timeline is read in many chunks: between them the event loop serves others (ingest,
      // live playlists), since a read SQLite answers at once would otherwise run them all in one turn.
      if (lastSeq > h.lastSeq) await new Promise((resolve) => setImmediate(resolve));
    }
    this.held.set(key, h);
    this.heldRuns += h.runs.length;
    for (const [k, e] of this.held) {
      if (this.heldRuns <= this.maxHeldRuns || k === key) break;
      this.held.delete(k);
      this.heldRuns -= e.runs.length;
    }
    return h.runs;
  }

  async upsertRendition(r: RenditionRecord): Promise<void> {
    await this.db.run(
      'INSERT INTO renditions (channel_arn, id, doc, updated_ms) VALUES (?, ?, ?, ?) ON CONFLICT (channel_arn, id) DO UPDATE SET doc = excluded.doc, updated_ms = excluded.updated_ms',
      [r.channelArn, r.id, JSON.stringify(r), r.updatedMs],
    );
  }

  async listRenditions(channelArn: string): Promise<RenditionRecord[]> {
    const rows = await this.db.all('SELECT doc FROM renditions WHERE channel_arn = ? ORDER BY id', [channelArn]);
    return rows.map((r) => JSON.parse(r['doc'] as string) as RenditionRecord);
  }

  appendSegment(s: Omit<SegmentRecord, 'seq' | 'discSeq'>): Promise<SegmentRecord | undefined> {
    return this.db.transaction(async (ex) => {
      const mid = s.startMs + Math.floor(s.durationMs / 2);
      const clash = await ex.all('SELECT seq FROM segments WHERE channel_arn = ? AND rendition = ? AND start_ms <= ? AND start_ms > ? AND start_ms + duration_ms > ? LIMIT 1', [
        s.channelArn,
        s.rendition,
        mid,
        mid - MAX_SEGMENT_MS,
        mid,
      ]);
      if (clash.length > 0) return undefined;
      const last = await ex.all('SELECT seq, disc_seq FROM segments WHERE channel_arn = ? AND rendition = ? ORDER BY seq DESC LIMIT 1', [s.channelArn, s.rendition]);
      const counter = (await ex.all('SELECT last_seq, last_disc_seq FROM rendition_counters WHERE channel_arn = ? AND rendition = ?', [s.channelArn, s.rendition]))[0];
      const prev = last[0];
      const lastSeq = Math.max(prev ? Number(prev['seq']) : 0, counter ? Number(counter['last_seq']) : 0);
      const seq = lastSeq + 1;
      // Nothing held, but the rendition had segments (all removed by retention or a reset): whatever
      // comes now does not continue them.
      const resumed = !prev && counter !== undefined;
      const discontinuity = s.discontinuity || resumed;
      const lastDisc = prev ? Number(prev['disc_seq']) : counter ? Number(counter['last_disc_seq']) : 0;
      const discSeq = prev || counter ? lastDisc + (discontinuity ? 1 : 0) : 0;
      const rec: SegmentRecord = { ...s, seq, discSeq, discontinuity };
      await ex.run(
        counter
          ? 'UPDATE rendition_counters SET last_seq = ?, last_disc_seq = ? WHERE channel_arn = ? AND rendition = ?'
          : 'INSERT INTO rendition_counters (last_seq, last_disc_seq, channel_arn, rendition) VALUES (?, ?, ?, ?)',
        [seq, discSeq, s.channelArn, s.rendition],
      );
      await ex.run(`INSERT INTO segments (${SEGMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
        rec.channelArn,
        rec.rendition,
        rec.seq,
        rec.startMs,
        rec.durationMs,
        rec.mediaTime,
        rec.mediaDuration,
        rec.key,
        rec.bytes,
        rec.discontinuity ? 1 : 0,
        rec.source,
        rec.initKey ?? null,
        rec.discSeq,
        rec.cmafKey ?? null,
        rec.tsKey ?? null,
      ]);
      return rec;
    });
  }

  async findSegments(channelArn: string, rendition: string, fromMs: number, toMs: number): Promise<SegmentRecord[]> {
    const rows = await this.db.all(
      `SELECT ${RUN_COLUMNS} FROM segments WHERE channel_arn = ? AND rendition = ? AND start_ms < ? AND start_ms > ? AND start_ms + duration_ms > ? ORDER BY seq`,
      // The lower bound on start_ms keeps the index range tight (no segment is longer than MAX_SEGMENT_MS).
      [channelArn, rendition, toMs, fromMs - MAX_SEGMENT_MS, fromMs],
    );
    return rows.map((r) => toSegment(r, channelArn, rendition));
  }

  async getSegment(channelArn: string, rendition: string, seq: number): Promise<SegmentRecord | undefined> {
    const rows = await this.db.all(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE channel_arn = ? AND rendition = ? AND seq = ?`, [channelArn, rendition, seq]);
    return rows[0] ? toSegment(rows[0]) : undefined;
  }

  async segmentsBySeq(channelArn: string, rendition: string, fromSeq: number, toSeq: number): Promise<SegmentRecord[]> {
    const rows = await this.db.all(`SELECT ${RUN_COLUMNS} FROM segments WHERE channel_arn = ? AND rendition = ? AND seq >= ? AND seq <= ? ORDER BY seq`, [channelArn, rendition, fromSeq, toSeq]);
    return rows.map((r) => toSegment(r, channelArn, rendition));
  }

  async runStartMs(channelArn: string, rendition: string, discSeq: number): Promise<number | undefined> {
    // ORDER BY … LIMIT 1 rather than MIN(): the first entry of segments_by_run whatever the
    // planner knows. PostgreSQL without statistics on the table (just filled, or restored, before
    // its first ANALYZE) aggregated MIN() over every index entry of the run: 13 ms for a day of
    // segments on every live DASH MPD, against 0.02 ms.
    const rows = await this.db.all('SELECT start_ms AS s FROM segments WHERE channel_arn = ? AND rendition = ? AND disc_seq = ? ORDER BY start_ms LIMIT 1', [channelArn, rendition, discSeq]);
    const v = rows[0]?.['s'];
    return v === null || v === undefined ? undefined : Number(v);
  }

  async latestSegment(channelArn: string, rendition: string): Promise<SegmentRecord | undefined> {
    const rows = await this.db.all(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE channel_arn = ? AND rendition = ? ORDER BY seq DESC LIMIT 1`, [channelArn, rendition]);
    return rows[0] ? toSegment(rows[0]) : undefined;
  }

  deleteSegmentsBefore(channelArn: string, beforeMs: number): Promise<SegmentRecord[]> {
    return this.db.transaction(async (ex) => {
      const rows = await ex.all(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE channel_arn = ? AND start_ms + duration_ms < ?`, [channelArn, beforeMs]);
      if (rows.length) {
        await ex.run('DELETE FROM segments WHERE channel_arn = ? AND start_ms + duration_ms < ?', [channelArn, beforeMs]);
        await ex.run('UPDATE rendition_counters SET trims = trims + 1 WHERE channel_arn = ?', [channelArn]);
      }
      return rows.map((r) => toSegment(r));
    });
  }

  deleteChannel(channelArn: string): Promise<SegmentRecord[]> {
    return this.db.transaction(async (ex) => {
      const rows = await ex.all(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE channel_arn = ?`, [channelArn]);
      await ex.run('DELETE FROM segments WHERE channel_arn = ?', [channelArn]);
      await ex.run('UPDATE rendition_counters SET trims = trims + 1 WHERE channel_arn = ?', [channelArn]);
      await ex.run('DELETE FROM renditions WHERE channel_arn = ?', [channelArn]);
      return rows.map((r) => toSegment(r));
    });
  }

  async channelArns(): Promise<string[]> {
    const rows = await this.db.all('SELECT channel_arn FROM renditions UNION SELECT DISTINCT channel_arn FROM segments', []);
    return rows.map((r) => r['channel_arn'] as string);
  }
}
