import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CtrError, ERRORS } from '../../src/errors/registry.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

const doc = readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `(CTR_ERR_[A-Z0-9_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]),
);

test('every registered error code is documented in docs/errors.md with its HTTP status', () => {
  for (const [code, def] of Object.entries(ERRORS)) {
    assert.equal(
      documented.get(code),
      def.status,
      `${code} missing or with another status in docs/errors.md`,
    );
  }
});

test('every code documented in docs/errors.md exists in the registry', () => {
  for (const code of documented.keys()) assert.ok(code in ERRORS, `${code} is documented but not registered`);
});

test('a CtrError carries its code and the status from the registry', () => {
  const err = new CtrError('CTR_ERR_CHECKSUM', 'x', { cause: new Error('inner') });
  assert.equal(err.code, 'CTR_ERR_CHECKSUM');
  assert.equal(err.statusCode, ERRORS.CTR_ERR_CHECKSUM.status);
  assert.ok(err.cause instanceof Error);
});
