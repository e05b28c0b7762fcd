import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { CtrError } from '../../errors/registry.ts';

/**
 * tf.Example ↔ bytes with TensorFlow's own example.proto / feature.proto (vendored in the repository's protos/, loaded by
 * protobufjs). Encoding is protobufjs's. Decoding walks the wire format with protobufjs's Reader instead of
 * `Example.decode`, because it must (a) bound the work before it allocates (EXAMPLE_LIMITS: a few bytes of
 * varints must not become millions of JS objects), (b) merge repeated `features` fields and keep the last of
 * duplicate keys as protobuf parsing and TensorFlow's fast parser do (tensorflow/core/util/
 * example_proto_fast_parsing.cc, which TF Serving relies on when it prepends a serialized context to each
 * example), and (c) return typed arrays (float32, int64 as BigInt64Array) rather than boxed Longs.
 * Field numbers are read from the loaded .proto reflection, not restated here.
 */
const PROTO_DIR = fileURLToPath(new URL('../../../protos/', import.meta.url));
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
root.loadSync('tensorflow/core/example/example.proto', { keepCase: true });
const ExampleType = root.lookupType('tensorflow.Example');

const field = (type: string, name: string): number => root.lookupType(type).fields[name]!.id;
const F = {
  exampleFeatures: field('tensorflow.Example', 'features'),
  featureMap: field('tensorflow.Features', 'feature'),
  bytesList: field('tensorflow.Feature', 'bytes_list'),
  floatList: field('tensorflow.Feature', 'float_list'),
  int64List: field('tensorflow.Feature', 'int64_list'),
  listValue: field('tensorflow.BytesList', 'value'),
} as const;
/** A map<string, V> entry is the message {key = 1; value = 2} (protobuf language guide, "Maps"). */
const MAP_KEY = 1;
const MAP_VALUE = 2;

export type Feature =
  | { readonly kind: 'bytes_list'; readonly value: readonly Uint8Array[] }
  | { readonly kind: 'float_list'; readonly value: Float32Array }
  | { readonly kind: 'int64_list'; readonly value: BigInt64Array }
  /** A Feature with no list set: TensorFlow's parser treats it as absent (DT_INVALID). */
  | { readonly kind: 'none' };

/** An Example's features by name. */
export type ExampleFeatures = ReadonlyMap<string, Feature>;

/**
 * Bounds of one decoded Example (docs/api.md, "tf.Example"): features, and values over all its features, with a
 * lower bound for bytes values (each becomes a JS object). Over them: CTR_ERR_INVALID_EXAMPLE.
 */
export const EXAMPLE_LIMITS = { maxFeatures: 10_000, maxValues: 1 << 20, maxBytesValues: 1 << 16 } as const;

export function encodeExample(features: ExampleFeatures): Uint8Array {
  const feature: Record<string, unknown> = {};
  for (const [name, f] of features) {
    if (f.kind === 'none') feature[name] = {};
    else if (f.kind === 'int64_list') feature[name] = { int64_list: { value: [...f.value].map(String) } };
    else feature[name] = { [f.kind]: { value: f.kind === 'float_list' ? [...f.value] : f.value } };
  }
  return ExampleType.encode(ExampleType.fromObject({ features: { feature } })).finish();
}

/**
 * The features of one serialized Example. Bytes values alias `bytes` (copy before mutating). Failures:
 * CTR_ERR_INVALID_EXAMPLE naming `where` ("example 3") for bytes that are not an Example or exceed EXAMPLE_LIMITS.
 */
export function decodeExample(bytes: Uint8Array, where = 'example'): ExampleFeatures {
  const out = new Map<string, Feature>();
  const budget: Budget = {
    values: EXAMPLE_LIMITS.maxValues,
    bytesValues: EXAMPLE_LIMITS.maxBytesValues,
    where,
  };
  try {
    const r = protobuf.Reader.create(bytes);
    while (r.pos < r.len) {
      const tag = r.tag();
      if (tag === ((F.exampleFeatures << 3) | 2)) within(r, () => readFeatures(r, out, budget));
      else r.skipType(tag & 7, 0, tag >>> 3);
    }
  } catch (err) {
    if (err instanceof CtrError) throw err;
    throw new CtrError(
      'CTR_ERR_INVALID_EXAMPLE',
      `Could not parse ${where} input: ${(err as Error)?.message ?? err} (${bytes.length} bytes)`,
      { cause: err },
    );
  }
  return out;
}

/** What one Example may still hold (EXAMPLE_LIMITS), and its name for messages. */
type Budget = { values: number; bytesValues: number; readonly where: string };

function readFeatures(r: protobuf.Reader, into: Map<string, Feature>, b: Budget): void {
  while (r.pos < r.len) {
    const tag = r.tag();
    if (tag !== ((F.featureMap << 3) | 2)) {
      r.skipType(tag & 7, 0, tag >>> 3);
      continue;
    }
    let name = '';
    let feature: Feature = { kind: 'none' };
    within(r, () => {
      while (r.pos < r.len) {
        const t = r.tag();
        if (t === ((MAP_KEY << 3) | 2)) name = r.string();
        else if (t === ((MAP_VALUE << 3) | 2)) feature = within(r, () => readFeature(r, b));
        else r.skipType(t & 7, 0, t >>> 3);
      }
    });
    into.delete(name); // the last entry of a key wins, in the key's last position
    into.set(name, feature);
    if (into.size > EXAMPLE_LIMITS.maxFeatures) {
      throw limit(b, `more than ${EXAMPLE_LIMITS.maxFeatures} features`);
    }
  }
}

function limit(b: Budget, what: string): CtrError {
  return new CtrError('CTR_ERR_INVALID_EXAMPLE', `${b.where} has ${what} (docs/api.md, "tf.Example")`);
}

function readFeature(r: protobuf.Reader, b: Budget): Feature {
  let feature: Feature = { kind: 'none' };
  while (r.pos < r.len) {
    const tag = r.tag();
    const id = tag >>> 3;
    if ((tag & 7) !== 2 || (id !== F.bytesList && id !== F.floatList && id !== F.int64List)) {
      r.skipType(tag & 7, 0, id);
      continue;
    }
    // oneof: the last list set wins.
    feature = within(r, () =>
      id === F.bytesList ? readBytes(r, b) : id === F.floatList ? readFloats(r, b) : readInt64s(r, b),
    );
  }
  return feature;
}

function spend(b: Budget, n: number, isBytes = false): void {
  b.values -= n;
  if (isBytes) b.bytesValues -= n;
  if (b.values < 0) throw limit(b, `more than ${EXAMPLE_LIMITS.maxValues} values`);
  if (b.bytesValues < 0) throw limit(b, `more than ${EXAMPLE_LIMITS.maxBytesValues} bytes values`);
}

function readBytes(r: protobuf.Reader, b: Budget): Feature {
  const value: Uint8Array[] = [];
  while (r.pos < r.len) {
    const tag = r.tag();
    if (tag !== ((F.listValue << 3) | 2)) {
      r.skipType(tag & 7, 0, tag >>> 3);
      continue;
    }
    spend(b, 1, true);
    value.push(r.bytes());
  }
  return { kind: 'bytes_list', value };
}

function readFloats(r: protobuf.Reader, b: Budget): Feature {
  const value: number[] = [];
  while (r.pos < r.len) {
    const tag = r.tag();
    if (tag === ((F.listValue << 3) | 2)) {
      // packed: the length is known before anything is read
      const n = r.size();
      if (n % 4 !== 0 || r.pos + n > r.len) throw new Error(`packed float list of ${n} bytes`);
      spend(b, n / 4);
      for (const end = r.pos + n; r.pos < end;) value.push(r.float());
    } else if (tag === ((F.listValue << 3) | 5)) {
      spend(b, 1);
      value.push(r.float());
    } else {
      r.skipType(tag & 7, 0, tag >>> 3);
    }
  }
  return { kind: 'float_list', value: Float32Array.from(value) };
}

function readInt64s(r: protobuf.Reader, b: Budget): Feature {
  const value: bigint[] = [];
  const read = () => {
    spend(b, 1);
    const bits = r.int64() as unknown as { low: number; high: number };
    value.push(BigInt.asIntN(64, (BigInt(bits.high >>> 0) << 32n) | BigInt(bits.low >>> 0)));
  };
  while (r.pos < r.len) {
    const tag = r.tag();
    if (tag === ((F.listValue << 3) | 2))
      within(r, () => {
        while (r.pos < r.len) read();
      });
    else if (tag === ((F.listValue << 3) | 0)) read();
    else r.skipType(tag & 7, 0, tag >>> 3);
  }
  return { kind: 'int64_list', value: BigInt64Array.from(value) };
}

/** Runs `fn` with the reader limited to the length-delimited field that starts at r.pos, then restores it. */
function within<T>(r: protobuf.Reader, fn: () => T): T {
  const n = r.size();
  const end = r.pos + n;
  if (end > r.len) throw new Error(`a field of ${n} bytes runs past its message`);
  const len = r.len;
  r.len = end;
  const out = fn();
  if (r.pos !== end) throw new Error('a field ends inside a value');
  r.len = len;
  return out;
}
