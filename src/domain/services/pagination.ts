/**
 * Opaque, stable pagination tokens. A token names the last item returned (keyset paging, so
 * nothing is skipped or repeated while resources are added) and the filters it was issued for.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';
import type { ListPage, ResourceRecord } from '../ports.js';

export const DEFAULT_PAGE_SIZE = 10;

interface TokenBody {
  v: 1;
  n: string;
  t: number;
  f: string;
}

function filterKey(filters: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 16);
}

export function pageRequest(
  order: ListPage['order'],
  maxResults: number | undefined,
  nextToken: string | undefined,
  filters: Readonly<Record<string, unknown>>,
): ListPage {
  const limit = maxResults ?? DEFAULT_PAGE_SIZE;
  if (nextToken === undefined || nextToken === '') return { order, limit };
  let body: TokenBody | undefined;
  try {
    body = JSON.parse(Buffer.from(nextToken, 'base64url').toString('utf8')) as TokenBody;
  } catch {
    body = undefined;
  }
  if (!body || body.v !== 1 || typeof body.n !== 'string' || typeof body.t !== 'number') {
    throw new ValidationError('INVALID_PAGINATION_TOKEN', 'The pagination token (nextToken) is not valid. Use the NextToken value from the previous response, or omit it to start from the first page.');
  }
  if (body.f !== filterKey(filters)) {
    throw new ValidationError('INVALID_PAGINATION_TOKEN', 'The pagination token (nextToken) was issued for a request with different filters. Repeat the original filters, or omit the token to start again.');
  }
  return { order, limit, after: { name: body.n, createdMs: body.t } };
}

/** Returns the page's items and the token for the next page (none on the last page). */
export function pageResult<D>(
  rows: ResourceRecord<D>[],
  page: ListPage,
  filters: Readonly<Record<string, unknown>>,
): { items: ResourceRecord<D>[]; nextToken?: string } {
  if (rows.length <= page.limit) return { items: rows };
  const items = rows.slice(0, page.limit);
  const last = items[items.length - 1]!;
  const body: TokenBody = { v: 1, n: last.name, t: last.createdMs, f: filterKey(filters) };
  return { items, nextToken: Buffer.from(JSON.stringify(body)).toString('base64url') };
}

/** Asks the store for one row more than the page, so the last page is known without a second query. */
export function probe(page: ListPage): ListPage {
  return { ...page, limit: page.limit + 1 };
}
