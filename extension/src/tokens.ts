/**
 * Names and shapes shared by the extension: the plugin and command ids, and the
 * JSON the server's `cellserve/` REST API exchanges.
 *
 * Types only, no JupyterLab import, so the pure modules can use them.
 */

/** Id of the plugin, which is also the name of its settings schema. */
export const PLUGIN_ID = 'cellserve-jupyterlab:plugin';

/** Command ids, all in the palette under the category "cellserve". */
export namespace CommandIDs {
  export const tagSetup = 'cellserve:tag-setup';
  export const tagPreprocessing = 'cellserve:tag-preprocessing';
  export const tagPredict = 'cellserve:tag-predict';
  export const untag = 'cellserve:untag';
  export const publish = 'cellserve:publish';
  export const openPanel = 'cellserve:open-panel';
}

/** A problem the check found; `cell` is a 1-based position among all cells. */
export interface IProblem {
  message: string;
  cell: number | null;
}

/** What the check found for one stage. */
export interface ICheckStage {
  cells: number[];
  inputs: string[];
  captured: string[];
}

/** One file of the notebook's folder that travels with the service. */
export interface IShippedFile {
  /** Path relative to the notebook. */
  path: string;
  bytes: number;
  /** Tagged cells that name it (none when the settings include it). */
  cells: number[];
}

/** Answer of `POST cellserve/check`. */
export interface ICheckResult {
  /** The service the notebook publishes to (null when it cannot be read). */
  service: string | null;
  /** The service's name when the settings give none: the server's rule, from the notebook's file name. */
  default_service: string;
  ok: boolean;
  roles: Partial<Record<string, number[]>>;
  stages: Partial<Record<string, ICheckStage>>;
  /** The notebook's files a publish ships, as the cells' text and the settings name them. */
  files?: IShippedFile[];
  problems: IProblem[];
}

/** One step a publish job reported. */
export interface IPublishStep {
  step: string;
  message: string;
  /** Seconds since the job started. */
  elapsed: number;
}

/** What a successful publish made. */
export interface IPublishResult {
  name: string;
  version: number;
  endpoint: string;
  page: string;
  /** The replay's summary, when the publish replayed logged requests first. */
  replay?: IReplaySummary | null;
  /** The share of the live route's predictions the new version answers, when published as a canary. */
  canary?: number | null;
}

/** How the new version answered the live version's logged requests. */
export interface IReplaySummary {
  requests: number;
  same: number;
  different: number;
  failed: number;
  skipped: number;
  seconds: number;
}

/** A share of the live route's predictions answered by another running version. */
export interface ICanary {
  version: number;
  /** 0–1. */
  share: number;
}

/** One request the service logged. */
export interface ILoggedRequest {
  seq: number;
  at: string;
  version: string;
  status: number;
  latency_ms: number;
  /** The body as sent; null when it was over the log's body limit. */
  request: string | null;
  request_bytes: number;
  response: string | null;
  response_bytes: number;
}

/** Answer of `GET cellserve/services/<name>/requests?last=N`. */
export interface IRequestLog {
  name: string;
  live: number;
  enabled: boolean;
  requests: ILoggedRequest[];
  kept?: number;
  max_requests?: number;
  logged?: number;
}

/** Where a publish job failed. */
export interface IPublishError {
  message: string;
  step: string | null;
  cell: number | null;
}

export type JobState = 'running' | 'succeeded' | 'failed';

/** Answer of `GET cellserve/publish/<id>`. */
export interface IPublishJob {
  id: string;
  state: JobState;
  capture: string;
  steps: IPublishStep[];
  result: IPublishResult | null;
  error: IPublishError | null;
}

/** One deployed version of a service. */
export interface IServiceVersion {
  version: number;
  status: string;
  created: string;
  failed_step: string | null;
  error: string | null;
  /** Whether the version runs on the cluster now (live, or warm at its pinned route). */
  running?: boolean;
  /** The route it answers at: `/<name>` when live, `/<name>/v/<N>` when warm. */
  route?: string | null;
}

/** Answer of `GET cellserve/services/<name>`. */
export interface IServiceInfo {
  name: string;
  live: number | null;
  endpoint: string;
  page: string;
  status: string;
  versions: IServiceVersion[];
  last_error: unknown;
  canary?: ICanary | null;
}

/** One version's traffic over a window, from Ray Serve's metrics. */
export interface ITrafficFigures {
  window_s: number;
  requests: number;
  requests_per_s: number;
  /** Share of the window's predictions answered with a 5xx (0–1). */
  error_rate: number;
  p50_ms: number | null;
  p99_ms: number | null;
  /** Healthy replicas; null until Ray first reports them. */
  replicas: number | null;
  total_requests: number;
  live: boolean;
  /** The share of the live route's predictions this version answers as a canary, else null. */
  canary_share?: number | null;
  /** Whether any prediction was answered in the window. */
  traffic: boolean;
}

/** Answer of `GET cellserve/services/<name>/traffic?window=S`: by version number. */
export interface ITraffic {
  name: string;
  window_s: number;
  versions: Record<string, ITrafficFigures>;
}

/** Answer of `GET cellserve/services/<name>/logs`: log text by "<stage> <replica id>". */
export type ServiceLogs = Record<string, string>;
