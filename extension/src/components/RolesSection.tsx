/**
 * Cell roles: buttons that give the selected cells a role, and the tagged cells
 * listed by role.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { ROLES } from '../logic/roles';
import type { Role } from '../logic/roles';
import type { CellserveModel } from '../model';
import { CellLink, Section } from './common';

/** Button label and caption of each role. */
export function roleLabels(trans: TranslationBundle): Record<Role, string> {
  return {
    setup: trans.__('Setup'),
    preprocessing: trans.__('Preprocessing'),
    predict: trans.__('Predict')
  };
}

function roleHelp(trans: TranslationBundle): Record<Role, string> {
  return {
    setup: trans.__('Runs once when a replica starts: imports, loading a model.'),
    preprocessing: trans.__(
      'Runs per request with the JSON body bound to the input variable.'
    ),
    predict: trans.__(
      'Runs per request after preprocessing; the last expression is the response.'
    )
  };
}

export function RolesSection(props: {
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const labels = roleLabels(trans);
  const help = roleHelp(trans);
  const active = model.activeCell;
  const activeRoles = model.activeRoles;
  const count = model.targetCount;
  const disabled = model.readOnly || count === 0;
  const onSelect = (cell: number) => void model.selectCell(cell);
  const target =
    count > 1
      ? trans.__('%1 selected cells', count)
      : active === null
        ? trans.__('no active cell')
        : trans.__('cell %1', active);
  return (
    <Section id="roles" title={trans.__('Cell roles')}>
      <p className="cellserve-active-cell">
        {trans.__('Active: %1', target)}
        {count === 1 && (
          <span className="cellserve-role-badge" data-role={activeRoles[0] ?? 'none'}>
            {activeRoles.length > 0
              ? activeRoles.map(role => labels[role]).join(', ')
              : trans.__('no role')}
          </span>
        )}
      </p>
      <div
        className="cellserve-buttons"
        role="group"
        aria-label={trans.__('Give the cell a role')}
      >
        {ROLES.map(role => (
          <button
            key={role}
            type="button"
            className="jp-mod-styled cellserve-role-button"
            data-cellserve-action={`tag-${role}`}
            data-role={role}
            aria-pressed={count === 1 && activeRoles.includes(role)}
            title={help[role]}
            disabled={disabled}
            onClick={() => model.setRole(role)}
          >
            {labels[role]}
          </button>
        ))}
        <button
          type="button"
          className="jp-mod-styled cellserve-role-button"
          data-cellserve-action="untag"
          title={trans.__('Remove the cellserve role, keeping other tags')}
          disabled={disabled}
          onClick={() => model.setRole(null)}
        >
          {trans.__('Remove role')}
        </button>
      </div>
      {ROLES.map(role => {
        const entries = model.roles[role];
        return (
          <div key={role} className="cellserve-role-group" data-role={role}>
            <h4 className="cellserve-role-heading">
              <span className="cellserve-role-dot" data-role={role} />
              {labels[role]}
              <span className="cellserve-count">{entries.length}</span>
            </h4>
            {entries.length === 0 ? (
              <p className="cellserve-empty">{trans.__('No cell has this role.')}</p>
            ) : (
              <ul className="cellserve-cell-list">
                {entries.map(entry => (
                  <li key={entry.cell}>
                    <CellLink cell={entry.cell} onSelect={onSelect} trans={trans}>
                      <span className="cellserve-cell-number">
                        {trans.__('cell %1', entry.cell)}
                      </span>
                      <code className="cellserve-first-line">
                        {entry.firstLine || trans.__('(empty)')}
                      </code>
                    </CellLink>
                  </li>
                ))}
              </ul>
            )}
          </div>
        );
      })}
    </Section>
  );
}
