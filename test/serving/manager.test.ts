import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig, type Flags } from '../../src/config/serving-config.ts';
import { isCtrError } from '../../src/errors/registry.ts';
import { initBackend } from '../../src/graph/backend.ts';
import { ServableManager, type VersionEvent } from '../../src/serving/manager.ts';
import { noopServingMetrics, type ServingMetrics } from '../../src/serving/serving-metrics.ts';
import { floats, testModelLoader, writeVersion, type TfjsTestModel } from '../helpers/tfjs-models.ts';

const roots: string[] = [];
before(async () => {
  await initBackend();
});
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-serve-manager-'));
  roots.push(dir);
  return dir;
}

function manager(base: string, flags: Flags = {}, modelConfig?: string, metrics?: ServingMetrics) {
  const config = loadConfig({
    flags: modelConfig
      ? { file_system_poll_wait_seconds: '0', ...flags }
      : { model_name: 'half', model_base_path: base, file_system_poll_wait_seconds: '0', ...flags },
    ...(modelConfig ? { modelConfigFile: { path: 'models.json', text: modelConfig } } : {}),
  });
  const loader = testModelLoader();
  const events: VersionEvent[] = [];
  const m = new ServableManager(config, { loadModel: loader.loadModel, ...(metrics ? { metrics } : {}) });
  m.onVersionEvent((e) => events.push(e));
  return { m, loader, events };
}

async function predictY(m: ServableManager, x: number, version?: number): Promise<[number, number]> {
  const handle = m.acquire('half', version);
  try {
    const out = await handle.servable.model.predictHost({ x: floats(x) });
    return [handle.servable.id.version, (out.y!.values as Float32Array)[0]!];
  } finally {
    handle.release();
  }
}

const code = (c: string) => (err: unknown) => isCtrError(err) && err.code === c;

test('serves the highest version directory, zero-padded names included', async () => {
  const base = repo();
  writeVersion(base, 1, { kind: 'affine', a: 0.5, b: 2 });
  writeVersion(base, '00000123', { kind: 'affine', a: 0.5, b: 3 });
  writeFileSync(join(base, '7'), 'a file, not a version directory');
  writeVersion(base, 'tmp', { kind: 'affine', a: 1, b: 1 });
  const { m, loader } = manager(base);
  await m.start();
  assert.deepEqual(m.status('half'), [
    { version: 123, state: 'AVAILABLE', errorCode: 'OK', errorMessage: '' },
  ]);
  assert.deepEqual(await predictY(m, 1), [123, 3.5]);
  assert.equal(loader.attempts.length, 1);
  assert.ok(m.isReady());
  await m.stop();
});

test('a new version directory is loaded, then the old one unloads and is disposed', async () => {
  const base = repo();
  writeVersion(base, 1, { kind: 'affine', a: 0.5, b: 2 });
  const { m, loader, events } = manager(base);
  await m.start();
  assert.deepEqual(await predictY(m, 2), [1, 3]);
  writeVersion(base, 2, { kind: 'affine', a: 0.5, b: 3 });
  await m.pollNow();
  assert.deepEqual(await predictY(m, 2), [2, 4]);
  assert.deepEqual(
    m.status('half').map((s) => [s.version, s.state]),
    [
      [2, 'AVAILABLE'],
      [1, 'END'],
    ],
  );
  assert.ok(loader.loaded[0]!.disposed);
  const order = events.map((e) => `${e.version}:${e.state}`);
  assert.ok(order.indexOf('2:AVAILABLE') < order.indexOf('1:UNLOADING'), order.join(' '));
  await m.stop();
});

test('keeps serving version 1 when version 2 fails to load, and retries 2 only when its files change', async () => {
  const base = repo();
  writeVersion(base, 1, { kind: 'affine', a: 0.5, b: 2 });
  const { m, loader } = manager(base);
  await m.start();
  writeVersion(base, 2, '{"kind": "affine", "a": 0.5, "b"'); // truncated: like a corrupt saved_model.pb
  await m.pollNow();
  const [v2, v1] = m.status('half');
  assert.deepEqual(v2!.version, 2);
  assert.equal(v2!.state, 'END');
  assert.equal(v2!.errorCode, 'DATA_LOSS');
  assert.match(v2!.errorMessage, /^CTR_ERR_PROTO_DECODE: /);
  assert.deepEqual([v1!.version, v1!.state], [1, 'AVAILABLE']);
  assert.deepEqual(await predictY(m, 2), [1, 3]);
  assert.throws(() => m.acquire('half', 2), code('CTR_ERR_VERSION_NOT_FOUND'));
  const attempts = loader.attempts.length;
  await m.pollNow();
  assert.equal(
    loader.attempts.length,
    attempts,
    'a failed version is not retried while its files are unchanged',
  );
  writeVersion(base, 2, { kind: 'affine', a: 0.5, b: 3, pad: 'now different' } as never);
  await m.pollNow();
  assert.deepEqual(await predictY(m, 2), [2, 4]);
  await m.stop();
});

test('a model whose only version fails is END, not ready, and answers CTR_ERR_MODEL_UNAVAILABLE', async () => {
  const base = repo();
  writeVersion(base, 3, 'not json');
  const { m } = manager(base);
  await m.start();
  assert.equal(m.status('half')[0]!.state, 'END');
  assert.equal(m.isReady(), false);
  assert.throws(() => m.acquire('half'), code('CTR_ERR_MODEL_UNAVAILABLE'));
  await m.stop();
});

test('unloading waits for in-flight requests to release the version before disposing it', async () => {
  const base = repo();
  writeVersion(base, 1, { kind: 'affine', a: 0.5, b: 2 });
  const { m, loader } = manager(base);
  await m.start();
  const held = m.acquire('half');
  writeVersion(base, 2, { kind: 'affine', a: 0.5, b: 3 });
  await m.pollNow();
  const v1 = loader.loaded[0] as TfjsTestModel;
  assert.equal(m.status('half', 1)[0]!.state, 'UNLOADING');
  assert.equal(v1.disposed, false);
  const out = await held.servable.model.predictHost({ x: floats(4) });
  assert.deepEqual(Array.from(out.y!.values as Float32Array), [4]);
  held.release();
  held.release(); // idempotent
  await m.stop();
  assert.equal(v1.disposed, true);
  assert.equal(m.status('half', 1)[0]!.state, 'END');
});

test("a removed version's files do not stop it serving until another aspired version is available", async () => {
  const base = repo();
  writeVersion(base, 1, { kind: 'affine', a: 0.5, b: 2 });
  writeVersion(base, 2, { kind: 'affine', a: 0.5, b: 3 });
  const { m } = manager(base);
  await m.start();
  rmSync(join(base, '2'), { recursive: true });
  await m.pollNow();
  assert.deepEqual(await predictY(m, 0), [1, 2]);
  assert.equal(m.status('half', 2)[0]!.state, 'END');
  rmSync(join(base, '1'), { recursive: true });
  await m.pollNow();
  assert.deepEqual(
    await predictY(m, 0),
    [1, 2],
    'with no version directories left, what serves keeps serving',
  );
  await m.stop();
});

test('policy all serves every version and specific serves only the listed ones', async () => {
  const base = repo();
  for (const v of [1, 2, 3]) writeVersion(base, v, { kind: 'affine', a: 0.5, b: v });
  const cfg = (policy: object) =>
    JSON.stringify({ model_config_list: [{ name: 'half', base_path: base, model_version_policy: policy }] });
  const all = manager(base, {}, cfg({ all: {} }));
  await all.m.start();
  assert.deepEqual(
    all.m.status('half').map((s) => s.version),
    [3, 2, 1],
  );
  assert.deepEqual(await predictY(all.m, 0, 2), [2, 2]);
  assert.deepEqual(await predictY(all.m, 0), [3, 3], 'unversioned requests get the highest version');
  await all.m.stop();
  const specific = manager(base, {}, cfg({ specific: { versions: [1, 3, 9] } }));
  await specific.m.start();
  assert.deepEqual(
    specific.m.status('half').map((s) => s.version),
    [3, 1],
  );
  assert.throws(() => specific.m.acquire('half', 2), code('CTR_ERR_VERSION_NOT_FOUND'));
  await specific.m.stop();
  const latest2 = manager(base, {}, cfg({ latest: { num_versions: 2 } }));
  await latest2.m.start();
  assert.deepEqual(
    latest2.m.status('half').map((s) => s.version),
    [3, 2],
  );
  await latest2.m.stop();
});

test('unknown models and versions have their own codes', async () => {
  const base = repo();
  writeVersion(base, 1, { kind: 'affine', a: 0.5, b: 2 });
  const { m } = manager(base);
  await m.start();
  assert.deepEqual(m.modelNames(), ['half']);
  assert.equal(m.defaultModel, 'half');
  assert.throws(() => m.acquire('nope'), code('CTR_ERR_MODEL_NOT_FOUND'));
  assert.throws(() => m.status('nope'), code('CTR_ERR_MODEL_NOT_FOUND'));
  assert.throws(() => m.acquire('half', 5), code('CTR_ERR_VERSION_NOT_FOUND'));
  assert.throws(() => m.status('half', 5), code('CTR_ERR_VERSION_NOT_FOUND'));
  await m.stop();
  assert.throws(() => m.acquire('half'), code('CTR_ERR_SHUTTING_DOWN'));
  assert.equal(m.isReady(), false);
});

test('a missing base path leaves the model unavailable and it loads once the directory appears', async () => {
  const base = join(repo(), 'later');
  const { m } = manager(base);
  await m.start();
  assert.deepEqual(m.status('half'), []);
  assert.throws(() => m.acquire('half'), code('CTR_ERR_MODEL_UNAVAILABLE'));
  writeVersion(base, 1, { kind: 'affine', a: 0.5, b: 2 });
  await m.pollNow();
  assert.deepEqual(await predictY(m, 2), [1, 3]);
  await m.stop();
});

test('polling picks up a new version by itself every file_system_poll_wait_seconds', async () => {
  const base = repo();
  writeVersion(base, 1, { kind: 'affine', a: 0.5, b: 2 });
  const { m } = manager(base, { file_system_poll_wait_seconds: '0.02' });
  await m.start();
  const available = new Promise<VersionEvent>((resolve) =>
    m.onVersionEvent((e) => e.state === 'AVAILABLE' && resolve(e)),
  );
  writeVersion(base, 2, { kind: 'affine', a: 0.5, b: 3 });
  const keepAlive = setInterval(() => {}, 1000); // the poll timer is unref'd: a server keeps the process alive
  const e = await available;
  clearInterval(keepAlive);
  assert.equal(e.version, 2);
  assert.ok(e.loadSeconds !== undefined && e.loadSeconds >= 0);
  await m.stop();
});

test('loads and unloads are reported to the metrics hooks', async () => {
  const base = repo();
  writeVersion(base, 1, { kind: 'affine', a: 0.5, b: 2 });
  const seen: string[] = [];
  const metrics: ServingMetrics = {
    ...noopServingMetrics,
    countLoad: (model, outcome, seconds) => seen.push(`load ${model} ${outcome} ${seconds >= 0}`),
    setModelInfo: (id, info) => seen.push(`info ${id.name}:${id.version} ${info.format}`),
    removeModelInfo: (id) => seen.push(`remove ${id.name}:${id.version}`),
  };
  const { m } = manager(base, {}, undefined, metrics);
  await m.start();
  writeVersion(base, 2, 'corrupt');
  await m.pollNow();
  writeVersion(base, 3, { kind: 'affine', a: 0.5, b: 3 });
  await m.pollNow();
  await m.stop();
  assert.deepEqual(seen, [
    'load half success true',
    'info half:1 frozen_graph',
    'load half failure true',
    'load half success true',
    'info half:3 frozen_graph',
    'remove half:1',
    'remove half:3',
  ]);
});

test('a version whose files change is reloaded in place, and a failed reload keeps the loaded one serving', async () => {
  const base = repo();
  writeVersion(base, 1, { kind: 'affine', a: 0.5, b: 2 });
  const { m, loader } = manager(base);
  await m.start();
  const held = m.acquire('half');
  writeVersion(base, 1, { kind: 'affine', a: 0.5, b: 10 });
  await m.pollNow();
  assert.deepEqual(await predictY(m, 2), [1, 11]);
  assert.equal(loader.loaded[0]!.disposed, false, 'the old servable waits for its in-flight handle');
  held.release();
  writeVersion(base, 1, '{"truncated');
  await m.pollNow();
  assert.deepEqual(await predictY(m, 2), [1, 11]);
  assert.deepEqual(m.status('half'), [{ version: 1, state: 'AVAILABLE', errorCode: 'OK', errorMessage: '' }]);
  await m.stop();
  assert.ok(loader.loaded.every((model) => model.disposed));
});
