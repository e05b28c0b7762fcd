import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { isCtrError } from '../../../src/errors/registry.ts';
import { initBackend } from '../../../src/graph/backend.ts';
import { freezeGraph } from '../../../src/graph/freeze/freeze-graph.ts';
import { loadModel } from '../../../src/graph/load-model.ts';
import { decodeGraphDef, decodeSavedModel } from '../../../src/graph/proto/decode.ts';
import type { GraphDef, NodeDef } from '../../../src/graph/proto/types.ts';
import { compileGraph } from '../../../src/graph/tfjs/graph-model.ts';
import { fixture, skipWithoutFixtures } from '../../helpers/fixtures.ts';

/** A structural mutation of a decoded graph: what a buggy exporter or a hand-edited file could produce. */
type Mutation =
  | { kind: 'dropNode'; at: number }
  | { kind: 'renameInput'; at: number; to: string }
  | { kind: 'dropAttr'; at: number; which: number }
  | { kind: 'swapOp'; at: number; op: string }
  | { kind: 'selfLoop'; at: number }
  | { kind: 'dims'; at: number; size: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('dropNode' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('renameInput' as const),
    at: fc.nat(),
    to: fc.constantFrom('nope', 'x:7', '^x', ':', ''),
  }),
  fc.record({ kind: fc.constant('dropAttr' as const), at: fc.nat(), which: fc.nat() }),
  fc.record({
    kind: fc.constant('swapOp' as const),
    at: fc.nat(),
    op: fc.constantFrom('MatMul', 'Const', 'PartitionedCall', 'VariableV2', 'Squeeze', 'NoOp', 'Unknown'),
  }),
  fc.record({ kind: fc.constant('selfLoop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('dims' as const), at: fc.nat(), size: fc.constantFrom(-7, 0, 2 ** 40, 3) }),
);

function apply(g: GraphDef, ms: Mutation[]): GraphDef {
  const node: NodeDef[] = structuredClone(g.node);
  for (const m of ms) {
    if (node.length === 0) break;
    const n = node[m.at % node.length];
    if (m.kind === 'dropNode') node.splice(m.at % node.length, 1);
    else if (m.kind === 'renameInput' && n.input.length) n.input[m.at % n.input.length] = m.to;
    else if (m.kind === 'dropAttr') {
      const keys = Object.keys(n.attr);
      if (keys.length) delete n.attr[keys[m.which % keys.length]];
    } else if (m.kind === 'swapOp') n.op = m.op;
    else if (m.kind === 'selfLoop') n.input.push(n.name);
    else if (m.kind === 'dims') {
      const dim = n.attr.value?.tensor?.tensorShape?.dim ?? n.attr.shape?.shape?.dim;
      if (dim?.length) dim[0].size = m.size;
    }
  }
  return { ...g, node };
}

const GRAPHS = [
  { file: 'tf2onnx/fc-layers/frozen.pb', outputs: ['output'] },
  { file: 'tensorflow/lite_testdata/multi_add/multi_add.pb', outputs: ['x', 'y:0'] },
  { file: 'tfrust/addition/model.pb', outputs: ['z'] },
];

describe('freezing and compiling mutated graphs', { skip: skipWithoutFixtures }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ctr-freeze-fuzz-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  for (const { file, outputs } of GRAPHS) {
    test(`gives only coded errors, in bounded time and without leaking tensors, for mutations of ${file}`, async () => {
      await initBackend();
      const g = decodeGraphDef(readFileSync(fixture(file)), file);
      const before = tf.memory().numTensors;
      await fc.assert(
        fc.asyncProperty(fc.array(mutationArb, { minLength: 1, maxLength: 4 }), async (ms) => {
          try {
            const frozen = freezeGraph(apply(g, ms), { outputs, source: file });
            compileGraph(frozen.graph, file).model.dispose();
          } catch (err) {
            assert.ok(isCtrError(err), `uncoded error for ${JSON.stringify(ms)}: ${(err as Error).stack}`);
          }
        }),
        { numRuns: 60, seed: 20261127 },
      );
      assert.equal(tf.memory().numTensors, before);
    });
  }

  test('loadModel gives only coded errors for byte-mutated SavedModels and frozen graphs', async () => {
    const sources = [
      readFileSync(fixture('tfserving/saved_model_half_plus_two_tf2_cpu/00000123/saved_model.pb')),
      readFileSync(fixture('tensorflow/lite_testdata/multi_add/multi_add.pb')),
    ];
    // Sanity: the unmutated bytes decode.
    decodeSavedModel(sources[0], 'tf2');
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 1 }),
        fc.array(fc.record({ at: fc.nat(), byte: fc.nat({ max: 255 }) }), { minLength: 1, maxLength: 8 }),
        async (which, edits) => {
          const bytes = Uint8Array.from(sources[which]);
          for (const e of edits) bytes[e.at % bytes.length] = e.byte;
          const path = join(tmp, which === 0 ? 'saved_model.pb' : 'frozen.pb');
          writeFileSync(path, bytes);
          try {
            (await loadModel(path)).dispose();
          } catch (err) {
            assert.ok(isCtrError(err), `uncoded error: ${(err as Error).stack}`);
          }
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });
});
