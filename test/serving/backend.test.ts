import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadConfig } from '../../src/config/serving-config.ts';
import { initBackend } from '../../src/graph/backend.ts';
import { loadModel } from '../../src/graph/load-model.ts';
import type { HostTensor } from '../../src/graph/model.ts';
import { checkAgainstWasm } from '../../src/serving/backend-check.ts';
import { loadServable } from '../../src/serving/loader.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';
import { appFor, call } from '../helpers/app-helpers.ts';

// This file runs in its own process (node --test): it sets the process's backend to cpu, the one non-wasm backend
// installed everywhere, to run the load-time comparison with wasm (tfjs-node, when installed, takes the same path).
const STUDENT = join(REPO_ROOT, 'models/ctr-student/1');
const tfjsNodeInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

test('--backend takes wasm, cpu, tensorflow or auto, and defaults to wasm', () => {
  const config = (flags: Record<string, string>) =>
    loadConfig({ flags: { model_base_path: '/m', ...flags } });
  assert.equal(config({}).backend, 'wasm');
  for (const b of ['wasm', 'cpu', 'tensorflow', 'auto']) assert.equal(config({ backend: b }).backend, b);
  assert.throws(() => config({ backend: 'gpu' }), {
    code: 'CTR_ERR_INVALID_CONFIG',
    message: /--backend=gpu/,
  });
});

test(
  'asking for tfjs-node where it is not installed is a clear startup error',
  { skip: tfjsNodeInstalled },
  async () => {
    await assert.rejects(initBackend('tensorflow'), {
      code: 'CTR_ERR_BACKEND_UNAVAILABLE',
      message: /tensorflow/,
    });
    await assert.rejects(
      appFor([{ name: 'ctr-student', basePath: join(REPO_ROOT, 'models/ctr-student') }], {
        backend: 'tensorflow',
      }),
      { code: 'CTR_ERR_BACKEND_UNAVAILABLE' },
    );
  },
);

test('a version on another backend is compared with wasm at load; it serves when they agree', async () => {
  assert.equal(await initBackend('cpu'), 'cpu');
  await assert.rejects(initBackend('wasm'), { code: 'CTR_ERR_BACKEND_UNAVAILABLE' });
  const start = tf.memory().numTensors;
  const model = await loadModel(STUDENT);
  try {
    assert.equal(model.info.backend, 'cpu');
    let seen: Record<string, HostTensor>[] = [];
    await checkAgainstWasm(STUDENT, model, async (path, signature, inputs) => {
      seen = inputs;
      const { wasmReference } = await import('../../src/serving/backend-check.ts');
      return wasmReference(path, signature, inputs);
    });
    assert.equal(seen.length, 2);
    // The probe feeds ids inside the tables (metadata's index guards), not only the warm-up's zeros.
    assert.ok(Array.from(seen[1]!.candidate!.values as Int32Array).some((v) => v > 0));
  } finally {
    model.dispose();
  }
  assert.equal(tf.memory().numTensors, start);
});

test('a version whose outputs differ from wasm is refused with CTR_ERR_BACKEND_MISMATCH and disposed', async () => {
  await initBackend('cpu');
  const start = tf.memory().numTensors;
  const off = (t: HostTensor): HostTensor => ({
    ...t,
    values: Float32Array.from(t.values as Float32Array, (v) => v + 0.01),
  });
  const perturbed = async (path: string, model: Parameters<typeof checkAgainstWasm>[1]) =>
    checkAgainstWasm(path, model, async (_p, signature, inputs) => {
      const outs = [];
      for (const set of inputs) {
        const o = await model.predictHost(set, signature);
        outs.push(Object.fromEntries(Object.entries(o).map(([k, t]) => [k, off(t)])));
      }
      return outs;
    });
  await assert.rejects(loadServable({ name: 's', version: 1 }, STUDENT, loadModel, perturbed), {
    code: 'CTR_ERR_BACKEND_MISMATCH',
    message: /differs between the cpu and wasm backends/,
  });
  assert.equal(tf.memory().numTensors, start);
});

test('the app reports the backend it runs on in metadata and metrics', async () => {
  const app = await appFor([{ name: 'ctr-student', basePath: join(REPO_ROOT, 'models/ctr-student') }], {
    backend: 'cpu',
  });
  try {
    const md = await call(app, { method: 'GET', url: '/v1/models/ctr-student/metadata' });
    assert.equal(md.status, 200, md.text);
    assert.equal(md.body.metadata.ctr_serve.backend, 'cpu');
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /ctr_model_info\{[^}]*backend="cpu"[^}]*\} 1/);
  } finally {
    await app.close();
  }
});
