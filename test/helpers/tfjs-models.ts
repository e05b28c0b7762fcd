import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CtrError } from '../../src/errors/registry.ts';
import type { HostTensor, LoadedModel, ModelInfo, SignatureSpec } from '../../src/graph/model.ts';

/**
 * Real tfjs models for serving tests while they do not need TensorFlow files: a version directory holds
 * `test-model.json` naming the model and its weights, and the model computes with tfjs ops (weights are tensors,
 * disposed by dispose()). `calls` and `batchRows` count model calls so tests can see that merging happened;
 * `gate` holds predictions until the test opens it (to keep requests in flight without timing).
 */
export type TestModelSpec =
  | { kind: 'affine'; a: number; b: number; failOnNegative?: boolean }
  | { kind: 'ctr'; historyLength: number; vocabSize?: number; oovId?: number }
  | { kind: 'scalar'; factor: number }
  /** y = log(x − c), declared f32[?,1]: NaN on zeros when c > 0. */
  | { kind: 'log'; c: number }
  /** y = x flattened to [?] while the signature declares [?,1]. */
  | { kind: 'flatten' };

export class TfjsTestModel implements LoadedModel {
  readonly info: ModelInfo;
  calls = 0;
  readonly batchRows: number[] = [];
  disposed = false;
  gate: Promise<void> | undefined;
  readonly #weights: tf.Tensor[];
  readonly #fn: (inputs: Record<string, tf.Tensor>) => Record<string, tf.Tensor>;
  readonly #spec: TestModelSpec;

  constructor(spec: TestModelSpec) {
    this.#spec = spec;
    if (spec.kind === 'affine') {
      const a = tf.scalar(spec.a);
      const b = tf.scalar(spec.b);
      this.#weights = [a, b];
      this.info = info(sig('serving_default', { x: ['DT_FLOAT', [-1, 1]] }, { y: ['DT_FLOAT', [-1, 1]] }));
      this.#fn = ({ x }) => ({ y: tf.add(tf.mul(x!, a), b) });
    } else if (spec.kind === 'log' || spec.kind === 'flatten') {
      const c = tf.scalar(spec.kind === 'log' ? spec.c : 0);
      this.#weights = [c];
      this.info = info(sig('serving_default', { x: ['DT_FLOAT', [-1, 1]] }, { y: ['DT_FLOAT', [-1, 1]] }));
      this.#fn =
        spec.kind === 'log'
          ? ({ x }) => ({ y: tf.log(tf.sub(x!, c)) })
          : ({ x }) => ({ y: tf.reshape(x!, [-1]) });
    } else if (spec.kind === 'scalar') {
      const f = tf.scalar(spec.factor);
      this.#weights = [f];
      this.info = info(sig('serving_default', { x: ['DT_FLOAT', []] }, { y: ['DT_FLOAT', []] }));
      this.#fn = ({ x }) => ({ y: tf.mul(x!, f) });
    } else {
      // logit = 0.01·candidate + 0.001·Σ history − 1; ctr = sigmoid(logit)
      const wc = tf.scalar(0.01);
      const wh = tf.scalar(0.001);
      const bias = tf.scalar(-1);
      this.#weights = [wc, wh, bias];
      const L = spec.historyLength;
      this.info = {
        ...info(
          sig(
            'serving_default',
            { history: ['DT_INT32', [-1, L]], candidate: ['DT_INT32', [-1]] },
            { ctr: ['DT_FLOAT', [-1]], logit: ['DT_FLOAT', [-1]] },
          ),
        ),
        ...(spec.vocabSize === undefined ? {} : { vocabSize: spec.vocabSize }),
        ...(spec.oovId === undefined ? {} : { oovId: spec.oovId }),
      };
      this.#fn = ({ history, candidate }) => {
        const h = tf.sum(tf.cast(history!, 'float32'), 1);
        const logit = tf.add(tf.add(tf.mul(tf.cast(candidate!, 'float32'), wc), tf.mul(h, wh)), bias);
        return { logit, ctr: tf.sigmoid(logit) };
      };
    }
  }

  async predict(inputs: Readonly<Record<string, tf.Tensor>>): Promise<Record<string, tf.Tensor>> {
    return tf.tidy(() => this.#fn({ ...inputs }));
  }

  async predictHost(inputs: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    if (this.disposed) throw new Error('predict on a disposed model');
    this.calls++;
    this.batchRows.push(Object.values(inputs)[0]?.shape[0] ?? 1);
    if (this.gate) await this.gate;
    if (this.#spec.kind === 'affine' && this.#spec.failOnNegative) {
      if (Array.from(inputs.x!.values as Float32Array).some((v) => v < 0)) {
        throw new CtrError('CTR_ERR_EXECUTION', 'negative input');
      }
    }
    const tensors: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(inputs)) {
      tensors[name] = tf.tensor(
        t.values as Float32Array | Int32Array,
        [...t.shape],
        t.dtype === 'DT_FLOAT' ? 'float32' : 'int32',
      );
    }
    try {
      const outputs = tf.tidy(() => this.#fn(tensors));
      const host: Record<string, HostTensor> = {};
      for (const [name, t] of Object.entries(outputs)) {
        host[name] = { dtype: 'DT_FLOAT', shape: t.shape, values: (await t.data()) as Float32Array };
        t.dispose();
      }
      return host;
    } finally {
      tf.dispose(Object.values(tensors));
    }
  }

  dispose(): void {
    if (this.disposed) throw new Error('disposed twice');
    this.disposed = true;
    tf.dispose(this.#weights);
  }
}

function sig(
  name: string,
  inputs: Record<string, [SignatureSpec['inputs'][string]['dtype'], number[]]>,
  outputs: Record<string, [SignatureSpec['inputs'][string]['dtype'], number[]]>,
): SignatureSpec {
  const specs = (m: typeof inputs) =>
    Object.fromEntries(
      Object.entries(m).map(([k, [dtype, shape]]) => [k, { tensorName: `${k}:0`, dtype, shape }]),
    );
  return { name, methodName: 'tensorflow/serving/predict', inputs: specs(inputs), outputs: specs(outputs) };
}

function info(signature: SignatureSpec): ModelInfo {
  return {
    format: 'frozen_graph',
    tags: [],
    signatures: { [signature.name]: signature },
    defaultSignature: signature.name,
    backend: tf.getBackend(),
  };
}

/** A loadModel for the manager: reads `<dir>/test-model.json` (a corrupt file fails like a corrupt .pb). */
export function testModelLoader(): {
  loadModel: (path: string) => Promise<TfjsTestModel>;
  loaded: TfjsTestModel[];
  attempts: string[];
} {
  const loaded: TfjsTestModel[] = [];
  const attempts: string[] = [];
  return {
    loaded,
    attempts,
    async loadModel(path: string) {
      attempts.push(path);
      const text = await readFile(join(path, 'test-model.json'), 'utf8').catch((cause) => {
        throw new CtrError('CTR_ERR_NOT_A_MODEL', `no test-model.json in ${path}`, { cause });
      });
      let spec: TestModelSpec;
      try {
        spec = JSON.parse(text) as TestModelSpec;
      } catch (cause) {
        throw new CtrError('CTR_ERR_PROTO_DECODE', `${path}/test-model.json is corrupt`, { cause });
      }
      const model = new TfjsTestModel(spec);
      loaded.push(model);
      return model;
    },
  };
}

export function writeVersion(base: string, version: string | number, spec: TestModelSpec | string): string {
  const dir = join(base, String(version));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'test-model.json'), typeof spec === 'string' ? spec : JSON.stringify(spec));
  return dir;
}

export function floats(...values: number[]): HostTensor {
  return { dtype: 'DT_FLOAT', shape: [values.length, 1], values: Float32Array.from(values) };
}
