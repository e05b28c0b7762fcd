import { CtrError } from '../errors/registry.ts';
import { checkJsonDepth } from './json-tensor/index.ts';

/**
 * Request bodies are JSON whatever the Content-Type says (TF Serving ignores it; curl's default form type
 * included). TF Serving's parser (rapidjson with kParseNanAndInfFlag) also accepts the non-JSON tokens NaN,
 * Infinity and -Infinity for floats; JSON.parse does not, and no installed library does both, so a body that
 * fails JSON.parse and holds one of those tokens outside a string is rewritten token by token and parsed again.
 * Malformed bodies fail with CTR_ERR_BAD_REQUEST; bodies nested deeper than MAX_JSON_DEPTH with
 * CTR_ERR_JSON_TOO_DEEP, checked before any parsing.
 */
export const NAN_SENTINEL = '\u0000ctr-serve:NaN';

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '')
    throw new CtrError('CTR_ERR_BAD_REQUEST', 'the request body is empty; JSON expected');
  checkJsonDepth(text);
  try {
    return JSON.parse(text);
  } catch (err) {
    if (/NaN|Infinity/.test(text)) {
      const rewritten = rewriteNonFiniteTokens(text);
      if (rewritten !== text) {
        try {
          return JSON.parse(rewritten, (_key, value: unknown) => (value === NAN_SENTINEL ? NaN : value));
        } catch {
          // fall through to the original error, which points at the client's own text
        }
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

/** `Infinity` → `1e999` (JSON.parse reads it as Infinity), `NaN` → a sentinel string the reviver turns back. */
export function rewriteNonFiniteTokens(text: string): string {
  let out = '';
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < text.length && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c /* \ */ ? 2 : 1;
      i++;
    } else if (c === 0x4e /* N */ && text.startsWith('NaN', i)) {
      out += text.slice(start, i) + JSON.stringify(NAN_SENTINEL);
      i += 3;
      start = i;
    } else if (c === 0x49 /* I */ && text.startsWith('Infinity', i)) {
      out += text.slice(start, i) + '1e999';
      i += 8;
      start = i;
    } else {
      i++;
    }
  }
  return out + text.slice(start);
}
