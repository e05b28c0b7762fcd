import type { DistillReport } from './report-types.ts';

/**
 * The done-when targets of issue 4, evaluated on a report: teacher AUC within 0.02 of Bayes; the exported
 * (best distilled) student beats the no-KD student on AUC and log-loss and keeps ≥ 97% of the teacher's AUC lift
 * over 0.5; the student is ≥ 10× faster than the teacher per batch (eager and through the serving loader); the
 * no-KD student is ≥ 0.01 AUC below the teacher (the data leaves room for distillation).
 */
export function targetsOf(r: Pick<DistillReport, 'models' | 'export'>): DistillReport['targets'] {
  const by = (name: string) => r.models.find((m) => m.name === name);
  const teacher = by('teacher')!;
  const bayes = by('bayes');
  const student = r.models.find((m) => m.exported && m.role === 'student')!;
  const noKd = r.models.find((m) => m.role === 'student' && m.kind === 'pooled' && m.loss === 'none')!;
  const out: DistillReport['targets'] = {};
  if (bayes) {
    const gap = bayes.auc - teacher.auc;
    out.teacherNearBayes = { value: gap, goal: 'Bayes AUC − teacher AUC ≤ 0.02', met: gap <= 0.02 };
  }
  const room = teacher.auc - noKd.auc;
  out.roomForDistillation = {
    value: room,
    goal: 'teacher AUC − no-KD student AUC ≥ 0.01',
    met: room >= 0.01,
  };
  const dAuc = student.auc - noKd.auc;
  out.beatsNoKdAuc = { value: dAuc, goal: 'student AUC − no-KD AUC > 0', met: dAuc > 0 };
  const dLl = noKd.logLoss - student.logLoss;
  out.beatsNoKdLogLoss = { value: dLl, goal: 'no-KD log-loss − student log-loss > 0', met: dLl > 0 };
  const kept = (student.auc - 0.5) / (teacher.auc - 0.5);
  out.keepsTeacherLift = {
    value: kept,
    goal: '(student AUC − 0.5)/(teacher AUC − 0.5) ≥ 0.97',
    met: kept >= 0.97,
  };
  const speed = (teacher.latencyMs ?? 0) / (student.latencyMs ?? Infinity);
  out.fasterEager = {
    value: speed,
    goal: 'teacher ms / student ms per batch ≥ 10 (in-training models)',
    met: speed >= 10,
  };
  const served = r.export.servedLatencyMs.teacher / r.export.servedLatencyMs.student;
  out.fasterServed = {
    value: served,
    goal: 'teacher ms / student ms per batch ≥ 10 (exported, serving loader)',
    met: served >= 10,
  };
  return out;
}
