/** The simulated Face LargeFaceList – Get Training Status API for `face.largeFaceList`. */
import { faceLargeFaceListAdapter } from '../../shared/upstream/kinds/faceLargeFaceList';
import { createFaceTrainingApi } from './faceTraining';
import type { SimulatedApi } from './types';

export function createFaceLargeFaceListApi(): SimulatedApi {
  return createFaceTrainingApi(
    faceLargeFaceListAdapter,
    {
      segment: 'largefacelists',
      idField: 'largeFaceListId',
      label: 'Large face list',
      notFoundCode: 'LargeFaceListNotFound',
      notTrainedCode: 'LargeFaceListNotTrained',
      lastSuccessfulTraining: true,
    },
    () => ({}),
  );
}
