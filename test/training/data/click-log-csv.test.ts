import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readClickLogCsv, writeClickLogCsv } from '../../../src/training/data/click-log-csv.ts';
import { ClickWorld, DEFAULT_CLICK_MODEL, sampleClickLog } from '../../../src/training/data/click-model.ts';
import { Prng } from '../../../src/training/data/prng.ts';

test('a written click log reads back with the same rows (probabilities to 6 digits)', () => {
  const cfg = { ...DEFAULT_CLICK_MODEL, vocabSize: 40, historyLength: 5, users: 10, topics: 3 };
  const rng = new Prng(2);
  const log = sampleClickLog(new ClickWorld(cfg, rng), 50, rng);
  const back = readClickLogCsv(writeClickLogCsv(log), 40, 5, 'mem.csv');
  assert.deepEqual(back.history, log.history);
  assert.deepEqual(back.candidate, log.candidate);
  assert.deepEqual(back.clicked, log.clicked);
  for (let i = 0; i < log.rows; i++) assert.ok(Math.abs(back.trueProb![i]! - log.trueProb![i]!) < 1e-5);
});

test('a real log without true probabilities reads, keeping the newest L items of long histories', () => {
  const csv = 'user,history,candidate,clicked\nu1,1 2 3 4,7,1\nu2,,3,0\n';
  const log = readClickLogCsv(csv, 10, 3, 'real.csv');
  assert.equal(log.trueProb, undefined);
  assert.deepEqual(Array.from(log.history), [2, 3, 4, 0, 0, 0]);
  assert.deepEqual(Array.from(log.candidate), [7, 3]);
  assert.deepEqual(Array.from(log.clicked), [1, 0]);
});

test('an event log (user,item,timestamp,clicked) becomes rows whose history is the user’s earlier clicks', () => {
  const csv = 'user,item,timestamp,clicked\nb,5,10,1\na,1,3,1\na,2,1,0\na,3,7,1\na,4,9,0\n';
  const log = readClickLogCsv(csv, 10, 2, 'events.csv');
  // user a in time order: 2 (no click), 1 (click), 3 (click), 4; then user b: 5
  assert.deepEqual(Array.from(log.candidate), [2, 1, 3, 4, 5]);
  assert.deepEqual(Array.from(log.history), [0, 0, 0, 0, 0, 1, 1, 3, 0, 0]);
});

test('malformed logs fail with CTR_ERR_DATA_FORMAT naming the line', () => {
  const code = (e: { code?: string; message?: string }) => e.code === 'CTR_ERR_DATA_FORMAT';
  assert.throws(() => readClickLogCsv('a,b\n1,2\n', 10, 3, 'x.csv'), code);
  assert.throws(
    () => readClickLogCsv('user,history,candidate,clicked\nu,1 99,2,1\n', 10, 3, 'x.csv'),
    (e: Error & { code?: string }) => code(e) && e.message.includes('x.csv:2'),
  );
  assert.throws(() => readClickLogCsv('user,history,candidate,clicked\nu,1,2,yes\n', 10, 3, 'x.csv'), code);
  assert.throws(() => readClickLogCsv('user,item,timestamp,clicked\nu,1,soon,1\n', 10, 3, 'x.csv'), code);
});

test('the CSV is parsed as CSV: quoted fields and CRLF read, a record with the wrong column count fails on its line', () => {
  const csv = 'user,history,candidate,clicked\r\n"u,1","1 2",3,1\r\nu2,,4,0\r\n';
  const log = readClickLogCsv(csv, 10, 2, 'q.csv');
  assert.deepEqual(Array.from(log.history), [1, 2, 0, 0]);
  assert.deepEqual(Array.from(log.candidate), [3, 4]);
  assert.throws(
    () => readClickLogCsv('user,history,candidate,clicked\nu,1,2,1\nu,1,2\n', 10, 3, 'short.csv'),
    (e: Error & { code?: string }) => e.code === 'CTR_ERR_DATA_FORMAT' && e.message.startsWith('short.csv:3'),
  );
});
