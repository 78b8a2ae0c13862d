/** `face.largeFaceList`: Face LargeFaceList – Get Training Status (docs/spec.md §2; parsed as person groups, §3). */
import { faceTrainingSpec } from '../faceTraining';
import { defineKind } from '../kind';

export const faceLargeFaceListAdapter = defineKind(
  faceTrainingSpec({
    kind: 'face.largeFaceList',
    segment: 'largefacelists',
    idField: 'largeFaceListId',
    notTrainedCode: 'LargeFaceListNotTrained',
  }),
);
