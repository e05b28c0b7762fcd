import * as tf from '@tensorflow/tfjs-core';
import { DataType } from '../proto/types.ts';
import {
  parseExamples,
  type DenseConfig,
  type FeatureType,
  type HostOut,
  type ListConfig,
  type ParseConfig,
  type Values,
} from './example-batch.ts';
import { stringTensor, type KernelContext, type OpKernel } from './kernel-context.ts';

/**
 * ParseExample and ParseExampleV2 (op definitions in tensorflow/core/ops/parsing_ops.cc, kernels in
 * tensorflow/core/kernels/example_parsing_ops.cc): the parser config comes from the node's attrs and key /
 * default inputs, the parsing from example-batch.ts. Outputs in the ops' order, each list flattened as GraphDef
 * edges number them: sparse_indices, sparse_values, sparse_shapes, dense_values (V2 adds ragged_values,
 * ragged_row_splits). int64 outputs are int32 tensors (tfjs's int64), string outputs raw bytes.
 * Config faults (TensorFlow's InvalidArgument at op construction) are CTR_ERR_INVALID_GRAPH.
 */

/** ParseExample: inputs serialized, names, sparse_keys × Nsparse, dense_keys × Ndense, dense_defaults × Ndense. */
export const parseExample: OpKernel = {
  op: 'ParseExample',
  run(ctx) {
    const ns = ctx.attrInt('Nsparse');
    const nd = ctx.attrInt('Ndense');
    const keys = (from: number, n: number) => Array.from({ length: n }, (_, i) => scalarKey(ctx, from + i));
    const config = {
      sparse: listConfigs(ctx, keys(2, ns), ctx.attrTypes('sparse_types')),
      dense: denseConfigs(ctx, keys(2 + ns, nd), 2 + ns + nd),
      ragged: [],
    };
    return run(ctx, config, false);
  },
};

/** ParseExampleV2: inputs serialized, names, sparse_keys, dense_keys, ragged_keys (1-D), dense_defaults. */
export const parseExampleV2: OpKernel = {
  op: 'ParseExampleV2',
  run(ctx) {
    const keys = (i: number) => ctx.stringInput(i).map((b) => Buffer.from(b).toString());
    const sparseKeys = keys(2);
    if (sparseKeys.length !== ctx.attrInt('num_sparse')) {
      throw ctx.invalidArgument(
        `has ${sparseKeys.length} sparse_keys but num_sparse ${ctx.attrInt('num_sparse')}`,
      );
    }
    const raggedTypes = ctx.attrTypes('ragged_value_types');
    const config = {
      sparse: listConfigs(ctx, sparseKeys, ctx.attrTypes('sparse_types')),
      dense: denseConfigs(ctx, keys(3), 5),
      ragged: listConfigs(ctx, keys(4), raggedTypes),
    };
    if (ctx.attrTypes('ragged_split_types').length !== raggedTypes.length) {
      throw ctx.invalidGraph('has as many ragged_split_types as ragged_value_types');
    }
    return run(ctx, config, true);
  },
};

function run(ctx: KernelContext, config: ParseConfig, v2: boolean): tf.Tensor[] {
  const input = ctx.input(0);
  const scalar = input.shape.length === 0;
  if (!scalar && input.shape.length !== 1) {
    throw ctx.invalidArgument(`Expected serialized to be a scalar or vector, got shape [${input.shape}]`);
  }
  if (scalar && !v2) throw ctx.invalidArgument('Expected serialized to be a vector, got a scalar');
  if (scalar && config.ragged.length > 0) {
    throw ctx.invalidArgument('ragged features of a scalar serialized input are not supported here');
  }
  const names = ctx.stringInput(1);
  const serialized = ctx.stringInput(0);
  if (names.length > 0 && names.length !== serialized.length) {
    throw ctx.invalidArgument(
      `Expected len(names) == len(serialized), got ${names.length} and ${serialized.length}`,
    );
  }
  const r = parseExamples(serialized, names, config);
  const denseTypes = config.dense.map((c) => c.type);
  const sparseTypes = config.sparse.map((c) => c.type);
  // A scalar input parses as a batch of one without the batch dim (ParseSingleExample's shapes).
  const unbatch = (o: HostOut): HostOut => (scalar ? { values: o.values, shape: o.shape.slice(1) } : o);
  const out: tf.Tensor[] = [
    ...r.sparse.map((s) => tensorOf('int64', scalar ? dropExampleColumn(s.indices) : s.indices)),
    ...r.sparse.map((s, i) => tensorOf(sparseTypes[i]!, s.values)),
    ...r.sparse.map((s) => tensorOf('int64', unbatch(s.shape))),
    ...r.dense.map((d, i) => tensorOf(denseTypes[i]!, unbatch(d))),
  ];
  if (v2) {
    out.push(...r.ragged.map((g, i) => tensorOf(config.ragged[i]!.type, g.values)));
    out.push(...r.ragged.map((g) => tensorOf('int64', g.splits)));
  }
  return out;
}

/** Sparse indices [n, 2] of a batch of one → [n, 1] (the example column dropped). */
function dropExampleColumn(o: HostOut): HostOut {
  const n = o.shape[0]!;
  const v = o.values as Int32Array;
  return { values: Int32Array.from({ length: n }, (_, i) => v[2 * i + 1]!), shape: [n, 1] };
}

function tensorOf(type: FeatureType, o: HostOut): tf.Tensor {
  if (type === 'string') return stringTensor(o.values as Uint8Array[], o.shape);
  return tf.tensor(
    o.values as Float32Array | Int32Array,
    [...o.shape],
    type === 'float' ? 'float32' : 'int32',
  );
}

function featureType(ctx: KernelContext, t: number | undefined, what: string): FeatureType {
  // int64 arrives lowered to int32 (topology-node.ts); ParseExample's types are {float, int64, string} only.
  if (t === DataType.DT_FLOAT) return 'float';
  if (t === DataType.DT_INT64 || t === DataType.DT_INT32) return 'int64';
  if (t === DataType.DT_STRING) return 'string';
  throw ctx.invalidGraph(`has ${what} of type ${t}, not float, int64 or string`);
}

function scalarKey(ctx: KernelContext, i: number): string {
  const v = ctx.stringInput(i);
  if (v.length !== 1) throw ctx.invalidArgument(`key input ${i} must be a scalar string`);
  return Buffer.from(v[0]!).toString();
}

function listConfigs(ctx: KernelContext, keys: readonly string[], types: readonly number[]): ListConfig[] {
  if (types.length !== keys.length)
    throw ctx.invalidGraph(`has ${keys.length} keys for ${types.length} types`);
  return keys.map((key, i) => ({ key, type: featureType(ctx, types[i], `feature ${key}`) }));
}

function denseConfigs(ctx: KernelContext, keys: readonly string[], firstDefault: number): DenseConfig[] {
  const types = ctx.attrTypes('Tdense');
  const shapes = ctx.attrShapes('dense_shapes');
  if (types.length !== keys.length || shapes.length !== keys.length) {
    throw ctx.invalidGraph(
      `has ${keys.length} dense_keys, ${types.length} Tdense, ${shapes.length} dense_shapes`,
    );
  }
  return keys.map((key, i) => {
    const type = featureType(ctx, types[i], `dense feature ${key}`);
    const shape = shapes[i];
    // example_parsing_ops: known rank and inner dims; a -1 first dim makes the feature variable-length.
    if (!shape || shape.slice(1).some((d) => d < 0)) {
      throw ctx.invalidArgument(`dense_shapes[${i}] has unknown rank or unknown inner dimensions`);
    }
    const defaultValue = defaultOf(ctx, firstDefault + i, type);
    const varlen = shape[0] === -1;
    const size = shape.reduce((a, b) => a * b, 1);
    if (defaultValue.length > 0 && (varlen ? defaultValue.length !== 1 : defaultValue.length !== size)) {
      throw ctx.invalidArgument(
        varlen
          ? `For a variable length feature (${key}), the default must be a scalar`
          : `dense_defaults[${i}] has ${defaultValue.length} values, dense_shapes[${i}] [${shape}] needs ${size}`,
      );
    }
    return { key, type, shape, defaultValue };
  });
}

function defaultOf(ctx: KernelContext, i: number, type: FeatureType): Values {
  if (type === 'string') return ctx.stringInput(i);
  const t = ctx.input(i);
  return type === 'float' ? Float32Array.from(t.dataSync()) : Int32Array.from(t.dataSync());
}
