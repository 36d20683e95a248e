/**
 * Names and help texts the panel shows for stages and settings.
 */

import type { TranslationBundle } from '@jupyterlab/translation';

import type { StageName } from '../logic/settings';

export function stageLabels(trans: TranslationBundle): Record<StageName, string> {
  return {
    preprocessing: trans.__('Preprocessing'),
    predict: trans.__('Predict')
  };
}
