import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { attr, GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { freezeGraph } from '../../../src/graph/freeze/freeze-graph.ts';
import type { Checkpoint } from '../../../src/graph/freeze/variables-to-constants.ts';
import { freezeModel, loadModel } from '../../../src/graph/load-model.ts';
import { encodeGraphDef } from '../../../src/graph/proto/encode.ts';
import { DataType, type FunctionDef, type GraphDef } from '../../../src/graph/proto/types.ts';
import type { DecodedTensor } from '../../../src/graph/tensor/tensor-values.ts';
import { fixture, skipWithoutFixtures } from '../../helpers/fixtures.ts';
import { variableV2 } from '../../../src/graph/builder/variable-ops.ts';

/** x → w·x + b, with a second head nobody asks for, a NoOp and an Assert on control edges. */
function trainingGraph(): GraphDef {
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_FLOAT', [-1, 2]);
  const w = variableV2(g, 'w', 'DT_FLOAT', [2, 1]);
  const b = variableV2(g, 'b', 'DT_FLOAT', [1]);
  const y = g.biasAdd(g.matMul(x, w), b, { name: 'pred' });
  g.op('NoOp', [], {}, { name: 'train_step' });
  const out = g.identity(y, { name: 'ctr' });
  g.relu(g.sigmoid(out), { name: 'unused_head' });
  const graph = g.toGraphDef();
  graph.node.find((n) => n.name === 'ctr')!.input.push('^train_step');
  return graph;
}

const checkpoint = (values: Record<string, DecodedTensor>): Checkpoint => ({
  has: (k) => k in values,
  read: (k) => values[k],
});
const ckpt = checkpoint({
  w: { dtype: DataType.DT_FLOAT, shape: [2, 1], values: new Float32Array([2, 3]) },
  b: { dtype: DataType.DT_FLOAT, shape: [1], values: new Float32Array([0.5]) },
});

describe('freezeGraph', () => {
  test('cuts at an output node name or tensor name, turning variables into constants and dropping control inputs', () => {
    for (const output of ['ctr', 'ctr:0']) {
      const { graph, outputs } = freezeGraph(trainingGraph(), {
        outputs: [output],
        checkpoint: ckpt,
        source: 't',
      });
      assert.equal(outputs.get(output), 'ctr:0');
      const names = graph.node.map((n) => n.name).sort();
      assert.deepEqual(names, ['MatMul', 'b', 'b/read', 'ctr', 'pred', 'w', 'w/read', 'x']);
      assert.equal(graph.node.find((n) => n.name === 'w')!.op, 'Const');
      assert.ok(graph.node.every((n) => n.input.every((i) => !i.startsWith('^'))));
      assert.equal(graph.library, undefined);
    }
  });

  test('refuses a graph with variables and no checkpoint as not frozen', () => {
    assert.throws(() => freezeGraph(trainingGraph(), { outputs: ['ctr'], source: 't' }), {
      code: 'CTR_ERR_NOT_FROZEN',
    });
  });

  test('names a variable missing from the checkpoint', () => {
    const partial = checkpoint({ w: { dtype: 1, shape: [2, 1], values: new Float32Array(2) } });
    assert.throws(
      () =>
        freezeGraph(trainingGraph(), {
          outputs: ['ctr'],
          checkpoint: partial,
          source: 't',
          checkpointSource: 'ck',
        }),
      (err: Error & { code?: string }) =>
        err.code === 'CTR_ERR_MISSING_VARIABLE' && /variable b .*ck/.test(err.message),
    );
  });

  test('refuses an output that is not in the graph', () => {
    assert.throws(
      () => freezeGraph(trainingGraph(), { outputs: ['nope:0'], checkpoint: ckpt, source: 't' }),
      {
        code: 'CTR_ERR_OUTPUT_NOT_FOUND',
      },
    );
  });

  test('turns a fed non-Placeholder tensor into a Placeholder and cuts what fed it', () => {
    const { graph, feeds } = freezeGraph(trainingGraph(), {
      outputs: ['ctr'],
      feeds: [{ tensor: 'pred:0', dtype: DataType.DT_FLOAT }],
      source: 't',
    });
    assert.equal(feeds.get('pred:0'), 'pred:0');
    assert.deepEqual(
      graph.node.map((n) => [n.name, n.op]),
      [
        ['pred', 'Placeholder'],
        ['ctr', 'Identity'],
      ],
    );
  });

  test('refuses a Const without a value and a negative shape wherever they are', () => {
    const g = trainingGraph();
    g.node.push({ name: 'broken', op: 'Const', input: [], attr: { dtype: attr.type('DT_FLOAT') } });
    assert.throws(() => freezeGraph(g, { outputs: ['ctr'], checkpoint: ckpt, source: 't' }), {
      code: 'CTR_ERR_INVALID_GRAPH',
    });
    const h = trainingGraph();
    const tensor = { dtype: 1, tensorShape: { dim: [{ size: -1 }], unknownRank: false }, floatVal: [1] };
    h.node.push({
      name: 'neg',
      op: 'Const',
      input: [],
      attr: { dtype: attr.type('DT_FLOAT'), value: { tensor } },
    });
    assert.throws(() => freezeGraph(h, { outputs: ['ctr'], checkpoint: ckpt, source: 't' }), {
      code: 'CTR_ERR_TENSOR_TOO_LARGE',
    });
  });

  test('leaves a call un-inlined rather than guess the outputs of an op it does not know', () => {
    const g = new GraphBuilder();
    const x = g.placeholder('x', 'DT_FLOAT', []);
    g.op('PartitionedCall', [x], { f: { func: { name: 'fn', attr: {} } } }, { name: 'call' });
    const fn: FunctionDef = {
      signature: {
        name: 'fn',
        inputArg: [{ name: 'a', type: 1 }],
        outputArg: [{ name: 'b', type: 1 }],
        attr: [],
      },
      attr: {},
      nodeDef: [
        { name: 'm', op: 'Mystery', input: ['a'], attr: {} },
        { name: 'sum', op: 'AddV2', input: ['m:first:0', 'm:second:0'], attr: { T: attr.type('DT_FLOAT') } },
      ],
      ret: { b: 'sum:z:0' },
    };
    const graph = { ...g.toGraphDef(), library: { function: [fn] } };
    const { graph: frozen } = freezeGraph(graph, { outputs: ['call'], source: 't' });
    assert.deepEqual(
      frozen.node.map((n) => n.op),
      ['Placeholder', 'PartitionedCall'],
    );
  });

  test('refuses a function that calls itself instead of recursing forever', () => {
    const g = new GraphBuilder();
    const x = g.placeholder('x', 'DT_FLOAT', []);
    g.op('PartitionedCall', [x], { f: { func: { name: 'loop', attr: {} } } }, { name: 'call' });
    const loop = {
      signature: {
        name: 'loop',
        inputArg: [{ name: 'a', type: 1 }],
        outputArg: [{ name: 'b', type: 1 }],
        attr: [],
      },
      attr: {},
      nodeDef: [{ name: 'again', op: 'loop', input: ['a'], attr: {} }],
      ret: { b: 'again:b:0' },
    };
    const graph = { ...g.toGraphDef(), library: { function: [loop] } };
    assert.throws(() => freezeGraph(graph, { outputs: ['call'], source: 't' }), {
      code: 'CTR_ERR_INVALID_GRAPH',
    });
  });
});

const ROUND_TRIPS = [
  {
    path: 'tfserving/saved_model_half_plus_two_cpu/00000123',
    sidecar: { inputs: { x: 'x:0' }, outputs: { y: 'y:0' } },
    x: { dtype: 'DT_FLOAT' as const, shape: [3, 1], values: [1, 2, 5] },
  },
  {
    // The frozen file keeps the source's node names: the call's result is still "StatefulPartitionedCall_5:0".
    path: 'tfserving/saved_model_half_plus_two_tf2_cpu/00000123',
    sidecar: { inputs: { x: 'serving_default_x:0' }, outputs: { y: 'StatefulPartitionedCall_5:0' } },
    x: { dtype: 'DT_FLOAT' as const, shape: [1], values: [2] },
  },
];

describe('freezeModel → write → loadModel', { skip: skipWithoutFixtures }, () => {
  for (const c of ROUND_TRIPS) {
    test(`gives the same outputs as the original for ${c.path}`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ctr-freeze-'));
      const original = await loadModel(fixture(c.path));
      try {
        const frozen = await freezeModel(fixture(c.path));
        assert.ok(
          frozen.node.every((n) => !['VariableV2', 'VarHandleOp', 'StatefulPartitionedCall'].includes(n.op)),
        );
        await writeFile(join(dir, 'frozen_graph.pb'), encodeGraphDef(frozen));
        await writeFile(join(dir, 'model.json'), JSON.stringify(c.sidecar));
        const reloaded = await loadModel(dir);
        const a = await original.predictHost({ x: c.x });
        const b = await reloaded.predictHost({ x: c.x });
        reloaded.dispose();
        assert.deepEqual(b.y.shape, a.y.shape);
        assert.deepEqual(Array.from(b.y.values as Float32Array), Array.from(a.y.values as Float32Array));
      } finally {
        original.dispose();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
