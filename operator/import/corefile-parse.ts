// A Corefile read into server blocks and directives, each with its line number (the Caddyfile
// syntax CoreDNS uses: `ZONE[:PORT]... { plugin ARGS... [{ option ARGS... }] }`, `#` comments,
// quoted tokens). Snippets, `import` and `{$ENV}` placeholders are kept as tokens for the
// translator to report; nothing here knows what a plugin means.

export interface Directive {
  name: string;
  args: string[];
  line: number;
  /** Lines of the directive's own block (`forward . 1.1.1.1 { policy sequential }`). */
  block: Directive[];
}

export interface ServerBlock {
  /** The keys as written: ".:53", "example.org", "dns://example.org:5353". */
  keys: string[];
  line: number;
  directives: Directive[];
}

interface Token { text: string; line: number; quoted: boolean }

function tokenize(text: string): Token[][] {
  // Returns logical lines of tokens; braces are separate tokens.
  const lines: Token[][] = [];
  const src = text.split('\n');
  for (let i = 0; i < src.length; i++) {
    const toks: Token[] = [];
    const s = src[i];
    let p = 0;
    while (p < s.length) {
      const c = s[p];
      if (c === ' ' || c === '\t' || c === '\r') { p++; continue; }
      if (c === '#') break;
      if (c === '"') {
        let q = p + 1;
        let out = '';
        while (q < s.length && s[q] !== '"') { if (s[q] === '\\' && q + 1 < s.length) q++; out += s[q++]; }
        if (q >= s.length) throw new Error(`line ${i + 1}: unterminated quoted string`);
        toks.push({ text: out, line: i + 1, quoted: true });
        p = q + 1;
        continue;
      }
      let q = p;
      while (q < s.length && !/[\s#]/.test(s[q])) q++;
      let word = s.substring(p, q);
      // "{" and "}" stand alone, except in a placeholder like {$ENV}
      const parts: string[] = [];
      while (word.length) {
        if (word.startsWith('{$')) { const e = word.indexOf('}'); parts.push(word.substring(0, e < 0 ? word.length : e + 1)); word = e < 0 ? '' : word.substring(e + 1); continue; }
        const b = word.search(/[{}]/);
        if (b < 0) { parts.push(word); break; }
        if (b > 0) parts.push(word.substring(0, b));
        parts.push(word[b]);
        word = word.substring(b + 1);
      }
      for (const w of parts) toks.push({ text: w, line: i + 1, quoted: false });
      p = q;
    }
    if (toks.length) lines.push(toks);
  }
  return lines;
}

/** Parses a Corefile. Throws `Error("line N: ...")` on a syntax error (unbalanced braces). */
export function parseCorefile(text: string): ServerBlock[] {
  const lines = tokenize(text);
  let i = 0;
  const isOpen = (t: Token) => !t.quoted && t.text === '{';
  const isClose = (t: Token) => !t.quoted && t.text === '}';

  const readBlock = (openLine: number): Directive[] => {
    const out: Directive[] = [];
    while (i < lines.length) {
      const toks = lines[i];
      if (isClose(toks[0])) {
        if (toks.length > 1) throw new Error(`line ${toks[0].line}: unexpected ${toks[1].text} after }`);
        i++;
        return out;
      }
      i++;
      let words = toks;
      let opens = false;
      if (isOpen(words[words.length - 1])) { opens = true; words = words.slice(0, -1); }
      const closesInline = words.length > 0 && isClose(words[words.length - 1]);
      if (closesInline) words = words.slice(0, -1);
      if (words.some((w) => isOpen(w) || isClose(w))) throw new Error(`line ${toks[0].line}: braces must end a line`);
      if (words.length === 0) throw new Error(`line ${toks[0].line}: { without a name`);
      const d: Directive = { name: words[0].text, args: words.slice(1).map((w) => w.text), line: words[0].line, block: opens ? readBlock(words[0].line) : [] };
      out.push(d);
      if (closesInline) return out;
    }
    throw new Error(`line ${openLine}: { is never closed`);
  };

  const blocks: ServerBlock[] = [];
  while (i < lines.length) {
    const toks = lines[i];
    const first = toks[0].line;
    i++;
    if (!isOpen(toks[toks.length - 1])) {
      // A server block without braces: keys on this line, directives on the following lines to the end.
      if (blocks.length === 0 && toks.every((t) => !isOpen(t) && !isClose(t))) {
        const directives: Directive[] = [];
        while (i < lines.length) { const l = lines[i++]; directives.push({ name: l[0].text, args: l.slice(1).map((t) => t.text), line: l[0].line, block: [] }); }
        blocks.push({ keys: toks.map((t) => t.text), line: first, directives });
        continue;
      }
      throw new Error(`line ${first}: expected a server block ("ZONE {")`);
    }
    const keys = toks.slice(0, -1).map((t) => t.text.replace(/,$/, '')).filter(Boolean);
    if (keys.length === 0) throw new Error(`line ${first}: a server block needs at least one zone`);
    blocks.push({ keys, line: first, directives: readBlock(first) });
  }
  return blocks;
}
