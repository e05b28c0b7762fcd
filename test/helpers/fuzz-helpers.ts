import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { isCtrError } from '../../src/errors/registry.ts';

/** Shared by the fuzz tests: byte mutations of real files, and the "only coded errors, fast, bounded" check. */

/** A mutated input may not make the process hold more than this much more memory after it is dropped. */
export const HEAP_GROWTH_BOUND_BYTES = 64 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export function memoryInUse(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Runs fn; it may return or throw a CtrError with a code, nothing else. A hang is caught by the test's own
 * timeout: per-input durations are not asserted (speed is measured in bench/, never in tests).
 */
export async function onlyCodedErrors(what: string, fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!isCtrError(err) || typeof err.code !== 'string') {
      assert.fail(`${what}: threw a non-coded error: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }
}

type Mutation =
  | { kind: 'flip'; at: number[]; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; bytes: Uint8Array; remove: number }
  | { kind: 'varint'; at: number; bytes: Uint8Array };

const hugeVarints = [
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80),
  Uint8Array.of(0xe8, 0x07),
];

/** Mutations of a file of `length` bytes: bit flips, truncation, splices of random bytes, huge varints. */
export function mutationArb(length: number): fc.Arbitrary<Mutation> {
  const pos = fc.nat({ max: Math.max(0, length - 1) });
  return fc.oneof(
    fc.record({
      kind: fc.constant('flip' as const),
      at: fc.array(pos, { minLength: 1, maxLength: 8 }),
      bit: fc.integer({ min: 0, max: 7 }),
    }),
    fc.record({ kind: fc.constant('truncate' as const), at: pos }),
    fc.record({
      kind: fc.constant('splice' as const),
      at: pos,
      bytes: fc.uint8Array({ maxLength: 32 }),
      remove: fc.nat({ max: 16 }),
    }),
    fc.record({ kind: fc.constant('varint' as const), at: pos, bytes: fc.constantFrom(...hugeVarints) }),
  );
}

export function mutate(base: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case 'flip': {
      const out = Uint8Array.from(base);
      for (const at of m.at) if (at < out.length) out[at] = out[at]! ^ (1 << m.bit);
      return out;
    }
    case 'truncate':
      return base.slice(0, m.at);
    case 'splice':
    case 'varint': {
      const remove = m.kind === 'splice' ? m.remove : m.bytes.length;
      const out = new Uint8Array(base.length + m.bytes.length);
      out.set(base.subarray(0, m.at));
      out.set(m.bytes, m.at);
      const rest = base.subarray(Math.min(base.length, m.at + remove));
      out.set(rest, m.at + m.bytes.length);
      return out.subarray(0, m.at + m.bytes.length + rest.length);
    }
  }
}
