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

/** Label and help of a setting, by its name inside its object (`num_gpus`). */
export interface ISettingText {
  label: string;
  help: string;
}

/** What each setting is called and does; the server's schema may say more. */
export function settingTexts(trans: TranslationBundle): Record<string, ISettingText> {
  return {
    name: {
      label: trans.__('Service name'),
      help: trans.__(
        "Service name, used in the route /<name>/; default: from the notebook's file name."
      )
    },
    input_variable: {
      label: trans.__('Input variable'),
      help: trans.__('Variable the parsed JSON request body is bound to.')
    },
    access: {
      label: trans.__('Access'),
      help: trans.__(
        "'public': anyone who can reach the service may call it. 'token': calls need the service's access token."
      )
    },
    num_gpus: {
      label: trans.__('GPUs per replica'),
      help: trans.__('GPUs per replica; fractions such as 0.5 share a GPU.')
    },
    gpu: {
      label: trans.__('GPU'),
      help: trans.__(
        "'required': runs only where the cluster has GPUs. 'if-available': runs on CPU, with a warning, where it has none."
      )
    },
    num_cpus: {
      label: trans.__('CPUs per replica'),
      help: trans.__('CPUs per replica.')
    },
    memory: {
      label: trans.__('Memory per replica'),
      help: trans.__(
        'Memory per replica: bytes, or with a unit such as 512MiB or 4GiB; empty: no reservation.'
      )
    },
    min_replicas: {
      label: trans.__('Min replicas'),
      help: trans.__('Fewest replicas; autoscaling when it differs from max replicas.')
    },
    max_replicas: {
      label: trans.__('Max replicas'),
      help: trans.__('Most replicas.')
    },
    target_ongoing_requests: {
      label: trans.__('Target ongoing requests'),
      help: trans.__('Autoscaling target: ongoing requests per replica.')
    },
    max_ongoing_requests: {
      label: trans.__('Max ongoing requests'),
      help: trans.__('Most requests a replica works on at once.')
    },
    max_queued_requests: {
      label: trans.__('Max queued requests'),
      help: trans.__(
        'Most requests a replica keeps waiting for a turn; above that the service answers 503 with Retry-After at once.'
      )
    },
    max_size: {
      label: trans.__('Batch size'),
      help: trans.__(
        'Turns batching on: the most requests in one run of the predict cells, which are then handed a list of each value (one item per request) and answer a list of the same length. Empty: no batching.'
      )
    },
    wait_ms: {
      label: trans.__('Batch wait (ms)'),
      help: trans.__('Longest a request waits for others to fill its batch.')
    },
    max_requests: {
      label: trans.__('Request log size'),
      help: trans.__(
        'Turns the request log on: the service keeps its last requests with their answers, status and latency, for you only (Requests in this panel, `cellserve requests NAME`). Requests may hold personal data. Empty: nothing is kept.'
      )
    },
    max_body_bytes: {
      label: trans.__('Request log body limit (bytes)'),
      help: trans.__(
        'Largest request or answer kept; a larger one is logged by its size alone.'
      )
    },
    max_mismatch: {
      label: trans.__('Replay: most answers that may differ'),
      help: trans.__(
        'Share (0 to 1) of replayed requests the new version may answer differently from the live one and still go live.'
      )
    },
    stages: {
      label: trans.__('Deployments'),
      help: trans.__(
        "'auto': both stages in one deployment when they ask for the same resources, two otherwise. 'one': always one, with predict's settings. 'separate': always two (a predict replica that dies costs no request)."
      )
    }
  };
}
