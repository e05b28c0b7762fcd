import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CtrError } from '../../errors/registry.ts';
import { inlineFunctions } from '../freeze/inline-functions.ts';
import { parseRef } from '../freeze/tensor-ref.ts';
import type { GraphDef, NodeDef } from '../proto/types.ts';
import { tensorProtoToValues } from '../tensor/tensor-values.ts';
import { LookupTable, type TableScalar } from './lookup-table.ts';
import { initFromTextFile } from './text-file-init.ts';

/** Ops that create a lookup table (their output is the table handle). */
export const TABLE_OPS: ReadonlySet<string> = new Set([
  'HashTableV2',
  'HashTable',
  'MutableHashTableV2',
  'MutableHashTable',
]);
const MUTABLE = new Set(['MutableHashTableV2', 'MutableHashTable']);
const FROM_TEXT = new Set(['InitializeTableFromTextFileV2', 'InitializeTableFromTextFile']);
const FROM_TENSORS = new Set([
  'InitializeTableV2',
  'InitializeTable',
  'LookupTableImportV2',
  'LookupTableImport',
  'LookupTableInsertV2',
  'LookupTableInsert',
]);
const PASS_THROUGH = new Set(['Identity', 'IdentityN']);

export type TableInitSource = {
  readonly graph: GraphDef;
  readonly source: string;
  /** The init op TensorFlow's loader runs (main_op, legacy_init_op, __saved_model_init_op's outputs). */
  readonly initOps?: readonly string[];
  /** The TF1 "table_initializer" collection. */
  readonly tableInitializers?: readonly string[];
  /** The SavedModel's assets/ directory. */
  readonly assetsDir?: string;
  /** Asset tensors (node names) → file name in assets/ (MetaGraphDef.asset_file_def). */
  readonly assetFiles?: ReadonlyMap<string, string>;
};

/**
 * The key TensorFlow's ResourceMgr finds a table by: container and shared_name, or the node's own name when
 * shared_name is empty (HashTableV2's use_node_name_sharing). Two nodes with one key are one table.
 */
export function tableKey(n: NodeDef): string {
  const dec = (v?: Uint8Array) => (v ? Buffer.from(v).toString('utf8') : '');
  return `${dec(n.attr.container?.s)}/${dec(n.attr.shared_name?.s) || n.name}`;
}

/**
 * Every lookup table of the graph (by tableKey), filled as TensorFlow's loader does by running the SavedModel's
 * init op once: the graph is inlined (TF2 creators and initializers are library functions), the init op's inputs
 * (data and control) are walked to its table initializers, and each runs here with its inputs read as constants:
 * Const nodes, or asset tensors read from assets/ (only files inside assets/ are read). With no init op named
 * (a frozen graph), every initializer in the graph runs. Tables no initializer fills stay uninitialized (a
 * HashTable lookup then fails at load: bind-tables.ts). Failures: CTR_ERR_TABLE_INIT, CTR_ERR_INT64_RANGE,
 * CTR_ERR_UNSUPPORTED_DTYPE.
 */
export async function initTables(src: TableInitSource): Promise<Map<string, LookupTable>> {
  const tables = new Map<string, LookupTable>();
  const hasTables =
    src.graph.node.some((n) => TABLE_OPS.has(n.op)) ||
    (src.graph.library?.function ?? []).some((f) => f.nodeDef.some((n) => TABLE_OPS.has(n.op)));
  if (!hasTables) return tables;
  const nodes = inlineFunctions(src.graph, src.source).graph.node;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  for (const n of nodes) {
    if (!TABLE_OPS.has(n.op) || tables.has(tableKey(n))) continue;
    const key = n.attr.key_dtype?.type ?? 0;
    const value = n.attr.value_dtype?.type ?? 0;
    tables.set(tableKey(n), new LookupTable(tableKey(n), key, value, MUTABLE.has(n.op)));
  }
  const ctx = new InitContext(src, byName);
  for (const init of initializers(nodes, byName, [
    ...(src.initOps ?? []),
    ...(src.tableInitializers ?? []),
  ])) {
    const handle = ctx.follow(init.input[0] ?? '');
    const table = handle && TABLE_OPS.has(handle.op) ? tables.get(tableKey(handle)) : undefined;
    if (!table) throw ctx.fail(init, 'its table handle does not come from a HashTable op');
    if (FROM_TEXT.has(init.op)) {
      const file = await ctx.assetFile(init, init.input[1] ?? '');
      initFromTextFile(
        table,
        await readFile(file),
        {
          keyIndex: init.attr.key_index?.i ?? -2,
          valueIndex: init.attr.value_index?.i ?? -1,
          vocabSize: init.attr.vocab_size?.i ?? -1,
          delimiter: init.attr.delimiter?.s?.[0] ?? 0x09,
          offset: init.attr.offset?.i ?? 0,
        },
        `${basename(file)} (${init.name})`,
      );
      continue;
    }
    const keys = ctx.constant(init, init.input[1] ?? '');
    const values = ctx.constant(init, init.input[2] ?? '');
    if (keys.length !== values.length) {
      throw ctx.fail(init, `has ${keys.length} keys and ${values.length} values`);
    }
    keys.forEach((k, i) => table.insert(k, values[i]!));
    table.initialized = true;
  }
  return tables;
}

/** Table initializers the roots reach (inputs, control inputs), in graph order; all of them when no root. */
function initializers(
  nodes: readonly NodeDef[],
  byName: ReadonlyMap<string, NodeDef>,
  roots: readonly string[],
) {
  const isInit = (n: NodeDef) => FROM_TEXT.has(n.op) || FROM_TENSORS.has(n.op);
  if (roots.length === 0) return nodes.filter(isInit);
  const seen = new Set<string>();
  const stack = roots.map((r) => parseRef(r).node);
  while (stack.length) {
    const n = byName.get(stack.pop()!);
    if (!n || seen.has(n.name)) continue;
    seen.add(n.name);
    for (const i of n.input) stack.push(parseRef(i).node);
  }
  return nodes.filter((n) => seen.has(n.name) && isInit(n));
}

class InitContext {
  constructor(
    readonly src: TableInitSource,
    readonly byName: ReadonlyMap<string, NodeDef>,
  ) {}

  fail(init: NodeDef, why: string): CtrError {
    return new CtrError(
      'CTR_ERR_TABLE_INIT',
      `${this.src.source}: table initializer ${init.name} (${init.op}) ${why}`,
    );
  }

  /** The node making `ref`, through Identity/IdentityN (inlined call results). */
  follow(ref: string): NodeDef | undefined {
    let r = parseRef(ref);
    for (let hops = 0; hops < 64; hops++) {
      const n = this.byName.get(r.node);
      if (!n || !PASS_THROUGH.has(n.op)) return n;
      const next = n.op === 'IdentityN' ? n.input[r.index] : n.input[0];
      if (next === undefined) return undefined;
      r = parseRef(next);
    }
    return undefined;
  }

  /** A Const input's elements, strings as bytes and integers as numbers. */
  constant(init: NodeDef, ref: string): TableScalar[] {
    const c = this.follow(ref);
    const t = c?.op === 'Const' ? c.attr.value?.tensor : undefined;
    if (!t) throw this.fail(init, `reads ${ref}, which is not a constant`);
    const v = tensorProtoToValues(t, `${this.src.source}: Const ${c!.name}`).values;
    if (Array.isArray(v)) return v;
    return Array.from(v as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : x));
  }

  /** The file an asset input names, inside assets/: by asset_file_def, else by the Const path's file name. */
  async assetFile(init: NodeDef, ref: string): Promise<string> {
    const dir = this.src.assetsDir;
    const node = this.follow(ref);
    const named =
      this.src.assetFiles?.get(parseRef(ref).node) ??
      (node ? this.src.assetFiles?.get(node.name) : undefined);
    let name = named;
    if (name === undefined && node?.op === 'Const') {
      const [path] = this.constant(init, ref);
      if (path instanceof Uint8Array) name = basename(Buffer.from(path).toString('utf8'));
    }
    if (name === undefined) throw this.fail(init, `reads its file name from ${ref}, which is not an asset`);
    const file = dir ? join(dir, basename(name)) : undefined;
    if (!file || !existsSync(file)) {
      throw this.fail(
        init,
        `needs the asset file ${name}, which is not in ${dir ?? 'the model (no assets/)'}`,
      );
    }
    return file;
  }
}
