/**
 * Numbered schema migrations per dialect. A migration, once released, is never edited: add a new one.
 */
import type { Migration } from './driver.js';

const resources = (bigint: string) => `
CREATE TABLE resources (
  arn TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  group_name TEXT NOT NULL,
  channel_name TEXT,
  endpoint_name TEXT,
  name TEXT NOT NULL,
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

export const MIGRATIONS: Readonly<Record<'sqlite' | 'postgres', readonly Migration[]>> = {
  sqlite: [{ id: 1, name: 'resources and idempotency tokens', sql: resources('INTEGER') }],
  postgres: [{ id: 1, name: 'resources and idempotency tokens', sql: resources('BIGINT') }],
};
