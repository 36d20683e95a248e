import {
  FIELDS,
  fieldSpec,
  fieldsOf,
  formatBytes,
  formFromMetadata,
  mergeIntoMetadata,
  parseBytes,
  readField,
  settingDescriptions,
  validateForm
} from '../src/logic/settings';

function errorOf(key: string, text: string): string | null {
  const result = readField(fieldSpec(key), text);
  return result.ok ? null : result.error;
}

function valueOf(key: string, text: string): unknown {
  const result = readField(fieldSpec(key), text);
  if (!result.ok) {
    throw new Error(result.error);
  }
  return result.value;
}

describe('the fields', () => {
  it('cover the service settings and both stages', () => {
    expect(fieldsOf(null).map(spec => spec.key)).toEqual([
      'name',
      'input_variable',
      'access',
      'stages',
      'batch.max_size',
      'batch.wait_ms',
      'request_log.max_requests',
      'request_log.max_body_bytes',
      'replay.max_mismatch'
    ]);
    for (const stage of ['preprocessing', 'predict'] as const) {
      expect(fieldsOf(stage).map(spec => spec.setting)).toEqual([
        'num_gpus',
        'gpu',
        'num_cpus',
        'memory',
        'min_replicas',
        'max_replicas',
        'target_ongoing_requests',
        'max_ongoing_requests',
        'max_queued_requests'
      ]);
    }
  });

  it('have unique keys', () => {
    const keys = FIELDS.map(spec => spec.key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('refuse an unknown key', () => {
    expect(() => fieldSpec('predict.gpus')).toThrow(/Unknown cellserve setting/);
  });
});

describe('readField', () => {
  it('leaves the default for empty text', () => {
    for (const spec of FIELDS) {
      expect(readField(spec, '   ')).toEqual({ ok: true, value: undefined });
    }
  });

  it.each([
    ['name', 'digits'],
    ['name', 'a'],
    ['name', 'wine-quality-2'],
    ['name', 'a'.repeat(63)]
  ])('accepts %s = %j', (key, text) => {
    expect(valueOf(key, text)).toBe(text);
  });

  it.each(['Digits', '-digits', 'digits-', 'my_model', 'a'.repeat(64), 'dígits'])(
    'refuses the service name %j',
    text => {
      expect(errorOf('name', text)).toMatch(/lowercase letters, digits and '-'/);
    }
  );

  it.each(['payload', '_x', 'données', 'request2', 'match'])(
    'accepts the input variable %j',
    text => {
      expect(valueOf('input_variable', text)).toBe(text);
    }
  );

  it.each([
    ['2x', /Python identifier/],
    ['my-var', /Python identifier/],
    ['a b', /Python identifier/],
    ['class', /Python keyword/],
    ['None', /Python keyword/]
  ])('refuses the input variable %j', (text, message) => {
    expect(errorOf('input_variable', text)).toMatch(message);
  });

  it('lets a replica keep no request waiting', () => {
    expect(valueOf('predict.max_queued_requests', '0')).toBe(0);
    expect(errorOf('predict.max_queued_requests', '-1')).toMatch(/≥ 0/);
  });

  it('accepts only the listed choices', () => {
    expect(valueOf('access', 'token')).toBe('token');
    expect(valueOf('stages', 'separate')).toBe('separate');
    expect(valueOf('predict.gpu', 'if-available')).toBe('if-available');
    expect(errorOf('access', 'private')).toBe(
      'Got "private" for access: it must be one of public, token.'
    );
  });

  it.each([
    ['predict.num_gpus', '0.5', 0.5],
    ['predict.num_gpus', '0', 0],
    ['predict.num_gpus', ' 2 ', 2],
    ['preprocessing.num_cpus', '.25', 0.25],
    ['predict.target_ongoing_requests', '1e-1', 0.1],
    ['predict.min_replicas', '0', 0],
    ['predict.max_replicas', '4', 4],
    ['predict.max_replicas', '3.0', 3],
    ['predict.max_ongoing_requests', '1', 1]
  ])('reads %s = %j as %p', (key, text, value) => {
    expect(valueOf(key, text)).toBe(value);
  });

  it.each([
    [
      'predict.num_gpus',
      'abc',
      'Got "abc" for predict.num_gpus: it must be a number ≥ 0.'
    ],
    [
      'predict.num_gpus',
      '-1',
      'Got "-1" for predict.num_gpus: it must be a number ≥ 0.'
    ],
    [
      'predict.num_gpus',
      '1,5',
      'Got "1,5" for predict.num_gpus: it must be a number ≥ 0.'
    ],
    [
      'predict.num_gpus',
      'Infinity',
      'Got "Infinity" for predict.num_gpus: it must be a number ≥ 0.'
    ],
    [
      'predict.target_ongoing_requests',
      '0',
      'Got "0" for predict.target_ongoing_requests: it must be a number > 0.'
    ],
    [
      'preprocessing.min_replicas',
      '1.5',
      'Got "1.5" for preprocessing.min_replicas: it must be a whole number ≥ 0.'
    ],
    [
      'predict.max_replicas',
      '0',
      'Got "0" for predict.max_replicas: it must be a whole number ≥ 1.'
    ],
    [
      'predict.max_ongoing_requests',
      '0',
      'Got "0" for predict.max_ongoing_requests: it must be a whole number ≥ 1.'
    ]
  ])('refuses %s = %j', (key, text, message) => {
    expect(errorOf(key, text)).toBe(message);
  });

  it('reads memory sizes with units', () => {
    expect(valueOf('predict.memory', '4GiB')).toBe(4 * 2 ** 30);
    expect(valueOf('predict.memory', '1073741824')).toBe(2 ** 30);
    expect(errorOf('predict.memory', '4 parsecs')).toMatch(/size in bytes/);
  });
});

describe('parseBytes and formatBytes', () => {
  it.each([
    ['0', 0],
    ['512', 512],
    ['512MiB', 512 * 2 ** 20],
    ['512 mib', 512 * 2 ** 20],
    ['1.5GiB', 1.5 * 2 ** 30],
    ['2G', 2e9],
    ['2GB', 2e9],
    ['1Ki', 1024],
    ['10 B', 10]
  ])('parses %j as %p bytes', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it.each(['', 'GiB', '-1GiB', '1XB', '1.2.3'])('refuses %j', text => {
    expect(parseBytes(text)).toBeNull();
  });

  it.each([
    [4 * 2 ** 30, '4GiB'],
    [1536 * 2 ** 20, '1536MiB'],
    [2e9, '2GB'],
    [1000, '1KB'],
    [1023, '1023'],
    [0, '0']
  ])('shows %p bytes as %j', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
    expect(parseBytes(text)).toBe(bytes);
  });
});

describe('validateForm', () => {
  it('accepts an empty form', () => {
    expect(validateForm({})).toEqual({
      values: Object.fromEntries(FIELDS.map(spec => [spec.key, undefined])),
      errors: {}
    });
  });

  it('collects one error per invalid field', () => {
    const { errors } = validateForm({
      name: 'Bad Name',
      'predict.num_gpus': '-2',
      'preprocessing.num_cpus': '1'
    });
    expect(Object.keys(errors).sort()).toEqual(['name', 'predict.num_gpus']);
  });

  it('refuses min_replicas above max_replicas on both fields', () => {
    const { values, errors } = validateForm({
      'predict.min_replicas': '3',
      'predict.max_replicas': '2'
    });
    expect(errors['predict.min_replicas']).toMatch(
      /predict.min_replicas \(3\) is larger/
    );
    expect(errors['predict.max_replicas']).toMatch(
      /predict.max_replicas \(2\) is smaller/
    );
    expect(values['predict.min_replicas']).toBeUndefined();
  });

  it('counts the default max_replicas of 1', () => {
    const { errors } = validateForm({ 'preprocessing.min_replicas': '2' });
    expect(errors['preprocessing.max_replicas']).toMatch(/\(1\) is smaller than/);
  });

  it('accepts autoscaling bounds in order', () => {
    expect(
      validateForm({ 'predict.min_replicas': '0', 'predict.max_replicas': '5' }).errors
    ).toEqual({});
  });
});

describe('formFromMetadata', () => {
  it('shows the stored settings as text', () => {
    const form = formFromMetadata({
      name: 'digits',
      access: 'token',
      predict: { num_gpus: 0.5, gpu: 'if-available', memory: 2 ** 31, max_replicas: 4 }
    });
    expect(form).toMatchObject({
      name: 'digits',
      input_variable: '',
      access: 'token',
      'predict.num_gpus': '0.5',
      'predict.gpu': 'if-available',
      'predict.memory': '2GiB',
      'predict.max_replicas': '4',
      'preprocessing.num_gpus': ''
    });
    expect(Object.keys(form)).toHaveLength(FIELDS.length);
  });

  it('shows wrong types as text that fails validation', () => {
    const form = formFromMetadata({ predict: { num_gpus: 'abc', max_replicas: true } });
    expect(validateForm(form).errors).toEqual({
      'predict.num_gpus': 'Got "abc" for predict.num_gpus: it must be a number ≥ 0.',
      'predict.max_replicas':
        'Got "true" for predict.max_replicas: it must be a whole number ≥ 1.'
    });
  });

  it.each([undefined, null, 'x', [1]])('gives an empty form for %j', metadata => {
    expect(Object.values(formFromMetadata(metadata)).every(text => text === '')).toBe(
      true
    );
  });
});

describe('mergeIntoMetadata', () => {
  it('writes typed values and nothing for empty fields', () => {
    expect(
      mergeIntoMetadata(undefined, {
        name: 'digits',
        'predict.num_gpus': '0.5',
        'predict.memory': '1GiB',
        'preprocessing.max_replicas': '3'
      })
    ).toEqual({
      name: 'digits',
      predict: { num_gpus: 0.5, memory: 2 ** 30 },
      preprocessing: { max_replicas: 3 }
    });
  });

  it('writes the batch group, and removes it when its fields are emptied', () => {
    const batched = mergeIntoMetadata(
      { predict: { num_gpus: 1 } },
      { 'batch.max_size': '32', 'batch.wait_ms': '2.5', 'predict.num_gpus': '1' }
    );
    expect(batched).toEqual({
      predict: { num_gpus: 1 },
      batch: { max_size: 32, wait_ms: 2.5 }
    });
    expect(formFromMetadata(batched)['batch.max_size']).toBe('32');
    expect(
      mergeIntoMetadata(batched, { 'batch.max_size': '', 'predict.num_gpus': '1' })
    ).toEqual({ predict: { num_gpus: 1 } });
  });

  it('writes the request log and replay settings into their groups', () => {
    const merged = mergeIntoMetadata(
      {},
      { 'request_log.max_requests': '200', 'replay.max_mismatch': '0.05' }
    );
    expect(merged).toEqual({
      request_log: { max_requests: 200 },
      replay: { max_mismatch: 0.05 }
    });
    expect(formFromMetadata(merged)['request_log.max_body_bytes']).toBe('');
    expect(
      validateForm({ 'request_log.max_body_bytes': '1024' }).errors[
        'request_log.max_requests'
      ]
    ).toMatch(/needed to turn the request log on/);
    expect(
      validateForm({ 'request_log.max_requests': '0' }).errors[
        'request_log.max_requests'
      ]
    ).toMatch(/whole number ≥ 1/);
  });

  it('asks for a batch size when only the batch wait is set', () => {
    const { errors } = validateForm({ 'batch.wait_ms': '5' });
    expect(errors['batch.max_size']).toMatch(
      /batch.max_size is needed to turn batching on/
    );
    expect(errorOf('batch.max_size', '1')).toMatch(/≥ 2/);
  });

  it('returns null when nothing is set', () => {
    expect(
      mergeIntoMetadata({ predict: { num_gpus: 1 } }, { 'predict.num_gpus': '' })
    ).toBeNull();
  });

  it('keeps the stored value of an invalid field', () => {
    expect(
      mergeIntoMetadata(
        { predict: { num_gpus: 1, num_cpus: 2 } },
        { 'predict.num_gpus': 'lots', 'predict.num_cpus': '4' }
      )
    ).toEqual({ predict: { num_gpus: 1, num_cpus: 4 } });
  });

  it('writes neither replica bound while they contradict each other', () => {
    expect(
      mergeIntoMetadata(
        { predict: { min_replicas: 1, max_replicas: 2 } },
        { 'predict.min_replicas': '5', 'predict.max_replicas': '2' }
      )
    ).toEqual({ predict: { min_replicas: 1, max_replicas: 2 } });
  });

  it('keeps settings the form does not show', () => {
    const stored = {
      request_schema: 'off',
      base_image: 'rayproject/ray:2.60.0',
      predict: { num_gpus: 1 }
    };
    expect(
      mergeIntoMetadata(stored, { ...formFromMetadata(stored), name: 'x' })
    ).toEqual({
      ...stored,
      name: 'x'
    });
  });

  it('does not change the stored object', () => {
    const stored = { predict: { num_gpus: 1 } };
    mergeIntoMetadata(stored, { 'predict.num_gpus': '2' });
    expect(stored).toEqual({ predict: { num_gpus: 1 } });
  });

  it('reads back to the same form', () => {
    const form = {
      ...formFromMetadata(undefined),
      name: 'wine',
      input_variable: 'request',
      access: 'public',
      'preprocessing.num_cpus': '0.5',
      'predict.num_gpus': '1',
      'predict.gpu': 'required',
      'predict.memory': '4GiB',
      'predict.min_replicas': '1',
      'predict.max_replicas': '3',
      'predict.target_ongoing_requests': '1.5',
      'predict.max_ongoing_requests': '16'
    };
    expect(formFromMetadata(mergeIntoMetadata(null, form))).toEqual(form);
  });
});

describe('settingDescriptions', () => {
  const schema = {
    type: 'object',
    properties: {
      name: { description: 'Service name.' },
      input_variable: { description: 'Variable name.' },
      predict: { $ref: '#/$defs/StageSettings' },
      preprocessing: { allOf: [{ $ref: '#/$defs/StageSettings' }] },
      batch: { anyOf: [{ $ref: '#/$defs/BatchSettings' }, { type: 'null' }] }
    },
    $defs: {
      StageSettings: {
        properties: { num_gpus: { description: 'GPUs per replica.' } }
      },
      BatchSettings: {
        properties: { max_size: { description: 'Most requests in one run.' } }
      }
    }
  };

  it('reads descriptions of service and stage settings through $ref', () => {
    expect(settingDescriptions(schema)).toEqual({
      name: 'Service name.',
      input_variable: 'Variable name.',
      'predict.num_gpus': 'GPUs per replica.',
      'preprocessing.num_gpus': 'GPUs per replica.',
      'batch.max_size': 'Most requests in one run.'
    });
  });

  it.each([null, 'x', {}, { properties: [] }])('finds nothing in %j', value => {
    expect(settingDescriptions(value)).toEqual({});
  });
});
