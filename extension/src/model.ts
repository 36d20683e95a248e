/**
 * State of the cellserve panel for the current notebook: its cell roles, the
 * settings form, the live check, its publish and its service's versions.
 *
 * The view renders from this model whenever `stateChanged` fires and calls its
 * methods for every action; nothing here blocks: requests run in the background
 * and land in the state when they answer.
 */

import type { NotebookPanel } from '@jupyterlab/notebook';
import { VDomModel } from '@jupyterlab/ui-components';
import { JSONExt } from '@lumino/coreutils';
import type { ReadonlyPartialJSONValue } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { api, ApiError } from './api';
import type { IPublishOptions } from './api';
import { groupByRole, NO_ROLES, rolesOfTags } from './logic/roles';
import type { IRoleTable, Role, RoleGroups } from './logic/roles';
import { addReading } from './logic/traffic';
import type { TrafficHistory } from './logic/traffic';
import {
  errorSchema,
  formView,
  isObject,
  METADATA_KEY,
  pruned,
  withoutProblems
} from './logic/settings';
import type { IFormView, ISettingProblem, JsonObject } from './logic/settings';
import {
  cellSummaries,
  cellTags,
  runningKernelId,
  selectCell,
  setCellRole,
  targetCells
} from './notebook';
import type { NotebookChange, NotebookWatcher } from './notebook';
import type { IPublishView, Publisher } from './publisher';
import type { ICheckResult, IRequestLog, IServiceInfo } from './tokens';

/** Quiet time after the last change before the notebook is checked, in milliseconds. */
export const CHECK_DELAY = 700;

/** Seconds of each traffic window the panel asks the server to watch. */
export const TRAFFIC_WINDOW = 5;

/** Quiet time after the last keystroke in the cluster address before the server checks it. */
const ADDRESS_DELAY = 300;

/** Quiet time before cell roles are listed again while a cell is edited. */
const ROLES_DELAY = 150;

/** The live check. */
export interface ICheckState {
  running: boolean;
  result: ICheckResult | null;
  /** Why the last check could not run. */
  error: string | null;
}

/** The service's versions, as far as the server told. */
export interface IServiceState {
  name: string;
  status: 'loading' | 'ready' | 'unpublished' | 'error';
  info: IServiceInfo | null;
  error: string | null;
  /** An action under way: "rollback" or "delete". */
  busy: string | null;
  /** What the last action did, or why it failed. */
  notice: string | null;
}

/** What the model needs from the application. */
export interface ICellserveModelOptions {
  publisher: Publisher;
  /** The watcher of an open notebook panel. */
  watcherOf: (panel: NotebookPanel) => NotebookWatcher | null;
  /** Bring a notebook panel to the front of the main area. */
  activate: (panel: NotebookPanel) => void;
}

export class CellserveModel extends VDomModel {
  constructor(private readonly _options: ICellserveModelOptions) {
    super();
    _options.publisher.changed.connect(this._onPublishChanged, this);
    _options.publisher.finished.connect(this._onPublishFinished, this);
  }

  /** The notebook the panel works on. */
  get panel(): NotebookPanel | null {
    return this._panel;
  }

  /** The notebook's path relative to the server root. */
  get path(): string {
    return this._panel?.context.path ?? '';
  }

  /** The cell roles there are, in the order the service runs them, with their tags (none until the server answered). */
  get roleTable(): IRoleTable {
    return this._roleTable;
  }

  /** Why the server named no cell roles, or null. */
  get rolesError(): string | null {
    return this._rolesError;
  }

  /** The role table arrived from the server. */
  get roleTableChanged(): ISignal<this, IRoleTable> {
    return this._roleTableChanged;
  }

  /** The notebook's tagged cells, by role. */
  get roles(): RoleGroups {
    return this._roles;
  }

  /** 1-based number of the active cell, or null. */
  get activeCell(): number | null {
    const notebook = this._panel?.content;
    return notebook && notebook.activeCellIndex >= 0
      ? notebook.activeCellIndex + 1
      : null;
  }

  /** Roles of the active cell. */
  get activeRoles(): Role[] {
    const cell = this._panel?.content.activeCell;
    return cell ? rolesOfTags(this.roleTable, cellTags(cell.model)) : [];
  }

  /** How many cells a role button acts on. */
  get targetCount(): number {
    const notebook = this._panel?.content;
    return notebook ? targetCells(notebook).length : 0;
  }

  get readOnly(): boolean {
    return this._panel?.content.model?.readOnly ?? true;
  }

  /** The settings form's data: the notebook's settings as typed, mistakes included. */
  get settings(): JsonObject {
    return this._settings;
  }

  /** What the server's settings model says of them (empty: valid). */
  get settingProblems(): readonly ISettingProblem[] {
    return this._problems;
  }

  /** The problems as the form's error schema, each at its field. */
  get settingErrors(): JsonObject {
    return this._formView ? errorSchema(this._problems, this._formView.schema) : {};
  }

  /** The form the server's settings schema gives (null until it answered). */
  get settingsForm(): IFormView | null {
    return this._formView;
  }

  /** Why the settings form could not be loaded, if it could not. */
  get settingsFormError(): string | null {
    return this._formError;
  }

  get check(): ICheckState {
    return this._check;
  }

  /** The cluster address publish uses: the one typed in the panel, else the default setting. */
  get clusterAddress(): string {
    return this._clusterOverride ?? this._clusterDefault;
  }

  /** The cluster address from the JupyterLab settings ("" is the embedded local cluster). */
  get clusterAddressDefault(): string {
    return this._clusterDefault;
  }

  get clusterAddressOverridden(): boolean {
    return this._clusterOverride !== null;
  }

  /** What the server finds wrong with the cluster address (the rule publish applies), or null. */
  get clusterAddressError(): string | null {
    return this._clusterError;
  }

  /** The running kernel's id, or null if the notebook has none. */
  get kernelId(): string | null {
    return this._panel ? runningKernelId(this._panel) : null;
  }

  /** How the next publish goes live: replaying logged requests first, or as a canary. */
  get publishOptions(): IPublishOptions {
    return this._publishOptions;
  }

  setPublishOptions(options: IPublishOptions): void {
    this._publishOptions = { ...this._publishOptions, ...options };
    this.stateChanged.emit();
  }

  /** The service's request log as last read (null: not read yet), or why it could not be read. */
  get requestLog(): IRequestLog | null {
    return this._requestLog;
  }

  get requestLogError(): string | null {
    return this._requestLogError;
  }

  /** Read the service's latest logged requests. */
  async loadRequests(last = 20): Promise<void> {
    const name = this._service?.name;
    if (!name) {
      return;
    }
    try {
      this._requestLog = await api.requests(name, last);
      this._requestLogError = null;
    } catch (error) {
      this._requestLog = null;
      this._requestLogError = messageOf(error);
    }
    this.stateChanged.emit();
  }

  /** The latest publish of this notebook. */
  get publish(): IPublishView | null {
    return this._panel ? this._options.publisher.view(this.path) : null;
  }

  get publishing(): boolean {
    return this._panel !== null && this._options.publisher.isBusy(this.path);
  }

  /** Why Publish is disabled, or null when it can be pressed. */
  get publishBlocker(): string | null {
    if (!this._panel) {
      return 'Open a notebook to publish it.';
    }
    if (this.publishing) {
      return 'Publishing is under way.';
    }
    if (this._problems.length > 0) {
      return 'Correct the settings marked in red first.';
    }
    if (this.clusterAddressError !== null) {
      return 'Correct the cluster address first.';
    }
    return null;
  }

  /** The service this notebook publishes to ('' until the server's check first answers). */
  get serviceName(): string {
    const checked = this._check.result?.service;
    if (checked) {
      return checked;
    }
    const name = this._settings.name;
    const valid = !this._problems.some(problem => problem.path[0] === 'name');
    return typeof name === 'string' && name !== '' && valid
      ? name
      : (this._check.result?.default_service ?? '');
  }

  /** The service's name when the settings give none, as the server's check says ('' until it answers). */
  get defaultServiceName(): string {
    return this._check.result?.default_service ?? '';
  }

  get service(): IServiceState | null {
    return this._service;
  }

  /** The live service's recent traffic by version, newest last (empty until the first window ends). */
  get traffic(): TrafficHistory {
    return this._traffic;
  }

  /** Why the last traffic window could not be read, if it could not. */
  get trafficError(): string | null {
    return this._trafficError;
  }

  /** Follow another notebook (null: none). */
  setPanel(panel: NotebookPanel | null): void {
    if (panel === this._panel) {
      return;
    }
    this._watcher?.changed.disconnect(this._onNotebookChanged, this);
    this._stopTraffic();
    this._panel = panel;
    this._watcher = panel ? this._options.watcherOf(panel) : null;
    this._watcher?.changed.connect(this._onNotebookChanged, this);
    window.clearTimeout(this._checkTimer);
    window.clearTimeout(this._rolesTimer);
    this._checkSequence++;
    this._check = { running: false, result: null, error: null };
    this._service = null;
    this._roles = groupByRole(this.roleTable, []);
    this._settings = {};
    this._problems = [];
    this._settingsSequence++;
    if (panel) {
      void panel.context.ready.then(() => {
        if (panel === this._panel) {
          this._loadNotebook();
        }
      });
    }
    this.stateChanged.emit();
  }

  /** Set the default cluster address, from the JupyterLab settings. */
  setClusterAddressDefault(address: string): void {
    this._clusterDefault = address;
    this._scheduleAddressCheck();
    this.stateChanged.emit();
  }

  /** Type a cluster address for this session; null goes back to the default. */
  setClusterAddress(address: string | null): void {
    this._clusterOverride = address;
    this._scheduleAddressCheck();
    this.stateChanged.emit();
  }

  /** Give the selected cells (or the active one) a role; null removes it. */
  setRole(role: Role | null): void {
    const notebook = this._panel?.content;
    if (!notebook || this.readOnly) {
      return;
    }
    for (const cell of targetCells(notebook)) {
      setCellRole(cell, this.roleTable, role);
    }
  }

  /** Ask the server which cell roles there are and which tag gives each (once, at activation). */
  async loadRoles(): Promise<void> {
    try {
      this._roleTable = await api.roles();
      this._rolesError = null;
    } catch (error) {
      this._rolesError = messageOf(error);
    }
    this._roleTableChanged.emit(this._roleTable);
    this._listRoles();
  }

  /** Select cell `number` (1-based) in the notebook and scroll to it. */
  async selectCell(number: number): Promise<void> {
    const panel = this._panel;
    if (!panel) {
      return;
    }
    this._options.activate(panel);
    await selectCell(panel.content, number);
  }

  /** The settings form changed; once the server judged it, the valid values go to the notebook metadata. */
  setSettings(data: JsonObject): void {
    if (!this._panel) {
      return;
    }
    const renamed = data.name !== this._settings.name;
    const changed = !JSONExt.deepEqual(
      toJson(pruned(data)),
      toJson(pruned(this._settings))
    );
    this._settings = data;
    if (!changed) {
      return; // the form filled in empty groups and lists: nothing for the notebook
    }
    void this._judgeSettings(true);
    if (renamed) {
      this._scheduleService();
    }
    this.stateChanged.emit();
  }

  /** Load the settings form from the server's schema. */
  async loadSettingsForm(): Promise<void> {
    try {
      const answer = await api.settingsForm();
      this._formView = formView(answer.schema);
      this._formError = null;
    } catch (error) {
      this._formError = messageOf(error);
    }
    this.stateChanged.emit();
  }

  /** Save the notebook and publish it; progress arrives through `stateChanged`. */
  async startPublish(): Promise<void> {
    const panel = this._panel;
    if (!panel || this.publishBlocker !== null) {
      return;
    }
    await this._options.publisher.publish({
      context: panel.context,
      kernelId: this.kernelId,
      address: this.clusterAddress.trim(),
      options: this._publishOptions
    });
  }

  /** Ask the server about the service's versions again. */
  async refreshService(): Promise<void> {
    const name = this.serviceName;
    if (!this._panel || name === '') {
      return;
    }
    const previous = this._service?.name === name ? this._service : null;
    this._service = {
      name,
      status: previous?.info ? 'ready' : 'loading',
      info: previous?.info ?? null,
      error: null,
      busy: previous?.busy ?? null,
      notice: previous?.notice ?? null
    };
    this.stateChanged.emit();
    const sequence = ++this._serviceSequence;
    let update: Partial<IServiceState>;
    try {
      update = { status: 'ready', info: await api.service(name), error: null };
    } catch (error) {
      const unpublished =
        error instanceof ApiError && error.status === 404 && !error.missingApi;
      update = unpublished
        ? { status: 'unpublished', info: null, error: null }
        : { status: 'error', info: null, error: messageOf(error) };
    }
    if (sequence === this._serviceSequence && this._service?.name === name) {
      this._service = { ...this._service, ...update };
      this.stateChanged.emit();
      this._watchTraffic();
    }
  }

  /** While a live service is shown, read its traffic window after window (each answer takes a window). */
  private _watchTraffic(): void {
    const service = this._service;
    const live = service?.status === 'ready' && service.info?.live !== null;
    if (!service || !live) {
      this._stopTraffic();
      return;
    }
    if (this._trafficName === service.name) {
      return;
    }
    this._stopTraffic();
    const name = service.name;
    this._trafficName = name;
    const sequence = this._trafficSequence;
    const current = (): boolean =>
      sequence === this._trafficSequence && !this.isDisposed && this._panel !== null;
    void (async () => {
      while (current()) {
        try {
          const reading = await api.traffic(name, TRAFFIC_WINDOW);
          if (!current()) {
            return;
          }
          this._traffic = addReading(this._traffic, reading);
          this._trafficError = null;
        } catch (error) {
          if (!current()) {
            return;
          }
          this._trafficError = messageOf(error);
          await new Promise(resolve =>
            window.setTimeout(resolve, TRAFFIC_WINDOW * 1000)
          );
        }
        this.stateChanged.emit();
      }
    })();
  }

  private _stopTraffic(): void {
    this._trafficSequence++;
    this._trafficName = null;
    this._traffic = {};
    this._trafficError = null;
  }

  /** Make `version` the live one again. */
  async rollback(version: number): Promise<void> {
    await this._serviceAction('rollback', async name => {
      const answer = await api.rollback(name, version);
      return `Version ${answer.live ?? version} is live again.`;
    });
  }

  /** Make `version` live (null: the canary), which ends a canary split. */
  async promote(version: number | null): Promise<void> {
    await this._serviceAction('promote', async name => {
      const answer = await api.promote(name, version);
      return `Version ${answer.live ?? version} is live.`;
    });
  }

  /** Send `share` (0–1) of the live route's predictions to `version`; null ends the split. */
  async setCanary(version: number | null, share = 0.1): Promise<void> {
    await this._serviceAction('canary', async name => {
      const answer = await api.canary(name, version, share);
      return answer.canary
        ? `Version ${answer.canary.version} answers ${Math.round(answer.canary.share * 100)} % of the predictions.`
        : `No canary: version ${answer.live} answers every prediction.`;
    });
  }

  /** Remove the service from the cluster. */
  async deleteService(): Promise<void> {
    await this._serviceAction('delete', async name => {
      await api.remove(name);
      return `Service ${name} was deleted.`;
    });
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearTimeout(this._checkTimer);
    window.clearTimeout(this._rolesTimer);
    window.clearTimeout(this._serviceTimer);
    window.clearTimeout(this._addressTimer);
    this._watcher?.changed.disconnect(this._onNotebookChanged, this);
    this._options.publisher.changed.disconnect(this._onPublishChanged, this);
    this._options.publisher.finished.disconnect(this._onPublishFinished, this);
    super.dispose();
  }

  private async _serviceAction(
    busy: string,
    action: (name: string) => Promise<string>
  ): Promise<void> {
    const service = this._service;
    if (!service || service.busy) {
      return;
    }
    this._service = { ...service, busy, notice: null };
    this.stateChanged.emit();
    let notice: string;
    try {
      notice = await action(service.name);
    } catch (error) {
      notice = `Could not ${busy} ${service.name}: ${messageOf(error)}`;
    }
    if (this._service?.name === service.name) {
      this._service = { ...this._service, busy: null, notice };
    }
    await this.refreshService();
  }

  private _loadNotebook(): void {
    this._requestLog = null;
    this._requestLogError = null;
    const stored: unknown = this._panel?.content.model?.getMetadata(METADATA_KEY);
    this._settings = isObject(stored) ? stored : {};
    this._problems = [];
    void this._judgeSettings(false);
    this._listRoles();
    this._scheduleCheck();
    void this.refreshService();
  }

  private _onNotebookChanged(_: NotebookWatcher, change: NotebookChange): void {
    switch (change) {
      case 'cells':
      case 'cell-metadata':
        this._listRoles();
        this._scheduleCheck();
        break;
      case 'source':
        window.clearTimeout(this._rolesTimer);
        this._rolesTimer = window.setTimeout(() => this._listRoles(), ROLES_DELAY);
        this._scheduleCheck();
        break;
      case 'metadata':
        this._onSettingsChanged();
        this._scheduleCheck();
        break;
      case 'path':
        this._scheduleCheck();
        this.stateChanged.emit();
        break;
      case 'active-cell':
      case 'kernel':
        this.stateChanged.emit();
        break;
    }
  }

  private _listRoles(): void {
    const notebook = this._panel?.content;
    this._roles = groupByRole(this.roleTable, notebook ? cellSummaries(notebook) : []);
    this.stateChanged.emit();
  }

  /** Metadata changed: if not by this form (the metadata editor, a collaborator), show it. */
  private _onSettingsChanged(): void {
    const stored: unknown = this._panel?.content.model?.getMetadata(METADATA_KEY);
    const fromForm = withoutProblems(stored, this._settings, this._problems);
    if (JSONExt.deepEqual(toJson(stored), toJson(fromForm))) {
      return;
    }
    this._settings = isObject(stored) ? stored : {};
    void this._judgeSettings(false);
    this._scheduleService();
    this.stateChanged.emit();
  }

  /**
   * Ask the server's settings model about the form's data; with `write`, put
   * the valid values into the notebook metadata (a value with a problem keeps
   * the one stored). Opening a notebook judges without writing, so that it
   * stays unmodified.
   */
  private async _judgeSettings(write: boolean): Promise<void> {
    const panel = this._panel;
    const sequence = ++this._settingsSequence;
    const data = this._settings;
    let problems: ISettingProblem[];
    try {
      const stored: unknown = panel?.content.model?.getMetadata(METADATA_KEY);
      const candidate = withoutProblems(stored, data, []) ?? {};
      problems = (await api.settingProblems(candidate)).problems;
    } catch (error) {
      problems = [
        {
          path: [],
          message: `The server could not check the settings: ${messageOf(error)}`
        }
      ];
    }
    if (sequence !== this._settingsSequence || panel !== this._panel) {
      return;
    }
    this._problems = problems;
    const model = panel?.content.model;
    if (write && model && !model.readOnly) {
      const stored: unknown = model.getMetadata(METADATA_KEY);
      const next = withoutProblems(stored, data, problems);
      if (!JSONExt.deepEqual(toJson(stored), toJson(next))) {
        if (next === null) {
          model.deleteMetadata(METADATA_KEY);
        } else {
          model.setMetadata(METADATA_KEY, next);
        }
      }
    }
    this.stateChanged.emit();
  }

  /** The address is checked by the server once typing pauses; an empty one is the embedded cluster. */
  private _scheduleAddressCheck(): void {
    window.clearTimeout(this._addressTimer);
    const address = this.clusterAddress.trim();
    const sequence = ++this._addressSequence;
    if (address === '') {
      this._clusterError = null;
      return;
    }
    this._addressTimer = window.setTimeout(async () => {
      let error: string | null;
      try {
        error = (await api.clusterAddress(address)).error;
      } catch {
        error = null; // the server could not say: publish applies the same rule and reports it
      }
      if (sequence === this._addressSequence && !this.isDisposed) {
        this._clusterError = error;
        this.stateChanged.emit();
      }
    }, ADDRESS_DELAY);
  }

  private _scheduleCheck(): void {
    window.clearTimeout(this._checkTimer);
    this._checkTimer = window.setTimeout(() => void this._runCheck(), CHECK_DELAY);
  }

  private async _runCheck(): Promise<void> {
    const panel = this._panel;
    const model = panel?.content.model;
    if (!panel || !model) {
      return;
    }
    const sequence = ++this._checkSequence;
    const service = this.serviceName;
    this._check = { ...this._check, running: true };
    this.stateChanged.emit();
    let check: ICheckState;
    try {
      const result = await api.check(panel.context.path, model.toJSON());
      check = { running: false, result, error: null };
    } catch (error) {
      check = { running: false, result: null, error: messageOf(error) };
    }
    if (sequence !== this._checkSequence || panel !== this._panel) {
      return;
    }
    this._check = check;
    if (this.serviceName !== service || this._service?.name !== this.serviceName) {
      void this.refreshService();
    }
    this.stateChanged.emit();
  }

  /** The service name may be changing as it is typed: look it up once typing stops. */
  private _scheduleService(): void {
    window.clearTimeout(this._serviceTimer);
    this._serviceTimer = window.setTimeout(() => {
      if (this._service?.name !== this.serviceName) {
        void this.refreshService();
      }
    }, CHECK_DELAY);
  }

  private _onPublishChanged(_: Publisher, path: string): void {
    if (path === this.path) {
      this.stateChanged.emit();
    }
  }

  private _onPublishFinished(_: Publisher, view: IPublishView): void {
    if (view.path === this.path) {
      void this.refreshService();
    }
  }

  private _panel: NotebookPanel | null = null;
  private _watcher: NotebookWatcher | null = null;
  private _roles: RoleGroups = {};
  private _roleTable: IRoleTable = NO_ROLES;
  private _rolesError: string | null = null;
  private _roleTableChanged = new Signal<this, IRoleTable>(this);
  private _settings: JsonObject = {};
  private _problems: ISettingProblem[] = [];
  private _settingsSequence = 0;
  private _formView: IFormView | null = null;
  private _formError: string | null = null;
  private _check: ICheckState = { running: false, result: null, error: null };
  private _checkSequence = 0;
  private _checkTimer = 0;
  private _rolesTimer = 0;
  private _serviceTimer = 0;
  private _service: IServiceState | null = null;
  private _publishOptions: IPublishOptions = { replay: 0, canary: null };
  private _requestLog: IRequestLog | null = null;
  private _requestLogError: string | null = null;
  private _traffic: TrafficHistory = {};
  private _trafficError: string | null = null;
  private _trafficName: string | null = null;
  private _trafficSequence = 0;
  private _serviceSequence = 0;
  private _clusterDefault = '';
  private _clusterOverride: string | null = null;
  private _clusterError: string | null = null;
  private _addressTimer = 0;
  private _addressSequence = 0;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function toJson(value: unknown): ReadonlyPartialJSONValue {
  return value === undefined ? null : (value as ReadonlyPartialJSONValue);
}
