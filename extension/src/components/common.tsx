/**
 * Small pieces the panel's sections share.
 */

import { Clipboard } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

/** A collapsible part of the panel, open at first. */
export function Section(props: {
  id: string;
  title: string;
  extra?: React.ReactNode;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <details
      className="cellserve-section"
      data-section={props.id}
      open
      aria-labelledby={`cellserve-section-${props.id}`}
    >
      <summary className="cellserve-section-title">
        <span id={`cellserve-section-${props.id}`}>{props.title}</span>
        {props.extra}
      </summary>
      <div className="cellserve-section-body">{props.children}</div>
    </details>
  );
}

/** A link that selects cell `cell` (1-based) in the notebook. */
export function CellLink(props: {
  cell: number;
  onSelect: (cell: number) => void;
  trans: TranslationBundle;
  children?: React.ReactNode;
}): JSX.Element {
  const { cell, onSelect, trans } = props;
  return (
    <button
      type="button"
      className="cellserve-cell-link"
      data-cell={cell}
      title={trans.__('Select cell %1 in the notebook', cell)}
      onClick={() => onSelect(cell)}
    >
      {props.children ?? trans.__('cell %1', cell)}
    </button>
  );
}

/** A link with a Copy button, for a URL to hand on. */
export function CopyableLink(props: {
  url: string;
  label: string;
  className: string;
  trans: TranslationBundle;
}): JSX.Element {
  const { url, label, className, trans } = props;
  const [copied, setCopied] = React.useState(false);
  React.useEffect(() => {
    if (!copied) {
      return;
    }
    const timer = window.setTimeout(() => setCopied(false), 1500);
    return () => window.clearTimeout(timer);
  }, [copied]);
  return (
    <div className="cellserve-link-row">
      <span className="cellserve-link-label">{label}</span>
      <a className={className} href={url} target="_blank" rel="noopener noreferrer">
        {url}
      </a>
      <button
        type="button"
        className="jp-mod-styled cellserve-copy"
        aria-label={trans.__('Copy %1', label)}
        data-cellserve-action="copy"
        onClick={() => {
          Clipboard.copyToSystem(url);
          setCopied(true);
        }}
      >
        {copied ? trans.__('Copied') : trans.__('Copy')}
      </button>
    </div>
  );
}

/** A message with the cell it is about, as a link when there is one. */
export function Problem(props: {
  message: string;
  cell: number | null;
  className: string;
  onSelect: (cell: number) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { message, cell, className, onSelect, trans } = props;
  return (
    <li className={className} data-cell={cell ?? undefined}>
      {cell !== null && <CellLink cell={cell} onSelect={onSelect} trans={trans} />}
      <span className="cellserve-message">{message}</span>
    </li>
  );
}
