import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { GraphBuilder } from '../../src/graph/builder/graph-builder.ts';
import { encodeGraphDef } from '../../src/graph/proto/encode.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { fixture, REPO_ROOT, skipWithoutFixtures } from '../helpers/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'ctr-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** x → a = 2x → b = a + 1 → y = 3b, frozen. */
function chain(): string {
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_FLOAT', [-1]);
  const a = g.mul(x, g.constant('DT_FLOAT', [], [2]), { name: 'a' });
  const b = g.addV2(a, g.constant('DT_FLOAT', [], [1]), { name: 'b' });
  g.mul(b, g.constant('DT_FLOAT', [], [3]), { name: 'y' });
  const path = join(dir, 'chain.pb');
  writeFileSync(path, encodeGraphDef(g.toGraphDef()));
  return path;
}

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [stdout, stderr] = [new PassThrough(), new PassThrough()];
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

test('run --outputs computes the named nodes or tensors of a frozen graph, as freeze takes them', async () => {
  const path = chain();
  const r = await cli('run', path, '--outputs', 'a,b:0', '--inputs', '{"x": [1, 2]}');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { outputs: { a: [2, 4], 'b:0': [3, 5] } });
  const missing = await cli('run', path, '--outputs', 'nope', '--inputs', '{"x": [1]}');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /CTR_ERR_OUTPUT_NOT_FOUND/);
});

test('run piped into a slow reader writes all of an output larger than the 64 KiB pipe buffer', async () => {
  const path = chain();
  const n = 50_000;
  const inputs = join(dir, 'inputs.json');
  writeFileSync(inputs, JSON.stringify({ x: Array.from({ length: n }, (_, i) => i + 0.25) }));
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin/ctr-serve.js'), 'run', path, '--inputs', `@${inputs}`],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // A late reader, like jq starting up: nothing is read until the child has exited (the bug: it exits with its
  // output half written) or has waited a while for the reader (fixed: it waits for the pipe to drain).
  let reading = false;
  let timer: NodeJS.Timeout | undefined;
  const drain = () => {
    for (let c: Buffer | null; (c = child.stdout.read() as Buffer | null) !== null;) chunks.push(c);
  };
  const start = () => {
    clearTimeout(timer);
    reading = true;
    drain();
  };
  child.stdout.on('readable', () => {
    if (reading) drain();
    else timer ??= setTimeout(start, 3000);
  });
  child.on('exit', start);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  const text = Buffer.concat(chunks).toString();
  assert.ok(text.length > 65_536, `only ${text.length} bytes`);
  const y = JSON.parse(text).outputs.y as number[];
  assert.equal(y.length, n);
  assert.equal(y[n - 1], 3 * (2 * (n - 1 + 0.25) + 1));
});

// half_plus_two's tf.Example signatures (../shared/tf-fixtures/README.md): Example{x: 2.0} → 3.0 (regress_x_to_y,
// classify_x_to_y's scores), regress_x_to_y2 = 0.5x + 3.
test(
  'run --examples feeds tf.Examples in TF Serving JSON to classify and regress signatures',
  { skip: skipWithoutFixtures },
  async () => {
    const model = fixture('tfserving/saved_model_half_plus_two_cpu/00000123');
    const regress = await cli(
      'run',
      model,
      '--signature_def',
      'regress_x_to_y',
      '--examples',
      '[{"x": 2.0}]',
    );
    assert.equal(regress.code, 0, regress.stderr);
    assert.deepEqual(JSON.parse(regress.stdout), { outputs: { outputs: [[3]] } });
    const classify = await cli(
      'run',
      model,
      '--signature_def',
      'classify_x_to_y',
      '--examples',
      '{"context": {"x": 2.0}, "examples": [{}, {"x": 4.0}]}',
    );
    assert.equal(classify.code, 0, classify.stderr);
    assert.deepEqual(JSON.parse(classify.stdout), { outputs: { scores: [[3], [4]] } });
    const y2 = await cli('run', model, '--signature_def', 'regress_x_to_y2', '--examples', '[{"x": 2.0}]');
    assert.deepEqual(JSON.parse(y2.stdout), { outputs: { outputs: [[4]] } });
    // {"x": 2} is an int64 feature (TF Serving's JSON rule); the model parses x as float
    const int = await cli('run', model, '--signature_def', 'regress_x_to_y', '--examples', '[{"x": 2}]');
    assert.equal(int.code, 1);
    assert.match(int.stderr, /CTR_ERR_INVALID_EXAMPLE/);
    const neither = await cli('run', model);
    assert.match(neither.stderr, /CTR_ERR_USAGE/);
    const floatInput = await cli('run', model, '--examples', '[{"x": 2.0}]');
    assert.match(floatInput.stderr, /CTR_ERR_SIGNATURE_METHOD/);
  },
);
