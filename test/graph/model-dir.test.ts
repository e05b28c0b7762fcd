import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GraphBuilder } from '../../src/graph/builder/graph-builder.ts';
import { loadModel } from '../../src/graph/load-model.ts';
import { detectModel, parseModelJson } from '../../src/graph/model-dir.ts';
import { encodeGraphDef } from '../../src/graph/proto/encode.ts';

describe('detectModel', () => {
  let root: string;
  const make = async (name: string, files: Record<string, string>) => {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) await writeFile(join(dir, f), text);
    return dir;
  };
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ctr-modeldir-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('reads a .pb file as a frozen graph, with the model.json beside it', async () => {
    const dir = await make('a', {
      'student.pb': '',
      'model.json': JSON.stringify({
        inputs: { h: 'h:0' },
        outputs: { ctr: 'ctr' },
        vocab_size: 10,
        oov_id: 1,
      }),
    });
    const src = await detectModel(join(dir, 'student.pb'));
    assert.equal(src.format, 'frozen_graph');
    assert.deepEqual(src.format === 'frozen_graph' && src.modelJson, {
      inputs: { h: 'h:0' },
      outputs: { ctr: 'ctr' },
      vocabSize: 10,
      oovId: 1,
    });
  });

  test('prefers saved_model.pb, then frozen_graph.pb, then a single .pb in a directory', async () => {
    const sm = await make('b', { 'saved_model.pb': '', 'frozen_graph.pb': '' });
    assert.equal((await detectModel(sm)).format, 'saved_model');
    const fg = await make('c', { 'frozen_graph.pb': '', 'other.pb': '' });
    const a = await detectModel(fg);
    assert.ok(a.format === 'frozen_graph' && a.graphPath.endsWith('frozen_graph.pb'));
    const one = await make('d', { 'model.pb': '' });
    const b = await detectModel(one);
    assert.ok(b.format === 'frozen_graph' && b.graphPath.endsWith('model.pb') && b.modelJson === undefined);
  });

  test('refuses text protos, legacy SessionBundles and everything else with their codes', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['e', { 'saved_model.pbtxt': '' }, 'CTR_ERR_TEXT_PROTO_UNSUPPORTED'],
      ['f', { 'export.meta': '', checkpoint: '' }, 'CTR_ERR_LEGACY_SESSION_BUNDLE'],
      ['g', { 'README.md': '' }, 'CTR_ERR_NOT_A_MODEL'],
      ['h', { 'a.pb': '', 'b.pb': '' }, 'CTR_ERR_NOT_A_MODEL'],
    ];
    for (const [name, files, code] of cases) {
      await assert.rejects(detectModel(await make(name, files)), { code }, name);
    }
    await assert.rejects(detectModel(join(root, 'missing')), { code: 'CTR_ERR_NOT_A_MODEL' });
    const dir = await make('i', { 'graph.pbtxt': '', 'notes.txt': '' });
    await assert.rejects(detectModel(join(dir, 'graph.pbtxt')), { code: 'CTR_ERR_TEXT_PROTO_UNSUPPORTED' });
    await assert.rejects(detectModel(join(dir, 'notes.txt')), { code: 'CTR_ERR_NOT_A_MODEL' });
  });
});

describe('parseModelJson', () => {
  test('refuses malformed sidecars naming the field', () => {
    const bad: [string, RegExp][] = [
      ['{', /not valid JSON/],
      ['[]', /expected an object/],
      ['{"inputs": {}, "outputs": {}}', /"outputs" is empty/],
      ['{"inputs": {"a": 1}, "outputs": {"b": "b:0"}}', /"inputs.a"/],
      ['{"inputs": {}, "outputs": {"b": "b:0"}, "vocab_size": -1}', /"vocab_size"/],
      ['{"inputs": {}, "outputs": {"b": "b:0"}, "vocab_size": 5, "oov_id": 5}', /"oov_id" 5/],
    ];
    for (const [text, message] of bad) {
      assert.throws(
        () => parseModelJson(text, 'model.json'),
        (err: Error & { code?: string }) => err.code === 'CTR_ERR_INVALID_GRAPH' && message.test(err.message),
        text,
      );
    }
  });
});

describe('a frozen graph with a model.json', () => {
  test('refuses a model.json that names tensors the graph does not have', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-sidecar-'));
    try {
      const g = new GraphBuilder();
      g.identity(g.placeholder('x', 'DT_FLOAT', [-1]), { name: 'y' });
      await writeFile(join(dir, 'frozen_graph.pb'), encodeGraphDef(g.toGraphDef()));
      const write = (json: object) => writeFile(join(dir, 'model.json'), JSON.stringify(json));
      await write({ inputs: { x: 'x:0' }, outputs: { ctr: 'ctr:0' } });
      await assert.rejects(loadModel(dir), { code: 'CTR_ERR_OUTPUT_NOT_FOUND', message: /ctr: ctr:0/ });
      await write({ inputs: { h: 'history:0' }, outputs: { y: 'y' } });
      await assert.rejects(loadModel(dir), { code: 'CTR_ERR_INVALID_GRAPH', message: /h: history:0/ });
      await write({ inputs: { input: 'x' }, outputs: { output: 'y' } });
      const model = await loadModel(dir);
      const out = await model.predictHost({ input: { dtype: 'DT_FLOAT', shape: [2], values: [1, 2] } });
      assert.deepEqual(Array.from(out.output.values as Float32Array), [1, 2]);
      model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
