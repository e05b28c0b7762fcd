import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../../src/cli/run-cli.ts';
import { fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (c) => out.push(String(c)));
  stderr.on('data', (c) => err.push(String(c)));
  const code = await runCli(argv, {
    stdout,
    stderr,
    env: {},
    cwd: process.cwd(),
    stopSignal: new Promise(() => {}),
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const RUNS: { path: string; args?: string[]; inputs: unknown; outputs: Record<string, unknown> }[] = [
  {
    path: 'tfserving/saved_model_half_plus_two_cpu/00000123',
    inputs: { x: [[1.0], [2.0], [5.0]] },
    outputs: { y: [[2.5], [3], [4.5]] },
  },
  {
    path: 'tfserving/saved_model_half_plus_two_tf2_cpu/00000123',
    inputs: { x: [2.0] },
    outputs: { y: [3] },
  },
  {
    path: 'tensorflow/lite_testdata/multi_add/multi_add.pb',
    inputs: {
      a: [
        [
          [[0.1], [0.2]],
          [[0.3], [0.4]],
        ],
      ],
      b: [
        [
          [[0.001], [0.002]],
          [[0.003], [0.004]],
        ],
      ],
      c: [
        [
          [[0], [0]],
          [[0], [0]],
        ],
      ],
      d: [
        [
          [[0.01], [0.02]],
          [[0.03], [0.04]],
        ],
      ],
    },
    outputs: {
      x: [
        [
          [[0.101000004], [0.202000007]],
          [[0.303000003], [0.404000014]],
        ],
      ],
      y: [
        [
          [[0.0109999999], [0.0219999999]],
          [[0.0329999998], [0.0439999998]],
        ],
      ],
    },
  },
  { path: 'tfjs/int64_multiply', inputs: [3, 4], outputs: { output_0: [18, 24] } },
  {
    path: 'tfjs/module_with_multiple_signatures',
    args: ['--signature_def', 'timestwo'],
    inputs: { x: [1, 2, 3] },
    outputs: { output_0: [2, 4, 6] },
  },
];

const asFloat32 = (v: unknown): unknown =>
  typeof v === 'number'
    ? Math.fround(v)
    : Array.isArray(v)
      ? v.map(asFloat32)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asFloat32(x)]))
        : v;

describe('ctr-serve run', { skip: skipWithoutFixtures }, () => {
  for (const r of RUNS) {
    test(`prints the known outputs of ${r.path}`, async () => {
      const res = await cli('run', fixture(r.path), ...(r.args ?? []), '--inputs', JSON.stringify(r.inputs));
      assert.equal(res.code, 0, res.stderr);
      // Compared as float32 values: the text is TF Serving's shortest round-tripping form (0.101, not 0.101000004).
      assert.deepEqual(asFloat32(JSON.parse(res.stdout)), asFloat32({ outputs: r.outputs }));
    });
  }

  test('reports a refused model as "error CODE: message" on stderr with a non-zero status', async () => {
    const res = await cli('run', fixture('tfserving/bad_half_plus_two/00000123'), '--inputs', '{}');
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^error CTR_ERR_LEGACY_SESSION_BUNDLE: .*bad_half_plus_two/);
    assert.equal(res.stdout, '');
  });

  test('refuses ragged inputs and inputs the signature does not take', async () => {
    const path = fixture('tfserving/saved_model_half_plus_two_cpu/00000123');
    const ragged = await cli('run', path, '--inputs', '{"x": [[1], [2, 3]]}');
    assert.match(ragged.stderr, /^error CTR_ERR_INPUT_MISMATCH: input x/);
    const unknown = await cli('run', path, '--inputs', '{"x": [[1]], "z": [[1]]}');
    assert.match(unknown.stderr, /^error CTR_ERR_INPUT_MISMATCH: unknown input z/);
  });

  test('answers a usage error with status 2', async () => {
    const res = await cli('run', fixture('tfjs/times_two_int'));
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^error CTR_ERR_USAGE/);
  });
});

describe('ctr-serve inspect', { skip: skipWithoutFixtures }, () => {
  test('lists the TFX export’s signatures and the ops it still lacks', async () => {
    const res = await cli('inspect', fixture('tfx/chicago_taxi_estimator_wide_deep/1646034756'), '--json');
    assert.equal(res.code, 0, res.stderr);
    const d = JSON.parse(res.stdout);
    assert.equal(d.format, 'saved_model');
    assert.deepEqual(d.tagSets, [['serve']]);
    assert.deepEqual(Object.keys(d.signatures).sort(), [
      'classification',
      'predict',
      'regression',
      'serving_default',
    ]);
    assert.deepEqual(d.signatures.predict.inputs.examples, {
      name: 'input_example_tensor:0',
      dtype: 'DT_STRING',
      shape: [-1],
    });
    assert.equal(d.signatures.predict.outputs.probabilities.dtype, 'DT_FLOAT');
    // ParseExampleV2 runs through the op registry (src/graph/op/parse-example.ts)
    assert.ok(!d.unsupportedOps.includes('ParseExampleV2'));
    assert.ok(d.opCounts.ParseExampleV2 >= 1);
  });

  test('describes a frozen graph: Placeholders in, unconsumed nodes out, nothing unsupported', async () => {
    const res = await cli('inspect', fixture('tf2onnx/fc-layers/frozen.pb'));
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /format: frozen_graph/);
    assert.match(res.stdout, /X: DT_FLOAT \[\?,784\] \(X:0\)/);
    assert.match(res.stdout, /output: DT_FLOAT unknown rank \(output:0\)/);
    assert.match(res.stdout, /MatMul: 3/);
    assert.match(res.stdout, /ops that cannot run here: none/);
  });

  test('says a text-format protobuf is not supported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-pbtxt-'));
    try {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(dir, 'saved_model.pbtxt'), 'saved_model_schema_version: 1\n');
      const res = await cli('inspect', dir);
      assert.match(res.stderr, /^error CTR_ERR_TEXT_PROTO_UNSUPPORTED/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ctr-serve freeze', { skip: skipWithoutFixtures }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-freeze-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const output of ['y', 'y:0']) {
    test(`cuts a TF1 SavedModel at ${output} into a graph that runs with the same outputs`, async () => {
      const out = join(dir, `frozen-${output.replace(':', '_')}.pb`);
      const res = await cli(
        'freeze',
        fixture('tfserving/saved_model_half_plus_two_cpu/00000123'),
        '--outputs',
        output,
        '--out',
        out,
      );
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /wrote .*: \d+ nodes/);
      assert.doesNotMatch(res.stdout, /Variable|ParseExample|SaveV2/);
      const run = await cli('run', out, '--inputs', '{"x": [[1.0], [2.0], [5.0]]}');
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), { outputs: { y: [[2.5], [3], [4.5]] } });
    });
  }

  test('refuses an output that is not in the graph', async () => {
    const res = await cli(
      'freeze',
      fixture('tfserving/saved_model_half_plus_two_cpu/00000123'),
      '--outputs',
      'nope',
      '--out',
      join(dir, 'x.pb'),
    );
    assert.match(res.stderr, /^error CTR_ERR_OUTPUT_NOT_FOUND: .*nope/);
  });

  test('refuses a training graph without a checkpoint', async () => {
    const res = await cli(
      'freeze',
      fixture('tfrust/regression_graphdef/model.pb'),
      '--out',
      join(dir, 'r.pb'),
    );
    assert.match(res.stderr, /^error CTR_ERR_NOT_FROZEN/);
  });
});
