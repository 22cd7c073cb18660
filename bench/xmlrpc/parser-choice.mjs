// Measurement behind mpwire/xmlrpc's XML parser choice: saxes 6 vs fast-xml-parser 5.
// Run: npm i --no-save fast-xml-parser@5 && node bench/xmlrpc/parser-choice.mjs   (a one-off: fast-xml-parser is
// not a dependency since saxes won; results are copied into bench/xmlrpc/RESULTS.md)
//
// Both parsers get exactly what loads() needs: element names in document order, the text between
// them (entities decoded, CR/LF normalised), CDATA as text, and a refusal of malformed XML.
//  - saxes: streaming events; depth counted in the opentag handler.
//  - fast-xml-parser: XMLValidator.validate (its parser alone is lenient) + XMLParser with
//    preserveOrder (element order matters), trimValues off (whitespace is data), parseTagValue off.
// Part 1 measures throughput on typical XML-RPC frames; part 2 checks behaviour on a corpus of
// malformed and hostile documents against what CPython's expat does.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { SaxesParser } from 'saxes';

// ---------------------------------------------------------------- documents (as CPython writes them)
const v = (inner) => `<value>${inner}</value>\n`;
const params = (...vals) => `<params>\n${vals.map((x) => `<param>\n${x}</param>\n`).join('')}</params>\n`;
const arr = (items) => `<value><array><data>\n${items.join('')}</data></array></value>\n`;
const struct = (entries) =>
  `<value><struct>\n${entries.map(([k, x]) => `<member>\n<name>${k}</name>\n${x}</member>\n`).join('')}</struct></value>\n`;

const docs = {
  'manager request (~250 B)': params(arr(['<value><nil/></value>', v('<string>dummy</string>'), arr([]), struct([])])),
  'struct of 100 members (~8 KB)': params(
    struct(Array.from({ length: 100 }, (_, i) => [`key${i}`, i % 2 ? v(`<int>${i}</int>`) : v(`<string>text &amp; more ${i}</string>`)])),
  ),
  'array of 10k mixed values (~420 KB)': params(
    arr(Array.from({ length: 10_000 }, (_, i) => (i % 3 === 0 ? v(`<double>${i / 7}</double>`) : i % 3 === 1 ? v(`<int>${i}</int>`) : v(`<string>s${i}</string>`)))),
  ),
  'base64 of 1 MiB (~1.4 MB)': params(
    `<value><base64>\n${Buffer.alloc(1 << 20, 7).toString('base64').replace(/.{76}/g, '$&\n')}\n</base64></value>\n`,
  ),
};

// ---------------------------------------------------------------- the two candidates
function viaSaxes(xml) {
  const p = new SaxesParser({ position: true });
  // biome-ignore lint/correctness/noUnusedVariables: the same bookkeeping as the other candidate, so both do equal work
  let depth = 0;
  let events = 0;
  p.on('opentag', () => {
    depth++;
    events++;
  });
  p.on('closetag', () => {
    depth--;
    events++;
  });
  p.on('text', () => void events++);
  p.on('cdata', () => void events++);
  p.on('doctype', () => {
    throw new Error('DOCTYPE refused');
  });
  p.on('error', (e) => {
    throw e;
  });
  p.write(xml).close();
  return events;
}

const fxp = new XMLParser({ preserveOrder: true, trimValues: false, parseTagValue: false, ignoreAttributes: true, processEntities: true, htmlEntities: false });
function viaFxp(xml) {
  const ok = XMLValidator.validate(xml);
  if (ok !== true) throw new Error(ok.err.msg);
  return fxp.parse(xml);
}

// ---------------------------------------------------------------- part 1: throughput
function bench(fn, xml) {
  for (let i = 0; i < 5; i++) fn(xml); // warm up
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < 700) {
    fn(xml);
    n++;
    t = performance.now();
  }
  return ((t - t0) * 1000) / n; // µs per parse
}

console.log(`node ${process.version}\n`);
console.log('| document | saxes µs/parse | fast-xml-parser (validate+parse) µs/parse | fxp parse only | ratio (fxp/saxes) |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, xml] of Object.entries(docs)) {
  const a = bench(viaSaxes, xml);
  const b = bench(viaFxp, xml);
  const c = bench((x) => fxp.parse(x), xml);
  console.log(`| ${name} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${c.toFixed(1)} | ${(b / a).toFixed(2)} |`);
}

// ---------------------------------------------------------------- part 2: behaviour on bad input
const lol = (n) =>
  `<!DOCTYPE l [<!ENTITY l0 "lol">${Array.from({ length: n }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join('')}]>`;
const P = (inner) => `<params><param><value>${inner}</value></param></params>`;
const corpus = [
  // [name, xml, what expat (CPython) does]
  ['unclosed element', '<params><param>', 'error'],
  ['mismatched tags', '<params><param></params></param>', 'error'],
  ['two roots', '<params/><params/>', 'error'],
  ['text only', 'hello', 'error'],
  ['control char U+0001', P('<string>\u0001</string>'), 'error'],
  ['bad char ref &#1;', P('<string>&#1;</string>'), 'error'],
  ['bare &', P('<string>a & b</string>'), 'error'],
  ['bare <', P('<string>a < b</string>'), 'error'],
  ['duplicate attribute', '<params a="1" a="2"/>', 'error'],
  ['undefined entity', P('<string>&xxe;</string>'), 'error'],
  [']]> in text', P('<string>]]></string>'), 'error'],
  ['billion laughs (DOCTYPE)', lol(9) + P('<string>&l9;</string>'), 'refuse (mpwire policy)'],
  ['external entity (DOCTYPE)', `<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>${P('<string>&x;</string>')}`, 'refuse (mpwire policy)'],
];
function outcome(fn, xml) {
  const t0 = performance.now();
  try {
    const r = fn(xml);
    const size = JSON.stringify(r ?? null).length;
    return `accepted (${(performance.now() - t0).toFixed(0)} ms, result ${size} chars)`;
  } catch (e) {
    return `rejected: ${String(e.message).split('\n')[0].slice(0, 60)}`;
  }
}
console.log('\n| input | expat/CPython | saxes | fast-xml-parser (validate+parse) |');
console.log('|---|---|---|---|');
for (const [name, xml, expat] of corpus) {
  console.log(`| ${name} | ${expat} | ${outcome(viaSaxes, xml)} | ${outcome(viaFxp, xml)} |`);
}

// Text fidelity: what loads needs from the parser's text.
function saxesText(xml) {
  const p = new SaxesParser();
  let t = '';
  p.on('text', (s) => void (t += s));
  p.on('cdata', (s) => void (t += s));
  p.write(xml).close();
  return t;
}
function fxpText(xml) {
  const walk = (n) => (Array.isArray(n) ? n.map(walk).join('') : typeof n === 'object' && n ? Object.entries(n).map(([k, x]) => (k === '#text' ? String(x) : k === ':@' ? '' : walk(x))).join('') : '');
  return walk(viaFxp(xml));
}
const fidelity = [
  ['CRLF and CR → LF', '<s>a\r\nb\rc</s>', 'a\nb\nc'],
  ['whitespace-only text kept', '<s>  \t </s>', '  \t '],
  ['CDATA is text', '<s><![CDATA[<&>]]>x</s>', '<&>x'],
  ['predefined + char refs', '<s>&lt;&amp;&#x1F600;</s>', '<&\u{1F600}'],
  ['numeric-looking text not converted', '<s>007</s>', '007'],
];
console.log('\n| text fidelity | expected | saxes | fast-xml-parser |');
console.log('|---|---|---|---|');
for (const [name, xml, want] of fidelity) {
  const a = saxesText(xml);
  let b;
  try {
    b = fxpText(xml);
  } catch (e) {
    b = `error: ${e.message}`;
  }
  console.log(`| ${name} | ${JSON.stringify(want)} | ${a === want ? 'ok' : JSON.stringify(a)} | ${b === want ? 'ok' : JSON.stringify(b)} |`);
}
