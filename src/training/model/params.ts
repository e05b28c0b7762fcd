import * as tf from '@tensorflow/tfjs-core';
import type { Prng } from '../data/prng.ts';

/**
 * Named model parameters. A model declares ParamSpecs; `ParamStore` holds them as tf.Variables for training and
 * hands out host copies (`toHost`) for export. Names are the graph's variable names and checkpoint keys
 * ("teacher/layer_0/attention/query/kernel"), so the exported SavedModel and the trained model agree by name.
 *
 * Lifecycle: `createParams` allocates; the store owns its variables until `dispose()`. Initial values come from
 * the pipeline's seeded Prng, never from tf.random*, so a seed fixes the whole run.
 */
export type ParamSpec = {
  readonly name: string;
  readonly shape: readonly number[];
  /** normal: N(0, scale²); zeros/ones: constant. */
  readonly init: 'normal' | 'zeros' | 'ones';
  readonly scale?: number;
  /** Optimizer group: fine-tuning gives 'encoder' a learning rate ~100× below 'head'. */
  readonly group?: 'encoder' | 'head';
};

export type HostParams = Record<string, { shape: number[]; values: Float32Array }>;

export class ParamStore {
  readonly specs: readonly ParamSpec[];
  readonly variables: Record<string, tf.Variable>;

  constructor(specs: readonly ParamSpec[], values: HostParams) {
    this.specs = specs;
    this.variables = {};
    for (const s of specs) {
      const v = values[s.name]!;
      const init = tf.tensor(v.values, v.shape, 'float32');
      this.variables[s.name] = tf.variable(init, true, s.name);
      init.dispose();
    }
  }

  list(group?: 'encoder' | 'head'): tf.Variable[] {
    return this.specs.filter((s) => !group || s.group === group).map((s) => this.variables[s.name]!);
  }

  count(): number {
    return this.specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  }

  toHost(): HostParams {
    const out: HostParams = {};
    for (const s of this.specs) {
      out[s.name] = { shape: [...s.shape], values: this.variables[s.name]!.dataSync() as Float32Array };
    }
    return out;
  }

  dispose(): void {
    for (const v of Object.values(this.variables)) v.dispose();
  }
}

export function initHostParams(specs: readonly ParamSpec[], rng: Prng): HostParams {
  const out: HostParams = {};
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    if (s.init === 'ones') values.fill(1);
    else if (s.init === 'normal') for (let i = 0; i < n; i++) values[i] = (s.scale ?? 0.02) * rng.normal();
    out[s.name] = { shape: [...s.shape], values };
  }
  return out;
}

export function createParams(specs: readonly ParamSpec[], rng: Prng): ParamStore {
  return new ParamStore(specs, initHostParams(specs, rng));
}
