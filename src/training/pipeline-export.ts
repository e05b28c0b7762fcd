import { loadModel } from '../graph/load-model.ts';
import type { DistillConfig } from './config.ts';
import type { ClickLog } from './data/click-log.ts';
import { exportModels } from './export/export-models.ts';
import type { TrainedStudent } from './pipeline-students.ts';
import type { TrainedTeacher } from './pipeline-teacher.ts';
import type { DistillReport } from './report/report-types.ts';
import { compareExported, measureLoadedLatencyMs } from './verify-export.ts';

/**
 * Export and proof (docs/training.md, "Export"): the teacher as a SavedModel, the chosen student frozen out of
 * the teacher+student graph; both loaded back with the serving loader and compared with the in-training models
 * on the first test rows (CTR_ERR_EXPORT_MISMATCH beyond 1e-5), then timed through it. Disposes the teacher's
 * parameters (they are not needed after this).
 */
export async function exportAndVerify(
  c: DistillConfig,
  outDir: string,
  teacher: TrainedTeacher,
  best: TrainedStudent,
  test: ClickLog,
): Promise<DistillReport['export']> {
  const teacherHost = teacher.store.toHost();
  teacher.store.dispose();
  const exported = await exportModels({
    outDir,
    version: c.export.version,
    teacher: { config: teacher.config, params: teacherHost },
    student: { config: best.config, params: best.params },
    oovId: c.export.oovId,
  });
  const checkedRows = Math.min(1000, test.rows);
  const batch = c.evaluation.latencyBatch;
  const reps = c.evaluation.latencyRepeats;
  const teacherModel = await loadModel(exported.teacherDir);
  const studentModel = await loadModel(exported.studentDir);
  try {
    return {
      teacherDir: exported.teacherDir,
      studentDir: exported.studentDir,
      student: best.variant.name,
      studentGraphNodes: exported.studentNodes,
      maxAbsDiff: {
        teacher: await compareExported(teacherModel, 'ctr-teacher', test, teacher.testLogits, checkedRows),
        student: await compareExported(studentModel, 'ctr-student', test, best.testLogits, checkedRows),
      },
      checkedRows,
      servedLatencyMs: {
        teacher: await measureLoadedLatencyMs(teacherModel, test, batch, reps),
        student: await measureLoadedLatencyMs(studentModel, test, batch, reps),
      },
    };
  } finally {
    teacherModel.dispose();
    studentModel.dispose();
  }
}
