import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG, QUICK_CONFIG, loadDistillConfig } from '../../src/training/config.ts';

const code = (c: string) => (e: { code?: string }) => e.code === c;

test('a YAML config overrides only the settings it names', () => {
  const c = loadDistillConfig(
    'seed: 7\ndata: { trainRows: 99, clickModel: { recencyDecay: 0.5 } }\n',
    'c.yaml',
    DEFAULT_CONFIG,
  );
  assert.equal(c.seed, 7);
  assert.equal(c.data.trainRows, 99);
  assert.equal(c.data.clickModel.recencyDecay, 0.5);
  assert.equal(c.data.clickModel.vocabSize, DEFAULT_CONFIG.data.clickModel.vocabSize);
  assert.deepEqual(c.student, DEFAULT_CONFIG.student);
});

test('a JSON config is read as well, and the quick config is a valid base', () => {
  const c = loadDistillConfig('{"student": {"gruSteps": 3}}', 'c.json', QUICK_CONFIG);
  assert.equal(c.student.gruSteps, 3);
  assert.equal(c.data.trainRows, QUICK_CONFIG.data.trainRows);
});

test('invalid settings fail with CTR_ERR_TRAINING_CONFIG', () => {
  const bad = (text: string) =>
    assert.throws(() => loadDistillConfig(text, 'bad.yaml', DEFAULT_CONFIG), code('CTR_ERR_TRAINING_CONFIG'));
  bad('teacher: { dim: 30, heads: 4 }');
  bad('data: { trainRows: -5 }');
  bad('student: { variants: [{ name: x, kind: lstm, loss: none }] }');
  bad('student: { variants: [{ name: x, kind: pooled, loss: tang }] }');
  bad('student: { dim: 16, initFromTeacher: true }'); // the teacher's table is 32 wide
  bad('[1, 2]');
  bad('a: [');
});
