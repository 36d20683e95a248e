/**
 * cellserve for JupyterLab: a sidebar to give notebook cells a role, set the
 * service up and publish it as a Ray Serve endpoint, with commands and
 * shortcuts for the roles.
 */

import { ILayoutRestorer } from '@jupyterlab/application';
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';

import { cellserveIcon } from './icon';
import type { LogsOpener } from './logs';
import { CellMarkers } from './markers';
import { CellserveModel } from './model';
import { NotebookWatcher, setCellRole, targetCells } from './notebook';
import { createSidebar, CellserveView, PANEL_ID } from './panel';
import { Publisher } from './publisher';
import { roleTag } from './logic/roles';
import type { Role } from './logic/roles';
import { CommandIDs, PLUGIN_ID } from './tokens';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Give notebook cells a cellserve role and publish the notebook as a Ray Serve endpoint.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette, ISettingRegistry, ITranslator],
  activate
};

function activate(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  settingRegistry: ISettingRegistry | null,
  translator: ITranslator | null
): void {
  const translation = translator ?? nullTranslator;
  const trans = translation.load('cellserve');

  const watchers = new Map<NotebookPanel, NotebookWatcher>();
  const watch = (panel: NotebookPanel): NotebookWatcher | null => {
    if (panel.isDisposed) {
      return null;
    }
    let watcher = watchers.get(panel);
    if (watcher === undefined) {
      const created = new NotebookWatcher(panel);
      const markers = new CellMarkers(created, model);
      watchers.set(panel, created);
      panel.disposed.connect(() => {
        markers.dispose();
        created.dispose();
        watchers.delete(panel);
      });
      watcher = created;
    }
    return watcher;
  };

  const publisher = new Publisher();
  const model = new CellserveModel({
    publisher,
    watcherOf: watch,
    activate: panel => app.shell.activateById(panel.id)
  });
  tracker.forEach(panel => void watch(panel));
  tracker.widgetAdded.connect((_, panel) => void watch(panel));
  // The converter decides the cell roles and their tags: asked once, without holding up the start.
  void model.loadRoles();
  let logs: LogsOpener | null = null;
  const view = new CellserveView(model, trans, {
    confirmDelete: name => confirmDelete(name, trans),
    openLogs: async name => {
      const { LogsOpener } = await import('./logs');
      logs ??= new LogsOpener(app, trans);
      logs.open(name);
    }
  });
  const sidebar = createSidebar(view, translation, trans);
  app.shell.add(sidebar, 'left', { rank: 250 });
  restorer?.add(sidebar, 'cellserve');

  model.setPanel(tracker.currentWidget);
  tracker.currentChanged.connect((_, panel) => model.setPanel(panel));
  void model.loadSettingsForm();

  if (settingRegistry !== null) {
    settingRegistry
      .load(PLUGIN_ID)
      .then(settings => {
        const apply = () => {
          const address = settings.get('clusterAddress').composite;
          model.setClusterAddressDefault(typeof address === 'string' ? address : '');
        };
        apply();
        settings.changed.connect(apply);
      })
      .catch(reason => {
        console.error('cellserve: cannot load the settings.', reason);
      });
  }

  addCommands(app, tracker, model, trans);
  if (palette !== null) {
    const category = trans.__('cellserve');
    for (const command of Object.values(CommandIDs)) {
      palette.addItem({ command, category });
    }
  }
}

/** Ask before a service is deleted. */
async function confirmDelete(name: string, trans: TranslationBundle): Promise<boolean> {
  const result = await showDialog({
    title: trans.__('Delete service %1?', name),
    body: trans.__(
      'Every version of %1 is removed from the cluster and its endpoint stops answering.',
      name
    ),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: trans.__('Delete') })
    ]
  });
  return result.button.accept;
}

function addCommands(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  model: CellserveModel,
  trans: TranslationBundle
): void {
  const { commands, shell } = app;
  const noArgs = { args: { type: 'object' as const, properties: {} } };
  const writable = () => {
    const notebook = tracker.currentWidget?.content;
    return (
      notebook?.model !== null &&
      notebook?.model !== undefined &&
      !notebook.model.readOnly
    );
  };
  const giveRole = (role: Role | null) => {
    const notebook = tracker.currentWidget?.content;
    if (notebook && writable()) {
      for (const cell of targetCells(notebook)) {
        setCellRole(cell, model.roleTable, role);
      }
    }
  };
  // The commands (and their shortcuts) name a role; the server's table gives its tag.
  const roleCommands: [string, Role | null, string][] = [
    [CommandIDs.tagSetup, 'setup', trans.__('Give Cell the Setup Role')],
    [
      CommandIDs.tagPreprocessing,
      'preprocessing',
      trans.__('Give Cell the Preprocessing Role')
    ],
    [CommandIDs.tagPredict, 'predict', trans.__('Give Cell the Predict Role')],
    [CommandIDs.untag, null, trans.__('Remove Cell Role')]
  ];
  const tagOf = (role: Role) => roleTag(model.roleTable, role);
  model.roleTableChanged.connect(() => commands.notifyCommandChanged());
  for (const [id, role, label] of roleCommands) {
    commands.addCommand(id, {
      label,
      caption: () => {
        if (role === null) {
          return trans.__('Remove the cellserve role tag of the selected cells');
        }
        const tag = tagOf(role);
        return tag === null
          ? trans.__('The server names no role %1', role)
          : trans.__('Tag the selected cells %1', tag);
      },
      describedBy: noArgs,
      isEnabled: () => writable() && (role === null || tagOf(role) !== null),
      execute: () => giveRole(role)
    });
  }
  commands.addCommand(CommandIDs.publish, {
    label: trans.__('Publish Notebook as Endpoint'),
    caption: trans.__('Save the notebook and publish it as a Ray Serve endpoint'),
    icon: cellserveIcon,
    describedBy: noArgs,
    isEnabled: () => model.publishBlocker === null,
    execute: async () => {
      shell.activateById(PANEL_ID);
      await model.startPublish();
    }
  });
  commands.addCommand(CommandIDs.openPanel, {
    label: trans.__('Open cellserve Panel'),
    caption: trans.__('Show the cellserve sidebar'),
    icon: cellserveIcon,
    describedBy: noArgs,
    execute: () => shell.activateById(PANEL_ID)
  });
}

export default plugin;
