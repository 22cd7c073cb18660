/**
 * VALUE arguments of `mpwire send`: a Python literal (as `ast.literal_eval` reads it) or JSON.
 * Values come out in pickle's exact model, so `1.0` stays a float and `(1,)` a tuple.
 * @module
 */
import { PyFloat, Tuple } from '../pickle/index.js';
import { UsageError } from './errors.js';

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new UsageError(`cannot parse VALUE at offset ${this.pos}: ${what} (give a Python literal or JSON)`);
  }
  ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }
  peek(): string {
    this.ws();
    return this.text[this.pos] ?? '';
  }
  eat(ch: string): boolean {
    if (this.peek() === ch) {
      this.pos++;
      return true;
    }
    return false;
  }
  expect(ch: string): void {
    if (!this.eat(ch)) this.fail(`expected '${ch}'`);
  }

  value(): unknown {
    const c = this.peek();
    if (c === '[') return this.seq('[', ']');
    if (c === '(') {
      const items = this.seq('(', ')', true);
      return items;
    }
    if (c === '{') return this.braces();
    if (c === '"' || c === "'") return this.string(false, false);
    const word = /^[A-Za-z_]+/.exec(this.text.slice(this.pos))?.[0];
    if (word) {
      const next = this.text[this.pos + word.length];
      if ((next === '"' || next === "'") && /^[bBrRuU]{1,2}$/.test(word)) {
        this.pos += word.length;
        return this.string(/b/i.test(word), /r/i.test(word));
      }
      this.pos += word.length;
      switch (word) {
        case 'None':
        case 'null':
          return null;
        case 'True':
        case 'true':
          return true;
        case 'False':
        case 'false':
          return false;
        case 'set':
          this.expect('(');
          if (this.eat(')')) return new Set();
          {
            const inner = this.value();
            this.expect(')');
            if (!Array.isArray(inner)) this.fail('set() takes a list or tuple literal');
            return new Set(inner as unknown[]);
          }
        default:
          this.pos -= word.length;
          this.fail(`unknown name '${word}'`);
      }
    }
    return this.number();
  }

  seq(open: string, close: string, tuple = false): unknown[] {
    this.expect(open);
    const items: unknown[] = [];
    let trailingComma = false;
    while (!this.eat(close)) {
      items.push(this.value());
      trailingComma = this.eat(',');
      if (!trailingComma && this.peek() !== close) this.fail(`expected ',' or '${close}'`);
    }
    if (tuple) {
      if (items.length === 1 && !trailingComma) return items[0] as unknown[]; // (x) is x
      return Tuple.from(items) as Tuple<unknown>;
    }
    return items;
  }

  braces(): unknown {
    this.expect('{');
    if (this.eat('}')) return new Map();
    const first = this.value();
    if (this.eat(':')) {
      const map = new Map<unknown, unknown>([[first, this.value()]]);
      while (this.eat(',')) {
        if (this.peek() === '}') break;
        const k = this.value();
        this.expect(':');
        map.set(k, this.value());
      }
      this.expect('}');
      return map;
    }
    const set = new Set<unknown>([first]);
    while (this.eat(',')) {
      if (this.peek() === '}') break;
      set.add(this.value());
    }
    this.expect('}');
    return set;
  }

  string(bytes: boolean, raw: boolean): unknown {
    const q = this.text[this.pos] as string;
    const triple = this.text.startsWith(q.repeat(3), this.pos);
    const end = triple ? q.repeat(3) : q;
    this.pos += end.length;
    const codes: number[] = [];
    for (;;) {
      if (this.pos >= this.text.length) this.fail('unterminated string');
      if (this.text.startsWith(end, this.pos)) {
        this.pos += end.length;
        break;
      }
      const ch = this.text[this.pos] as string;
      if (ch === '\\' && !raw) {
        const e = this.text[this.pos + 1] ?? '';
        this.pos += 2;
        const simple: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34, '/': 47 };
        const hex = (n: number): number => {
          const h = this.text.slice(this.pos, this.pos + n);
          if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) this.fail('bad escape');
          this.pos += n;
          return Number.parseInt(h, 16);
        };
        if (e === 'x') codes.push(hex(2));
        else if (e === 'u' && !bytes) codes.push(hex(4));
        else if (e === 'U' && !bytes) codes.push(hex(8));
        else if (e === '\n') continue;
        else if (Object.hasOwn(simple, e)) codes.push(simple[e] as number);
        else codes.push(92, e.codePointAt(0) as number);
        continue;
      }
      const cp = this.text.codePointAt(this.pos) as number;
      this.pos += cp > 0xffff ? 2 : 1;
      if (bytes) {
        if (cp > 0x7f) this.fail('bytes can only contain ASCII literal characters');
        codes.push(cp);
      } else codes.push(cp);
    }
    if (bytes) return Buffer.from(codes);
    return String.fromCodePoint(...codes);
  }

  number(): unknown {
    this.ws();
    const m = /^[-+]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][-+]?\d+)?|\d[\d_]*\.)/.exec(this.text.slice(this.pos));
    if (!m || m[0] === '' || m[0] === '-' || m[0] === '+') this.fail('expected a value');
    const t = m[0].replace(/_/g, '');
    this.pos += m[0].length;
    const neg = t.startsWith('-');
    const body = t.replace(/^[-+]/, '');
    if (/^0[xXoObB]/.test(body)) {
      const b = BigInt(body.toLowerCase());
      return norm(neg ? -b : b);
    }
    if (/[.eE]/.test(body)) return new PyFloat(Number(t));
    return norm(BigInt(t));
  }
}

function norm(b: bigint): number | bigint {
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/**
 * Parse a VALUE argument: Python literal syntax (`(1, 'a', b'x', {1: 2.0}, None)`) or JSON.
 * @example
 * ```ts
 * parseValue("(1, 2.0, 'x')"); // Tuple [1, PyFloat(2), 'x']
 * ```
 */
export function parseValue(text: string): unknown {
  const p = new Parser(text);
  const v = p.value();
  p.ws();
  if (p.pos !== text.length) p.fail('unexpected text after the value');
  return v;
}
