import * as tf from '@tensorflow/tfjs-core';
import { TABLE_ATTR, TABLE_RESOURCE, type LookupTable, type TableScalar } from '../table/lookup-table.ts';
import { stringBytes, stringTensor, type KernelContext, type OpKernel } from './kernel-context.ts';
import { resourceOf } from './resources.ts';

const dec = new TextDecoder();
const enc = new TextEncoder();

/**
 * HashTableV2 and friends: the handle of the table load bound to this node (bind-tables.ts), as a string scalar
 * holding the table's resource id. The table itself lives in the version's ResourceScope.
 */
const handleKernel = (op: string): OpKernel => ({
  op,
  run(ctx) {
    ctx.resource<LookupTable>(TABLE_ATTR, TABLE_RESOURCE);
    return stringTensor([enc.encode(ctx.attrString(TABLE_ATTR))], []);
  },
});

function tableOf(ctx: KernelContext): LookupTable {
  const handle = ctx.input(0);
  const bytes = handle.dtype === 'string' ? stringBytes(handle) : [];
  if (bytes.length !== 1) throw ctx.invalidGraph('input 0 is not a table handle');
  return resourceOf<LookupTable>(dec.decode(bytes[0]), TABLE_RESOURCE, `${ctx.op} node ${ctx.name}`);
}

function keysOf(ctx: KernelContext, table: LookupTable): ArrayLike<TableScalar> {
  const t = ctx.input(1);
  if (table.keyKind === 'string') {
    if (t.dtype !== 'string') throw ctx.invalidArgument(`keys are ${t.dtype}, the table's keys are strings`);
    return stringBytes(t);
  }
  if (t.dtype !== 'int32') throw ctx.invalidArgument(`keys are ${t.dtype}, the table's keys are integers`);
  return t.dataSync() as Int32Array;
}

/**
 * LookupTableFindV2 (tensorflow/core/kernels/lookup_table_op.cc, HashTable::Find): each key's value, or
 * default_value (a scalar) where the key is absent; the output has the keys' shape and the table's value dtype.
 */
const find = (op: string): OpKernel => ({
  op,
  run(ctx) {
    const table = tableOf(ctx);
    const keys = keysOf(ctx, table);
    const dflt = ctx.input(2);
    if (dflt.size !== 1)
      throw ctx.invalidArgument(`default_value must be a scalar, has shape [${dflt.shape}]`);
    const shape = ctx.input(1).shape;
    if (table.valueKind === 'string') {
      if (dflt.dtype !== 'string') throw ctx.invalidArgument('default_value must be a string');
      const d = stringBytes(dflt)[0]!;
      const out = Array.from(keys, (k) => (table.get(k) as Uint8Array | undefined) ?? d);
      return stringTensor(out, shape);
    }
    const d = dflt.dataSync()[0] as number;
    const out = table.valueKind === 'int' ? new Int32Array(keys.length) : new Float32Array(keys.length);
    for (let i = 0; i < keys.length; i++) out[i] = (table.get(keys[i]!) as number | undefined) ?? d;
    return tf.tensor(out, shape, table.valueKind === 'int' ? 'int32' : 'float32');
  },
});

/** LookupTableSizeV2: the number of entries, int64 (int32 here). */
const size = (op: string): OpKernel => ({
  op,
  run: (ctx) => tf.scalar(tableOf(ctx).size, 'int32'),
});

export const TABLE_KERNELS: readonly OpKernel[] = [
  ...['HashTableV2', 'HashTable', 'MutableHashTableV2', 'MutableHashTable'].map(handleKernel),
  find('LookupTableFindV2'),
  find('LookupTableFind'),
  size('LookupTableSizeV2'),
  size('LookupTableSize'),
];
