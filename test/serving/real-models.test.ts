import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadConfig } from '../../src/config/serving-config.ts';
import { initBackend } from '../../src/graph/backend.ts';
import { buildReferenceStudentGraph, parseReferenceWeights } from '../../bench/reference-student.ts';
import { loadCtrModel } from '../../src/ctr/shared-history-variant.ts';
import type { HostTensor, LoadedModel } from '../../src/graph/model.ts';
import { encodeGraphDef } from '../../src/graph/proto/encode.ts';
import { ServableManager } from '../../src/serving/manager.ts';
import { PredictionService } from '../../src/serving/prediction-service.ts';
import { CtrPredictor } from '../../src/ctr/ctr-predictor.ts';
import {
  assertClose,
  BENCH_REFERENCE,
  fixture,
  skipWithoutBenchReference,
  skipWithoutFixtures,
} from '../helpers/fixtures.ts';

// Real TensorFlow files through the real loader; expected values from ../shared/tf-fixtures/README.md (rtol 1e-5).

const roots: string[] = [];
before(async () => {
  await initBackend();
});
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-serve-real-'));
  roots.push(dir);
  return dir;
}

/** loadModel, counting the model calls each loaded version receives (outputs are the real model's). */
function countingLoader() {
  const calls: number[] = [];
  return {
    calls,
    loadModel: async (path: string): Promise<LoadedModel> => {
      const model = await loadCtrModel(path);
      const index = calls.push(0) - 1;
      return {
        info: model.info,
        predict: (inputs, signature) => model.predict(inputs, signature),
        predictHost: (inputs, signature) => {
          calls[index]!++;
          return model.predictHost(inputs, signature);
        },
        dispose: () => model.dispose(),
      };
    },
  };
}

async function serveDir(
  name: string,
  basePath: string,
  policy: object,
  flags: Record<string, string | boolean> = {},
) {
  const text = JSON.stringify({
    model_config_list: [{ name, base_path: basePath, model_version_policy: policy }],
  });
  const config = loadConfig({
    flags: { file_system_poll_wait_seconds: '0', ...flags },
    modelConfigFile: { path: 'models.json', text },
  });
  const loader = countingLoader();
  const manager = new ServableManager(config, { loadModel: loader.loadModel });
  await manager.start();
  const service = new PredictionService(manager, config);
  const ctr = new CtrPredictor(service, config);
  return {
    manager,
    service,
    ctr,
    loader,
    stop: async () => {
      await service.stop();
      await manager.stop();
    },
  };
}

const f32 = (shape: number[], values: number[]): HostTensor => ({
  dtype: 'DT_FLOAT',
  shape,
  values: Float32Array.from(values),
});
const i32 = (shape: number[], values: number[]): HostTensor => ({
  dtype: 'DT_INT32',
  shape,
  values: Int32Array.from(values),
});
const values = (t: HostTensor | undefined) => Array.from(t!.values as ArrayLike<number>);

describe('serving real TensorFlow models', { skip: skipWithoutFixtures }, () => {
  test('serves both versions of half_plus_two under policy all, the latest (124) by default', async () => {
    const s = await serveDir('half', fixture('tfserving/saved_model_half_plus_two_2_versions'), { all: {} });
    assert.deepEqual(
      s.manager.status('half').map((v) => [v.version, v.state, v.errorCode]),
      [
        [124, 'AVAILABLE', 'OK'],
        [123, 'AVAILABLE', 'OK'],
      ],
    );
    for (const version of [undefined, 123, 124]) {
      const out = await s.service.predict({ model: 'half', version, inputs: { x: f32([3, 1], [1, 2, 5]) } });
      assert.equal(out.id.version, version ?? 124);
      assertClose(values(out.outputs.y), [2.5, 3, 4.5]);
    }
    await s.stop();
  });

  test('chooses a signature by name and returns every output of a multi-output model', async () => {
    const multi = await serveDir('multi', join(tmpLink('tfjs/module_with_multiple_signatures')), {
      latest: {},
    });
    const x = { x: f32([3], [1, 2, 3]) };
    assertClose(
      values((await multi.service.predict({ model: 'multi', inputs: x })).outputs.output_0),
      [3, 6, 9],
    );
    const two = await multi.service.predict({ model: 'multi', signatureName: 'timestwo', inputs: x });
    assertClose(values(two.outputs.output_0), [2, 4, 6]);
    await multi.stop();
    const mo = await serveDir('mo', join(tmpLink('tfjs/model_multi_output')), { latest: {} });
    const out = await mo.service.predict({
      model: 'mo',
      inputs: { x: i32([3], [1, 2, 3]), y: i32([3], [1, 2, 3]) },
    });
    assert.deepEqual(values(out.outputs.output_0), [2, 4, 6]);
    assert.deepEqual(values(out.outputs.output_1), [1, 2, 3]);
    await mo.stop();
  });

  test('a new version added while requests run is swapped in with no failed request; a broken one is reported END', async () => {
    const base = tmp();
    symlinkSync(fixture('tfserving/saved_model_half_plus_two_cpu/00000123'), join(base, '1'));
    const s = await serveDir('half', base, { latest: { num_versions: 1 } }, { enable_batching: true });
    const seen = new Set<number>();
    let failures = 0;
    let running = true;
    const client = async () => {
      while (running) {
        try {
          const out = await s.service.predict({ model: 'half', inputs: { x: f32([3, 1], [1, 2, 5]) } });
          assertClose(values(out.outputs.y), [2.5, 3, 4.5]);
          seen.add(out.id.version);
        } catch {
          failures++;
        }
      }
    };
    const clients = Array.from({ length: 4 }, client);
    const until = async (done: () => boolean) => {
      for (let i = 0; i < 100000 && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
    };
    await until(() => seen.has(1));
    symlinkSync(fixture('tfserving/saved_model_half_plus_two_2_versions/00000124'), join(base, '2'));
    await s.manager.pollNow();
    await until(() => seen.has(2));
    // version 3: a truncated saved_model.pb beside good variables
    const broken = join(base, '3');
    mkdirSync(broken);
    const pb = readFileSync(fixture('tfserving/saved_model_half_plus_two_cpu/00000123/saved_model.pb'));
    writeFileSync(join(broken, 'saved_model.pb'), pb.subarray(0, Math.floor(pb.length / 3)));
    symlinkSync(
      fixture('tfserving/saved_model_half_plus_two_cpu/00000123/variables'),
      join(broken, 'variables'),
    );
    await s.manager.pollNow();
    seen.clear();
    await until(() => seen.size > 0);
    running = false;
    await Promise.all(clients);
    assert.equal(failures, 0);
    assert.deepEqual([...seen], [2], 'version 2 keeps serving after version 3 failed');
    const [v3, v2, v1] = s.manager.status('half');
    assert.deepEqual([v3!.version, v3!.state], [3, 'END']);
    assert.notEqual(v3!.errorCode, 'OK');
    assert.match(v3!.errorMessage, /^CTR_ERR_[A-Z_]+: /);
    assert.deepEqual([v2!.version, v2!.state, v1!.version, v1!.state], [2, 'AVAILABLE', 1, 'END']);
    await s.stop();
  });

  test("TF Serving's bad_half_plus_two (a legacy SessionBundle) is reported END with its error", async () => {
    const s = await serveDir('bad', fixture('tfserving/bad_half_plus_two'), { latest: {} });
    const [status] = s.manager.status('bad');
    assert.deepEqual([status!.version, status!.state], [123, 'END']);
    assert.equal(status!.errorCode, 'NOT_FOUND');
    assert.match(status!.errorMessage, /^CTR_ERR_LEGACY_SESSION_BUNDLE: /);
    assert.equal(s.manager.isReady(), false);
    await s.stop();
  });
});

/** A one-version model repository whose version 1 is a symlink to a fixture (never a copy). */
function tmpLink(rel: string): string {
  const base = tmp();
  symlinkSync(fixture(rel), join(base, '1'));
  return base;
}

describe('serving the reference student', { skip: skipWithoutBenchReference }, () => {
  test('predictCtr through batching matches the reference predictions, merges requests and leaks no tensors', async () => {
    const meta = JSON.parse(readFileSync(join(BENCH_REFERENCE, 'meta.json'), 'utf8'));
    const weights = parseReferenceWeights(
      new Uint8Array(readFileSync(join(BENCH_REFERENCE, 'weights.bin'))),
      meta,
    );
    const base = tmp();
    mkdirSync(join(base, '1'));
    writeFileSync(join(base, '1', 'frozen_graph.pb'), encodeGraphDef(buildReferenceStudentGraph(weights)));
    writeFileSync(
      join(base, '1', 'model.json'),
      JSON.stringify({
        inputs: { history: 'history:0', candidate: 'candidate:0' },
        outputs: { ctr: 'ctr:0', logit: 'logit:0' },
        vocab_size: meta.V,
      }),
    );
    const inputs = readFileSync(join(BENCH_REFERENCE, 'inputs.bin'));
    const ints = new Int32Array(
      inputs.buffer.slice(inputs.byteOffset, inputs.byteOffset + inputs.byteLength),
    );
    const expectedBytes = readFileSync(join(BENCH_REFERENCE, 'expected.f32'));
    const expected = new Float32Array(
      expectedBytes.buffer.slice(
        expectedBytes.byteOffset,
        expectedBytes.byteOffset + expectedBytes.byteLength,
      ),
    );
    const L = meta.L as number;
    const B = expected.length;
    const users = Array.from({ length: B }, (_, r) => ({
      id: `u${r}`,
      history: Array.from(ints.subarray(r * L, (r + 1) * L)),
      candidates: [ints[B * L + r]!],
    }));
    const s = await serveDir('ctr-student', base, { latest: {} }, { enable_batching: true });
    await s.ctr.predictCtr({ requests: users.slice(0, 1) });
    const baseline = tf.memory().numTensors;
    const callsBefore = s.loader.calls[0]!;
    const chunks = Array.from({ length: 16 }, (_, i) => users.slice(i * 64, (i + 1) * 64));
    const outs = await Promise.all(chunks.map((requests) => s.ctr.predictCtr({ requests, topK: 1 })));
    const scores = outs.flatMap((o) => o.results.map((r) => r.scores[0]!));
    for (let r = 0; r < B; r++) {
      assert.ok(Math.abs(scores[r]! - expected[r]!) <= 1e-5, `row ${r}: ${scores[r]} vs ${expected[r]}`);
    }
    assert.equal(outs[3]!.results[5]!.id, 'u197');
    assert.ok(
      s.loader.calls[0]! - callsBefore < chunks.length,
      'concurrent requests were merged into fewer calls',
    );
    assert.equal(tf.memory().numTensors, baseline);
    await s.stop();
  });
});
