/** `face.personGroup`: Face PersonGroup – Get Training Status (SPEC §2, seed 000). */
import { faceTrainingSpec } from '../faceTraining';
import { defineKind } from '../kind';

export const facePersonGroupAdapter = defineKind(
  faceTrainingSpec({
    kind: 'face.personGroup',
    segment: 'persongroups',
    idField: 'personGroupId',
    notTrainedCode: 'PersonGroupNotTrained',
  }),
);
