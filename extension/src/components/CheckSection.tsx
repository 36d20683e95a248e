/**
 * The live check: what each stage will capture, and the problems to fix.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatBytes, totalBytes } from '../logic/files';
import { STAGES } from '../logic/settings';
import type { CellserveModel } from '../model';
import { CellLink, Problem, Section } from './common';
import { stageLabels } from './labels';

export function CheckSection(props: {
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const { running, result, error } = model.check;
  const onSelect = (cell: number) => void model.selectCell(cell);
  const labels = stageLabels(trans);
  let status: React.ReactNode;
  if (error !== null) {
    status = (
      <p className="cellserve-check-status cellserve-mod-error" role="status">
        {trans.__('Cannot check the notebook: %1', error)}
      </p>
    );
  } else if (result === null) {
    status = (
      <p className="cellserve-check-status" role="status">
        {trans.__('Checking the notebook…')}
      </p>
    );
  } else {
    const count = result.problems.length;
    status = (
      <p
        className={`cellserve-check-status ${result.ok ? 'cellserve-mod-ok' : 'cellserve-mod-warn'}`}
        data-ok={result.ok}
        role="status"
      >
        {result.ok
          ? trans.__(
              'Ready to publish service %1.',
              result.service ?? result.default_service
            )
          : trans._n(
              '%1 problem to fix before publishing service %2.',
              '%1 problems to fix before publishing service %2.',
              count,
              result.service ?? result.default_service
            )}
      </p>
    );
  }
  return (
    <Section
      id="check"
      title={trans.__('Check')}
      extra={
        running ? (
          <span className="cellserve-busy" aria-label={trans.__('Checking')} />
        ) : null
      }
    >
      {status}
      {result !== null &&
        STAGES.map(stage => {
          const found = result.stages[stage];
          if (found === undefined) {
            return null;
          }
          return (
            <div key={stage} className="cellserve-check-stage" data-stage={stage}>
              <div className="cellserve-check-stage-title">
                <strong>{labels[stage]}</strong>
                {found.cells.map(cell => (
                  <CellLink key={cell} cell={cell} onSelect={onSelect} trans={trans} />
                ))}
              </div>
              {found.inputs.length > 0 && (
                <div className="cellserve-check-inputs">
                  {trans.__('reads: %1', found.inputs.join(', '))}
                </div>
              )}
              <div className="cellserve-check-captured">
                {found.captured.length > 0
                  ? trans.__('will capture: %1', found.captured.join(', '))
                  : trans.__('will capture: nothing')}
              </div>
            </div>
          );
        })}
      {result !== null && (result.files ?? []).length > 0 && (
        <div className="cellserve-check-files">
          <strong>
            {trans.__(
              'Files shipped with the service (%1)',
              formatBytes(totalBytes(result.files ?? []))
            )}
          </strong>
          <ul aria-label={trans.__('Files shipped with the service')}>
            {(result.files ?? []).map(file => (
              <li key={file.path} data-path={file.path}>
                <code>{file.path}</code> {formatBytes(file.bytes)}
                {file.cells.map(cell => (
                  <CellLink key={cell} cell={cell} onSelect={onSelect} trans={trans} />
                ))}
              </li>
            ))}
          </ul>
        </div>
      )}
      {result !== null && result.problems.length > 0 && (
        <ul className="cellserve-problems">
          {result.problems.map((item, index) => (
            <Problem
              key={index}
              className="cellserve-problem"
              message={item.message}
              cell={item.cell}
              onSelect={onSelect}
              trans={trans}
            />
          ))}
        </ul>
      )}
    </Section>
  );
}
