import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GraphBuilder } from '../../graph/builder/graph-builder.ts';
import { writeSavedModel } from '../../graph/bundle/write-saved-model.ts';
import { freezeGraph } from '../../graph/freeze/freeze-graph.ts';
import type { Checkpoint } from '../../graph/freeze/variables-to-constants.ts';
import { encodeGraphDef } from '../../graph/proto/encode.ts';
import { DataType, type GraphDef, type MetaGraphDef, type TensorInfo } from '../../graph/proto/types.ts';
import type { DecodedTensor } from '../../graph/tensor/tensor-values.ts';
import type { HostParams, ParamSpec } from '../model/params.ts';
import { type StudentConfig, studentForward, studentSpecs } from '../model/student.ts';
import { type TeacherConfig, teacherForward, teacherSpecs } from '../model/teacher.ts';
import { graphOps } from './graph-ops.ts';
import { addTf1Saver } from './tf1-saver.ts';
import { variableV2 } from '../../graph/builder/variable-ops.ts';

/**
 * Exports the trained models in TensorFlow's formats, with the CTR signature of docs/api.md (`history` int32
 * [?, L], `candidate` int32 [?] → `ctr`, `logit` float32 [?]):
 * - the teacher as a TF1-style SavedModel: VariableV2 nodes named by their checkpoint keys, a Saver
 *   (RestoreV2 → Assign), and the `variables/` tensor bundle;
 * - the student the way the seed had to: ONE training graph holds teacher and student together (shared inputs,
 *   both sets of variables), and the student is frozen out of it — variables to constants, cut at the student's
 *   output node names (`student/ctr`, `student/logit`), everything else (the whole teacher) pruned.
 * Files are written by the graph/ writers; each version directory is filled beside its final name and renamed.
 */
export type ExportInput = {
  readonly outDir: string;
  readonly version: number;
  readonly teacher: { readonly config: TeacherConfig; readonly params: HostParams };
  readonly student: { readonly config: StudentConfig; readonly params: HostParams };
  readonly oovId: number;
};

export type ExportResult = {
  readonly teacherDir: string;
  readonly studentDir: string;
  readonly studentNodes: number;
};

const SERVE_TAG = 'serve';

function inputs(b: GraphBuilder, L: number): { history: string; candidate: string } {
  return {
    history: b.placeholder('history', 'DT_INT32', [-1, L]),
    candidate: b.placeholder('candidate', 'DT_INT32', [-1]),
  };
}

function variables(b: GraphBuilder, specs: readonly ParamSpec[]): Record<string, string> {
  return Object.fromEntries(specs.map((s) => [s.name, variableV2(b, s.name, 'DT_FLOAT', s.shape)]));
}

/** The teacher's inference graph with variables; returns the graph and its output tensors. */
export function teacherGraph(c: TeacherConfig): {
  builder: GraphBuilder;
  outputs: { ctr: string; logit: string };
  variables: Record<string, string>;
} {
  const b = new GraphBuilder();
  const x = inputs(b, c.historyLength);
  const w = variables(b, teacherSpecs(c));
  const out = teacherForward(graphOps(b, 'teacher/'), w, c, x.history, x.candidate);
  return { builder: b, outputs: out, variables: w };
}

/** One graph with teacher and student side by side on the same inputs (the seed's training graph). */
export function combinedGraph(t: TeacherConfig, s: StudentConfig): GraphDef {
  const b = new GraphBuilder();
  const x = inputs(b, t.historyLength);
  teacherForward(graphOps(b, 'teacher/'), variables(b, teacherSpecs(t)), t, x.history, x.candidate);
  studentForward(graphOps(b, 'student/'), variables(b, studentSpecs(s)), s, x.history, x.candidate);
  return b.toGraphDef();
}

function tensorInfo(name: string, dtype: number, shape: number[]): TensorInfo {
  return { name, dtype, tensorShape: { dim: shape.map((size) => ({ size })), unknownRank: false } };
}

function checkpointOf(params: HostParams): Record<string, DecodedTensor> {
  return Object.fromEntries(
    Object.entries(params).map(([k, v]) => [
      k,
      { dtype: DataType.DT_FLOAT, shape: v.shape, values: v.values },
    ]),
  );
}

export async function exportModels(x: ExportInput): Promise<ExportResult> {
  const t = x.teacher.config;
  const teacherDir = join(x.outDir, 'ctr-teacher', String(x.version));
  const studentDir = join(x.outDir, 'ctr-student', String(x.version));

  const tg = teacherGraph(t);
  const saverDef = addTf1Saver(
    tg.builder,
    Object.entries(tg.variables).map(([name, read]) => ({ name, read })),
  );
  const signature = (out: { ctr: string; logit: string }) => ({
    inputs: {
      history: tensorInfo('history:0', DataType.DT_INT32, [-1, t.historyLength]),
      candidate: tensorInfo('candidate:0', DataType.DT_INT32, [-1]),
    },
    outputs: {
      ctr: tensorInfo(out.ctr, DataType.DT_FLOAT, [-1]),
      logit: tensorInfo(out.logit, DataType.DT_FLOAT, [-1]),
    },
    methodName: 'tensorflow/serving/predict',
  });
  const meta: MetaGraphDef = {
    metaInfoDef: { metaGraphVersion: '', tags: [SERVE_TAG], tensorflowVersion: '1.15.0' },
    graphDef: tg.builder.toGraphDef(),
    saverDef,
    signatureDef: { serving_default: signature(tg.outputs) },
    assetFileDef: [],
  };
  await replaceDir(teacherDir, (tmp) =>
    writeSavedModel(tmp, { metaGraphs: [meta], variables: checkpointOf(x.teacher.params) }),
  );

  const all = { ...checkpointOf(x.teacher.params), ...checkpointOf(x.student.params) };
  const checkpoint: Checkpoint = { has: (k) => k in all, read: (k) => all[k]! };
  const frozen = freezeGraph(combinedGraph(t, x.student.config), {
    outputs: ['student/ctr', 'student/logit'],
    checkpoint,
    source: 'teacher+student training graph',
    resolveOutputs: false,
  }).graph;
  const modelJson = {
    inputs: { history: 'history:0', candidate: 'candidate:0' },
    outputs: { ctr: 'student/ctr:0', logit: 'student/logit:0' },
    vocab_size: x.student.config.vocabSize,
    oov_id: x.oovId,
  };
  await replaceDir(studentDir, async (tmp) => {
    await writeFile(join(tmp, 'model.json'), `${JSON.stringify(modelJson, null, 2)}\n`);
    await writeFile(join(tmp, 'frozen_graph.pb'), encodeGraphDef(frozen));
  });
  return { teacherDir, studentDir, studentNodes: frozen.node.length };
}

/** Fills `<dir>.tmp` then swaps it in, so a serving watcher never sees a half-written version. */
async function replaceDir(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const { rm } = await import('node:fs/promises');
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await fill(tmp);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}
