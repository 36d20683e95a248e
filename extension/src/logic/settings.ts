/**
 * Service settings: the notebook metadata object `cellserve`, and what the form
 * needs to show it.
 *
 * The rules (names, kinds, bounds, defaults, messages) are the server's: the
 * form is drawn from the schema it serves (`settings/form`) and every change is
 * judged by its settings model (`settings/problems`). These pure functions only
 * carry values between the form, that judgement and the metadata; no JupyterLab
 * import.
 */

/** The two stages that run as Ray Serve deployments. */
export const STAGES = ['preprocessing', 'predict'] as const;

export type StageName = (typeof STAGES)[number];

/** Notebook metadata key of the settings. */
export const METADATA_KEY = 'cellserve';

/** A JSON value as notebook metadata holds it. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export type JsonObject = { [key: string]: Json };

/** What the server's settings model says of one value (`path` is empty for the settings as a whole). */
export interface ISettingProblem {
  path: string[];
  message: string;
}

/** The schema and UI schema a form is drawn from. */
export interface IFormView {
  schema: JsonObject;
  uiSchema: JsonObject;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function defaultText(value: Json): string {
  if (value === null) {
    return 'none';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The form's view of the server's form schema: each default becomes the
 * placeholder of its field rather than a value, so that the form never writes
 * a default into the notebook and an empty field keeps meaning "the default".
 */
export function formView(schema: JsonObject): IFormView {
  const shown: JsonObject = { ...schema };
  const uiSchema: JsonObject = {};
  if ('default' in shown) {
    uiSchema['ui:placeholder'] = `default: ${defaultText(shown.default)}`;
    delete shown.default;
  }
  if (isObject(schema.properties)) {
    const properties: JsonObject = {};
    for (const [key, child] of Object.entries(schema.properties)) {
      if (!isObject(child)) {
        continue;
      }
      const view = formView(child);
      properties[key] = view.schema;
      if (Object.keys(view.uiSchema).length > 0) {
        uiSchema[key] = view.uiSchema;
      }
    }
    shown.properties = properties;
  }
  return { schema: shown, uiSchema };
}

/**
 * The settings a form's data stands for: empty text, unset values, empty lists
 * and groups left empty are dropped (the server's defaults apply); undefined if
 * nothing is left.
 */
export function pruned(value: unknown): Json | undefined {
  if (value === undefined || value === null || value === '') {
    return undefined;
  }
  if (Array.isArray(value)) {
    const items = value
      .map(item => pruned(item))
      .filter((item): item is Json => item !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (isObject(value)) {
    const kept: JsonObject = {};
    for (const [key, child] of Object.entries(value)) {
      const prunedChild = pruned(child);
      if (prunedChild !== undefined) {
        kept[key] = prunedChild;
      }
    }
    return Object.keys(kept).length > 0 ? kept : undefined;
  }
  return value as Json;
}

function valueAt(root: unknown, path: readonly string[]): Json | undefined {
  let node: unknown = root;
  for (const key of path) {
    if (!isObject(node)) {
      return undefined;
    }
    node = node[key];
  }
  return node as Json | undefined;
}

function setAt(
  root: JsonObject,
  path: readonly string[],
  value: Json | undefined
): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    const child = node[key];
    node[key] = isObject(child) ? { ...child } : {};
    node = node[key] as JsonObject;
  }
  const last = path[path.length - 1];
  if (value === undefined) {
    delete node[last];
  } else {
    node[last] = value;
  }
}

/**
 * The metadata to write for the form's `data`: its values, except that every
 * value with a problem keeps what `previous` (the metadata now) holds, so only
 * valid values reach the notebook. A problem with the settings as a whole keeps
 * `previous` entirely. Null: nothing is set (the metadata key can go).
 */
export function withoutProblems(
  previous: unknown,
  data: unknown,
  problems: readonly ISettingProblem[]
): JsonObject | null {
  const before = isObject(previous) ? previous : null;
  if (problems.some(problem => problem.path.length === 0)) {
    return before;
  }
  const candidate = pruned(data);
  const next: JsonObject = isObject(candidate) ? { ...candidate } : {};
  for (const problem of problems) {
    setAt(next, problem.path, valueAt(before, problem.path));
  }
  const result = pruned(next);
  return isObject(result) ? result : null;
}

function fieldSchema(schema: JsonObject, path: readonly string[]): boolean {
  let node: Json | undefined = schema;
  for (const key of path) {
    if (!isObject(node) || !isObject(node.properties)) {
      return false;
    }
    node = node.properties[key];
  }
  return isObject(node);
}

/**
 * The form's error schema for `problems` (`{predict: {num_gpus: {__errors: […]}}}`):
 * each message at its field, or, for a setting the form has no field for,
 * at the top of the form with the setting named.
 */
export function errorSchema(
  problems: readonly ISettingProblem[],
  schema: JsonObject
): JsonObject {
  const errors: JsonObject = {};
  const add = (path: readonly string[], message: string): void => {
    let node = errors;
    for (const key of path) {
      if (!isObject(node[key])) {
        node[key] = {};
      }
      node = node[key] as JsonObject;
    }
    const list = Array.isArray(node.__errors) ? node.__errors : [];
    node.__errors = [...list, message];
  };
  for (const problem of problems) {
    if (fieldSchema(schema, problem.path)) {
      add(problem.path, problem.message);
    } else {
      add([], `${problem.path.join('.')}: ${problem.message}`);
    }
  }
  return errors;
}
