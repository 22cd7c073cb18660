#!/usr/bin/env node
// The documentation gate of CI (`make docs`, `make check-docs`):
//  1. TypeDoc converts the five entry points with typedoc.json, and its validation runs (broken
//     {@link}s, referenced types missing from the docs, undocumented exports);
//  2. every symbol an entry point exports (functions, classes, variables, interfaces, type aliases)
//     must have a summary and an `@example` block;
//  3. every public method, property and accessor of an exported class or interface must have a
//     doc comment (no @example needed); a method's own, unless it overrides or implements a
//     declaration of this project (TypeDoc would otherwise pass lib.d.ts's comment of toString).
// Prints every offender as `entry.Symbol (kind) src/file.ts:line` and exits 1 when there is one.
//
//   node scripts/check-docs.mjs            check
//   node scripts/check-docs.mjs --emit     check, then write the HTML reference (typedoc.json's `out`)
import { readFileSync } from 'node:fs';
import { Application, ReflectionKind } from 'typedoc';

const emit = process.argv.includes('--emit');
// typedoc.json disables source links (the repository has no public URL yet); the check turns
// source tracking on, without links, to print file:line for each offender.
const sourceOptions = emit ? {} : { disableSources: false, disableGit: true, sourceLinkTemplate: '{path}#L{line}' };
const app = await Application.bootstrapWithPlugins({ logLevel: 'Warn', ...sourceOptions });
const project = await app.convert();
if (!project) {
  console.error('check-docs: TypeDoc could not convert the project (see the errors above)');
  process.exit(1);
}
app.validate(project);

const TOP = ReflectionKind.Function | ReflectionKind.Class | ReflectionKind.Variable | ReflectionKind.Interface | ReflectionKind.TypeAlias | ReflectionKind.Enum;
const MEMBERS = ReflectionKind.Method | ReflectionKind.Property | ReflectionKind.Accessor;

/** The comment that documents a reflection: its own, or its first signature's. */
function commentOf(r) {
  if (r.comment && (r.comment.summary.length || r.comment.blockTags.length)) return r.comment;
  for (const s of r.signatures ?? []) if (s.comment) return s.comment;
  if (r.getSignature?.comment) return r.getSignature.comment;
  if (r.setSignature?.comment) return r.setSignature.comment; // a setter-only accessor
  return undefined;
}

/**
 * Whether a method's doc comment is written in our source, right above its (first) declaration.
 * TypeDoc copies a comment from the declaration a method overrides, so an undocumented
 * `toString()` otherwise passes with lib.d.ts's "Returns a string representation of an object."
 */
const sourceLines = new Map();
function hasOwnComment(m) {
  const src = m.signatures?.[0]?.sources?.[0] ?? m.sources?.[0];
  if (!src?.fullFileName?.includes('/src/')) return true;
  let lines = sourceLines.get(src.fullFileName);
  if (!lines) {
    lines = readFileSync(src.fullFileName, 'utf8').split('\n');
    sourceLines.set(src.fullFileName, lines);
  }
  let i = src.line - 2;
  while (i >= 0 && /^\s*@/.test(lines[i])) i--; // decorators
  return i >= 0 && lines[i].trim().endsWith('*/');
}

function where(r) {
  const src = r.sources?.[0] ?? r.signatures?.[0]?.sources?.[0];
  return src ? `${src.fileName}:${src.line}` : '';
}

const missingDocs = [];
const missingExample = [];
const undocumentedMembers = [];
for (const mod of project.children ?? []) {
  for (const r of mod.children ?? []) {
    if (!r.kindOf(TOP)) continue; // re-exports of a symbol documented elsewhere are References
    const name = `${mod.name}.${r.name} (${ReflectionKind.singularString(r.kind)}) ${where(r)}`;
    const c = commentOf(r);
    if (!c) missingDocs.push(name);
    else if (!c.blockTags.some((t) => t.tag === '@example')) missingExample.push(name);
    if (r.kindOf(ReflectionKind.Class | ReflectionKind.Interface)) {
      for (const m of r.children ?? []) {
        // A comment taken over from a declaration of this project (an interface or base class
        // method) is fine; one from outside (lib.d.ts) is not.
        const sig = m.signatures?.[0];
        const fromProject = m.overwrites ?? m.implementationOf ?? sig?.overwrites ?? sig?.implementationOf;
        const undocumented = !commentOf(m) || (m.kindOf(ReflectionKind.Method) && !fromProject && !hasOwnComment(m));
        if (m.kindOf(MEMBERS) && !m.flags.isPrivate && !m.flags.isProtected && !m.inheritedFrom && undocumented) {
          undocumentedMembers.push(`${mod.name}.${r.name}.${m.name} ${where(m)}`);
        }
      }
    }
  }
}

const report = (title, list) => list.length && console.log(`${title} (${list.length}):\n${list.map((l) => `  ${l}`).join('\n')}`);
report('exported without a doc comment', missingDocs);
report('exported without an @example', missingExample);
report('members without a doc comment', undocumentedMembers);
const validation = app.logger.hasWarnings() || app.logger.hasErrors();
if (validation) console.log('TypeDoc validation failed: see its warnings above');
if (missingDocs.length || missingExample.length || undocumentedMembers.length || validation) process.exit(1);
console.log('check-docs: every export of the five entry points has a summary and an @example, and every public member a doc comment');
if (emit) {
  await app.generateOutputs(project);
  if (app.logger.hasWarnings() || app.logger.hasErrors()) {
    console.log('TypeDoc reported problems while writing the docs: see above');
    process.exit(1);
  }
}
