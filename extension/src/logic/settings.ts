/**
 * Service settings: the form's text values, their validation, and the notebook
 * metadata object `cellserve` they are written to.
 *
 * The rules mirror the server's pydantic models (`converter/_settings.py`), so a
 * mistake is shown at its field before anything is sent. Pure functions over
 * plain values: no JupyterLab import.
 */

/** The two stages that run as Ray Serve deployments. */
export const STAGES = ['preprocessing', 'predict'] as const;

export type StageName = (typeof STAGES)[number];

/** Service-wide groups of settings: objects inside the settings, as the stages are. */
export const GROUPS = ['batch', 'request_log', 'replay'] as const;

export type GroupName = (typeof GROUPS)[number];

/** Notebook metadata key of the settings. */
export const METADATA_KEY = 'cellserve';

/** How a field's text is read. */
export type FieldKind =
  'name' | 'identifier' | 'choice' | 'number' | 'integer' | 'bytes';

/** One field of the settings form. */
export interface IFieldSpec {
  /** Form key and input `name`: `name`, `predict.num_gpus`, … */
  readonly key: string;
  /** The stage it belongs to, or null for a service-wide setting. */
  readonly stage: StageName | null;
  /** A service-wide group the setting lives in (`batch`), if any. */
  readonly group?: GroupName;
  /** Setting name inside its object: `num_gpus`. */
  readonly setting: string;
  readonly kind: FieldKind;
  /** The server's default, as the form shows it (empty: none). */
  readonly defaultText: string;
  /** Allowed values of a `choice` field. */
  readonly choices?: readonly string[];
  /** Lower bound of a number. */
  readonly min?: number;
  /** Whether the lower bound itself is excluded (`> min` rather than `≥ min`). */
  readonly exclusiveMin?: boolean;
}

/** Text of every form field, by key; an empty string leaves the server's default. */
export type FormValues = Record<string, string>;

/** Messages of the invalid fields, by key. */
export type FieldErrors = Record<string, string>;

/** A JSON value as notebook metadata holds it. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export type JsonObject = { [key: string]: Json };

const SERVICE_SETTINGS: readonly IFieldSpec[] = [
  { key: 'name', stage: null, setting: 'name', kind: 'name', defaultText: '' },
  {
    key: 'input_variable',
    stage: null,
    setting: 'input_variable',
    kind: 'identifier',
    defaultText: 'payload'
  },
  {
    key: 'access',
    stage: null,
    setting: 'access',
    kind: 'choice',
    defaultText: 'public',
    choices: ['public', 'token']
  },
  {
    key: 'stages',
    stage: null,
    setting: 'stages',
    kind: 'choice',
    defaultText: 'auto',
    choices: ['auto', 'one', 'separate']
  },
  {
    key: 'batch.max_size',
    stage: null,
    group: 'batch',
    setting: 'max_size',
    kind: 'integer',
    defaultText: '',
    min: 2
  },
  {
    key: 'batch.wait_ms',
    stage: null,
    group: 'batch',
    setting: 'wait_ms',
    kind: 'number',
    defaultText: '10',
    min: 0
  },
  {
    key: 'request_log.max_requests',
    stage: null,
    group: 'request_log',
    setting: 'max_requests',
    kind: 'integer',
    defaultText: '',
    min: 1
  },
  {
    key: 'request_log.max_body_bytes',
    stage: null,
    group: 'request_log',
    setting: 'max_body_bytes',
    kind: 'integer',
    defaultText: '65536',
    min: 0
  },
  {
    key: 'replay.max_mismatch',
    stage: null,
    group: 'replay',
    setting: 'max_mismatch',
    kind: 'number',
    defaultText: '0',
    min: 0
  }
];

/** Where a field's setting lives inside the settings object: its stage's or group's object, or the top. */
function containerOf(spec: IFieldSpec): string | null {
  return spec.stage ?? spec.group ?? null;
}

function stageFields(stage: StageName): IFieldSpec[] {
  const field = (
    setting: string,
    kind: FieldKind,
    defaultText: string,
    more: Partial<IFieldSpec> = {}
  ): IFieldSpec => ({
    key: `${stage}.${setting}`,
    stage,
    setting,
    kind,
    defaultText,
    ...more
  });
  return [
    field('num_gpus', 'number', '0', { min: 0 }),
    field('gpu', 'choice', 'required', { choices: ['required', 'if-available'] }),
    field('num_cpus', 'number', '0.25', { min: 0 }),
    field('memory', 'bytes', ''),
    field('min_replicas', 'integer', '1', { min: 0 }),
    field('max_replicas', 'integer', '1', { min: 1 }),
    field('target_ongoing_requests', 'number', '2', { min: 0, exclusiveMin: true }),
    field('max_ongoing_requests', 'integer', '8', { min: 1 }),
    field('max_queued_requests', 'integer', '64', { min: 0 })
  ];
}

/** Every form field, service-wide first, then each stage's. */
export const FIELDS: readonly IFieldSpec[] = [
  ...SERVICE_SETTINGS,
  ...STAGES.flatMap(stageFields)
];

/** The fields of one stage, or the service-wide ones for null. */
export function fieldsOf(stage: StageName | null): IFieldSpec[] {
  return FIELDS.filter(spec => spec.stage === stage);
}

/** The field with `key`. */
export function fieldSpec(key: string): IFieldSpec {
  const spec = FIELDS.find(candidate => candidate.key === key);
  if (spec === undefined) {
    throw new Error(`Unknown cellserve setting "${key}".`);
  }
  return spec;
}

const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

// Python's identifier rule (PEP 3131), close enough for a form: letters or `_`,
// then letters, digits, marks or connectors.
const IDENTIFIER = /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u;

// Python 3.11 `keyword.kwlist`: names that cannot be assigned to.
const PYTHON_KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del ' +
    'elif else except finally for from global if import in is lambda nonlocal ' +
    'not or pass raise return try while with yield'
  ).split(' ')
);

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40
};

const BYTES = /^(\d+\.?\d*|\.\d+)\s*([a-z]*)$/i;

/** A size such as `4GiB`, `512 MB` or `1073741824` in bytes, or null if it is not one. */
export function parseBytes(text: string): number | null {
  const match = BYTES.exec(text.trim());
  if (match === null) {
    return null;
  }
  const unit = match[2].toLowerCase();
  const factor = unit === '' ? 1 : BYTE_UNITS[unit];
  if (factor === undefined) {
    return null;
  }
  return Math.round(Number(match[1]) * factor);
}

// Largest first, binary and decimal interleaved.
const SHOWN_UNITS: readonly [string, number][] = [
  ['TiB', 2 ** 40],
  ['TB', 1e12],
  ['GiB', 2 ** 30],
  ['GB', 1e9],
  ['MiB', 2 ** 20],
  ['MB', 1e6],
  ['KiB', 2 ** 10],
  ['KB', 1e3]
];

/** Bytes in the largest unit that divides them exactly: `4294967296` → `4GiB`, `2e9` → `2GB`. */
export function formatBytes(bytes: number): string {
  if (bytes > 0) {
    for (const [unit, factor] of SHOWN_UNITS) {
      if (bytes % factor === 0) {
        return `${bytes / factor}${unit}`;
      }
    }
  }
  return String(bytes);
}

/** The outcome of reading one field: a value to write (undefined: leave the default) or an error. */
export type FieldResult =
  { ok: true; value: Json | undefined } | { ok: false; error: string };

function problem(spec: IFieldSpec, text: string, rule: string): FieldResult {
  return { ok: false, error: `Got "${text}" for ${spec.key}: ${rule}.` };
}

function boundText(spec: IFieldSpec): string {
  if (spec.min === undefined) {
    return '';
  }
  return spec.exclusiveMin ? ` > ${spec.min}` : ` ≥ ${spec.min}`;
}

function withinBounds(spec: IFieldSpec, value: number): boolean {
  if (spec.min === undefined) {
    return true;
  }
  return spec.exclusiveMin ? value > spec.min : value >= spec.min;
}

/** Read the text of one field as the server would. */
export function readField(spec: IFieldSpec, raw: string): FieldResult {
  const text = raw.trim();
  if (text === '') {
    return { ok: true, value: undefined };
  }
  switch (spec.kind) {
    case 'name':
      return SERVICE_NAME.test(text)
        ? { ok: true, value: text }
        : problem(
            spec,
            text,
            "use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit"
          );
    case 'identifier':
      if (!IDENTIFIER.test(text)) {
        return problem(spec, text, 'it must be a Python identifier');
      }
      return PYTHON_KEYWORDS.has(text)
        ? problem(spec, text, 'it is a Python keyword; choose another name')
        : { ok: true, value: text };
    case 'choice':
      return spec.choices?.includes(text)
        ? { ok: true, value: text }
        : problem(spec, text, `it must be one of ${spec.choices?.join(', ')}`);
    case 'number':
    case 'integer': {
      const value = DECIMAL.test(text) ? Number(text) : NaN;
      const integer = spec.kind === 'integer';
      if (
        !Number.isFinite(value) ||
        (integer && !Number.isInteger(value)) ||
        !withinBounds(spec, value)
      ) {
        const what = integer ? 'a whole number' : 'a number';
        return problem(spec, text, `it must be ${what}${boundText(spec)}`);
      }
      return { ok: true, value };
    }
    case 'bytes': {
      const value = parseBytes(text);
      return value === null
        ? problem(
            spec,
            text,
            'it must be a size in bytes, or with a unit such as 512MiB or 4GiB'
          )
        : { ok: true, value };
    }
  }
}

/** The values of every valid field and the errors of the invalid ones. */
export interface IValidation {
  values: Record<string, Json | undefined>;
  errors: FieldErrors;
}

function effectiveReplicas(
  values: Record<string, Json | undefined>,
  key: string
): number {
  const value = values[key];
  return typeof value === 'number' ? value : Number(fieldSpec(key).defaultText);
}

/** Check every field, then the rules across fields (min_replicas ≤ max_replicas, defaults counted). */
export function validateForm(form: FormValues): IValidation {
  const values: Record<string, Json | undefined> = {};
  const errors: FieldErrors = {};
  for (const spec of FIELDS) {
    const result = readField(spec, form[spec.key] ?? '');
    if (result.ok) {
      values[spec.key] = result.value;
    } else {
      errors[spec.key] = result.error;
    }
  }
  for (const stage of STAGES) {
    const minKey = `${stage}.min_replicas`;
    const maxKey = `${stage}.max_replicas`;
    if (minKey in errors || maxKey in errors) {
      continue;
    }
    const min = effectiveReplicas(values, minKey);
    const max = effectiveReplicas(values, maxKey);
    if (min > max) {
      errors[minKey] =
        `${minKey} (${min}) is larger than ${maxKey} (${max}): lower it or raise ${maxKey}.`;
      errors[maxKey] =
        `${maxKey} (${max}) is smaller than ${minKey} (${min}): raise it or lower ${minKey}.`;
      delete values[minKey];
      delete values[maxKey];
    }
  }
  const batchSize = 'batch.max_size';
  if (
    !(batchSize in errors) &&
    values[batchSize] === undefined &&
    values['batch.wait_ms'] !== undefined
  ) {
    errors[batchSize] =
      `${batchSize} is needed to turn batching on: the most requests in one run of the predict cells.`;
  }
  const logSize = 'request_log.max_requests';
  if (
    !(logSize in errors) &&
    values[logSize] === undefined &&
    values['request_log.max_body_bytes'] !== undefined
  ) {
    errors[logSize] =
      `${logSize} is needed to turn the request log on: the most requests it keeps.`;
  }
  return { values, errors };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function textOf(spec: IFieldSpec, value: unknown): string {
  if (value === undefined || value === null) {
    return '';
  }
  if (spec.kind === 'bytes' && typeof value === 'number') {
    return formatBytes(value);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The form's text for the settings in notebook metadata (anything not an object: empty form). */
export function formFromMetadata(metadata: unknown): FormValues {
  const settings = isObject(metadata) ? metadata : {};
  const form: FormValues = {};
  for (const spec of FIELDS) {
    const container = containerOf(spec);
    const owner = container === null ? settings : settings[container];
    form[spec.key] = textOf(spec, isObject(owner) ? owner[spec.setting] : undefined);
  }
  return form;
}

/**
 * The metadata after writing the valid fields of `form` over `previous`.
 *
 * An invalid field keeps the value `previous` had; an empty one is removed, so
 * the server's default applies. Keys the form does not show (`request_schema`,
 * `base_image`, …) are kept as they are. Returns null when nothing is left, so
 * the caller can remove the metadata key.
 */
export function mergeIntoMetadata(
  previous: unknown,
  form: FormValues
): JsonObject | null {
  const { values, errors } = validateForm(form);
  const settings: JsonObject = isObject(previous) ? { ...previous } : {};
  const containers: readonly string[] = [...STAGES, ...GROUPS];
  for (const container of containers) {
    if (isObject(settings[container])) {
      settings[container] = { ...settings[container] };
    }
  }
  for (const spec of FIELDS) {
    if (spec.key in errors) {
      continue;
    }
    const value = values[spec.key];
    const container = containerOf(spec);
    let owner: JsonObject;
    if (container === null) {
      owner = settings;
    } else {
      const current = settings[container];
      if (!isObject(current)) {
        if (value === undefined) {
          continue;
        }
        settings[container] = {};
      }
      owner = settings[container] as JsonObject;
    }
    if (value === undefined) {
      delete owner[spec.setting];
    } else {
      owner[spec.setting] = value;
    }
  }
  for (const container of containers) {
    const current = settings[container];
    if (isObject(current) && Object.keys(current).length === 0) {
      delete settings[container];
    }
  }
  return Object.keys(settings).length === 0 ? null : settings;
}

/**
 * Description of each form field from the server's JSON schema (pydantic's,
 * stages through `$ref`), by form key. Fields it does not describe are left out.
 */
export function settingDescriptions(schema: unknown): Record<string, string> {
  const descriptions: Record<string, string> = {};
  if (!isObject(schema)) {
    return descriptions;
  }
  const propertiesOf = (node: unknown): JsonObject => {
    let target: unknown = node;
    if (isObject(target) && typeof target.$ref === 'string') {
      target = resolveRef(schema, target.$ref);
    }
    if (isObject(target) && Array.isArray(target.allOf) && target.allOf.length === 1) {
      return propertiesOf(target.allOf[0]);
    }
    if (isObject(target) && Array.isArray(target.anyOf)) {
      // An optional group (`batch`: the group or null): the group's properties.
      const group = target.anyOf.find(member => isObject(member) && '$ref' in member);
      return group === undefined ? {} : propertiesOf(group);
    }
    return isObject(target) && isObject(target.properties) ? target.properties : {};
  };
  const top = propertiesOf(schema);
  for (const spec of FIELDS) {
    const container = containerOf(spec);
    const owner = container === null ? top : propertiesOf(top[container]);
    const property = owner[spec.setting];
    if (isObject(property) && typeof property.description === 'string') {
      descriptions[spec.key] = property.description;
    }
  }
  return descriptions;
}

function resolveRef(schema: JsonObject, ref: string): unknown {
  if (!ref.startsWith('#/')) {
    return undefined;
  }
  let node: unknown = schema;
  for (const part of ref.slice(2).split('/')) {
    node = isObject(node)
      ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')]
      : undefined;
  }
  return node;
}
