// Rewrites the ErrorCode enum of openapi.yaml from src/errors/registry.ts (between the error-codes markers), and
// the gRPC status table of docs/errors.md from src/grpc/grpc-status.ts (between the grpc-codes markers).
// test/http/openapi.test.ts and test/grpc/grpc-status.test.ts fail while they differ (`npm run sync:openapi`).
import { readFileSync, writeFileSync } from 'node:fs';
import { ERRORS } from '../src/errors/registry.ts';
import { grpcStatusTable } from '../src/grpc/grpc-status.ts';
import { OPENAPI_FILE } from '../src/http/openapi.ts';

const ERRORS_DOC = new URL('../docs/errors.md', import.meta.url);

export function withGrpcStatusTable(mdText: string): string {
  const block = /<!-- grpc-codes:begin[^\n]*\n[\s\S]*?<!-- grpc-codes:end -->/;
  if (!block.test(mdText)) throw new Error('docs/errors.md has no "<!-- grpc-codes:begin --> ... end" block');
  const lines = [
    '<!-- grpc-codes:begin (generated: npm run sync:openapi) -->',
    '| code | HTTP | gRPC |',
    '|---|---|---|',
    ...grpcStatusTable().map((r) => `| \`${r.code}\` | ${r.http} | \`${r.grpc}\` |`),
    '<!-- grpc-codes:end -->',
  ];
  return mdText.replace(block, lines.join('\n'));
}

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
  const doc = readFileSync(ERRORS_DOC, 'utf8');
  const nextDoc = withGrpcStatusTable(doc);
  if (nextDoc !== doc) writeFileSync(ERRORS_DOC, nextDoc);
  console.log(
    nextDoc === doc ? 'docs/errors.md is up to date' : 'docs/errors.md: gRPC status table rewritten',
  );
}
