/**
 * Evaluates a resource policy (the JSON document of PutChannelPolicy / PutOriginEndpointPolicy)
 * for one request: an explicit Deny wins, then an Allow, else the request is denied. Principals
 * are matched by account (Packhouse's key pairs map to accounts, not to IAM users or roles), and
 * statements with a Condition are not evaluated: they never allow, and a Deny with a Condition
 * denies (the safe side). Pure.
 */

export interface PolicyRequest {
  /** Account id of the signing key. */
  readonly accountId: string;
  /** e.g. mediapackagev2:PutObject */
  readonly action: string;
  readonly resourceArn: string;
}

type Json = unknown;

const list = (v: Json): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM-style wildcard match: `*` any run, `?` one character; case-insensitive for actions. */
function glob(pattern: string, value: string, ignoreCase: boolean): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, ignoreCase ? 'i' : '');
  return re.test(value);
}

function principalMatches(principal: Json, accountId: string): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  const aws = list((principal as Record<string, unknown>)['AWS']);
  return aws.some((p) => {
    if (p === '*') return true;
    if (typeof p !== 'string') return false;
    if (p === accountId) return true;
    const m = /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(p);
    return m?.[1] === accountId;
  });
}

function statementApplies(s: Record<string, unknown>, req: PolicyRequest): boolean {
  const principalOk = s['Principal'] !== undefined ? principalMatches(s['Principal'], req.accountId) : s['NotPrincipal'] !== undefined ? !principalMatches(s['NotPrincipal'], req.accountId) : false;
  if (!principalOk) return false;
  const actionOk =
    s['Action'] !== undefined
      ? list(s['Action']).some((a) => typeof a === 'string' && glob(a, req.action, true))
      : list(s['NotAction']).every((a) => typeof a === 'string' && !glob(a, req.action, true));
  if (!actionOk) return false;
  const resources = s['Resource'] !== undefined ? list(s['Resource']) : ['*'];
  return resources.some((r) => typeof r === 'string' && glob(r, req.resourceArn, false));
}

export type PolicyDecision = 'allow' | 'deny' | 'implicit-deny';

export function evaluatePolicy(policyText: string, req: PolicyRequest): PolicyDecision {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(policyText) as Record<string, unknown>;
  } catch {
    return 'implicit-deny';
  }
  const statements = list(doc['Statement']).filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null);
  let allowed = false;
  for (const s of statements) {
    if (!statementApplies(s, req)) continue;
    const conditional = s['Condition'] !== undefined;
    if (s['Effect'] === 'Deny') return 'deny';
    if (s['Effect'] === 'Allow' && !conditional) allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}
