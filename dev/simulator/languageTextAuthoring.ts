/** The simulated Language Text Analysis Authoring – Get Training Status API (seed 003) for `language.textAuthoring`. */
import { languageTextAuthoringAdapter } from '../../shared/upstream/kinds/languageTextAuthoring';
import { createLanguageAuthoringApi, type LanguageJobStore } from './languageAuthoring';
import type { LanguageJobTimeline } from './languageShapes';
import { MINUTE_MS, SECOND_MS, type SimulatedApi } from './types';

/** The custom-text methods of the simulator. */
export interface LanguageTextAuthoringMethods {
  addLanguageJob(projectName: string, jobId: string, timeline: LanguageJobTimeline): void;
  removeLanguageJob(projectName: string, jobId: string): void;
}

/** The two custom-text demos: a success over two minutes and a failure with an error. */
function addDemoJobs(store: LanguageJobStore, now: Date): Array<{ projectName: string; jobId: string }> {
  const at = (offsetMs: number): Date => new Date(now.getTime() + offsetMs);
  // Running 0 → 100 % over 2 minutes, then succeeded.
  store.add('LoanAgreements', 'demo-job-1', {
    createdAt: at(-2 * SECOND_MS),
    startAt: now,
    durationMs: 2 * MINUTE_MS,
    outcome: 'succeeded',
  });
  // Waits 15 s, trains for 60 s, then fails with an error.
  store.add('LoanAgreements', 'demo-job-2', {
    createdAt: now,
    startAt: at(15 * SECOND_MS),
    durationMs: 60 * SECOND_MS,
    outcome: 'failed',
    errors: [
      {
        code: 'InvalidRequest',
        message: 'Training failed: the class "Guarantor" has no labeled documents.',
        innererror: {
          code: 'InvalidDocumentBatch',
          message: 'Each class needs at least one labeled document.',
        },
      },
    ],
  });
  return [
    { projectName: 'LoanAgreements', jobId: 'demo-job-1' },
    { projectName: 'LoanAgreements', jobId: 'demo-job-2' },
  ];
}

export function createLanguageTextAuthoringApi(): SimulatedApi<LanguageTextAuthoringMethods> {
  return createLanguageAuthoringApi(
    languageTextAuthoringAdapter,
    { segment: 'analyze-text', sampleProject: 'LoanAgreements' },
    (store) => ({
      addLanguageJob: (projectName, jobId, timeline) => store.add(projectName, jobId, timeline),
      removeLanguageJob: (projectName, jobId) => store.remove(projectName, jobId),
    }),
    addDemoJobs,
  );
}
