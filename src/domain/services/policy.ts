/**
 * Resource policies (channel and origin endpoint): the text must be a JSON policy document.
 * Packhouse stores and returns it; which parts it enforces is documented in known-differences.
 */
import { ValidationError } from '../errors.js';

export function validatePolicy(text: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ValidationError('INVALID_POLICY', `The policy is not valid JSON (${(err as Error).message}). Send an IAM policy document such as {"Version":"2012-10-17","Statement":[...]}.`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ValidationError('INVALID_POLICY', 'The policy must be a JSON object with a "Statement" member.');
  }
  const statement = (doc as Record<string, unknown>)['Statement'];
  const statements = Array.isArray(statement) ? statement : statement === undefined ? undefined : [statement];
  if (!statements || statements.length === 0) {
    throw new ValidationError('INVALID_POLICY', 'The policy has no "Statement": add at least one statement with Effect, Principal, Action and Resource.');
  }
  statements.forEach((s, i) => {
    if (typeof s !== 'object' || s === null) {
      throw new ValidationError('INVALID_POLICY', `Statement ${i} of the policy is not a JSON object.`);
    }
    const effect = (s as Record<string, unknown>)['Effect'];
    if (effect !== 'Allow' && effect !== 'Deny') {
      throw new ValidationError('INVALID_POLICY', `Statement ${i} of the policy needs "Effect": "Allow" or "Deny".`);
    }
    const rec = s as Record<string, unknown>;
    if (rec['Action'] === undefined && rec['NotAction'] === undefined) {
      throw new ValidationError('INVALID_POLICY', `Statement ${i} of the policy needs an "Action".`);
    }
  });
  return text;
}
