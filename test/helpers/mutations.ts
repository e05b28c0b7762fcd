import fc from 'fast-check';

/**
 * Mutations of generated bodies: on the value (a node's type, an integer's range, a list's size, a key dropped or
 * added), on nesting depth (a node replaced by lists 65 to 100,000 deep, spliced into the text so that the test
 * itself never recurses), and on the bytes and encoding of the text (truncated, a BOM, invalid UTF-8, UTF-16,
 * NaN/Infinity tokens, a duplicate key, trailing garbage, another content type).
 */
export type ValueMutation =
  | { kind: 'type'; at: number; to: number }
  | { kind: 'range'; at: number; to: number }
  | { kind: 'size'; at: number; to: number }
  | { kind: 'depth'; at: number; to: number }
  | { kind: 'dropKey'; at: number }
  | { kind: 'addKey'; at: number };

export type TextMutation = { kind: 'text'; variant: number; at: number } | { kind: 'none' };

const TYPES: unknown[] = [null, '1', true, {}, [], { b64: '!!' }, { b64: 'AAAA' }, [[]], [null]];
const RANGES = [2 ** 31, -(2 ** 31) - 1, 1e20, -1, 1.5, 2 ** 53 + 1, -0, 1e308, 2 ** 63, 4294967299];
const DEPTHS = [65, 300, 100_000];
export const CONTENT_TYPES = [
  'application/json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'application/json; charset=utf-16',
  'multipart/form-data; boundary=x',
];

export const valueMutationArb: fc.Arbitrary<ValueMutation> = fc.oneof(
  fc.record({ kind: fc.constant('type' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('range' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('size' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('depth' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('dropKey' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('addKey' as const), at: fc.nat() }),
);

export const textMutationArb: fc.Arbitrary<TextMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('text' as const), variant: fc.nat(), at: fc.nat() }),
  },
);

type Slot = { parent: Record<string | number, unknown> | unknown[]; key: string | number };

/** Every node of `root` but the root, parent before child, walked with an explicit stack. */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const node = todo.pop();
    if (typeof node !== 'object' || node === null) continue;
    for (const key of Object.keys(node)) {
      const k = Array.isArray(node) ? Number(key) : key;
      out.push({ parent: node as Slot['parent'], key: k });
      todo.push((node as Record<string, unknown>)[key]);
    }
  }
  return out;
}

/** JSON text of `value` after the mutations; deep nests are spliced in as text. */
export function mutatedText(value: unknown, mutations: readonly ValueMutation[]): string {
  const root = { body: structuredClone(value) } as Record<string, unknown>;
  const deep: number[] = [];
  for (const m of mutations) {
    const all = slots(root);
    if (all.length === 0) break;
    const slot = all[m.at % all.length]!;
    const parent = slot.parent as Record<string | number, unknown>;
    switch (m.kind) {
      case 'type':
        parent[slot.key] = structuredClone(TYPES[m.to % TYPES.length]);
        break;
      case 'range':
        parent[slot.key] = RANGES[m.to % RANGES.length];
        break;
      case 'size':
        parent[slot.key] =
          m.to % 2 === 0
            ? Array.from({ length: 2000 + (m.to % 5000) }, (_, i) => i % 97)
            : 'x'.repeat(100_000);
        break;
      case 'depth':
        parent[slot.key] = `\u0000deep${deep.length}`;
        deep.push(DEPTHS[m.to % DEPTHS.length]!);
        break;
      case 'dropKey':
        if (Array.isArray(parent)) parent.splice(Number(slot.key), 1);
        else delete parent[slot.key];
        break;
      case 'addKey':
        if (!Array.isArray(parent) && typeof parent[slot.key] === 'object' && parent[slot.key] !== null) {
          (parent[slot.key] as Record<string, unknown>)['unexpected'] = 1;
        }
        break;
    }
  }
  let text = JSON.stringify(root.body) ?? '';
  deep.forEach((n, i) => {
    text = text.replace(JSON.stringify(`\u0000deep${i}`), '['.repeat(n) + '1' + ']'.repeat(n));
  });
  return text;
}

/** The bytes sent for `text` under a text mutation. */
export function mutatedBytes(text: string, m: TextMutation): Buffer {
  if (m.kind === 'none') return Buffer.from(text);
  const at = text.length === 0 ? 0 : m.at % text.length;
  switch (m.variant % 9) {
    case 0:
      return Buffer.from(text.slice(0, at));
    case 1:
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    case 2:
      return Buffer.concat([
        Buffer.from(text.slice(0, at)),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from(text.slice(at)),
      ]);
    case 3:
      return Buffer.from(text, 'utf16le');
    case 4:
      return Buffer.from(
        text.replace(/\d+(\.\d+)?/, (d) => (m.at % 2 ? 'NaN' : '-Infinity') + d.slice(d.length)),
      );
    case 5:
      return Buffer.from(text.replace(/^\{/, '{"requests":1,"inputs":2,'));
    case 6:
      return Buffer.from(`${text} trailing`);
    case 7:
      return Buffer.from('');
    default:
      return Buffer.from(text.replace(/"/g, "'"));
  }
}
