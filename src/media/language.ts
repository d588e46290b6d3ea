/**
 * Language tags in manifests. HLS LANGUAGE (RFC 8216 §4.3.4.1) must be an RFC 5646 tag and a DASH
 * AdaptationSet@lang an xs:language; what an encoder declared may be neither ("en_US",
 * "English"). Pure.
 */

// RFC 5646 §2.1 in the shape xs:language also has: subtags of letters and digits, up to 8 each,
// the first letters only.
const TAG = /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/;

/**
 * The declared language as a tag both formats accept: as given when it is one, with underscores
 * read as hyphens ("en_US" is en-US), else undefined (the manifest then says nothing, or "und").
 */
export function languageTag(declared: string | undefined): string | undefined {
  if (declared === undefined) return undefined;
  const tag = declared.trim().replace(/_/g, '-');
  return TAG.test(tag) ? tag : undefined;
}
