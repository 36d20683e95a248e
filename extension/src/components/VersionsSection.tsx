/**
 * The published service: its versions, rollback, canary and promote, traffic,
 * logged requests, logs and deletion.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatCreated, splitMessage, stepLabel, versionRows } from '../logic/progress';
import { bodyLine, percent, sparklinePath, trafficSummary } from '../logic/traffic';
import type { CellserveModel, IServiceState } from '../model';
import { CopyableLink, Section } from './common';

/** What the section asks of the application. */
export interface IServiceActions {
  /** Ask before deleting; resolves to whether to go on. */
  confirmDelete: (name: string) => Promise<boolean>;
  openLogs: (name: string) => Promise<void>;
}

function Versions(props: {
  service: IServiceState;
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { service, model, trans } = props;
  const info = service.info;
  if (info === null) {
    return null;
  }
  const busy = service.busy !== null;
  const canary = info.canary ?? null;
  return (
    <>
      <p className="cellserve-service-status" data-status={info.status}>
        {info.live !== null
          ? trans.__('%1 · live version %2', info.status, info.live)
          : info.status}
      </p>
      {info.endpoint && (
        <CopyableLink
          url={info.endpoint}
          label={trans.__('Endpoint')}
          className="cellserve-service-endpoint"
          trans={trans}
        />
      )}
      {info.page && (
        <CopyableLink
          url={info.page}
          label={trans.__('Service page')}
          className="cellserve-service-page"
          trans={trans}
        />
      )}
      {canary !== null && (
        <div className="cellserve-canary" data-version={canary.version}>
          <span>
            {trans.__(
              'Canary: version %1 answers %2 of the predictions',
              canary.version,
              percent(canary.share)
            )}
          </span>
          <button
            type="button"
            className="jp-mod-styled cellserve-small-button"
            data-cellserve-action="end-canary"
            disabled={busy}
            title={trans.__('The live version answers every prediction again')}
            onClick={() => void model.setCanary(null)}
          >
            {trans.__('End canary')}
          </button>
        </div>
      )}
      <table className="cellserve-versions">
        <thead>
          <tr>
            <th>{trans.__('Version')}</th>
            <th>{trans.__('Status')}</th>
            <th>{trans.__('Created')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {versionRows(info.versions).map(({ version, canRollback }) => (
            <tr
              key={version.version}
              className="cellserve-version"
              data-version={version.version}
              data-status={version.status}
            >
              <td>{version.version}</td>
              <td>
                <span className="cellserve-version-status" data-status={version.status}>
                  {version.status}
                </span>
                {version.status !== 'failed' && (
                  <span
                    className="cellserve-version-route"
                    title={trans.__('Where this version answers')}
                  >
                    {version.route ?? trans.__('not running')}
                  </span>
                )}
                {(version.failed_step || version.error) && (
                  <VersionError
                    step={version.failed_step ?? null}
                    error={version.error ?? ''}
                    trans={trans}
                  />
                )}
              </td>
              <td title={version.created}>{formatCreated(version.created)}</td>
              <td>
                {version.status === 'canary' && canary?.version === version.version && (
                  <VersionAction
                    action="promote"
                    version={version.version}
                    disabled={busy}
                    accept
                    title={trans.__(
                      'Make version %1 live; ends the canary',
                      version.version
                    )}
                    label={trans.__('Make live')}
                    onClick={() => void model.promote(version.version)}
                  />
                )}
                {canary === null &&
                  version.running &&
                  version.version !== info.live &&
                  version.status !== 'failed' && (
                    <VersionAction
                      action="canary"
                      version={version.version}
                      disabled={busy}
                      title={trans.__(
                        'Send 10 % of the live predictions to version %1',
                        version.version
                      )}
                      label={trans.__('Canary 10 %')}
                      onClick={() => void model.setCanary(version.version, 0.1)}
                    />
                  )}
                {canRollback && (
                  <VersionAction
                    action="rollback"
                    version={version.version}
                    disabled={busy}
                    title={trans.__('Make version %1 live again', version.version)}
                    label={trans.__('Rollback')}
                    onClick={() => void model.rollback(version.version)}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

const SPARK_WIDTH = 120;
const SPARK_HEIGHT = 24;

/** Each running version's requests per second over the last minutes, and the newest window's figures. */
function Traffic(props: {
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const versions = Object.entries(model.traffic).sort(
    ([a], [b]) => Number(b) - Number(a)
  );
  return (
    <div className="cellserve-traffic" aria-live="polite">
      <h3 className="cellserve-traffic-title">{trans.__('Traffic')}</h3>
      {versions.length === 0 && model.trafficError === null && (
        <p className="cellserve-hint">
          {trans.__('Watching the service; the first figures come in a few seconds.')}
        </p>
      )}
      {model.trafficError !== null && (
        <p className="cellserve-hint cellserve-mod-error">
          {trans.__('Cannot read the traffic: %1', model.trafficError)}
        </p>
      )}
      {versions.map(([version, history]) => {
        const newest = history[history.length - 1];
        const rates = history.map(figures => figures.requests_per_s);
        return (
          <div
            key={version}
            className="cellserve-traffic-version"
            data-version={version}
            data-traffic={newest.traffic ? 'yes' : 'no'}
          >
            <span className="cellserve-traffic-label">
              {newest.live
                ? trans.__('Version %1 (live)', version)
                : newest.canary_share
                  ? trans.__(
                      'Version %1 (canary, %2)',
                      version,
                      percent(newest.canary_share)
                    )
                  : trans.__('Version %1', version)}
            </span>
            <svg
              className="cellserve-traffic-spark"
              width={SPARK_WIDTH}
              height={SPARK_HEIGHT}
              viewBox={`0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}`}
              role="img"
              aria-label={trans.__(
                'Requests per second over the last %1 windows',
                rates.length
              )}
            >
              <path d={sparklinePath(rates, SPARK_WIDTH, SPARK_HEIGHT)} />
            </svg>
            <span className="cellserve-traffic-figures">{trafficSummary(newest)}</span>
          </div>
        );
      })}
    </div>
  );
}

/** The service's latest logged requests, read when asked (they may hold personal data). */
/** A button acting on one version (its action and version are in data attributes for tests and styles). */
function VersionAction(props: {
  action: string;
  version: number;
  disabled: boolean;
  accept?: boolean;
  title: string;
  label: string;
  onClick: () => void;
}): JSX.Element {
  const accept = props.accept ? ' jp-mod-accept' : '';
  return (
    <button
      type="button"
      className={`jp-mod-styled${accept} cellserve-small-button`}
      data-cellserve-action={props.action}
      data-version={props.version}
      disabled={props.disabled}
      title={props.title}
      onClick={props.onClick}
    >
      {props.label}
    </button>
  );
}

/** Why a version failed: the first line, and the rest (a replay's differences, a traceback) folded. */
function VersionError(props: {
  step: string | null;
  error: string;
  trans: TranslationBundle;
}): JSX.Element {
  const { step, error, trans } = props;
  const { first, rest } = splitMessage(error);
  const head = `${step ? `${stepLabel(step)}: ` : ''}${first}`;
  if (!rest) {
    return <div className="cellserve-version-error">{head}</div>;
  }
  return (
    <details className="cellserve-version-error">
      <summary title={trans.__('Show the whole message')}>{head}</summary>
      <pre className="cellserve-message">{rest}</pre>
    </details>
  );
}

function Requests(props: {
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const log = model.requestLog;
  return (
    <div className="cellserve-requests">
      <h3 className="cellserve-traffic-title">
        {trans.__('Requests')}
        <button
          type="button"
          className="jp-mod-styled cellserve-small-button"
          data-cellserve-action="requests"
          title={trans.__('Read the latest requests the service logged')}
          onClick={() => void model.loadRequests()}
        >
          {log === null ? trans.__('Show') : trans.__('Refresh')}
        </button>
      </h3>
      {model.requestLogError !== null && (
        <p className="cellserve-hint cellserve-mod-error">
          {trans.__('Cannot read the requests: %1', model.requestLogError)}
        </p>
      )}
      {log !== null && !log.enabled && (
        <p className="cellserve-hint">
          {trans.__(
            'The live version keeps no request log. Set "Request log size" in Settings and publish to keep the latest requests with their answers (they may hold personal data).'
          )}
        </p>
      )}
      {log !== null && log.enabled && (
        <>
          <p className="cellserve-hint">
            {trans.__(
              '%1 of %2 kept; they may hold personal data, and only you can read them.',
              log.requests.length,
              log.kept ?? log.requests.length
            )}
          </p>
          <table className="cellserve-request-log">
            <thead>
              <tr>
                <th>#</th>
                <th>{trans.__('Version')}</th>
                <th>{trans.__('Status')}</th>
                <th>{trans.__('ms')}</th>
                <th>{trans.__('Request → answer')}</th>
              </tr>
            </thead>
            <tbody>
              {[...log.requests].reverse().map(entry => (
                <tr
                  key={entry.seq}
                  className="cellserve-logged-request"
                  data-status={entry.status}
                  title={entry.at}
                >
                  <td>{entry.seq}</td>
                  <td>{entry.version}</td>
                  <td>{entry.status}</td>
                  <td>{entry.latency_ms.toFixed(1)}</td>
                  <td>
                    <code>{bodyLine(entry.request, entry.request_bytes)}</code>
                    {' → '}
                    <code>{bodyLine(entry.response, entry.response_bytes)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

export function VersionsSection(props: {
  model: CellserveModel;
  trans: TranslationBundle;
  actions: IServiceActions;
}): JSX.Element {
  const { model, trans, actions } = props;
  const service = model.service;
  let status: React.ReactNode = null;
  if (service === null || service.status === 'loading') {
    status = (
      <p className="cellserve-hint" role="status">
        {trans.__('Looking up service %1…', model.serviceName)}
      </p>
    );
  } else if (service.status === 'unpublished') {
    status = (
      <p className="cellserve-hint" role="status">
        {trans.__('Service %1 is not published yet.', service.name)}
      </p>
    );
  } else if (service.status === 'error') {
    status = (
      <p className="cellserve-hint cellserve-mod-error" role="status">
        {trans.__('Cannot look up service %1: %2', service.name, service.error ?? '')}
      </p>
    );
  }
  const ready = service?.status === 'ready';
  const busy = service?.busy ?? null;
  return (
    <Section
      id="versions"
      title={trans.__('Versions')}
      extra={
        <button
          type="button"
          className="cellserve-icon-button"
          data-cellserve-action="refresh-service"
          aria-label={trans.__('Refresh the service versions')}
          title={trans.__('Refresh the service versions')}
          onClick={event => {
            event.preventDefault();
            void model.refreshService();
          }}
        >
          ↻
        </button>
      }
    >
      <p className="cellserve-service-name">
        {trans.__('Service: %1', service?.name ?? model.serviceName)}
      </p>
      {status}
      {service !== null && <Versions service={service} model={model} trans={trans} />}
      {ready && service?.info?.live !== null && <Traffic model={model} trans={trans} />}
      {ready && service?.info?.live !== null && (
        <Requests model={model} trans={trans} />
      )}
      {service?.notice && (
        <p className="cellserve-notice" role="status">
          {service.notice}
        </p>
      )}
      {ready && service !== null && (
        <div className="cellserve-buttons">
          <button
            type="button"
            className="jp-mod-styled cellserve-small-button"
            data-cellserve-action="logs"
            onClick={() => void actions.openLogs(service.name)}
          >
            {trans.__('Show logs')}
          </button>
          <button
            type="button"
            className="jp-mod-styled jp-mod-warn cellserve-small-button"
            data-cellserve-action="delete"
            disabled={busy !== null}
            onClick={async () => {
              if (await actions.confirmDelete(service.name)) {
                await model.deleteService();
              }
            }}
          >
            {busy === 'delete' ? trans.__('Deleting…') : trans.__('Delete service')}
          </button>
        </div>
      )}
    </Section>
  );
}
