/**
 * The service settings form, drawn from the schema the server serves (the
 * pydantic settings model) with JupyterLab's form component. A setting the
 * model gains appears here with no change to this file; each mistake shows the
 * model's own message under its field, and only valid values reach the
 * notebook metadata `cellserve`.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import { FormComponent } from '@jupyterlab/ui-components';
import type { ReadonlyJSONObject } from '@lumino/coreutils';
import type {
  ArrayFieldTemplateProps,
  ErrorSchema,
  FieldTemplateProps,
  ObjectFieldTemplateProps,
  RJSFSchema,
  UiSchema,
  ValidatorType
} from '@rjsf/utils';
import * as React from 'react';

import { pruned } from '../logic/settings';
import type { IFormView, JsonObject } from '../logic/settings';
import type { CellserveModel } from '../model';
import { Section } from './common';

/** Prefix of every field's id and input name: `cellserve-setting.predict.num_gpus`. */
export const FIELD_PREFIX = 'cellserve-setting';

const SEPARATOR = '.';

/** The setting's path (`predict.num_gpus`) from a field id. */
function settingPath(id: string): string {
  return id.slice(FIELD_PREFIX.length + SEPARATOR.length);
}

function Errors(props: { id: string; errors?: string[] }): JSX.Element | null {
  const { id, errors } = props;
  if (!errors || errors.length === 0) {
    return null;
  }
  return (
    <div id={`${id}-error`} className="cellserve-field-error" role="alert">
      {errors.join(' ')}
    </div>
  );
}

/** One setting: its key as label (the name the metadata, the docs and the errors use), help on hover. */
function FieldTemplate(props: FieldTemplateProps): JSX.Element {
  const { id, label, displayLabel, schema, rawErrors, children, hidden } = props;
  if (hidden) {
    return <div hidden>{children}</div>;
  }
  const invalid = (rawErrors?.length ?? 0) > 0;
  if (schema.type === 'object' || schema.type === 'array') {
    return (
      <div className="cellserve-group">
        <Errors id={id} errors={rawErrors} />
        {children}
      </div>
    );
  }
  return (
    <div
      className={`cellserve-field${invalid ? ' cellserve-mod-invalid' : ''}`}
      data-field={settingPath(id)}
      title={schema.description}
    >
      {displayLabel && !/\.\d+$/.test(id) && (
        <label htmlFor={id} className="cellserve-field-label">
          {label}
        </label>
      )}
      {children}
      <Errors id={id} errors={rawErrors} />
    </div>
  );
}

/** A list of texts (`files.include`): one input per item, each with its remove button, and an Add button. */
function ArrayFieldTemplate(props: ArrayFieldTemplateProps): JSX.Element {
  const { idSchema, items, canAdd, onAddClick, title, schema, disabled, readonly } =
    props;
  const trans = (props.formContext as IFormContext).trans;
  return (
    <div
      className="cellserve-list"
      data-field={settingPath(idSchema.$id)}
      title={schema.description}
    >
      <span className="cellserve-field-label">{title}</span>
      {items.map(item => (
        <div key={item.key} className="cellserve-list-item">
          {item.children}
          {item.hasRemove && (
            <button
              type="button"
              className="jp-mod-styled cellserve-list-remove"
              aria-label={trans.__('Remove %1 item %2', title, item.index + 1)}
              title={trans.__('Remove')}
              disabled={disabled || readonly}
              onClick={item.onDropIndexClick(item.index)}
            >
              ×
            </button>
          )}
        </div>
      ))}
      {canAdd && (
        <button
          type="button"
          className="jp-mod-styled cellserve-list-add"
          disabled={disabled || readonly}
          onClick={onAddClick}
        >
          {trans.__('Add')}
        </button>
      )}
    </div>
  );
}

/**
 * A group of settings (a stage, `batch`, …) that folds: open where something
 * in it is set or wrong. The top level puts its single values first.
 */
function ObjectFieldTemplate(props: ObjectFieldTemplateProps): JSX.Element {
  const { idSchema, properties, schema, title, description, formData, errorSchema } =
    props;
  const isGroup = (name: string): boolean => {
    const child = schema.properties?.[name];
    return typeof child === 'object' && child.type === 'object';
  };
  const fields = properties.filter(property => !isGroup(property.name));
  const groups = properties.filter(property => isGroup(property.name));
  const values = (
    <div className="cellserve-fields">{fields.map(property => property.content)}</div>
  );
  if (idSchema.$id === FIELD_PREFIX) {
    return (
      <>
        <fieldset className="cellserve-fieldset" data-group="service">
          {values}
        </fieldset>
        {groups.map(property => property.content)}
      </>
    );
  }
  const set = pruned(formData) !== undefined;
  const wrong = errorSchema !== undefined && Object.keys(errorSchema).length > 0;
  return (
    <details
      className="cellserve-fieldset"
      data-group={settingPath(idSchema.$id)}
      open={set || wrong}
    >
      <summary title={typeof description === 'string' ? description : undefined}>
        {title}
      </summary>
      {values}
      {groups.map(property => property.content)}
    </details>
  );
}

/** What the templates get from the section. */
interface IFormContext {
  trans: TranslationBundle;
  /** JupyterLab's own templates read it. */
  defaultFormData: JsonObject;
}

const TEMPLATES = { FieldTemplate, ObjectFieldTemplate, ArrayFieldTemplate };

type Validator = ValidatorType<ReadonlyJSONObject>;

let validatorLoad: Promise<Validator> | null = null;

/** The form's JSON Schema validator, loaded once, when a form is first shown. */
function useValidator(): Validator | null {
  const [validator, setValidator] = React.useState<Validator | null>(null);
  React.useEffect(() => {
    validatorLoad ??= import('@rjsf/validator-ajv8').then(module =>
      module.customizeValidator<ReadonlyJSONObject>()
    );
    let current = true;
    void validatorLoad.then(loaded => {
      if (current) {
        setValidator(() => loaded);
      }
    });
    return () => {
      current = false;
    };
  }, []);
  return validator;
}

function uiSchemaOf(
  view: IFormView,
  model: CellserveModel,
  trans: TranslationBundle
): UiSchema<ReadonlyJSONObject> {
  const name = model.defaultServiceName;
  return {
    ...view.uiSchema,
    name: { 'ui:placeholder': name ? trans.__('default: %1', name) : '' }
  } as UiSchema<ReadonlyJSONObject>;
}

export function SettingsSection(props: {
  model: CellserveModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const view = model.settingsForm;
  const validator = useValidator();
  const invalid = model.settingProblems.length;
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
      {view === null || validator === null ? (
        <p className="cellserve-hint">
          {model.settingsFormError === null
            ? trans.__('Loading the settings form…')
            : trans.__('Could not load the settings form: %1', model.settingsFormError)}
        </p>
      ) : (
        <div className="cellserve-settings" aria-label={trans.__('Service settings')}>
          <FormComponent
            schema={view.schema as RJSFSchema}
            uiSchema={uiSchemaOf(view, model, trans)}
            formData={model.settings}
            onChange={event => model.setSettings((event.formData ?? {}) as JsonObject)}
            validator={validator}
            templates={TEMPLATES}
            extraErrors={model.settingErrors as ErrorSchema<ReadonlyJSONObject>}
            idPrefix={FIELD_PREFIX}
            idSeparator={SEPARATOR}
            disabled={model.readOnly}
            liveValidate={false}
            showErrorList={false}
            noHtml5Validate
            formContext={{ trans, defaultFormData: {} } satisfies IFormContext}
          />
        </div>
      )}
      <p className="cellserve-hint">
        {trans.__(
          'Empty fields use the default; hover a field for its help. Saved in the notebook metadata "cellserve".'
        )}
      </p>
    </Section>
  );
}
