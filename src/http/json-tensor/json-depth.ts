import { CtrError } from '../../errors/registry.ts';

/**
 * The documented nesting limit of request bodies (docs/errors.md, CTR_ERR_JSON_TOO_DEEP). A tensor of rank r
 * nests r lists inside an envelope of at most 3 levels (`{"instances": [{"x": ...}]}`); TensorFlow's own rank
 * limit is 254 (tensorflow/core/framework/tensor_shape.h, TensorShape::MaxDimensions), but no model served here
 * takes more than a handful, so 64 leaves room without letting a body grow any decoder's work.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Throws CTR_ERR_JSON_TOO_DEEP when `text` nests arrays/objects deeper than `maxDepth`, outside strings. One
 * loop over the characters with a counter (no recursion, no stack), run before JSON.parse so that no parser or
 * decoder ever walks a deeper value. Malformed JSON is left for JSON.parse to report.
 */
export function checkJsonDepth(text: string, maxDepth = MAX_JSON_DEPTH): void {
  // No body nests deeper than it has `[` and `{` (inside strings or not): counting them is a native scan, and
  // the usual body (a CTR request has six) needs no more than that.
  if (!moreThan(text, maxDepth)) return;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) {
        throw new CtrError(
          'CTR_ERR_JSON_TOO_DEEP',
          `the request body nests lists/objects deeper than ${maxDepth} levels (at character ${i})`,
        );
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
}

/** Whether `text` holds more than `limit` characters `[` and `{` together. */
function moreThan(text: string, limit: number): boolean {
  let n = 0;
  for (const opener of ['[', '{']) {
    for (let i = text.indexOf(opener); i !== -1; i = text.indexOf(opener, i + 1))
      if (++n > limit) return true;
  }
  return false;
}
