import { isLosslessNumber, parse as parseLossless, type LosslessNumber } from 'lossless-json';
import { CtrError } from '../errors/registry.ts';
import { encodeExample, type ExampleFeatures, type Feature } from '../graph/tf-example.ts';
import { NAN_SENTINEL, rewriteNonFiniteTokens } from './json-body.ts';
import { base64Bytes, checkJsonDepth, isB64 } from './json-tensor/index.ts';

/**
 * TF Serving's `:classify` / `:regress` JSON (tensorflow_serving/util/json_tensor.cc,
 * FillClassifyRegressRequestFromJson): `{"signature_name"?, "context"?, "examples": [{feature: value|[values]}]}`
 * becomes one serialized tf.Example per entry, the serialized context prepended to each as TF Serving does
 * (servables/tensorflow/util.cc, InputToSerializedExampleTensor; the example's features win over the context's).
 *
 * A feature's kind comes from its JSON values as in json_tensor.cc's AddValueToFeature: a number written with a
 * fraction or exponent (`2.0`, `1e3`) is a float, one written as an integer (`2`) an int64, true/false int64 1/0,
 * a string or `{"b64": ...}` bytes. JSON.parse forgets how a number was written, so these bodies are parsed with
 * lossless-json, which keeps each number's text.
 */
export type ExamplesRequest = {
  readonly signatureName?: string;
  /** Serialized tf.Examples, context first. */
  readonly examples: Uint8Array[];
};

/** Whether the request URL is a `:classify` / `:regress` verb, whose body parseExamplesBody reads. */
export function takesExamples(url: string): boolean {
  return /:(classify|regress)(\?|$)/.test(url);
}

/** Parses a `:classify` / `:regress` body (nesting checked first, as for every body: json-body.ts). */
export function parseExamplesBody(text: string): unknown {
  if (text.trim() === '') bad('the request body is empty; JSON expected');
  checkJsonDepth(text);
  try {
    return parseLossless(text);
  } catch (err) {
    // NaN and ±Infinity, as TF Serving's parser takes them (json-body.ts): Infinity is rewritten as the float
    // lexeme 1e999, NaN as a sentinel string that featureOf reads as a float.
    if (/NaN|Infinity/.test(text)) {
      const rewritten = rewriteNonFiniteTokens(text);
      try {
        if (rewritten !== text) return parseLossless(rewritten);
      } catch {
        // the original error points at the client's own text
      }
    }
    throw new CtrError(
      'CTR_ERR_BAD_REQUEST',
      `the request body is not valid JSON: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

export function decodeExamplesRequest(body: unknown, method: 'classify' | 'regress'): ExamplesRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    bad('the request body must be a JSON object with "examples"');
  }
  const { signature_name: sig, context, examples } = body as Record<string, unknown>;
  if (sig !== undefined && typeof sig !== 'string') bad("'signature_name' key must be a string");
  if (examples === undefined) bad(`When method is ${method}, key 'examples' is expected and was not found`);
  if (!Array.isArray(examples)) bad("Expecting 'examples' value to be an list/array");
  if (examples.length === 0) bad("'examples' value is an empty array");
  const prefix = context === undefined ? undefined : encodeExample(featuresOf(context, 'context'));
  const serialized = examples.map((e, i) => {
    const bytes = encodeExample(featuresOf(e, `examples[${i}]`));
    if (!prefix) return bytes;
    const both = new Uint8Array(prefix.length + bytes.length);
    both.set(prefix);
    both.set(bytes, prefix.length);
    return both;
  });
  return { signatureName: sig || undefined, examples: serialized };
}

function featuresOf(value: unknown, where: string): ExampleFeatures {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isLosslessNumber(value)) {
    bad(`${where}: Example must be JSON object but got JSON ${jsonType(value)}`);
  }
  const out = new Map<string, Feature>();
  for (const [name, content] of Object.entries(value as Record<string, unknown>)) {
    const values = Array.isArray(content) ? content : [content];
    out.set(name, featureOf(values, name, where));
  }
  return out;
}

type Kind = Exclude<Feature['kind'], 'none'>;
const KIND_NAMES: Record<Kind, string> = { bytes_list: 'bytes', float_list: 'float', int64_list: 'int64' };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const utf8 = new TextEncoder();

function featureOf(values: readonly unknown[], name: string, where: string): Feature {
  let kind: Kind | undefined;
  const bytes: Uint8Array[] = [];
  const floats: number[] = [];
  const ints: bigint[] = [];
  const take = (k: Kind) => {
    if (kind !== undefined && kind !== k) {
      bad(`${where}: Unexpected element type in feature: ${name} expecting type: ${KIND_NAMES[kind]}`);
    }
    kind = k;
  };
  for (const v of values) {
    if (typeof v === 'boolean') {
      take('int64_list');
      ints.push(v ? 1n : 0n);
    } else if (v === NAN_SENTINEL) {
      take('float_list');
      floats.push(NaN);
    } else if (typeof v === 'string') {
      take('bytes_list');
      bytes.push(utf8.encode(v));
    } else if (isB64(v)) {
      take('bytes_list');
      bytes.push(base64Bytes(v.b64, `${where}: feature ${name}`));
    } else if (isLosslessNumber(v)) {
      const n = numberOf(v, name, where);
      take(typeof n === 'bigint' ? 'int64_list' : 'float_list');
      if (typeof n === 'bigint') ints.push(n);
      else floats.push(n);
    } else {
      bad(`${where}: Feature: ${name} has element with unexpected JSON type: ${jsonType(v)}`);
    }
  }
  if (kind === 'bytes_list') return { kind, value: bytes };
  if (kind === 'float_list') return { kind, value: Float32Array.from(floats) };
  if (kind === 'int64_list') return { kind, value: BigInt64Array.from(ints) };
  return { kind: 'none' };
}

/**
 * rapidjson's reading of a number (json_tensor.cc): written as an integer and within int64 → int64; within
 * uint64 only → refused; larger → a double; written with a fraction or exponent → a double. Doubles are stored
 * as float32 (FloatList).
 */
function numberOf(v: LosslessNumber, name: string, where: string): number | bigint {
  const text = v.value;
  if (/^-?\d+$/.test(text)) {
    const n = BigInt(text);
    if (n >= INT64_MIN && n <= INT64_MAX) return n;
    if (n > 0n && n <= UINT64_MAX) {
      bad(`${where}: Feature: ${name} has uint64_t element. Only int64_t is supported.`);
    }
  }
  return Math.fround(Number(text));
}

function jsonType(v: unknown): string {
  if (v === null) return 'Null';
  if (Array.isArray(v)) return 'Array';
  if (isLosslessNumber(v)) return 'Number';
  if (typeof v === 'object') return 'Object';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return typeof v === 'string' ? 'String' : String(typeof v);
}

function bad(message: string): never {
  throw new CtrError('CTR_ERR_BAD_REQUEST', message);
}
