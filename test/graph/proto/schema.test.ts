import assert from 'node:assert/strict';
import { test } from 'node:test';
import { protoRoot, READ_FIELDS } from '../../../src/graph/proto/schema.ts';
import { DataType } from '../../../src/graph/proto/types.ts';

test("every field READ_FIELDS reads is a field of TensorFlow's message in protos/", () => {
  // A name the .proto does not have would be dropped silently by the decoder (types.ts alone cannot tell).
  for (const [message, names] of READ_FIELDS) {
    const type = protoRoot.lookupType(message);
    for (const name of names) {
      assert.ok(type.fields[name], `${message} has no field ${name} (fields: ${Object.keys(type.fields)})`);
    }
  }
  // Each message a read field leads to is listed too, so nothing is returned beyond types.ts's shapes.
  for (const message of READ_FIELDS.keys()) {
    const type = protoRoot.lookupType(message);
    for (const name of READ_FIELDS.get(message)!) {
      const target = type.fields[name]!.resolve().resolvedType;
      if (target && 'fieldsArray' in target) {
        assert.ok(
          READ_FIELDS.has(target.fullName),
          `${message}.${name} leads to unlisted ${target.fullName}`,
        );
      }
    }
  }
});

test("types.ts's DataType numbers are TensorFlow's types.proto values", () => {
  const values = protoRoot.lookupEnum('tensorflow.DataType').values;
  for (const [name, value] of Object.entries(DataType)) assert.equal(values[name], value, name);
});
