import protobuf from 'protobufjs';

/**
 * The inverse of from-message.ts: a plain types.ts object → an object protobufjs's encoder accepts, following
 * the schema's reflection. Proto3 rules: scalars equal to their default, empty repeated fields and empty maps are
 * not written; sub-messages and oneof members are written whenever set (AttrValue{i: 0} keeps its `i`).
 * bigint becomes protobufjs's {low, high} long form; properties the schema does not know are ignored.
 */

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

const SAVED_OBJECT_KINDS: Record<string, string> = {
  userObject: 'userObject',
  asset: 'asset',
  bareConcreteFunction: 'bareConcreteFunction',
  constant: 'constant',
  resource: 'resource',
  other: 'capturedTensor',
};

function toLong(v: bigint | number): { low: number; high: number } | number {
  if (typeof v === 'number') return v;
  return { low: Number(BigInt.asIntN(32, v)), high: Number(BigInt.asIntN(32, v >> 32n)) };
}

function isDefault(field: protobuf.Field, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (field.type === 'bytes') return (v as Uint8Array).length === 0;
  if (typeof v === 'bigint') return v === 0n;
  return v === 0 || v === '' || v === false;
}

function convertValue(field: protobuf.Field, v: unknown): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return toMessage(rt, v as Record<string, unknown>);
  if (LONG_TYPES.has(field.type)) return toLong(v as bigint | number);
  return v;
}

export function toMessage(type: protobuf.Type, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined || v === null) continue;
    if (field instanceof protobuf.MapField) {
      const keys = Object.keys(v as object);
      if (keys.length === 0) continue;
      const m: Record<string, unknown> = {};
      for (const k of keys) {
        Object.defineProperty(m, k, {
          value: convertValue(field, (v as Record<string, unknown>)[k]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      out[field.name] = m;
    } else if (field.repeated) {
      const arr = v as unknown[];
      if (arr.length > 0) out[field.name] = arr.map((x) => convertValue(field, x));
    } else if (field.partOf || field.resolvedType instanceof protobuf.Type) {
      out[field.name] = convertValue(field, v);
    } else if (!isDefault(field, v)) {
      out[field.name] = convertValue(field, v);
    }
  }
  if (type.fullName === '.tensorflow.SavedObject' && typeof obj.kind === 'string') {
    const member = SAVED_OBJECT_KINDS[obj.kind];
    if (member !== undefined && out[member] === undefined) out[member] = {};
  }
  return out;
}
