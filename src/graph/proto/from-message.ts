import protobuf from 'protobufjs';
import { BIGINT_FIELDS, READ_FIELDS } from './schema.ts';

/**
 * Turns a decoded protobufjs message into the plain shapes of types.ts, driven by the schema's reflection and
 * restricted to the fields schema.ts's READ_FIELDS lists (a message it does not list keeps all its fields):
 * repeated fields are always arrays ([] when empty), maps always plain objects, strings/numbers/bools always set
 * (proto3 default when absent), bytes set only when non-empty (as plain Uint8Array views of the file buffer),
 * sub-messages and oneof members only when present. int64 values become JS numbers, refused outside the
 * safe-integer range, except the tensor payload fields of BIGINT_FIELDS, which become bigint.
 * Throws RangeError on an unsafe int64; the caller wraps it into CTR_ERR_PROTO_DECODE.
 */

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const UNSIGNED = new Set(['uint64', 'fixed64']);

type LongLike = { low: number; high: number; unsigned?: boolean };

function longToBigInt(v: LongLike | number | string | bigint, unsigned: boolean): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' || typeof v === 'string') return BigInt(v);
  const raw = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return unsigned ? BigInt.asUintN(64, raw) : BigInt.asIntN(64, raw);
}

function longToNumber(v: LongLike | number | string | bigint, unsigned: boolean, where: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'object') {
    if (v.high === 0) return v.low >>> 0;
    if (v.high === -1 && !unsigned && v.low < 0) return v.low;
  }
  const b = longToBigInt(v, unsigned);
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`${where}: int64 value ${b} is outside the safe integer range`);
  }
  return Number(b);
}

function asUint8Array(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) {
    return Object.getPrototypeOf(v) === Uint8Array.prototype
      ? v
      : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  return Uint8Array.from(v as ArrayLike<number>);
}

function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  // Map keys come from the file: "__proto__" must become a data property, not a prototype change.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function convertValue(field: protobuf.Field, v: unknown): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return fromMessage(rt, v as Record<string, unknown>);
  if (LONG_TYPES.has(field.type)) {
    const unsigned = UNSIGNED.has(field.type);
    return BIGINT_FIELDS.has(field.fullName.replace(/^\./, ''))
      ? longToBigInt(v as LongLike, unsigned)
      : longToNumber(v as LongLike, unsigned, field.fullName);
  }
  if (field.type === 'bytes') return asUint8Array(v);
  return v;
}

const readFieldsCache = new WeakMap<protobuf.Type, readonly protobuf.Field[]>();

/** The fields of `type` that are read, in the .proto's order. */
function readFields(type: protobuf.Type): readonly protobuf.Field[] {
  let fields = readFieldsCache.get(type);
  if (!fields) {
    const names = READ_FIELDS.get(type.fullName);
    fields = names ? type.fieldsArray.filter((f) => names.includes(f.name)) : type.fieldsArray;
    readFieldsCache.set(type, fields);
  }
  return fields;
}

const SAVED_OBJECT_KINDS = new Set([
  'userObject',
  'asset',
  'function',
  'variable',
  'bareConcreteFunction',
  'constant',
  'resource',
]);

export function fromMessage(type: protobuf.Type, msg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of readFields(type)) {
    const name = field.name;
    const present = Object.prototype.hasOwnProperty.call(msg, name) && msg[name] != null;
    const v = msg[name];
    if (field instanceof protobuf.MapField) {
      const m: Record<string, unknown> = {};
      if (present) {
        for (const k of Object.keys(v as object)) setOwn(m, k, convertValue(field, (v as any)[k]));
      }
      out[name] = m;
    } else if (field.repeated) {
      const arr = present ? (v as unknown[]) : [];
      if (LONG_TYPES.has(field.type) || field.resolvedType || field.type === 'bytes') {
        out[name] = arr.map((x) => convertValue(field, x));
      } else {
        out[name] = Array.from(arr);
      }
    } else if (field.partOf || field.resolvedType instanceof protobuf.Type) {
      if (present) out[name] = convertValue(field, v);
    } else if (field.type === 'bytes') {
      if (present && (v as Uint8Array).length > 0) out[name] = asUint8Array(v);
    } else {
      out[name] = convertValue(field, v ?? field.typeDefault);
    }
  }
  if (type.fullName === '.tensorflow.SavedObject') {
    // The member of the `kind` oneof that is set; kinds ctr-serve does not tell apart are 'other'.
    const kind = type.oneofs.kind!.fieldsArray.find((f) => msg[f.name] != null)?.name;
    if (kind !== undefined) out.kind = SAVED_OBJECT_KINDS.has(kind) ? kind : 'other';
  }
  return out;
}
