/**
 * The service settings form, stored in the notebook metadata `cellserve`.
 * A field's mistake shows under it; only valid values reach the metadata.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { fieldsOf, STAGES } from '../logic/settings';
import type { IFieldSpec, StageName } from '../logic/settings';
import type { CellserveModel } from '../model';
import { Section } from './common';
import { settingTexts, stageLabels } from './labels';

function fieldId(key: string): string {
  return `cellserve-field-${key.replace(/\./g, '-')}`;
}

function placeholder(
  spec: IFieldSpec,
  model: CellserveModel,
  trans: TranslationBundle
): string {
  if (spec.key === 'name') {
    return model.defaultServiceName
      ? trans.__('default: %1', model.defaultServiceName)
      : '';
  }
  if (spec.kind === 'bytes') {
    return trans.__('none, e.g. 4GiB');
  }
  return spec.defaultText ? trans.__('default: %1', spec.defaultText) : '';
}

function Field(props: {
  spec: IFieldSpec;
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { spec, model, trans } = props;
  const id = fieldId(spec.key);
  const value = model.form[spec.key] ?? '';
  const error = model.errors[spec.key];
  const text = settingTexts(trans)[spec.setting];
  const help = model.descriptions[spec.key] ?? text.help;
  const disabled = model.readOnly;
  const common = {
    id,
    name: spec.key,
    value,
    disabled,
    title: help,
    'aria-invalid': error !== undefined,
    'aria-describedby': error !== undefined ? `${id}-error` : undefined
  };
  const input =
    spec.kind === 'choice' ? (
      <select
        {...common}
        className="jp-mod-styled cellserve-input"
        onChange={event => model.setField(spec.key, event.target.value)}
      >
        <option value="">{trans.__('default (%1)', spec.defaultText)}</option>
        {spec.choices?.map(choice => (
          <option key={choice} value={choice}>
            {choice}
          </option>
        ))}
        {value !== '' && !spec.choices?.includes(value) && (
          <option value={value}>{value}</option>
        )}
      </select>
    ) : (
      <input
        {...common}
        type="text"
        className="jp-mod-styled cellserve-input"
        spellCheck={false}
        autoComplete="off"
        inputMode={
          spec.kind === 'number'
            ? 'decimal'
            : spec.kind === 'integer'
              ? 'numeric'
              : 'text'
        }
        placeholder={placeholder(spec, model, trans)}
        onChange={event => model.setField(spec.key, event.target.value)}
      />
    );
  return (
    <div
      className={`cellserve-field${error !== undefined ? ' cellserve-mod-invalid' : ''}`}
      data-field={spec.key}
    >
      <label htmlFor={id} className="cellserve-field-label">
        {text.label}
      </label>
      {input}
      {error !== undefined && (
        <div id={`${id}-error`} className="cellserve-field-error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

function Fields(props: {
  stage: StageName | null;
  title: string;
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { stage, title, model, trans } = props;
  return (
    <fieldset className="cellserve-fieldset" data-stage={stage ?? 'service'}>
      <legend>{title}</legend>
      <div className="cellserve-fields">
        {fieldsOf(stage).map(spec => (
          <Field key={spec.key} spec={spec} model={model} trans={trans} />
        ))}
      </div>
    </fieldset>
  );
}

export function SettingsSection(props: {
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const labels = stageLabels(trans);
  const invalid = Object.keys(model.errors).length;
  return (
    <Section
      id="settings"
      title={trans.__('Service settings')}
      extra={
        invalid > 0 ? (
          <span className="cellserve-invalid-count">
            {trans._n('%1 invalid', '%1 invalid', invalid)}
          </span>
        ) : null
      }
    >
      <form
        className="cellserve-settings"
        aria-label={trans.__('Service settings')}
        onSubmit={event => event.preventDefault()}
      >
        <Fields stage={null} title={trans.__('Service')} model={model} trans={trans} />
        {STAGES.map(stage => (
          <Fields
            key={stage}
            stage={stage}
            title={trans.__('%1 stage', labels[stage])}
            model={model}
            trans={trans}
          />
        ))}
      </form>
      <p className="cellserve-hint">
        {trans.__(
          'Empty fields use the default. Saved in the notebook metadata "cellserve".'
        )}
      </p>
    </Section>
  );
}
