// Rewrites the ErrorCode enum of openapi.yaml from src/errors/registry.ts (between the error-codes markers).
// test/http/openapi.test.ts fails while they differ and names this script (`npm run sync:openapi`).
import { readFileSync, writeFileSync } from 'node:fs';
import { ERRORS } from '../src/errors/registry.ts';
import { OPENAPI_FILE } from '../src/http/openapi.ts';

export function withRegistryErrorCodes(yamlText: string): string {
  const block = /( *)# error-codes:begin[^\n]*\n[\s\S]*?# error-codes:end/;
  const match = block.exec(yamlText);
  if (!match) throw new Error('openapi.yaml has no "# error-codes:begin ... # error-codes:end" block');
  const indent = match[1]!;
  const lines = [
    `${indent}# error-codes:begin (generated: npm run sync:openapi)`,
    `${indent}enum:`,
    ...Object.keys(ERRORS).map((code) => `${indent}  - ${code}`),
    `${indent}# error-codes:end`,
  ];
  return yamlText.replace(block, lines.join('\n'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = readFileSync(OPENAPI_FILE, 'utf8');
  const next = withRegistryErrorCodes(text);
  if (next !== text) writeFileSync(OPENAPI_FILE, next);
  console.log(next === text ? 'openapi.yaml is up to date' : 'openapi.yaml: ErrorCode enum rewritten');
}
