import { CtrError } from '../errors/registry.ts';
import type { HostTensor, IndexRange, ModelInfo } from './model.ts';
import { elementPosition } from './element-position.ts';

/** model.json's out-of-vocabulary contract: ids ≥ vocabSize are read as oovId (docs/api.md). */
export type OovMapping = { readonly vocabSize: number; readonly oovId: number };

/** model.json's out-of-vocabulary mapping, when it declares both halves. */
export function oovOf(info: ModelInfo): OovMapping | undefined {
  return info.vocabSize !== undefined && info.oovId !== undefined
    ? { vocabSize: info.vocabSize, oovId: info.oovId }
    : undefined;
}

/**
 * Applies a signature's index guards (derive-index-ranges.ts) to host inputs before any tensor is made: with
 * `oov`, values ≥ vocabSize become oovId first; then every guarded value must lie in [0, limit). Returns the
 * inputs, with a fresh values array where a value was mapped (the caller's arrays are never written), or throws
 * CTR_ERR_INDEX_OUT_OF_RANGE naming the input, the element's position and the table.
 */
export function checkIndexRanges(
  ranges: Readonly<Record<string, IndexRange>> | undefined,
  inputs: Readonly<Record<string, HostTensor>>,
  oov?: OovMapping,
): Readonly<Record<string, HostTensor>> {
  if (!ranges) return inputs;
  let out: Record<string, HostTensor> | undefined;
  for (const [alias, range] of Object.entries(ranges)) {
    const t = inputs[alias];
    if (!t) continue;
    const mapped = checkTensor(alias, t, range, oov);
    if (mapped !== t) (out ??= { ...inputs })[alias] = mapped;
  }
  return out ?? inputs;
}

function checkTensor(alias: string, t: HostTensor, range: IndexRange, oov?: OovMapping): HostTensor {
  if (
    t.values instanceof Int32Array &&
    allBelow(t.values, Math.min(range.limit, oov?.vocabSize ?? Infinity))
  ) {
    return t;
  }
  const values = t.values as ArrayLike<number | bigint | boolean | string>;
  let copy: { [i: number]: number | bigint } | undefined;
  for (let i = 0; i < values.length; i++) {
    let v = Number(values[i]);
    if (v >= 0 && v < range.limit && (oov === undefined || v < oov.vocabSize)) continue;
    if (oov !== undefined && v >= oov.vocabSize && v >= 0) {
      v = oov.oovId;
      copy ??= ArrayBuffer.isView(t.values)
        ? t.values.slice()
        : Array.from(values as ArrayLike<number | bigint>);
      copy[i] = typeof copy[i] === 'bigint' ? BigInt(v) : v;
      if (v >= 0 && v < range.limit) continue;
    }
    throw new CtrError(
      'CTR_ERR_INDEX_OUT_OF_RANGE',
      `input "${alias}" element ${elementPosition(i, t.shape)} is ${String(values[i])}, not in [0, ${range.limit}): ` +
        `it indexes the ${range.limit} rows read by ${range.op} "${range.node}"`,
    );
  }
  return copy ? { ...t, values: copy as unknown as HostTensor['values'] } : t;
}

/** Whether every value is in [0, limit): the common case, in one tight loop over the ids (1000 rows × 50 here). */
function allBelow(values: Int32Array, limit: number): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < 0 || v >= limit) return false;
  }
  return true;
}
