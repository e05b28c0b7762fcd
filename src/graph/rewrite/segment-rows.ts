import { DataType, type NodeDef } from '../proto/types.ts';
import { float32Const, int32Const } from './const-nodes.ts';
import { type GraphIndex, parseInput } from './graph-index.ts';

const INT = { type: DataType.DT_INT32 };
const FLOAT = { type: DataType.DT_FLOAT };

/**
 * Adds the nodes computing the row of every flattened id, [0]*L ++ [1]*L ++ … ++ [B-1]*L, for ids of shape
 * [B, L] known only at run time, and returns that int32 [B*L] tensor (one set of nodes per ids tensor).
 *
 * Built as Cast(ExpandDims(Range(0., B, 1.), 1) * ones[1, L]) because that is what runs fast on tfjs-wasm: its
 * Tile and int32 broadcasting kernels take a generic per-element path (about 15× slower here, measured at B=1024,
 * L=50), and its int32 FloorDiv divides in float32 and goes wrong past 2^24 ids. Row numbers below 2^24 are exact
 * in float32, far beyond any batch a 32-bit wasm heap can hold.
 */
export function segmentRows(
  g: GraphIndex,
  ids: string,
  length: number,
  cache: Map<string, string>,
  fed = false,
): string {
  const hit = cache.get(ids);
  if (hit) return hit;
  const scope = `${parseInput(ids).node}/segment_rows`;
  const fedRows = fed ? fedSegmentRows(g, ids, 1, scope) : undefined;
  if (fedRows) {
    cache.set(ids, fedRows);
    return fedRows;
  }
  const add = (suffix: string, op: string, input: string[], attr: NodeDef['attr']) =>
    g.add({ name: g.freshName(`${scope}/${suffix}`), op, input, attr });
  const int = (suffix: string, values: number[], shape: number[]) =>
    g.add(int32Const(g.freshName(`${scope}/${suffix}`), values, shape));
  const float = (suffix: string, values: number[], shape: number[]) =>
    g.add(float32Const(g.freshName(`${scope}/${suffix}`), Float32Array.from(values), shape));

  const shape = add('shape', 'Shape', [ids], { T: INT, out_type: INT });
  const dim = (i: number) =>
    add(
      `dim_${i}`,
      'StridedSlice',
      [shape, int(`begin_${i}`, [i], [1]), int(`end_${i}`, [i + 1], [1]), int(`strides_${i}`, [1], [1])],
      {
        T: INT,
        Index: INT,
        begin_mask: { i: 0 },
        end_mask: { i: 0 },
        ellipsis_mask: { i: 0 },
        new_axis_mask: { i: 0 },
        shrink_axis_mask: { i: 1 },
      },
    );
  const batch = add('batch', 'Cast', [dim(0)], { SrcT: INT, DstT: FLOAT, Truncate: { b: false } });
  const range = add('range', 'Range', [float('start', [0], []), batch, float('delta', [1], [])], {
    Tidx: FLOAT,
  });
  const column = add('column', 'ExpandDims', [range, int('axis', [1], [])], { T: FLOAT, Tdim: INT });
  const ones =
    length > 0
      ? float('ones', new Array<number>(length).fill(1), [1, length])
      : add(
          'ones',
          'Fill',
          [
            add('ones_shape', 'Pack', [int('one', [1], []), dim(1)], { T: INT, N: { i: 2 }, axis: { i: 0 } }),
            float('one_f', [1], []),
          ],
          {
            T: FLOAT,
            index_type: INT,
          },
        );
  const grid = add('grid', 'Mul', [column, ones], { T: FLOAT });
  const asInt = add('grid_int', 'Cast', [grid], { SrcT: FLOAT, DstT: INT, Truncate: { b: false } });
  const rows = add('rows', 'Reshape', [asInt, int('flat', [-1], [1])], { T: INT, Tshape: INT });
  cache.set(ids, rows);
  return rows;
}

/** Attrs marking a Placeholder whose value the loader computes from a fed ids tensor (fedSegmentRows). */
export const SEGMENT_ROWS_OF = '_ctr_segment_rows_of';
export const SEGMENT_ROWS_AXIS = '_ctr_segment_rows_axis';

/**
 * The row numbers as a Placeholder the loader feeds (tfjs/segment-feeds.ts), for ids that are themselves a
 * Placeholder: id i belongs to segment floor(i / prod(ids.shape[axis:])). Undefined for ids computed inside the
 * graph. Why: the in-graph form above costs eight small kernels per call (about 0.25 ms of 2.4 ms at batch 1024
 * on tfjs-wasm here, the graph executor's per-node overhead included); a host array cached per shape is one copy.
 */
export function fedSegmentRows(g: GraphIndex, ids: string, axis: number, scope: string): string | undefined {
  const ref = parseInput(ids);
  if (ref.index !== 0 || g.producer(ids)?.op !== 'Placeholder') return undefined;
  return g.add({
    name: g.freshName(`${scope}/fed`),
    op: 'Placeholder',
    input: [],
    attr: {
      dtype: INT,
      shape: { shape: { dim: [{ size: -1 }], unknownRank: false } },
      [SEGMENT_ROWS_OF]: { s: new TextEncoder().encode(ref.node) },
      [SEGMENT_ROWS_AXIS]: { i: axis },
    },
  });
}
