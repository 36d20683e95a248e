/**
 * The cellserve sidebar: a `SidePanel` holding one view rendered from the model.
 */

import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { SidePanel, VDomRenderer } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';
import * as React from 'react';

import { CheckSection } from './components/CheckSection';
import { PublishSection } from './components/PublishSection';
import { RolesSection } from './components/RolesSection';
import { SettingsSection } from './components/SettingsSection';
import { VersionsSection } from './components/VersionsSection';
import type { IServiceActions } from './components/VersionsSection';
import { cellserveIcon } from './icon';
import type { CellserveModel } from './model';

/** Id of the sidebar, for `app.shell.activateById`. */
export const PANEL_ID = 'cellserve-sidebar';

/** Renders the whole panel whenever the model changes. */
export class CellserveView extends VDomRenderer<CellserveModel> {
  constructor(
    model: CellserveModel,
    private readonly _trans: TranslationBundle,
    private readonly _actions: IServiceActions
  ) {
    super(model);
    this.addClass('cellserve-view');
  }

  protected render(): JSX.Element {
    const model = this.model;
    const trans = this._trans;
    if (model.panel === null) {
      return (
        <p className="cellserve-no-notebook">
          {trans.__(
            'Open a notebook to give its cells roles and publish it as a Ray Serve endpoint.'
          )}
        </p>
      );
    }
    return (
      <>
        <p className="cellserve-notebook" title={model.path}>
          {model.path}
        </p>
        <RolesSection model={model} trans={trans} />
        <CheckSection model={model} trans={trans} />
        <SettingsSection model={model} trans={trans} />
        <PublishSection model={model} trans={trans} />
        <VersionsSection model={model} trans={trans} actions={this._actions} />
      </>
    );
  }
}

/** The sidebar widget around the view. */
export function createSidebar(
  view: CellserveView,
  translator: ITranslator,
  trans: TranslationBundle
): SidePanel {
  const sidebar = new SidePanel({ content: new Panel(), translator });
  sidebar.id = PANEL_ID;
  sidebar.addClass('cellserve-panel');
  sidebar.title.icon = cellserveIcon;
  sidebar.title.caption = trans.__('cellserve');
  const header = new Widget();
  header.addClass('cellserve-header');
  header.node.textContent = trans.__('cellserve');
  sidebar.header.addWidget(header);
  sidebar.addWidget(view);
  return sidebar;
}
