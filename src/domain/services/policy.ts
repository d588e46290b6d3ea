/**
 * Resource policies (channel and origin endpoint): the text must be a policy document whose every
 * element, operator and condition key Packhouse evaluates (domain/policy-evaluation.ts); anything
 * else is refused here, at Put time, with a message naming it. An endpoint's CdnAuthConfiguration
 * must name secrets this Packhouse is configured with (--cdn-secrets-file).
 */
import { ValidationError } from '../errors.js';
import type { ConfigDoc } from '../model.js';
import { parsePolicy, PolicyGrammarError } from '../policy-evaluation.js';

export function validatePolicy(text: string): string {
  try {
    parsePolicy(text);
  } catch (err) {
    if (err instanceof PolicyGrammarError) throw new ValidationError('INVALID_POLICY', err.message);
    throw err;
  }
  return text;
}

const ROLE_ARN_RE = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const SECRET_ARN_RE = /^arn:aws(?:-[a-z]+)*:secretsmanager:([a-z0-9-]+):(\d{12}):secret:[\w/+=.@-]+$/;

/**
 * Checks an endpoint's CdnAuthConfiguration as MediaPackage does at Put time (role ARN format;
 * secret ARNs well formed, distinct, of the endpoint's account and Region, and existing), where
 * "existing" means defined in this Packhouse's configured CDN secrets: there is no Secrets Manager.
 */
export function validateCdnAuthConfiguration(cfg: ConfigDoc | undefined, scope: { readonly accountId: string; readonly region: string }, knownSecretArns: ReadonlySet<string>): void {
  if (cfg === undefined) return;
  const role = cfg['SecretsRoleArn'];
  if (typeof role !== 'string' || !ROLE_ARN_RE.test(role)) {
    throw new ValidationError('ROLE_ARN_INVALID_FORMAT', `CdnAuthConfiguration.SecretsRoleArn ${JSON.stringify(role)} is not an IAM role ARN (arn:aws:iam::111122223333:role/name).`);
  }
  const arns = cfg['CdnIdentifierSecretArns'];
  if (!Array.isArray(arns) || arns.length === 0) {
    throw new ValidationError('INVALID_SECRET', 'CdnAuthConfiguration.CdnIdentifierSecretArns must list at least one secret ARN.');
  }
  const seen = new Set<string>();
  for (const a of arns) {
    const m = typeof a === 'string' ? SECRET_ARN_RE.exec(a) : null;
    if (!m) {
      throw new ValidationError('MALFORMED_SECRET_ARN', `CdnAuthConfiguration.CdnIdentifierSecretArns: ${JSON.stringify(a)} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:region:account:secret:name).`);
    }
    const arn = a as string;
    if (seen.has(arn)) throw new ValidationError('DUPLICATED_SECRET', `CdnAuthConfiguration.CdnIdentifierSecretArns lists ${arn} twice.`);
    seen.add(arn);
    if (m[2] !== scope.accountId) {
      throw new ValidationError('SECRET_FROM_DIFFERENT_ACCOUNT', `The secret ${arn} belongs to account ${m[2]}, not to the endpoint's account ${scope.accountId}.`);
    }
    if (m[1] !== scope.region) {
      throw new ValidationError('SECRET_FROM_DIFFERENT_REGION', `The secret ${arn} is in Region ${m[1]}, not in the endpoint's Region ${scope.region}.`);
    }
    if (!knownSecretArns.has(arn)) {
      throw new ValidationError(
        'SECRET_ARN_RESOURCE_NOT_FOUND',
        `CdnAuthConfiguration names the secret ${arn}, which this Packhouse does not have: Packhouse has no Secrets Manager, so CDN identifier secrets come from its configuration (--cdn-secrets-file / PACKHOUSE_CDN_SECRETS_FILE). Add the secret there and restart, or name a configured one.`,
      );
    }
  }
}
