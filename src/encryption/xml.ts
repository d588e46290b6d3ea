/**
 * A small XML reader for documents from outside (a key provider's CPIX answer): elements,
 * attributes and text only. It refuses what could make a document cost more than its size
 * (DOCTYPE, entity declarations, processing beyond the XML declaration) and bounds the input, the
 * depth and the element count. Namespace prefixes are dropped: elements and attributes are matched
 * by local name.
 */

export class XmlError extends Error {}

export interface XmlElement {
  /** Local name (without a namespace prefix). */
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  /** The element's own text (character data and CDATA directly inside it), entity-decoded. */
  text: string;
}

export interface XmlLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
  readonly maxElements: number;
}

const DEFAULT_LIMITS: XmlLimits = { maxBytes: 1 << 20, maxDepth: 32, maxElements: 10_000 };

const localName = (qname: string) => qname.slice(qname.indexOf(':') + 1);

function decode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos|[^;]{0,10});?/g, (m, ref: string) => {
    if (!m.endsWith(';')) throw new XmlError('a bare "&" in text');
    switch (ref) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
    }
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!Number.isFinite(code) || code > 0x10ffff) throw new XmlError(`a character reference out of range (${m})`);
      return String.fromCodePoint(code);
    }
    throw new XmlError(`an entity reference (${m.slice(0, 16)}) other than the five XML predefines`);
  });
}

const NAME = /^[A-Za-z_][\w.:-]*/;

/** Parses a document and returns its root element; throws XmlError saying what is wrong. */
export function parseXml(input: string | Buffer, limits: XmlLimits = DEFAULT_LIMITS): XmlElement {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > limits.maxBytes) throw new XmlError(`the document is ${size} bytes, more than the ${limits.maxBytes} accepted`);
  const s = typeof input === 'string' ? input : input.toString('utf8');
  let i = s.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const textEnd = lt < 0 ? s.length : lt;
    if (textEnd > i) {
      const text = s.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.text += decode(text);
      else if (text.trim()) throw new XmlError('text outside the root element');
    }
    if (lt < 0) break;
    i = lt;
    if (s.startsWith('<?', i)) {
      const end = s.indexOf('?>', i);
      if (end < 0) throw new XmlError('an unterminated processing instruction');
      if (!/^<\?xml[\s?]/.test(s.slice(i, i + 6)) || root || stack.length) throw new XmlError('a processing instruction other than the XML declaration');
      i = end + 2;
    } else if (s.startsWith('<!--', i)) {
      const end = s.indexOf('-->', i + 4);
      if (end < 0) throw new XmlError('an unterminated comment');
      i = end + 3;
    } else if (s.startsWith('<![CDATA[', i)) {
      const end = s.indexOf(']]>', i);
      if (end < 0) throw new XmlError('an unterminated CDATA section');
      const top = stack[stack.length - 1];
      if (!top) throw new XmlError('CDATA outside the root element');
      top.text += s.slice(i + 9, end);
      i = end + 3;
    } else if (s.startsWith('<!', i)) {
      throw new XmlError('a DOCTYPE or declaration (DTDs and entities are refused)');
    } else if (s.startsWith('</', i)) {
      const end = s.indexOf('>', i);
      if (end < 0) throw new XmlError('an unterminated end tag');
      const name = localName(s.slice(i + 2, end).trim());
      const top = stack.pop();
      if (!top || top.name !== name) throw new XmlError(`an end tag </${name.slice(0, 40)}> that closes nothing open`);
      i = end + 1;
    } else {
      const nameMatch = NAME.exec(s.slice(i + 1, i + 200));
      if (!nameMatch) throw new XmlError('a malformed start tag');
      let j = i + 1 + nameMatch[0].length;
      const attrs: Record<string, string> = {};
      let selfClosing = false;
      for (;;) {
        while (j < s.length && /\s/.test(s[j]!)) j++;
        if (s.startsWith('/>', j)) {
          selfClosing = true;
          j += 2;
          break;
        }
        if (s[j] === '>') {
          j++;
          break;
        }
        const an = NAME.exec(s.slice(j, j + 200));
        if (!an) throw new XmlError(`a malformed attribute in <${nameMatch[0].slice(0, 40)}>`);
        j += an[0].length;
        while (/\s/.test(s[j] ?? '')) j++;
        if (s[j] !== '=') throw new XmlError('an attribute without a value');
        j++;
        while (/\s/.test(s[j] ?? '')) j++;
        const quote = s[j];
        if (quote !== '"' && quote !== "'") throw new XmlError('an unquoted attribute value');
        const close = s.indexOf(quote, j + 1);
        if (close < 0) throw new XmlError('an unterminated attribute value');
        const value = s.slice(j + 1, close);
        if (value.includes('<')) throw new XmlError('"<" in an attribute value');
        // Namespace declarations carry no data here.
        if (!an[0].startsWith('xmlns')) attrs[localName(an[0])] = decode(value);
        j = close + 1;
      }
      if (++count > limits.maxElements) throw new XmlError(`more than ${limits.maxElements} elements`);
      const el: XmlElement = { name: localName(nameMatch[0]), attrs, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root) throw new XmlError('more than one root element');
      else root = el;
      if (!selfClosing) {
        stack.push(el);
        if (stack.length > limits.maxDepth) throw new XmlError(`elements nested more than ${limits.maxDepth} deep`);
      }
      i = j;
    }
  }
  if (stack.length) throw new XmlError(`the element <${stack[stack.length - 1]!.name}> is never closed`);
  if (!root) throw new XmlError('no root element');
  return root;
}

/** The children of an element with a given local name. */
export const childrenNamed = (el: XmlElement, name: string): XmlElement[] => el.children.filter((c) => c.name === name);
/** The first child with a given local name. */
export const childNamed = (el: XmlElement, name: string): XmlElement | undefined => el.children.find((c) => c.name === name);

/** Escapes text for an XML attribute value or element content. */
export const xmlEscape = (s: string): string => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
