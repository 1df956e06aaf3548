/**
 * The SDK (packages/client, published as `@licensepool/client`) runs in browsers and ships without
 * the server: every module its sources name is inside packages/client/src or is `jose`. That holds
 * for `import type` too, since its `.d.ts` files must stand alone in the published package.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT } from '../repo.js';

const SDK_DIR = join(REPO_ROOT, 'packages/client/src');
const ALLOWED_PACKAGES = new Set(['jose']);

/** Node's own globals, which a browser does not have. */
const NODE_GLOBALS = new Set(['process', 'Buffer', 'require', '__dirname', '__filename', 'global']);

/** Every module specifier a file names (types too), and every Node global it names, with where. */
function moduleImports(fileName: string, text: string): { specifier: string; line: number }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: { specifier: string; line: number }[] = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined) => {
    if (specifier && ts.isStringLiteral(specifier)) found.push({ specifier: specifier.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal);
    } else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      add(node, node.arguments[0]);
    } else if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text) && !(ts.isPropertyAccessExpression(node.parent) && node.parent.name === node) && !ts.isPropertyAssignment(node.parent)) {
      found.push({ specifier: `global ${node.text}`, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const sdkFiles = readdirSync(SDK_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

test('packages/client names nothing but its own files and jose', () => {
  assert.ok(sdkFiles.includes('client.ts') && sdkFiles.includes('index.ts'));
  const offending: string[] = [];
  for (const name of sdkFiles) {
    const file = join(SDK_DIR, name);
    for (const { specifier, line } of moduleImports(file, readFileSync(file, 'utf8'))) {
      const inside = specifier.startsWith('.') && dirname(resolve(dirname(file), specifier)) === SDK_DIR;
      if (!inside && !ALLOWED_PACKAGES.has(specifier)) offending.push(`packages/client/src/${name}:${line} imports '${specifier}'`);
    }
  }
  assert.deepEqual(offending, [], 'server code, server types or Node built-ins would end up in the SDK package');
});

test('the check catches value and type imports and Node globals', () => {
  const specifiers = (code: string) => moduleImports('probe.ts', code).map((i) => i.specifier);
  assert.deepEqual(specifiers("import type { Claim } from '../modules/claims/claims.schemas.js';"), ['../modules/claims/claims.schemas.js']);
  assert.deepEqual(specifiers("type Claim = import('../modules/claims/claims.schemas.js').Claim;"), ['../modules/claims/claims.schemas.js']);
  assert.deepEqual(specifiers("import { type Claim } from '../modules/claims/claims.schemas.js';"), ['../modules/claims/claims.schemas.js']);
  assert.deepEqual(specifiers("export { presentClaim } from '../modules/claims/claims.schemas.js';"), ['../modules/claims/claims.schemas.js']);
  assert.deepEqual(specifiers("const fs = await import('node:fs');"), ['node:fs']);
  assert.deepEqual(specifiers('const home = process.env.HOME; const o = { process: 1 }; o.process;'), ['global process']);
});
