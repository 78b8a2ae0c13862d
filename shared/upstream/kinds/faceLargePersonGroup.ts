/** `face.largePersonGroup`: Face LargePersonGroup – Get Training Status (docs/spec.md §2; parsed as person groups, §3). */
import { faceTrainingSpec } from '../faceTraining';
import { defineKind } from '../kind';

export const faceLargePersonGroupAdapter = defineKind(
  faceTrainingSpec({
    kind: 'face.largePersonGroup',
    segment: 'largepersongroups',
    idField: 'largePersonGroupId',
    notTrainedCode: 'LargePersonGroupNotTrained',
  }),
);
