/**
 * Cell roles: buttons that give the selected cells a role, and the tagged cells
 * listed by role.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { IRole, Role } from '../logic/roles';
import type { CellserveModel } from '../model';
import { CellLink, Section } from './common';

/** The name the panel shows for a role: translated where it is one the panel knows, else the name itself. */
export function roleLabel(trans: TranslationBundle, role: Role): string {
  const known: Partial<Record<Role, string>> = {
    setup: trans.__('Setup'),
    preprocessing: trans.__('Preprocessing'),
    predict: trans.__('Predict')
  };
  return known[role] ?? role.charAt(0).toUpperCase() + role.slice(1);
}

/** What a role's cells do, and the tag that gives it. */
function roleHelp(trans: TranslationBundle, role: IRole): string {
  const known: Partial<Record<Role, string>> = {
    setup: trans.__('Runs once when a replica starts: imports, loading a model.'),
    preprocessing: trans.__(
      'Runs per request with the JSON body bound to the input variable.'
    ),
    predict: trans.__(
      'Runs per request after preprocessing; the last expression is the response.'
    )
  };
  const tag = trans.__('Tag: %1', role.tag);
  return known[role.name] ? `${known[role.name]} ${tag}` : tag;
}

export function RolesSection(props: {
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const roles = model.roleTable.roles;
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
              ? activeRoles.map(role => roleLabel(trans, role)).join(', ')
              : trans.__('no role')}
          </span>
        )}
      </p>
      {model.rolesError !== null && (
        <p className="cellserve-hint cellserve-mod-warn">
          {trans.__('The server did not name the cell roles: %1', model.rolesError)}
        </p>
      )}
      <div
        className="cellserve-buttons"
        role="group"
        aria-label={trans.__('Give the cell a role')}
      >
        {roles.map(role => (
          <button
            key={role.name}
            type="button"
            className="jp-mod-styled cellserve-role-button"
            data-cellserve-action={`tag-${role.name}`}
            data-role={role.name}
            aria-pressed={count === 1 && activeRoles.includes(role.name)}
            title={roleHelp(trans, role)}
            disabled={disabled}
            onClick={() => model.setRole(role.name)}
          >
            {roleLabel(trans, role.name)}
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
      {roles.map(({ name: role }) => {
        const entries = model.roles[role] ?? [];
        return (
          <div key={role} className="cellserve-role-group" data-role={role}>
            <h4 className="cellserve-role-heading">
              <span className="cellserve-role-dot" data-role={role} />
              {roleLabel(trans, role)}
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
