import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import ts from 'typescript';
import { loadOpenApiDocument } from '../../src/http/openapi.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

// The client's types (src/client/types.ts) against openapi.yaml: each exported type with an `@schema` tag must
// have exactly the schema's properties, optional exactly where the schema does not require them.
const SOURCE = `${REPO_ROOT}/src/client/types.ts`;

type Member = { name: string; optional: boolean };

function clientTypes(): { name: string; pointer: string; members: Member[] }[] {
  const file = ts.createSourceFile(SOURCE, readFileSync(SOURCE, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: { name: string; pointer: string; members: Member[] }[] = [];
  for (const statement of file.statements) {
    if (!ts.isTypeAliasDeclaration(statement)) continue;
    const tag = ts.getJSDocTags(statement).find((t) => t.tagName.text === 'schema');
    if (!tag || !ts.isTypeLiteralNode(statement.type)) continue;
    const pointer = String(tag.comment).trim();
    const members = statement.type.members.filter(ts.isPropertySignature).map((m) => ({
      name: m.name.getText(file),
      optional: m.questionToken !== undefined,
    }));
    out.push({ name: statement.name.text, pointer, members });
  }
  return out;
}

function schemaAt(pointer: string): { properties?: Record<string, unknown>; required?: string[] } {
  const doc = loadOpenApiDocument() as unknown as Record<string, unknown>;
  return pointer
    .replace(/^#\//, '')
    .split('/')
    .reduce((node: any, key) => node?.[key], doc);
}

test('every client type names an openapi.yaml schema and has its properties, required alike', () => {
  const types = clientTypes();
  assert.ok(types.length >= 10, `found ${types.length} @schema types`);
  for (const t of types) {
    const schema = schemaAt(t.pointer);
    assert.ok(schema?.properties, `${t.name}: ${t.pointer} is not an object schema in openapi.yaml`);
    const required = new Set(schema.required ?? []);
    assert.deepEqual(
      t.members.map((m) => m.name).sort(),
      Object.keys(schema.properties).sort(),
      `${t.name} vs ${t.pointer}: properties differ`,
    );
    for (const m of t.members) {
      assert.equal(
        m.optional,
        !required.has(m.name),
        `${t.name}.${m.name}: optional must be ${!required.has(m.name)}`,
      );
    }
  }
});
