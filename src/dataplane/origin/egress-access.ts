/**
 * Who may read an origin endpoint. Without an endpoint policy egress is open (Packhouse's
 * documented default). With one, a request is served only if the policy allows it: GET needs
 * mediapackagev2:GetObject, HEAD mediapackagev2:GetHeadObject, on the endpoint's ARN, for the
 * request's principal (anonymous "*", or the account of a valid SigV4 signature) and conditions
 * (aws:SourceIp, aws:Referer, aws:UserAgent, mediapackagev2:RequestHasMatchingCdnAuthHeader, ...).
 * Anything else is 403 with the reason.
 */
import type { OriginEndpoint } from '../../domain/model.js';
import { evaluatePolicy, PolicyCache, PolicyGrammarError, requestContext, type RequestFacts, type RequestPrincipal } from '../../domain/policy-evaluation.js';
import { DataplaneError } from '../channel-locator.js';
import { CDN_IDENTIFIER_HEADER, cdnHeaderMatches, type CdnSecrets } from './cdn-secrets.js';

export interface EgressCall {
  readonly method: string;
  /** What the request says about itself (source address, headers, time). */
  readonly facts: Omit<RequestFacts, 'cdnAuthHeaderMatches'>;
  /** Request headers (lower-case names), for the CDN identifier header. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Whether the request carries a SigV4 signature (Authorization header or X-Amz-* query). */
  readonly signed: boolean;
  /** Verifies the signature and names the signer's account; throws with the reason when it cannot. */
  readonly authenticate: () => { readonly accountId: string };
}

export class EgressGuard {
  private readonly policies = new PolicyCache();

  constructor(private readonly secrets: CdnSecrets) {}

  /** Throws DataplaneError 403 unless the endpoint's policy (if any) allows the request. */
  check(endpoint: OriginEndpoint, call: EgressCall): void {
    if (endpoint.policy === undefined) return;
    const policy = this.policies.get(endpoint.policy);
    if (policy instanceof PolicyGrammarError) {
      throw new DataplaneError(403, `The policy of origin endpoint ${endpoint.name} cannot be evaluated (${policy.message}), so every request is refused. Put a policy Packhouse accepts.`);
    }
    let principal: RequestPrincipal = { kind: 'anonymous' };
    if (call.signed) {
      try {
        principal = { kind: 'account', accountId: call.authenticate().accountId };
      } catch (err) {
        throw new DataplaneError(403, `The request's AWS Signature Version 4 is not valid (${(err as Error).message}).`);
      }
    }
    const secretArns = cdnSecretArns(endpoint);
    const header = call.headers[CDN_IDENTIFIER_HEADER];
    const cdnAuthHeaderMatches = secretArns.length > 0 && cdnHeaderMatches(header, secretArns, this.secrets);
    const action = call.method.toUpperCase() === 'HEAD' ? 'mediapackagev2:GetHeadObject' : 'mediapackagev2:GetObject';
    const decision = evaluatePolicy(policy, { principal, action, resourceArn: endpoint.arn, context: requestContext({ ...call.facts, cdnAuthHeaderMatches }) });
    if (decision === 'allow') return;
    const who = principal.kind === 'account' ? `account ${principal.accountId}` : 'anonymous requests';
    let hint = '';
    if (secretArns.length > 0 && !cdnAuthHeaderMatches) {
      hint = header === undefined ? ` The request has no X-MediaPackageV2-CDNIdentifier header.` : ` The X-MediaPackageV2-CDNIdentifier header does not match the endpoint's CDN secret.`;
    }
    throw new DataplaneError(
      403,
      `The policy of origin endpoint ${endpoint.name} does not allow ${who} ${action} on ${endpoint.arn}${decision === 'deny' ? ' (an explicit Deny applies)' : ''}.${hint}`,
    );
  }
}

function cdnSecretArns(endpoint: OriginEndpoint): string[] {
  const arns = endpoint.cdnAuthConfiguration?.['CdnIdentifierSecretArns'];
  return Array.isArray(arns) ? arns.filter((a): a is string => typeof a === 'string') : [];
}
