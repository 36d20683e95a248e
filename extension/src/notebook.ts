/**
 * What the extension reads from and does to an open notebook: cell summaries,
 * role tags, selecting a cell, and one signal for every change that matters.
 */

import type { ICellModel } from '@jupyterlab/cells';
import type { Notebook, NotebookPanel } from '@jupyterlab/notebook';
import type { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { asTags, withRole } from './logic/roles';
import type { ICellSummary, IRoleTable, Role } from './logic/roles';

/** The tags of a cell model. */
export function cellTags(cell: ICellModel): string[] {
  return asTags(cell.getMetadata('tags'));
}

/** Tags and source of every cell, in notebook order. */
export function cellSummaries(notebook: Notebook): ICellSummary[] {
  const cells = notebook.model?.cells;
  if (!cells) {
    return [];
  }
  return Array.from(cells, cell => ({
    tags: cellTags(cell),
    source: cell.sharedModel.getSource()
  }));
}

/** Give a cell `role` of `table` (null: none), keeping its other tags. */
export function setCellRole(
  cell: ICellModel,
  table: IRoleTable,
  role: Role | null
): void {
  const before = cellTags(cell);
  const after = withRole(table, before, role);
  if (after.length === before.length && after.every((tag, i) => tag === before[i])) {
    return;
  }
  if (after.length === 0) {
    cell.deleteMetadata('tags');
  } else {
    cell.setMetadata('tags', after);
  }
}

/** The selected cells, or the active one when none is selected. */
export function targetCells(notebook: Notebook): ICellModel[] {
  return notebook.widgets
    .filter(cell => notebook.isSelectedOrActive(cell))
    .map(cell => cell.model);
}

/** Make cell `number` (1-based among all cells) the only selected one and scroll to it. */
export async function selectCell(notebook: Notebook, number: number): Promise<boolean> {
  const index = number - 1;
  if (index < 0 || index >= notebook.widgets.length) {
    return false;
  }
  notebook.mode = 'command';
  notebook.deselectAll();
  notebook.activeCellIndex = index;
  await notebook.scrollToItem(index, 'smart');
  return true;
}

/** The id of the notebook's kernel if one is running (not dead, not shutting down). */
export function runningKernelId(panel: NotebookPanel): string | null {
  const kernel = panel.sessionContext.session?.kernel;
  if (!kernel || kernel.isDisposed) {
    return null;
  }
  return kernel.status === 'dead' || kernel.status === 'terminating' ? null : kernel.id;
}

/** What changed in a watched notebook. */
export type NotebookChange =
  'cells' | 'cell-metadata' | 'source' | 'metadata' | 'active-cell' | 'kernel' | 'path';

/**
 * Turns a notebook panel's many signals into one: `changed`, with what changed.
 * Follows cells as they are added, removed or moved.
 */
export class NotebookWatcher implements IDisposable {
  constructor(readonly panel: NotebookPanel) {
    const notebook = panel.content;
    notebook.activeCellChanged.connect(this._onActiveCell, this);
    notebook.selectionChanged.connect(this._onActiveCell, this);
    panel.sessionContext.kernelChanged.connect(this._onKernel, this);
    panel.sessionContext.statusChanged.connect(this._onKernel, this);
    panel.context.pathChanged.connect(this._onPath, this);
    void panel.context.ready.then(() => this._watchModel());
  }

  /** Emitted for each change, synchronously. */
  get changed(): ISignal<this, NotebookChange> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._unwatchCells();
    Signal.clearData(this);
  }

  private _watchModel(): void {
    const model = this.panel.content.model;
    if (this._isDisposed || !model) {
      return;
    }
    model.cells.changed.connect(this._onCells, this);
    model.metadataChanged.connect(this._onMetadata, this);
    this._watchCells();
    this._changed.emit('cells');
  }

  private _watchCells(): void {
    const model = this.panel.content.model;
    if (!model) {
      return;
    }
    for (const cell of model.cells) {
      if (!this._cells.has(cell)) {
        cell.metadataChanged.connect(this._onCellMetadata, this);
        cell.contentChanged.connect(this._onSource, this);
        this._cells.add(cell);
      }
    }
  }

  private _unwatchCells(): void {
    for (const cell of this._cells) {
      cell.metadataChanged.disconnect(this._onCellMetadata, this);
      cell.contentChanged.disconnect(this._onSource, this);
    }
    this._cells.clear();
  }

  private _onCells(): void {
    // Cells leave with a change too: watch exactly the ones there now.
    this._unwatchCells();
    this._watchCells();
    this._changed.emit('cells');
  }

  private _onCellMetadata(): void {
    this._changed.emit('cell-metadata');
  }

  private _onSource(): void {
    this._changed.emit('source');
  }

  private _onMetadata(): void {
    this._changed.emit('metadata');
  }

  private _onActiveCell(): void {
    this._changed.emit('active-cell');
  }

  private _onKernel(): void {
    this._changed.emit('kernel');
  }

  private _onPath(): void {
    this._changed.emit('path');
  }

  private _cells = new Set<ICellModel>();
  private _isDisposed = false;
  private _changed = new Signal<this, NotebookChange>(this);
}
