/**
 * Publishing: where to, how values are captured, the button, then each step as
 * it happens and the links the service answers on.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatElapsed, jobSummary, stepLabel, stepRows } from '../logic/progress';
import { percent } from '../logic/traffic';
import type { CellserveModel } from '../model';
import type { IPublishView } from '../publisher';
import type { IPublishResult } from '../tokens';
import { CellLink, CopyableLink, Section } from './common';

function ClusterAddress(props: {
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const error = model.clusterAddressError;
  const fallback = model.clusterAddressDefault || trans.__('embedded local cluster');
  return (
    <div
      className={`cellserve-field${error !== null ? ' cellserve-mod-invalid' : ''}`}
      data-field="cluster_address"
    >
      <label htmlFor="cellserve-cluster-address" className="cellserve-field-label">
        {trans.__('Cluster address')}
      </label>
      <div className="cellserve-input-row">
        <input
          id="cellserve-cluster-address"
          name="cluster_address"
          type="text"
          className="jp-mod-styled cellserve-input"
          spellCheck={false}
          autoComplete="off"
          value={model.clusterAddress}
          placeholder={trans.__('embedded local cluster')}
          title={trans.__(
            'Ray dashboard address, e.g. http://HOST:8265. The default comes from Settings → cellserve.'
          )}
          aria-invalid={error !== null}
          aria-describedby={
            error !== null ? 'cellserve-cluster-address-error' : undefined
          }
          onChange={event => model.setClusterAddress(event.target.value)}
        />
        {model.clusterAddressOverridden && (
          <button
            type="button"
            className="jp-mod-styled cellserve-small-button"
            data-cellserve-action="reset-address"
            title={trans.__('Back to the default: %1', fallback)}
            onClick={() => model.setClusterAddress(null)}
          >
            {trans.__('Default')}
          </button>
        )}
      </div>
      {error !== null && (
        <div
          id="cellserve-cluster-address-error"
          className="cellserve-field-error"
          role="alert"
        >
          {error}
        </div>
      )}
    </div>
  );
}

function Progress(props: {
  view: IPublishView;
  onSelect: (cell: number) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { view, onSelect, trans } = props;
  const { job } = view;
  let summary: string;
  if (view.phase === 'saving') {
    summary = trans.__('Saving the notebook…');
  } else if (view.phase === 'starting' || (view.phase === 'running' && job === null)) {
    summary = trans.__('Starting to publish…');
  } else if (job !== null) {
    summary = jobSummary(job);
  } else {
    summary = view.error ?? '';
  }
  const rows = job !== null ? stepRows(job) : [];
  const capture = job?.capture ?? (view.liveKernel ? 'live kernel' : 'headless');
  return (
    <div className="cellserve-publish-view" data-phase={view.phase}>
      <p className="cellserve-publish-status" role="status" data-phase={view.phase}>
        {summary}
      </p>
      <p className="cellserve-hint">{trans.__('Capture: %1', capture)}</p>
      {rows.length > 0 && (
        <ol className="cellserve-progress">
          {rows.map(row => (
            <li key={row.step} data-step={row.step} data-status={row.status}>
              <span className="cellserve-progress-mark" aria-hidden="true" />
              <span className="cellserve-progress-step">{row.label}</span>
              <span className="cellserve-progress-elapsed">
                {formatElapsed(row.elapsed)}
              </span>
              {row.messages.length > 0 && (
                <ul className="cellserve-progress-messages">
                  {row.messages.map((message, index) => (
                    <li key={index}>{message}</li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ol>
      )}
      {view.pollError !== null && (
        <p className="cellserve-hint cellserve-mod-warn">{view.pollError}</p>
      )}
      {view.phase === 'succeeded' && job?.result && (
        <div className="cellserve-result">
          <Outcome result={job.result} trans={trans} />
          <CopyableLink
            url={job.result.endpoint}
            label={trans.__('Endpoint')}
            className="cellserve-endpoint"
            trans={trans}
          />
          <CopyableLink
            url={job.result.page}
            label={trans.__('Service page')}
            className="cellserve-page"
            trans={trans}
          />
        </div>
      )}
      {view.phase === 'failed' && (
        <div className="cellserve-publish-error" role="alert">
          {job?.error ? (
            <>
              <strong>
                {job.error.step
                  ? trans.__('Failed at %1', stepLabel(job.error.step).toLowerCase())
                  : trans.__('Failed')}
              </strong>
              {job.error.cell !== null && (
                <CellLink cell={job.error.cell} onSelect={onSelect} trans={trans} />
              )}
              <pre className="cellserve-message">{job.error.message}</pre>
            </>
          ) : (
            <pre className="cellserve-message">{view.error}</pre>
          )}
        </div>
      )}
    </div>
  );
}

/** How the publish goes live: replaying logged requests first, or as a canary. */
function GoLive(props: {
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const options = model.publishOptions;
  const replay = options.replay ?? 0;
  const canary = options.canary ?? null;
  return (
    <fieldset className="cellserve-go-live">
      <label className="cellserve-check-option">
        <input
          type="checkbox"
          name="replay"
          checked={replay > 0}
          onChange={event =>
            model.setPublishOptions({ replay: event.target.checked ? 100 : 0 })
          }
        />
        {trans.__('Replay the last 100 logged requests first')}
      </label>
      <p className="cellserve-hint">
        {trans.__(
          "The new version answers them beside the live one; too many different answers (Settings: replay) stop it. Needs the live version's request log."
        )}
      </p>
      <label className="cellserve-check-option">
        <input
          type="checkbox"
          name="canary"
          checked={canary !== null}
          onChange={event =>
            model.setPublishOptions({ canary: event.target.checked ? 0.1 : null })
          }
        />
        {trans.__('Try it on 10 % of the live traffic before it goes live')}
      </label>
    </fieldset>
  );
}

function Outcome(props: {
  result: IPublishResult;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { result, trans } = props;
  const replay = result.replay ?? null;
  return (
    <>
      {replay && (
        <p className="cellserve-replay-summary" data-different={replay.different}>
          {trans.__(
            'Replay: %1 requests, %2 same, %3 different, %4 failed (%5 s).',
            replay.requests,
            replay.same,
            replay.different,
            replay.failed,
            replay.seconds
          )}
        </p>
      )}
      {result.canary ? (
        <p className="cellserve-canary-summary">
          {trans.__(
            'Version %1 answers %2 of the predictions; the live version the rest. Make it live in Versions.',
            result.version,
            percent(result.canary)
          )}
        </p>
      ) : null}
    </>
  );
}

export function PublishSection(props: {
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const blocker = model.publishBlocker;
  const view = model.publish;
  const problems = model.check.result?.problems.length ?? 0;
  const onSelect = (cell: number) => void model.selectCell(cell);
  return (
    <Section id="publish" title={trans.__('Publish')}>
      <ClusterAddress model={model} trans={trans} />
      <GoLive model={model} trans={trans} />
      <p className="cellserve-capture-note" data-live-kernel={model.kernelId !== null}>
        {model.kernelId !== null
          ? trans.__(
              'A kernel is running: values are captured from the running kernel, so run the notebook first.'
            )
          : trans.__(
              'No running kernel: the notebook is run headlessly to capture values.'
            )}
      </p>
      {problems > 0 && !model.publishing && (
        <p className="cellserve-hint cellserve-mod-warn">
          {trans.__('The check found problems: publishing will likely stop at them.')}
        </p>
      )}
      <button
        type="button"
        className="jp-mod-styled jp-mod-accept cellserve-publish-button"
        data-cellserve-action="publish"
        disabled={blocker !== null}
        title={
          blocker ??
          trans.__('Save the notebook and publish it as service %1', model.serviceName)
        }
        onClick={() => void model.startPublish()}
      >
        {model.publishing ? trans.__('Publishing…') : trans.__('Publish endpoint')}
      </button>
      {blocker !== null && !model.publishing && (
        <p className="cellserve-hint cellserve-publish-blocker">{blocker}</p>
      )}
      {view !== null && <Progress view={view} onSelect={onSelect} trans={trans} />}
    </Section>
  );
}
