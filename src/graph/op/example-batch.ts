import { CtrError } from '../../errors/registry.ts';
import { decodeExample, type Feature } from '../example/example-codec.ts';

/**
 * TensorFlow's FastParseExample on host arrays (tensorflow/core/util/example_proto_fast_parsing.cc), the core of
 * the ParseExample / ParseExampleV2 kernels (parse-example.ts): a batch of serialized tf.Examples → dense,
 * sparse and ragged feature tensors as the parser config says. int64 values come back as int32 (tfjs computes
 * int64 in int32): one outside int32 is CTR_ERR_INT64_RANGE. Every fault TensorFlow reports as
 * INVALID_ARGUMENT (unparsable example, missing required feature, wrong type or size) is CTR_ERR_INVALID_EXAMPLE,
 * with TensorFlow's wording.
 */
export type FeatureType = 'float' | 'int64' | 'string';
export type Values = Float32Array | Int32Array | Uint8Array[];

export type DenseConfig = {
  readonly key: string;
  readonly type: FeatureType;
  /** The per-example shape; a variable-length feature's first dim is -1 (FixedLenSequenceFeature). */
  readonly shape: readonly number[];
  /** Empty: the feature is required. Fixed length: one full value; variable length: the padding scalar. */
  readonly defaultValue: Values;
};
export type ListConfig = { readonly key: string; readonly type: FeatureType };
export type ParseConfig = {
  readonly dense: readonly DenseConfig[];
  readonly sparse: readonly ListConfig[];
  readonly ragged: readonly ListConfig[];
};

export type HostOut = { readonly values: Values; readonly shape: readonly number[] };
export type ParseResult = {
  readonly sparse: { indices: HostOut; values: HostOut; shape: HostOut }[];
  readonly dense: HostOut[];
  readonly ragged: { values: HostOut; splits: HostOut }[];
};

const KIND: Record<FeatureType, Feature['kind']> = {
  float: 'float_list',
  int64: 'int64_list',
  string: 'bytes_list',
};
const TYPE_NAME: Record<Feature['kind'], string> = {
  float_list: 'float',
  int64_list: 'int64',
  bytes_list: 'string',
  none: 'invalid',
};
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** One feature's values over the batch: each example's values, concatenated, and where each example ends. */
class FeatureBuffer {
  readonly parts: (readonly unknown[] | ArrayLike<unknown>)[] = [];
  readonly ends: number[] = [];
  count = 0;
  add(values: ArrayLike<unknown>): void {
    this.parts.push(values);
    this.count += values.length;
    this.ends.push(this.count);
  }
}

export function parseExamples(
  serialized: readonly Uint8Array[],
  names: readonly Uint8Array[],
  config: ParseConfig,
): ParseResult {
  const nameOf = (i: number) => (names.length > 0 ? Buffer.from(names[i]!).toString() : '<unknown>');
  const dense = config.dense.map(() => new FeatureBuffer());
  const sparse = config.sparse.map(() => new FeatureBuffer());
  const ragged = config.ragged.map(() => new FeatureBuffer());
  for (let e = 0; e < serialized.length; e++) {
    const features = decodeExample(serialized[e]!, `example ${e}`);
    const fail = (key: string, why: string): never => {
      throw new CtrError('CTR_ERR_INVALID_EXAMPLE', `Name: ${nameOf(e)}, Key: ${key}, Index: ${e}.  ${why}`);
    };
    config.dense.forEach((c, d) => {
      const f = features.get(c.key);
      const present = f && f.kind !== 'none';
      if (present && f.kind !== KIND[c.type]) {
        fail(c.key, `Data types don't match. Data type: ${TYPE_NAME[f.kind]} but expected type: ${c.type}`);
      }
      const varlen = c.shape[0] === -1;
      const stride = strideOf(c);
      if (varlen) {
        const values = present ? valuesOf(f) : [];
        if (values.length % stride !== 0) {
          fail(
            c.key,
            `Number of ${c.type} values is not a multiple of stride length. Saw ${values.length} values but output shape is: [${c.shape}]`,
          );
        }
        dense[d]!.add(values);
      } else if (present) {
        const values = valuesOf(f);
        if (values.length !== stride) {
          fail(
            c.key,
            `Number of ${c.type} values != expected.  Values size: ${values.length} but output shape: [${c.shape}]`,
          );
        }
        dense[d]!.add(values);
      } else if (c.defaultValue.length === 0) {
        throw new CtrError(
          'CTR_ERR_INVALID_EXAMPLE',
          `Name: ${nameOf(e)}, Feature: ${c.key} (data type: ${c.type}) is required but could not be found.`,
        );
      } else {
        dense[d]!.add(c.defaultValue);
      }
    });
    const lists = (configs: readonly ListConfig[], buffers: FeatureBuffer[]) =>
      configs.forEach((c, d) => {
        const f = features.get(c.key);
        if (f && f.kind !== 'none' && f.kind !== KIND[c.type]) {
          fail(c.key, `Data types don't match. Expected type: ${c.type}, Actual type: ${TYPE_NAME[f.kind]}`);
        }
        buffers[d]!.add(f && f.kind !== 'none' ? valuesOf(f) : []);
      });
    lists(config.sparse, sparse);
    lists(config.ragged, ragged);
  }
  const batch = serialized.length;
  return {
    dense: config.dense.map((c, d) => denseOut(c, dense[d]!, batch)),
    sparse: config.sparse.map((c, d) => sparseOut(c, sparse[d]!, batch)),
    ragged: config.ragged.map((c, d) => ({
      values: { values: flat(c.type, ragged[d]!), shape: [ragged[d]!.count] },
      splits: { values: Int32Array.from([0, ...ragged[d]!.ends]), shape: [batch + 1] },
    })),
  };

  function valuesOf(f: Feature): ArrayLike<unknown> {
    return f.kind === 'none' ? [] : f.value;
  }
}

function strideOf(c: DenseConfig): number {
  return c.shape.slice(c.shape[0] === -1 ? 1 : 0).reduce((a, b) => a * b, 1);
}

function denseOut(c: DenseConfig, b: FeatureBuffer, batch: number): HostOut {
  if (c.shape[0] !== -1) return { values: flat(c.type, b), shape: [batch, ...c.shape] };
  // Variable length: [batch, max rows, ...inner], padded with the default scalar (FillAndCopyVarLen).
  const stride = strideOf(c);
  let maxRows = 0;
  let start = 0;
  for (const end of b.ends) {
    maxRows = Math.max(maxRows, (end - start) / Math.max(stride, 1));
    start = end;
  }
  const perExample = maxRows * stride;
  const padded = new FeatureBuffer();
  const pad = c.defaultValue.length > 0 ? c.defaultValue[0] : c.type === 'string' ? new Uint8Array(0) : 0;
  b.parts.forEach((part) => {
    const row = Array.from(part as ArrayLike<unknown>);
    while (row.length < perExample) row.push(pad);
    padded.add(row);
  });
  return { values: flat(c.type, padded), shape: [batch, maxRows, ...c.shape.slice(1)] };
}

function sparseOut(c: ListConfig, b: FeatureBuffer, batch: number): ParseResult['sparse'][number] {
  const indices = new Int32Array(b.count * 2);
  let maxCount = 0;
  let at = 0;
  b.parts.forEach((part, e) => {
    maxCount = Math.max(maxCount, part.length);
    for (let j = 0; j < part.length; j++, at++) {
      indices[2 * at] = e;
      indices[2 * at + 1] = j;
    }
  });
  return {
    indices: { values: indices, shape: [b.count, 2] },
    values: { values: flat(c.type, b), shape: [b.count] },
    shape: { values: Int32Array.of(batch, maxCount), shape: [2] },
  };
}

/** A feature's values over the batch in the typed array its tfjs dtype holds. */
function flat(type: FeatureType, b: FeatureBuffer): Values {
  if (type === 'string') return b.parts.flatMap((p) => Array.from(p as ArrayLike<Uint8Array>));
  const out = type === 'float' ? new Float32Array(b.count) : new Int32Array(b.count);
  let at = 0;
  for (const part of b.parts) {
    for (let j = 0; j < part.length; j++) {
      const v = (part as ArrayLike<number | bigint>)[j]!;
      if (type === 'int64') {
        const n = Number(v);
        if (n < INT32_MIN || n > INT32_MAX) {
          throw new CtrError(
            'CTR_ERR_INT64_RANGE',
            `an int64 feature value ${String(v)} does not fit the int32 tfjs computes with`,
          );
        }
        out[at++] = n;
      } else {
        out[at++] = Number(v);
      }
    }
  }
  return out;
}
