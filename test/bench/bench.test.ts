import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { parseBenchArgs } from '../../bench/args.ts';
import { writeReferenceRepo } from '../../bench/model-repo.ts';
import { runModelOnly } from '../../bench/model-only.ts';
import { loadBenchReference, type BenchReference } from '../../bench/reference.ts';
import { formatTable } from '../../bench/table.ts';
import { initBackend } from '../../src/graph/backend.ts';
import { BENCH_REFERENCE, skipWithoutBenchReference } from '../helpers/fixtures.ts';

let ref: BenchReference;
let root: string;
before(async () => {
  await initBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'ctr-bench-test-'));
  if (!skipWithoutBenchReference) ref = await loadBenchReference(BENCH_REFERENCE);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test(
  'bench flags default to every section and refuse unknown ones with CTR_ERR_USAGE',
  { skip: skipWithoutBenchReference },
  () => {
    const opts = parseBenchArgs([`--reference=${BENCH_REFERENCE}`], '/');
    assert.deepEqual(opts.sections, ['model', 'recurrent', 'http', 'memory']);
    assert.equal(opts.quick, false);
    assert.deepEqual(
      parseBenchArgs(['--sections=memory,model', '--quick', `--reference=${BENCH_REFERENCE}`], '/').sections,
      ['memory', 'model'],
    );
    assert.throws(() => parseBenchArgs(['--sections=model,gpu'], '/'), { code: 'CTR_ERR_USAGE' });
    assert.throws(() => parseBenchArgs(['--fast'], '/'), { code: 'CTR_ERR_USAGE' });
  },
);

test("a reference directory without the student's files is a usage error", () => {
  assert.throws(() => parseBenchArgs([`--reference=${root}`], '/'), { code: 'CTR_ERR_USAGE' });
});

test('tables right-align numeric columns and group thousands', () => {
  const text = formatTable(
    ['graph', 'predictions/s'],
    [
      ['a', 1234567],
      ['bb', 0.5],
    ],
  );
  assert.deepEqual(text.split('\n'), [
    '| graph | predictions/s |',
    '|-------|--------------:|',
    '| a     |     1,234,567 |',
    '| bb    |         0.500 |',
  ]);
});

test(
  'model-only timings come only after both graphs reproduce expected.f32, through a written frozen graph',
  { skip: skipWithoutBenchReference },
  async () => {
    const repo = await writeReferenceRepo(ref, join(root, 'ok'));
    const before = tf.memory().numTensors;
    const rows = await runModelOnly(ref, repo.version, { repeats: 1, minMs: 1, batches: [1] });
    assert.deepEqual(
      rows.map((r) => `${r.variant}@${r.batch}`),
      [
        'unrewritten@1',
        'rewritten@1',
        'rewritten, per row@1 user × 1000',
        'rewritten, shared history@2 users × 500',
        'rewritten, shared history@1 user × 1000',
      ],
    );
    assert.ok(rows.every((r) => r.predPerSec > 0 && Number.isFinite(r.msPerCall)));
    assert.equal(tf.memory().numTensors, before);
  },
);

test(
  'wrong reference outputs stop the benchmark with CTR_ERR_BENCH_CHECK_FAILED',
  { skip: skipWithoutBenchReference },
  async () => {
    const repo = await writeReferenceRepo(ref, join(root, 'bad'));
    const expected = ref.expected.slice();
    expected[17] += 1e-3;
    await assert.rejects(
      runModelOnly({ ...ref, expected }, repo.version, { repeats: 1, minMs: 1, batches: [1] }),
      {
        code: 'CTR_ERR_BENCH_CHECK_FAILED',
      },
    );
  },
);

test('ctr-serve bench prints its usage for --help and refuses bad flags with CTR_ERR_USAGE', async () => {
  const { default: command } = await import('../../src/cli/bench-command.ts');
  let printed = '';
  const stdout = new Writable({
    write(chunk: Buffer, _enc, done) {
      printed += chunk.toString();
      done();
    },
  });
  const io = { stdout, stderr: stdout, env: {}, cwd: '/', stopSignal: new Promise<string>(() => {}) };
  assert.equal(await command.run(['--help'], io), 0);
  assert.match(printed, /--sections=model,recurrent,http,memory,batching/);
  await assert.rejects(command.run(['--sections=everything'], io), { code: 'CTR_ERR_USAGE' });
});
