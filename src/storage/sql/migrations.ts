/**
 * Numbered schema migrations per dialect. A migration, once released, is never edited: add a new one.
 */
import type { Migration } from './driver.js';

/** Names sort by code point on both databases (PostgreSQL's default collation follows the locale). */
const resources = (bigint: string, binaryText: string) => `
CREATE TABLE resources (
  arn TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  group_name TEXT NOT NULL,
  channel_name TEXT,
  endpoint_name TEXT,
  name ${binaryText} NOT NULL,
  status TEXT,
  created_ms ${bigint} NOT NULL,
  expires_ms ${bigint},
  doc TEXT NOT NULL
);
CREATE INDEX resources_by_parent ON resources (account_id, region, kind, group_name, channel_name, endpoint_name, name);
CREATE INDEX resources_by_created ON resources (account_id, region, kind, group_name, created_ms);
CREATE INDEX resources_by_status ON resources (account_id, region, kind, group_name, status);
CREATE INDEX resources_by_channel_name ON resources (account_id, region, kind, group_name, channel_name, name);
CREATE INDEX resources_expiry ON resources (expires_ms);
CREATE TABLE idempotency_tokens (
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  operation TEXT NOT NULL,
  token TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  response TEXT NOT NULL,
  created_ms ${bigint} NOT NULL,
  PRIMARY KEY (account_id, region, operation, token)
);
CREATE INDEX idempotency_tokens_age ON idempotency_tokens (created_ms);
`;

const timeline = (bigint: string) => `
CREATE TABLE renditions (
  channel_arn TEXT NOT NULL,
  id TEXT NOT NULL,
  doc TEXT NOT NULL,
  updated_ms ${bigint} NOT NULL,
  PRIMARY KEY (channel_arn, id)
);
CREATE TABLE segments (
  channel_arn TEXT NOT NULL,
  rendition TEXT NOT NULL,
  seq ${bigint} NOT NULL,
  start_ms ${bigint} NOT NULL,
  duration_ms ${bigint} NOT NULL,
  media_time ${bigint} NOT NULL,
  media_duration ${bigint} NOT NULL,
  blob_key TEXT NOT NULL,
  bytes ${bigint} NOT NULL,
  discontinuity INTEGER NOT NULL,
  source TEXT NOT NULL,
  init_key TEXT,
  PRIMARY KEY (channel_arn, rendition, seq)
);
CREATE INDEX segments_by_time ON segments (channel_arn, rendition, start_ms);
`;

const outbox = (bigint: string) => `
CREATE TABLE event_outbox (
  id TEXT NOT NULL,
  target TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_ms ${bigint} NOT NULL,
  delivered_ms ${bigint},
  last_error TEXT,
  PRIMARY KEY (id, target)
);
CREATE INDEX event_outbox_due ON event_outbox (delivered_ms, next_ms);
`;

/** Each segment carries its discontinuity sequence number (HLS EXT-X-DISCONTINUITY-SEQUENCE, DASH periods). */
const discontinuitySequence = `
ALTER TABLE segments ADD COLUMN disc_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX segments_by_run ON segments (channel_arn, rendition, disc_seq, start_ms);
`;

/**
 * Per-rendition counters that outlive the segments: sequence numbers (in segment URLs cached for
 * two weeks) and discontinuity sequence numbers never start again when retention or a reset has
 * removed every segment of a rendition.
 */
const counters = (bigint: string) => `
CREATE TABLE rendition_counters (
  channel_arn TEXT NOT NULL,
  rendition TEXT NOT NULL,
  last_seq ${bigint} NOT NULL,
  last_disc_seq ${bigint} NOT NULL,
  PRIMARY KEY (channel_arn, rendition)
);
INSERT INTO rendition_counters (channel_arn, rendition, last_seq, last_disc_seq)
  SELECT channel_arn, rendition, MAX(seq), MAX(disc_seq) FROM segments GROUP BY channel_arn, rendition;
`;

/**
 * The data plane finds resources by names alone (its URLs carry no account), on every ingest and
 * origin request, and CreateChannelGroup checks a name across every account and Region.
 */
const byNames = `
CREATE INDEX resources_by_names ON resources (group_name, kind, channel_name, endpoint_name);
`;

/** TS segments carry the key of their CMAF repackaging (docs/design/010-packager.md). */
const cmafKey = `
ALTER TABLE segments ADD COLUMN cmaf_key TEXT;
`;

/** fMP4 segments carry the key of their MPEG-TS repackaging (docs/design/010-packager.md). */
const tsKey = `
ALTER TABLE segments ADD COLUMN ts_key TEXT;
`;

/**
 * Content keys fetched from SPEKE key providers, one row per endpoint configuration and key period,
 * so that every node, restart and harvest encrypts with the same keys (docs/design/013-encryption.md).
 */
const contentKeys = (bigint: string) => `
CREATE TABLE content_keys (
  id TEXT PRIMARY KEY,
  endpoint_arn TEXT NOT NULL,
  doc TEXT NOT NULL,
  created_ms ${bigint} NOT NULL
);
CREATE INDEX content_keys_by_endpoint ON content_keys (endpoint_arn);
`;

/**
 * Every removal of a rendition's segments (retention, channel deletion) is counted, so a reader
 * holding the rendition's timeline in memory knows from one row whether it may still be whole
 * (docs/design/014-manifest-cost.md).
 */
const trims = (bigint: string) => `
ALTER TABLE rendition_counters ADD COLUMN trims ${bigint} NOT NULL DEFAULT 0;
`;

/**
 * When the harvest runner should next look at a job (a queued job's EndTime, a running job's lease
 * end), indexed so that a scheduling pass reads only what is due, however many jobs wait for a
 * window still ahead. Jobs active before this migration are due at once: the first pass decides
 * about them as before, and their next write sets the column.
 */
const dueMs = (bigint: string) => `
ALTER TABLE resources ADD COLUMN due_ms ${bigint};
UPDATE resources SET due_ms = 0 WHERE kind = 'harvestJob' AND status IN ('QUEUED', 'IN_PROGRESS');
CREATE INDEX resources_due ON resources (kind, due_ms, arn);
`;

export const MIGRATIONS: Readonly<Record<'sqlite' | 'postgres', readonly Migration[]>> = {
  sqlite: [
    { id: 1, name: 'resources and idempotency tokens', sql: resources('INTEGER', 'TEXT') },
    { id: 2, name: 'live timeline', sql: timeline('INTEGER') },
    { id: 3, name: 'event outbox', sql: outbox('INTEGER') },
    { id: 4, name: 'segment discontinuity sequence', sql: discontinuitySequence },
    { id: 5, name: 'rendition counters', sql: counters('INTEGER') },
    { id: 6, name: 'resources by names', sql: byNames },
    { id: 7, name: 'segment CMAF repackaging', sql: cmafKey },
    { id: 8, name: 'segment TS repackaging', sql: tsKey },
    { id: 9, name: 'content keys', sql: contentKeys('INTEGER') },
    { id: 10, name: 'rendition trim counter', sql: trims('INTEGER') },
    { id: 11, name: 'resources due', sql: dueMs('INTEGER') },
  ],
  postgres: [
    { id: 1, name: 'resources and idempotency tokens', sql: resources('BIGINT', 'TEXT COLLATE "C"') },
    { id: 2, name: 'live timeline', sql: timeline('BIGINT') },
    { id: 3, name: 'event outbox', sql: outbox('BIGINT') },
    { id: 4, name: 'segment discontinuity sequence', sql: discontinuitySequence },
    { id: 5, name: 'rendition counters', sql: counters('BIGINT') },
    { id: 6, name: 'resources by names', sql: byNames },
    { id: 7, name: 'segment CMAF repackaging', sql: cmafKey },
    { id: 8, name: 'segment TS repackaging', sql: tsKey },
    { id: 9, name: 'content keys', sql: contentKeys('BIGINT') },
    { id: 10, name: 'rendition trim counter', sql: trims('BIGINT') },
    { id: 11, name: 'resources due', sql: dueMs('BIGINT') },
  ],
};
