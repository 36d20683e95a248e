/**
 * Shows each cell's role in the notebook itself: the cell node gets the class
 * `cellserve-role-<role>` and the attribute `data-cellserve-role`, which the
 * stylesheet turns into a colored bar and a small label.
 */

import type { Cell } from '@jupyterlab/cells';
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';

import { rolesOfTags } from './logic/roles';
import type { IRoleTable } from './logic/roles';
import { cellTags } from './notebook';
import type { NotebookChange, NotebookWatcher } from './notebook';

/** Class a cell node gets for `role`. */
export function markerClass(role: string): string {
  return `cellserve-role-${role}`;
}

/** Mark one cell node with the roles its tags give. */
export function markCell(cell: Cell, table: IRoleTable): void {
  const roles = rolesOfTags(table, cellTags(cell.model));
  for (const role of table.roles) {
    cell.node.classList.toggle(markerClass(role.name), roles.includes(role.name));
  }
  if (roles.length > 0) {
    cell.node.dataset.cellserveRole = roles.join(' ');
  } else {
    delete cell.node.dataset.cellserveRole;
  }
}

/** Where the markers read the role table, and hear that it arrived. */
export interface IRoleSource {
  readonly roleTable: IRoleTable;
  readonly roleTableChanged: ISignal<unknown, IRoleTable>;
}

/** Keeps the markers of one notebook's cells in step with their tags. */
export class CellMarkers implements IDisposable {
  constructor(
    private readonly _watcher: NotebookWatcher,
    private readonly _roles: IRoleSource
  ) {
    _watcher.changed.connect(this._onChange, this);
    _roles.roleTableChanged.connect(this._markAll, this);
    this._markAll();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._watcher.changed.disconnect(this._onChange, this);
    this._roles.roleTableChanged.disconnect(this._markAll, this);
  }

  private _onChange(_: NotebookWatcher, change: NotebookChange): void {
    if (change === 'cells' || change === 'cell-metadata') {
      this._markAll();
    }
  }

  private _markAll(): void {
    for (const cell of this._watcher.panel.content.widgets) {
      markCell(cell, this._roles.roleTable);
    }
  }

  private _isDisposed = false;
}
