/**
 * What Packhouse accepts as an S3 bucket name and object key, for harvest destinations and for
 * the built-in S3 store, which keeps each object as a file: a key is a key, never a path, so a
 * key that could name a place outside its bucket (a `.` or `..` segment, an empty segment), or
 * one S3 itself refuses (over 1024 bytes, not UTF-8), is refused before anything is written.
 * Pure; each check answers a sentence a person can act on, or undefined when the name is fine.
 */

export const MAX_KEY_BYTES = 1024;

/**
 * Why `name` cannot be a bucket name: 3–63 letters, digits, dots, hyphens or underscores, starting
 * and ending with a letter or digit, no two dots in a row. Today's S3 rules are stricter (lowercase,
 * no underscore); the older us-east-1 names with capitals and underscores stay accepted, and a store
 * that refuses one fails the job with its own reason.
 */
export function bucketNameProblem(name: string): string | undefined {
  // Only a refusal quotes the name: a good one (every create's) is not copied.
  const shown = () => JSON.stringify(name.length > 70 ? `${name.slice(0, 67)}...` : name);
  if (name.length < 3 || name.length > 63) return `The bucket name ${shown()} must be 3 to 63 characters long.`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$/.test(name)) {
    return `The bucket name ${shown()} may only hold letters, digits, dots, hyphens and underscores, and must start and end with a letter or digit.`;
  }
  if (name.includes('..')) return `The bucket name ${shown()} must not hold two dots in a row.`;
  return undefined;
}

/** Why `key` is not an object key Packhouse will write or store (see the module comment). */
export function objectKeyProblem(key: string, what = 'The object key'): string | undefined {
  const shown = () => JSON.stringify(key.length > 100 ? `${key.slice(0, 97)}...` : key);
  if (key === '') return `${what} is empty.`;
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(key)) return `${what} ${shown()} is not valid UTF-8 text.`;
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) return `${what} ${shown()} is ${bytes} bytes long; S3 keys are at most ${MAX_KEY_BYTES} bytes.`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return `${what} ${shown()} holds a control character.`;
  for (const segment of key.split('/')) {
    if (segment === '') return `${what} ${shown()} has an empty segment (it starts or ends with "/", or holds "//").`;
    if (segment === '.' || segment === '..') return `${what} ${shown()} has a "${segment}" segment; keys are names, not paths.`;
  }
  return undefined;
}

/** The prefix a DestinationPath gives every harvested key: the path without its trailing slashes. */
export function destinationPrefix(destinationPath: string): string {
  return destinationPath.replace(/\/+$/, '');
}

/**
 * Why a harvest destination cannot hold the job's objects: the bucket name, the path as a key
 * prefix, and the longest key known at create time (`longestName` after the prefix).
 */
export function harvestDestinationProblem(bucket: string, destinationPath: string, longestName: string): string | undefined {
  const b = bucketNameProblem(bucket);
  if (b) return `Destination.S3Destination.BucketName: ${b}`;
  const prefix = destinationPrefix(destinationPath);
  const p = objectKeyProblem(prefix === '' ? destinationPath : prefix, 'DestinationPath');
  if (p) return `Destination.S3Destination.${p}`;
  const longest = `${prefix}/${longestName}`;
  const bytes = Buffer.byteLength(longest, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    return `Destination.S3Destination.DestinationPath is too long: the harvested key ${JSON.stringify(`.../${longestName}`)} under it would be ${bytes} bytes; S3 keys are at most ${MAX_KEY_BYTES} bytes. Use a shorter DestinationPath.`;
  }
  return undefined;
}

/** Why a harvest cannot write these keys to this bucket (the first problem), checked before anything is written. */
export function harvestKeysProblem(bucket: string, keys: Iterable<string>): string | undefined {
  const b = bucketNameProblem(bucket);
  if (b) return b;
  for (const key of keys) {
    const problem = objectKeyProblem(key, 'The harvested key');
    if (problem) return problem;
  }
  return undefined;
}
