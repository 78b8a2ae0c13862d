/** The simulated Face LargePersonGroup – Get Training Status API for `face.largePersonGroup`. */
import { faceLargePersonGroupAdapter } from '../../shared/upstream/kinds/faceLargePersonGroup';
import { createFaceTrainingApi } from './faceTraining';
import type { SimulatedApi } from './types';

export function createFaceLargePersonGroupApi(): SimulatedApi {
  return createFaceTrainingApi(
    faceLargePersonGroupAdapter,
    {
      segment: 'largepersongroups',
      idField: 'largePersonGroupId',
      label: 'Large person group',
      notFoundCode: 'LargePersonGroupNotFound',
      notTrainedCode: 'LargePersonGroupNotTrained',
      lastSuccessfulTraining: true,
    },
    () => ({}),
  );
}
