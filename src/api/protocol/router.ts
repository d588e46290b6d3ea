/**
 * Maps an HTTP method and raw request path to a modelled operation and its path labels. Owns the
 * route table (built once from OPERATIONS); knows nothing of bodies, query strings or auth.
 * Matching runs on the still-encoded path so that `%2F` stays inside a label (API.md §1.2).
 */

import { ValidationError } from '../../domain/errors.js';
import { OPERATIONS, OPERATION_NAMES, type OperationName } from '../generated/model.js';

export type RouteMatch =
  | { readonly operation: OperationName; readonly labels: Record<string, string> }
  | { readonly error: 'not-found' | 'method-not-allowed' };

/** A path segment of a modelled URI: a fixed string, or a label capturing one segment. */
type Segment = { readonly literal: string } | { readonly label: string };

interface Route {
  readonly operation: OperationName;
  readonly method: string;
  readonly segments: readonly Segment[];
  /** Number of literal segments; more specific routes are tried first. */
  readonly literals: number;
}

function compile(operation: OperationName): Route {
  const { method, uri } = OPERATIONS[operation];
  const segments = splitPath(uri).map((s): Segment => {
    const m = /^\{([^}]+)\}$/.exec(s);
    return m?.[1] !== undefined ? { label: m[1] } : { literal: s };
  });
  return { operation, method, segments, literals: segments.filter((s) => 'literal' in s).length };
}

/** Path segments without the leading slash and without one trailing slash (optional on every route, API.md §1.6). */
function splitPath(path: string): string[] {
  let p = path.startsWith('/') ? path.slice(1) : path;
  if (p.endsWith('/')) p = p.slice(0, -1);
  return p === '' ? [] : p.split('/');
}

/** Routes grouped by segment count, each group ordered most-literal first. */
const ROUTES_BY_DEPTH: ReadonlyMap<number, readonly Route[]> = (() => {
  const byDepth = new Map<number, Route[]>();
  for (const route of OPERATION_NAMES.map(compile)) {
    const group = byDepth.get(route.segments.length) ?? [];
    group.push(route);
    byDepth.set(route.segments.length, group);
  }
  for (const group of byDepth.values()) group.sort((a, b) => b.literals - a.literals);
  return byDepth;
})();

function matches(route: Route, parts: readonly string[]): boolean {
  for (let i = 0; i < route.segments.length; i++) {
    const seg = route.segments[i];
    const part = parts[i];
    if (seg === undefined || part === undefined) return false;
    if ('literal' in seg ? part !== seg.literal : part === '') return false;
  }
  return true;
}

function decodeLabel(label: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ValidationError('MEMBER_INVALID', `${label} in the request path is not validly percent-encoded.`);
  }
}

/**
 * Finds the operation for `method` and `rawPath` (the request target as received; a query string
 * is ignored). Labels are percent-decoded only after matching. Throws ValidationError
 * (MEMBER_INVALID) if a matched label is not valid percent-encoding.
 */
export function matchRoute(method: string, rawPath: string): RouteMatch {
  const q = rawPath.indexOf('?');
  const parts = splitPath(q < 0 ? rawPath : rawPath.slice(0, q));
  // The signature covers the path with dot segments resolved (as the SDKs sign it); routing a
  // literal '.' or '..' would act on another path than the one signed, so such a path matches nothing.
  if (parts.some((p) => p === '.' || p === '..')) return { error: 'not-found' };
  const candidates = ROUTES_BY_DEPTH.get(parts.length);
  if (candidates === undefined) return { error: 'not-found' };
  const verb = method.toUpperCase();
  let pathMatched = false;
  for (const route of candidates) {
    if (!matches(route, parts)) continue;
    if (route.method !== verb) {
      pathMatched = true;
      continue;
    }
    const labels: Record<string, string> = {};
    route.segments.forEach((seg, i) => {
      const part = parts[i];
      if ('label' in seg && part !== undefined) labels[seg.label] = decodeLabel(seg.label, part);
    });
    return { operation: route.operation, labels };
  }
  return { error: pathMatched ? 'method-not-allowed' : 'not-found' };
}
