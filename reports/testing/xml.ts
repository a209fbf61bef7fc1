// A strict little XML well-formedness checker for tests (no XML parser is installed): balanced
// tags, quoted attributes, known entities, no stray '<' or '&'. Returns the problems found and
// the elements seen, so a test can also count <testcase> and <failure>.

export interface XmlCheck {
  problems: string[];
  /** element name -> how many times it opened */
  counts: Record<string, number>;
}

const NAME = '[A-Za-z_:][\\w.:-]*';
const ATTR = new RegExp(`^\\s+(${NAME})\\s*=\\s*("[^"<]*"|'[^'<]*')`);
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;

/** Checks `xml`; an empty `problems` means well-formed (within what this checker knows). */
export function checkXml(xml: string): XmlCheck {
  const problems: string[] = [];
  const counts: Record<string, number> = {};
  const stack: string[] = [];
  let i = 0;
  let rootSeen = false;
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) return { problems: ['unterminated XML declaration'], counts };
    i = end + 2;
  }
  const checkText = (text: string, at: number) => {
    for (let k = 0; k < text.length; k++) {
      if (text[k] === '&') {
        ENTITY.lastIndex = k;
        if (!ENTITY.test(text)) problems.push(`bad '&' at ${at + k}`);
      }
    }
    if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(text)) problems.push(`control character near ${at}`);
  };
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (stack.length === 0 && text.trim() !== '') problems.push(`text outside the root element at ${i}`);
    checkText(text, i);
    if (lt < 0) break;
    const gt = xml.indexOf('>', lt);
    if (gt < 0) {
      problems.push(`unterminated tag at ${lt}`);
      break;
    }
    const tag = xml.slice(lt + 1, gt);
    if (tag.startsWith('!--')) {
      const end = xml.indexOf('-->', lt);
      i = end < 0 ? xml.length : end + 3;
      continue;
    }
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}> at ${lt}`);
    } else {
      const selfClosing = tag.endsWith('/');
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const m = new RegExp(`^(${NAME})`).exec(body);
      if (!m) {
        problems.push(`bad tag name at ${lt}: <${tag.slice(0, 20)}`);
      } else {
        const name = m[1]!;
        if (stack.length === 0) {
          if (rootSeen) problems.push(`second root element <${name}>`);
          rootSeen = true;
        }
        counts[name] = (counts[name] ?? 0) + 1;
        let rest = body.slice(name.length);
        const seen = new Set<string>();
        while (rest.trim() !== '') {
          const a = ATTR.exec(rest);
          if (!a) {
            problems.push(`bad attribute in <${name}> at ${lt}: ${rest.trim().slice(0, 30)}`);
            break;
          }
          if (seen.has(a[1]!)) problems.push(`duplicate attribute ${a[1]} in <${name}>`);
          seen.add(a[1]!);
          checkText(a[2]!.slice(1, -1), lt);
          rest = rest.slice(a[0].length);
        }
        if (!selfClosing) stack.push(name);
      }
    }
    i = gt + 1;
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(' > ')}`);
  if (!rootSeen) problems.push('no root element');
  return { problems, counts };
}
