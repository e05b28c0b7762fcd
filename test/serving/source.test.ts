import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { aspiredVersions, scanVersions, type VersionDir } from '../../src/serving/source.ts';

const root = mkdtempSync(join(tmpdir(), 'ctr-serve-source-'));
after(() => rmSync(root, { recursive: true, force: true }));

function version(base: string, name: string, file = 'saved_model.pb', content = 'x'): void {
  mkdirSync(join(base, name, 'variables'), { recursive: true });
  writeFileSync(join(base, name, file), content);
}

test('lists positive integer version directories, zero-padded ones by their number, ignoring the rest', async () => {
  const base = join(root, 'list');
  for (const name of ['1', '00000123', '0', 'latest', '12a']) version(base, name);
  writeFileSync(join(base, '5'), 'a file');
  const { found, error } = await scanVersions(base);
  assert.equal(error, undefined);
  assert.deepEqual(
    found.map((v) => [v.version, v.path]),
    [
      [1, join(base, '1')],
      [123, join(base, '00000123')],
    ],
  );
});

test('sees versions that are added and removed between scans', async () => {
  const base = join(root, 'add-remove');
  version(base, '1');
  assert.deepEqual(
    (await scanVersions(base)).found.map((v) => v.version),
    [1],
  );
  version(base, '2');
  assert.deepEqual(
    (await scanVersions(base)).found.map((v) => v.version),
    [1, 2],
  );
  rmSync(join(base, '1'), { recursive: true });
  assert.deepEqual(
    (await scanVersions(base)).found.map((v) => v.version),
    [2],
  );
});

test("a version's fingerprint changes when one of its files changes size or mtime, and only then", async () => {
  const base = join(root, 'fingerprint');
  version(base, '1');
  const first = (await scanVersions(base)).found[0]!.fingerprint;
  assert.equal((await scanVersions(base)).found[0]!.fingerprint, first);
  writeFileSync(join(base, '1', 'variables', 'variables.index'), 'idx');
  const second = (await scanVersions(base)).found[0]!.fingerprint;
  assert.notEqual(second, first);
  utimesSync(join(base, '1', 'saved_model.pb'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  assert.notEqual((await scanVersions(base)).found[0]!.fingerprint, second);
});

test('an unreadable base path is reported, not thrown', async () => {
  const { found, error } = await scanVersions(join(root, 'missing'));
  assert.deepEqual(found, []);
  assert.match(error!, /cannot read base path/);
});

test('version policies pick latest N, all, or the specific versions present', () => {
  const dirs: VersionDir[] = [3, 1, 7].map((v) => ({ version: v, path: `/m/${v}`, fingerprint: '' }));
  const pick = (policy: Parameters<typeof aspiredVersions>[1]) =>
    aspiredVersions(dirs, policy).map((d) => d.version);
  assert.deepEqual(pick({ kind: 'latest', numVersions: 1 }), [7]);
  assert.deepEqual(pick({ kind: 'latest', numVersions: 2 }), [3, 7]);
  assert.deepEqual(pick({ kind: 'latest', numVersions: 10 }), [1, 3, 7]);
  assert.deepEqual(pick({ kind: 'all' }), [1, 3, 7]);
  assert.deepEqual(pick({ kind: 'specific', versions: [1, 7, 9] }), [1, 7]);
  assert.deepEqual(aspiredVersions([], { kind: 'latest', numVersions: 1 }), []);
});
