/**
 * Encoding of text written into manifests, so that no value (a rendition name from an encoder, a
 * query value carried on to child playlists) can add a line, a tag or an attribute: URIs are
 * percent-encoded wherever RFC 3986 does not allow a character, HLS quoted-strings lose what
 * RFC 8216 §4.2 forbids in them, and XML attribute values are escaped. Pure.
 */

const HEX2 = /^[0-9A-Fa-f]{2}$/;

/** Allowed bare in a URI (RFC 3986 unreserved, reserved, and '%' of an escape). */
function allowedInUri(c: string): boolean {
  return /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]$/.test(c);
}

/**
 * A URI as written into an HLS playlist or an MPD: every character RFC 3986 does not allow
 * (controls, CR, LF, space, '"', '<', '>', non-ASCII, a '%' that starts no escape) percent-encoded
 * as UTF-8; everything else, including existing escapes, unchanged.
 */
export function manifestUri(uri: string): string {
  if (/^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]*$/.test(uri)) return uri;
  let out = '';
  for (let i = 0; i < uri.length; i++) {
    const c = uri[i]!;
    if (c === '%' && HEX2.test(uri.slice(i + 1, i + 3))) out += c;
    else if (allowedInUri(c)) out += c;
    else {
      const cp = uri.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      if (ch.length === 2) i++;
      // A lone surrogate has no UTF-8 form: U+FFFD stands in for it.
      const bytes = Buffer.from(cp >= 0xd800 && cp <= 0xdfff ? '\uFFFD' : ch, 'utf8');
      for (const b of bytes) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/** An HLS quoted-string value (§4.2: no double quote, CR or LF): '"' becomes "'", controls are dropped. */
export function hlsQuoted(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/"/g, "'").replace(/[\u0000-\u001f\u007f]/g, '');
}

/** An XML attribute value: markup characters escaped, line breaks and tabs as references, other controls dropped (XML 1.0 cannot carry them). */
export function xmlAttr(text: string): string {
  return (
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
      .replace(/\t/g, '&#9;')
      .replace(/\n/g, '&#10;')
      .replace(/\r/g, '&#13;')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
  );
}
