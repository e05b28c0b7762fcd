/**
 * Typed, bounded decoding of JSON request bodies, shared by every JSON API (TF Serving's REST forms, the CTR
 * API, and any protocol that carries tensors as JSON lists): a nesting limit checked before parsing
 * (json-depth.ts), integer values checked against their dtype's range before they are stored (dtype-range.ts),
 * and nested lists → HostTensor without recursion (nested-tensor.ts).
 */
export { checkJsonDepth, MAX_JSON_DEPTH } from './json-depth.ts';
export { fitsIntegerDtype } from './dtype-range.ts';
export { base64Bytes, decodeNestedTensor, decodePackedTensor, isB64, typedValues } from './nested-tensor.ts';
export { parsePackedJson } from './packed-json.ts';
export { PackedNumbers, PackedRows } from './packed-numbers.ts';
