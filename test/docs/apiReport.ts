/**
 * The API report: for each entry point, every export with its kind and declared signature, as the
 * declaration emitter writes it (comments removed), sorted by name. Checked in under `api/`, so a change
 * of the public surface shows as a diff. `npm run api` rewrites it; test/docs/apiReport.test.ts fails when
 * it is out of date.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as prettier from 'prettier';
import ts from 'typescript';
import { ENTRIES, ROOT } from './extract.js';

/** Where the reports live, one file per entry point. */
export const API_DIR = join(ROOT, 'api');

/** The report file of an entry point: `rxllm/testing` → `api/rxllm-testing.api.md`. */
export function reportFile(entry: string): string {
  return join(API_DIR, `${entry.replace('/', '-')}.api.md`);
}

const KINDS: ReadonlyMap<ts.SyntaxKind, string> = new Map([
  [ts.SyntaxKind.FunctionDeclaration, 'function'],
  [ts.SyntaxKind.ClassDeclaration, 'class'],
  [ts.SyntaxKind.InterfaceDeclaration, 'interface'],
  [ts.SyntaxKind.TypeAliasDeclaration, 'type'],
  [ts.SyntaxKind.VariableStatement, 'const'],
  [ts.SyntaxKind.EnumDeclaration, 'enum'],
  [ts.SyntaxKind.ModuleDeclaration, 'namespace'],
]);

function statementName(statement: ts.Statement): string | undefined {
  if (ts.isVariableStatement(statement)) {
    const name = statement.declarationList.declarations[0]?.name;
    return name && ts.isIdentifier(name) ? name.text : undefined;
  }
  const name = (statement as { name?: ts.Node }).name;
  return name && ts.isIdentifier(name) ? name.text : undefined;
}

/** A type alias's type as the checker resolves it, in full. */
function resolvedText(checker: ts.TypeChecker, alias: ts.Symbol): string {
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.InTypeAlias;
  return checker.typeToString(checker.getDeclaredTypeOfSymbol(alias), undefined, flags);
}

/** Declaration files of the sources, emitted in memory (what `tsc --declaration` would write). */
function emitDeclarations(program: ts.Program): Map<string, ts.SourceFile> {
  const emitted = new Map<string, ts.SourceFile>();
  program.emit(undefined, (fileName, text, _bom, _onError, sources) => {
    const source = sources?.[0]?.fileName;
    if (!fileName.endsWith('.d.ts') || source === undefined) return;
    emitted.set(resolve(source), ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true));
  });
  return emitted;
}

/** The reports' text, by entry point (markdown, formatted as `prettier --check` wants it). */
export async function renderApiReports(): Promise<Map<string, string>> {
  const configFile = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    outDir: join(ROOT, 'api-emit'), // never written: emit goes to the callback
    declarationDir: undefined,
    rootDir: join(ROOT, 'src'),
  };
  const roots = Object.values(ENTRIES).map((file) => join(ROOT, file));
  const program = ts.createProgram(roots, options);
  const checker = program.getTypeChecker();
  const emitted = emitDeclarations(program);
  const printer = ts.createPrinter({ removeComments: true });
  const prettierOptions = (await prettier.resolveConfig(join(API_DIR, 'x.md'))) ?? {};
  const reports = new Map<string, string>();

  for (const [entry, file] of Object.entries(ENTRIES)) {
    const sourceFile = program.getSourceFile(join(ROOT, file));
    const moduleSymbol = sourceFile && checker.getSymbolAtLocation(sourceFile);
    if (!moduleSymbol) throw new Error(`${file}: no module symbol`);
    const sections: string[] = [];
    const exports = checker.getExportsOfModule(moduleSymbol).sort((a, b) => a.name.localeCompare(b.name));
    for (const exported of exports) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const printed: string[] = [];
      const kinds = new Set<string>();
      for (const declaration of target.declarations ?? []) {
        const declared = emitted.get(resolve(declaration.getSourceFile().fileName));
        if (!declared) continue;
        for (const statement of declared.statements) {
          const kind = KINDS.get(statement.kind);
          if (kind === undefined || statementName(statement) !== target.name) continue;
          let text = printer.printNode(ts.EmitHint.Unspecified, statement, declared);
          // A type derived from a value (`z.output<typeof schema>`) would hide its shape: show it resolved.
          if (ts.isTypeAliasDeclaration(statement) && text.includes('typeof ')) {
            text += `\n// resolved:\ntype ${target.name} = ${resolvedText(checker, target)};`;
          }
          if (printed.includes(text)) continue;
          printed.push(text);
          kinds.add(kind);
        }
      }
      if (printed.length === 0) throw new Error(`${file}: no declaration found for ${exported.name}`);
      const rename = exported.name === target.name ? '' : ` (declared as ${target.name})`;
      sections.push(`// ${exported.name}: ${[...kinds].join(' + ')}${rename}\n${printed.join('\n')}`);
    }
    const text = [
      `# API report: \`${entry}\``,
      '',
      '<!-- Generated by `npm run api` from the sources: do not edit. A diff here is a change of the public surface. -->',
      '',
      `${exports.length} exports, sorted by name; each with its kind and declaration (comments removed).`,
      '',
      '```ts',
      sections.join('\n\n'),
      '```',
      '',
    ].join('\n');
    reports.set(entry, await prettier.format(text, { ...prettierOptions, parser: 'markdown' }));
  }
  return reports;
}

/** `npm run api`: rewrites the reports. */
async function main(): Promise<void> {
  mkdirSync(API_DIR, { recursive: true });
  for (const [entry, text] of await renderApiReports()) {
    writeFileSync(reportFile(entry), text);
    process.stdout.write(`wrote ${reportFile(entry)}\n`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
