import { CtrError } from '../../errors/registry.ts';
import { DataType } from '../proto/types.ts';

/** The attr load writes on each table op: the id of its table in the version's ResourceScope (../op/resources.ts). */
export const TABLE_ATTR = '_ctr_serve_table';
/** ResourceScope kind of a LookupTable. */
export const TABLE_RESOURCE = 'lookup_table';

/** A table key or value as the host holds it: integers and floats as numbers, strings as raw bytes. */
export type TableScalar = number | Uint8Array;

const INT_TYPES = new Set<number>([
  DataType.DT_INT8,
  DataType.DT_INT16,
  DataType.DT_INT32,
  DataType.DT_INT64,
  DataType.DT_UINT8,
]);
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export type TableDtypeKind = 'string' | 'int' | 'float';

/** How a table dtype is held here; tfjs computes int64 in int32 and double in float32. */
export function dtypeKind(dtype: number): TableDtypeKind | undefined {
  if (dtype === DataType.DT_STRING) return 'string';
  if (INT_TYPES.has(dtype)) return 'int';
  if (dtype === DataType.DT_FLOAT || dtype === DataType.DT_DOUBLE) return 'float';
  return undefined;
}

/**
 * One lookup table of a loaded model version (TensorFlow's lookup::HashTable / MutableHashTableOfScalars,
 * tensorflow/core/kernels/lookup_table_op.h): scalar keys to scalar values, filled once at load by the
 * SavedModel's init op (init-tables.ts), read by LookupTableFindV2 / LookupTableSizeV2 kernels. String keys are
 * matched on their raw bytes. An initializable (Hash) table refuses a second value for a key, as TensorFlow's
 * DoInsert ("HashTable has different value for same key").
 */
export class LookupTable {
  readonly keyKind: TableDtypeKind;
  readonly valueKind: TableDtypeKind;
  /** Set once an initializer has run (TensorFlow's is_initialized()). */
  initialized = false;
  // Map keys: numbers as is; byte strings as latin1 text, a one-to-one image of the bytes used only as a map key
  // (never decoded back into data).
  readonly #entries = new Map<number | string, TableScalar>();

  constructor(
    readonly name: string,
    readonly keyDtype: number,
    readonly valueDtype: number,
    /** MutableHashTable: inserts overwrite; no initialisation needed. */
    readonly mutable: boolean,
  ) {
    const k = dtypeKind(keyDtype);
    const v = dtypeKind(valueDtype);
    if (!k || !v || k === 'float') {
      throw new CtrError(
        'CTR_ERR_UNSUPPORTED_DTYPE',
        `lookup table ${name}: key dtype ${keyDtype} → value dtype ${valueDtype} is not supported here`,
      );
    }
    this.keyKind = k;
    this.valueKind = v;
  }

  get size(): number {
    return this.#entries.size;
  }

  static mapKey(key: TableScalar): number | string {
    return typeof key === 'number'
      ? key
      : Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
  }

  insert(key: TableScalar, value: TableScalar): void {
    this.#check(key, this.keyKind, 'key');
    this.#check(value, this.valueKind, 'value');
    const k = LookupTable.mapKey(key);
    const old = this.#entries.get(k);
    if (old !== undefined && !this.mutable && !sameScalar(old, value)) {
      throw new CtrError(
        'CTR_ERR_TABLE_INIT',
        `lookup table ${this.name} has different values for the same key ${show(key)}: ${show(old)} and ${show(value)}`,
      );
    }
    this.#entries.set(k, value);
  }

  get(key: TableScalar): TableScalar | undefined {
    return this.#entries.get(LookupTable.mapKey(key));
  }

  #check(x: TableScalar, kind: TableDtypeKind, what: string): void {
    const ok =
      kind === 'string'
        ? x instanceof Uint8Array
        : typeof x === 'number' &&
          (kind === 'float' || (Number.isInteger(x) && x >= INT32_MIN && x <= INT32_MAX));
    if (!ok) {
      const code = kind === 'int' && typeof x === 'number' ? 'CTR_ERR_INT64_RANGE' : 'CTR_ERR_TABLE_INIT';
      throw new CtrError(
        code,
        `lookup table ${this.name}: ${what} ${show(x)} is not a valid ${kind} here (int64 is computed in int32)`,
      );
    }
  }
}

function sameScalar(a: TableScalar, b: TableScalar): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}

function show(x: TableScalar): string {
  return typeof x === 'number' ? String(x) : JSON.stringify(Buffer.from(x).toString('utf8'));
}
