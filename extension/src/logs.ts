/**
 * Service logs in a main-area tab, one section per replica, with a refresh button.
 */

import type { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon, ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { api } from './api';
import { cellserveIcon } from './icon';

/** Lines asked for per replica. */
export const LOG_TAIL = 200;

/** The logs of one service's replicas. */
export class LogsView extends Widget {
  constructor(
    readonly service: string,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('cellserve-logs');
    this.node.tabIndex = 0;
  }

  /** Load the latest lines; the old ones stay until they arrive. */
  async refresh(): Promise<void> {
    this.node.setAttribute('aria-busy', 'true');
    try {
      this._show(await api.logs(this.service, LOG_TAIL));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this._note(
        this._trans.__('Cannot load the logs of %1: %2', this.service, message)
      );
    } finally {
      this.node.removeAttribute('aria-busy');
    }
  }

  private _show(logs: Record<string, string>): void {
    const entries = Object.entries(logs);
    if (entries.length === 0) {
      this._note(this._trans.__('No replica of %1 has logs.', this.service));
      return;
    }
    const sections = entries.map(([replica, text]) => {
      const section = document.createElement('section');
      section.className = 'cellserve-log';
      section.dataset.replica = replica;
      const heading = document.createElement('h3');
      heading.textContent = replica;
      const pre = document.createElement('pre');
      pre.textContent = text || this._trans.__('(no output)');
      section.append(heading, pre);
      return section;
    });
    this.node.replaceChildren(...sections);
  }

  private _note(message: string): void {
    const note = document.createElement('p');
    note.className = 'cellserve-hint';
    note.textContent = message;
    this.node.replaceChildren(note);
  }
}

/** Opens a service's logs, reusing its tab when one is open. */
export class LogsOpener {
  constructor(
    private readonly _app: JupyterFrontEnd,
    private readonly _trans: TranslationBundle
  ) {}

  open(service: string): void {
    let widget = this._open.get(service);
    if (widget === undefined || widget.isDisposed) {
      widget = this._create(service);
    } else {
      this._app.shell.activateById(widget.id);
    }
    void widget.content.refresh();
  }

  private _create(service: string): MainAreaWidget<LogsView> {
    const content = new LogsView(service, this._trans);
    const widget = new MainAreaWidget({ content });
    widget.id = `cellserve-logs-${service}`;
    widget.title.label = this._trans.__('Logs: %1', service);
    widget.title.icon = cellserveIcon;
    widget.title.closable = true;
    widget.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: this._trans.__('Load the latest log lines'),
        onClick: () => void content.refresh()
      })
    );
    this._open.set(service, widget);
    widget.disposed.connect(() => this._open.delete(service));
    this._app.shell.add(widget, 'main', { mode: 'split-right' });
    return widget;
  }

  private _open = new Map<string, MainAreaWidget<LogsView>>();
}
