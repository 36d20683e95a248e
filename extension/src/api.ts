/**
 * Client of the server's `cellserve/` REST API, through Jupyter's own request
 * helper so authentication and XSRF work as for every other Jupyter call.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { isMissingApi, responseMessage } from './logic/errors';
import { roleTable } from './logic/roles';
import type { ISettingProblem, JsonObject } from './logic/settings';
import type {
  ICanary,
  ICheckResult,
  IPublishJob,
  IRequestLog,
  IServiceInfo,
  ITraffic,
  ServiceLogs
} from './tokens';

/** How a publish goes live: after replaying logged requests, or as a canary. */
export interface IPublishOptions {
  /** Replay the live version's last N logged requests first (0: don't). */
  replay?: number;
  /** Answer this share (0–1) of the live route's predictions instead of going live. */
  canary?: number | null;
}

/** A request that reached the server and failed (`status`), or that never reached it (`status` 0). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** Whether the server has no `cellserve/` API at all. */
    readonly missingApi = false
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Whether the server could not be reached at all. */
  get unreachable(): boolean {
    return this.status === 0;
  }
}

/** Send a request to `cellserve/<path>` and parse the JSON answer. */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'cellserve', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ApiError(`the Jupyter server cannot be reached (${reason})`, 0);
  }
  const body = await response.text();
  if (!response.ok) {
    throw new ApiError(
      responseMessage(response.status, response.statusText, body),
      response.status,
      isMissingApi(response.status, body)
    );
  }
  return (body ? JSON.parse(body) : {}) as T;
}

function post(body: unknown): RequestInit {
  return { method: 'POST', body: JSON.stringify(body) };
}

function service(name: string, rest = ''): string {
  return `services/${encodeURIComponent(name)}${rest}`;
}

/** The calls the panel makes. */
export const api = {
  /** The cell roles in the order the service runs them, with the tag of each. */
  roles: () => requestAPI<unknown>('roles').then(roleTable),
  /** The settings' schema shaped for the form. */
  settingsForm: () => requestAPI<{ schema: JsonObject }>('settings/form'),
  /** What the server's settings model says of `settings` (the metadata `cellserve`). */
  settingProblems: (settings: JsonObject) =>
    requestAPI<{ problems: ISettingProblem[] }>(
      'settings/problems',
      post({ settings })
    ),
  /** Why publish would refuse `address` as the cluster address, or null. */
  clusterAddress: (address: string) =>
    requestAPI<{ error: string | null }>(
      `cluster-address?address=${encodeURIComponent(address)}`
    ),
  check: (path: string, notebook: unknown) =>
    requestAPI<ICheckResult>('check', post({ path, notebook })),
  publish: (
    path: string,
    kernelId: string | null,
    address: string,
    options: IPublishOptions = {}
  ) =>
    requestAPI<{ id: string }>(
      'publish',
      post({
        path,
        address,
        ...(kernelId ? { kernel_id: kernelId } : {}),
        ...(options.replay ? { replay: options.replay } : {}),
        ...(options.canary ? { canary: options.canary } : {})
      })
    ),
  job: (id: string) => requestAPI<IPublishJob>(`publish/${encodeURIComponent(id)}`),
  service: (name: string) => requestAPI<IServiceInfo>(service(name)),
  promote: (name: string, version: number | null) =>
    requestAPI<IServiceInfo>(
      service(name, '/promote'),
      post(version === null ? {} : { version })
    ),
  /** `version` null ends the split. */
  canary: (name: string, version: number | null, share = 0) =>
    requestAPI<{ live: number; canary: ICanary | null }>(
      service(name, '/canary'),
      post(version === null ? { version: null } : { version, share })
    ),
  requests: (name: string, last = 20) =>
    requestAPI<IRequestLog>(service(name, `/requests?last=${last}`)),
  rollback: (name: string, version: number | null) =>
    requestAPI<IServiceInfo>(
      service(name, '/rollback'),
      post(version === null ? {} : { version })
    ),
  remove: (name: string) =>
    requestAPI<{ deleted: boolean }>(service(name), { method: 'DELETE' }),
  logs: (name: string, tail = 200) =>
    requestAPI<ServiceLogs>(service(name, `/logs?tail=${tail}`)),
  /** Watches the service for `window` seconds: the answer comes after that long. */
  traffic: (name: string, window: number) =>
    requestAPI<ITraffic>(service(name, `/traffic?window=${window}`))
};
