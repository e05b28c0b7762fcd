import fc from 'fast-check';

/**
 * fast-check arbitraries from openapi.yaml's JSON Schemas (the subset the spec uses: $ref, type, properties,
 * required, additionalProperties, items, minItems, enum, oneOf/anyOf, minimum), biased towards what the served
 * models take (ids near the table sizes, inputs named history/candidate, lists of 12) so that generated bodies
 * reach the model as often as they fail validation. Schemas are plain data; `doc` resolves `$ref`s.
 */
type Schema = Record<string, any>;

const ID_EDGES = [0, 1, 5, 99, 100, 101, 150, 9999, 10000, 10001, 15000, 2 ** 31 - 1, 2 ** 31, -1];
const idArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 120 }) },
  { weight: 1, arbitrary: fc.constantFrom(...ID_EDGES) },
);
const nameArb = fc.constantFrom('history', 'candidate', 'user_index', 'x', '');

/** Tensors as nested lists: ids rows of 12 (the bundled models' L), single ids, or small float matrices. */
const tensorArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.array(fc.array(idArb, { minLength: 12, maxLength: 12 }), { minLength: 1, maxLength: 3 }),
  fc.array(idArb, { minLength: 1, maxLength: 12 }),
  idArb,
  fc.array(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { maxLength: 3 }), { maxLength: 3 }),
);

export function schemaArbitrary(schema: Schema, doc: Schema, depth = 0): fc.Arbitrary<unknown> {
  if (schema.$ref) return schemaArbitrary(resolveRef(schema.$ref, doc), doc, depth);
  if (schema.enum) return fc.constantFrom(...(schema.enum as unknown[]));
  const alternatives = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (alternatives && alternatives.every((s) => s.type || s.$ref || s.oneOf || s.anyOf)) {
    return fc.oneof(...alternatives.map((s) => schemaArbitrary(s, doc, depth + 1)));
  }
  if (schema.description?.startsWith('A scalar, a nested list')) return tensorArb;
  switch (schema.type) {
    case 'integer':
      return schema.minimum === 0 ? idArb : fc.integer({ min: (schema.minimum as number) ?? -3, max: 20 });
    case 'number':
      return fc.double({ min: -1e3, max: 1e3, noNaN: true });
    case 'string':
      return fc.string({ maxLength: 12 });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return schema.items
        ? fc.array(schemaArbitrary(schema.items, doc, depth + 1), {
            minLength: schema.minItems ?? 0,
            maxLength: depth > 2 ? 3 : 14,
          })
        : tensorArb;
    case 'object':
    default:
      return objectArbitrary(schema, doc, depth);
  }
}

function objectArbitrary(schema: Schema, doc: Schema, depth: number): fc.Arbitrary<unknown> {
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  // oneOf of `required` lists (TF Serving's "instances" or "inputs"): one of the listed keys, not both.
  const exclusive = (schema.oneOf as Schema[] | undefined)?.map((s) => s.required as string[]);
  const keys = Object.keys(props);
  if (keys.length === 0) {
    if (!schema.additionalProperties) return fc.constant({});
    return fc.dictionary(nameArb, schemaArbitrary(schema.additionalProperties, doc, depth + 1), {
      maxKeys: 3,
    });
  }
  const required = [...((schema.required as string[]) ?? []), ...(exclusive?.flat() ?? [])];
  const record = fc.record(
    Object.fromEntries(keys.map((k) => [k, schemaArbitrary(props[k]!, doc, depth + 1)])),
    { requiredKeys: required.filter((k) => keys.includes(k)) },
  );
  if (!exclusive) return record;
  return fc.tuple(record, fc.constantFrom(...exclusive)).map(([value, chosen]) => {
    const out = { ...(value as Record<string, unknown>) };
    for (const other of exclusive.flat()) if (!chosen.includes(other)) delete out[other];
    return out;
  });
}

export function resolveRef(ref: string, doc: Schema): Schema {
  return ref
    .slice(2)
    .split('/')
    .reduce((node: Schema, key) => node[key], doc);
}
