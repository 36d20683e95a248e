/**
 * Publish jobs, one per notebook path: save, start the job, then poll it about
 * every second until it ends. Nothing here waits on the UI thread; the panel
 * reads `job(path)` whenever `changed` fires.
 */

import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { api, ApiError } from './api';
import type { IPublishOptions } from './api';
import type { IPublishJob } from './tokens';

/** How often a running job is polled, in milliseconds. */
export const POLL_INTERVAL = 1000;

/** Failed polls in a row after which the job is given up. */
export const MAX_POLL_FAILURES = 30;

/** Where a publish stands, from the panel's side. */
export type PublishPhase = 'saving' | 'starting' | 'running' | 'succeeded' | 'failed';

/** Everything the panel shows of one publish. */
export interface IPublishView {
  path: string;
  phase: PublishPhase;
  /** How values are captured, as asked for when it started. */
  liveKernel: boolean;
  /** The job as last polled (null before it started). */
  job: IPublishJob | null;
  /** Why it failed before the job could report it (saving, starting, lost contact). */
  error: string | null;
  /** A poll that failed while the job may still run. */
  pollError: string | null;
}

/** What starting a publish needs. */
export interface IPublishRequest {
  context: DocumentRegistry.IContext<DocumentRegistry.IModel>;
  kernelId: string | null;
  address: string;
  options?: IPublishOptions;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs publish jobs and keeps their latest state. */
export class Publisher implements IDisposable {
  /** Emitted with the notebook path whenever its publish changes. */
  get changed(): ISignal<this, string> {
    return this._changed;
  }

  /** Emitted with the notebook path when its publish has ended, either way. */
  get finished(): ISignal<this, IPublishView> {
    return this._finished;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The latest publish of the notebook at `path`. */
  view(path: string): IPublishView | null {
    return this._views.get(path) ?? null;
  }

  /** Whether a publish of `path` is under way. */
  isBusy(path: string): boolean {
    const phase = this._views.get(path)?.phase;
    return phase === 'saving' || phase === 'starting' || phase === 'running';
  }

  /** Save the notebook, start its publish job and follow it until it ends. */
  async publish(request: IPublishRequest): Promise<void> {
    const path = request.context.path;
    if (this.isBusy(path)) {
      return;
    }
    this._set({
      path,
      phase: 'saving',
      liveKernel: request.kernelId !== null,
      job: null,
      error: null,
      pollError: null
    });
    try {
      await request.context.save();
    } catch (error) {
      this._end(path, {
        phase: 'failed',
        error: `Could not save the notebook: ${messageOf(error)}`
      });
      return;
    }
    this._update(path, { phase: 'starting' });
    let id: string;
    try {
      id = (await api.publish(path, request.kernelId, request.address, request.options))
        .id;
    } catch (error) {
      this._end(path, {
        phase: 'failed',
        error: `Could not start publishing: ${messageOf(error)}`
      });
      return;
    }
    this._update(path, { phase: 'running' });
    this._schedule(path, id, 0);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    for (const timer of this._timers.values()) {
      window.clearTimeout(timer);
    }
    this._timers.clear();
    Signal.clearData(this);
  }

  private _schedule(path: string, id: string, failures: number): void {
    const timer = window.setTimeout(() => {
      this._timers.delete(path);
      void this._poll(path, id, failures);
    }, POLL_INTERVAL);
    this._timers.set(path, timer);
  }

  private async _poll(path: string, id: string, failures: number): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    let job: IPublishJob;
    try {
      job = await api.job(id);
    } catch (error) {
      const gone = error instanceof ApiError && error.status === 404;
      if (gone || failures + 1 >= MAX_POLL_FAILURES) {
        this._end(path, {
          phase: 'failed',
          error: `Lost track of publish job ${id}: ${messageOf(error)}`
        });
      } else {
        this._update(path, {
          pollError: `No answer about the job, retrying: ${messageOf(error)}`
        });
        this._schedule(path, id, failures + 1);
      }
      return;
    }
    if (job.state === 'running') {
      this._update(path, { job, pollError: null });
      this._schedule(path, id, 0);
    } else {
      this._end(path, { job, pollError: null, phase: job.state });
    }
  }

  private _set(view: IPublishView): void {
    this._views.set(view.path, view);
    this._changed.emit(view.path);
  }

  private _update(path: string, change: Partial<IPublishView>): void {
    const view = this._views.get(path);
    if (view !== undefined && !this._isDisposed) {
      this._set({ ...view, ...change });
    }
  }

  private _end(path: string, change: Partial<IPublishView>): void {
    this._update(path, change);
    const view = this._views.get(path);
    if (view !== undefined && !this._isDisposed) {
      this._finished.emit(view);
    }
  }

  private _views = new Map<string, IPublishView>();
  private _timers = new Map<string, number>();
  private _isDisposed = false;
  private _changed = new Signal<this, string>(this);
  private _finished = new Signal<this, IPublishView>(this);
}
