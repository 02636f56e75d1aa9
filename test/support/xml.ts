/**
 * A strict parser for the XML subset our SVG uses (elements, attributes in double quotes,
 * text, the five predefined entities and numeric references); it throws on anything
 * malformed, so a test can both validate a document and query its elements.
 */
export interface XmlElement {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  readonly text: string;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const ENTITY = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;

function checkText(t: string, at: number): string {
  for (let i = 0; i < t.length; i++) {
    if (t[i] === "<") throw new Error(`stray < at ${at + i}`);
    if (t[i] === "&" && !ENTITY.test(t.slice(i))) throw new Error(`bad entity at ${at + i}`);
  }
  return t;
}

export function parseXml(src: string): XmlElement {
  let i = 0;
  const skipSpace = () => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  const name = () => {
    const m = NAME.exec(src.slice(i));
    if (!m) throw new Error(`expected a name at ${i}`);
    i += m[0].length;
    return m[0];
  };
  function element(): XmlElement {
    if (src[i] !== "<") throw new Error(`expected < at ${i}`);
    i++;
    const tag = name();
    const attrs: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (src.startsWith("/>", i)) {
        i += 2;
        return { tag, attrs, children: [], text: "" };
      }
      if (src[i] === ">") {
        i++;
        break;
      }
      const a = name();
      if (a in attrs) throw new Error(`duplicate attribute ${a} at ${i}`);
      if (src[i] !== "=" || src[i + 1] !== '"') throw new Error(`expected ="..." after ${a} at ${i}`);
      const end = src.indexOf('"', i + 2);
      if (end < 0) throw new Error(`unterminated attribute ${a}`);
      attrs[a] = checkText(src.slice(i + 2, end), i + 2);
      i = end + 1;
    }
    const children: XmlElement[] = [];
    let text = "";
    for (;;) {
      if (i >= src.length) throw new Error(`unclosed <${tag}>`);
      if (src.startsWith("</", i)) {
        i += 2;
        const close = name();
        if (close !== tag) throw new Error(`</${close}> closes <${tag}> at ${i}`);
        skipSpace();
        if (src[i] !== ">") throw new Error(`expected > at ${i}`);
        i++;
        return { tag, attrs, children, text };
      }
      if (src[i] === "<") children.push(element());
      else {
        const next = src.indexOf("<", i);
        const end = next < 0 ? src.length : next;
        text += checkText(src.slice(i, end), i);
        i = end;
      }
    }
  }
  skipSpace();
  const root = element();
  skipSpace();
  if (i !== src.length) throw new Error(`content after the root element at ${i}`);
  return root;
}

/** Every element below (and including) root with the given tag. */
export function findAll(root: XmlElement, tag: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.tag === tag) out.push(e);
    e.children.forEach(walk);
  };
  walk(root);
  return out;
}

/** Concatenated text of an element and its descendants. */
export const textOf = (e: XmlElement): string => e.text + e.children.map(textOf).join("");
