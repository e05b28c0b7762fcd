import { CtrError } from '../../errors/registry.ts';
import type { GraphDef } from '../proto/types.ts';
import { TABLE_OPS, tableKey } from './init-tables.ts';
import { TABLE_ATTR, type LookupTable } from './lookup-table.ts';

const enc = new TextEncoder();

/**
 * How tables survive freezing: a table op (HashTableV2, ...) has no inputs and its handle reaches the lookups
 * through data edges, so freezing's prune keeps it and every Identity on the way, exactly as TensorFlow's
 * convert_variables_to_constants keeps table ops (they are not variables); only the initializers, reached by
 * control edges from the init op, are cut. The tables were filled at load (init-tables.ts); here each table op
 * of the frozen graph gets the id of its table (TABLE_ATTR), which its kernel (../op/table-kernels.ts) returns as
 * the handle. `ids` maps tableKey → resource id. A HashTable no initializer filled is CTR_ERR_TABLE_INIT (in
 * TensorFlow every lookup would fail with "Table not initialized").
 */
export function bindTables(
  g: GraphDef,
  tables: ReadonlyMap<string, LookupTable>,
  ids: ReadonlyMap<string, string>,
  source: string,
): GraphDef {
  if (!g.node.some((n) => TABLE_OPS.has(n.op))) return g;
  const node = g.node.map((n) => {
    if (!TABLE_OPS.has(n.op)) return n;
    const key = tableKey(n);
    const table = tables.get(key);
    const id = ids.get(key);
    if (!table || id === undefined) {
      throw new CtrError('CTR_ERR_TABLE_INIT', `${source}: table ${n.name} (${key}) was not created at load`);
    }
    if (!table.mutable && !table.initialized) {
      throw new CtrError(
        'CTR_ERR_TABLE_INIT',
        `${source}: table ${n.name} (${key}) is looked up but the SavedModel's init op never initializes it`,
      );
    }
    return { ...n, attr: { ...n.attr, [TABLE_ATTR]: { s: enc.encode(id) } } };
  });
  return { ...g, node };
}
