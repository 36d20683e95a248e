import {
  formatCreated,
  splitMessage,
  formatElapsed,
  jobElapsed,
  jobSummary,
  stageLabel,
  stageRows,
  versionRows
} from '../src/logic/progress';
import type { IPublishJob, IServiceVersion } from '../src/tokens';

function job(change: Partial<IPublishJob>): IPublishJob {
  return {
    id: 'j1',
    state: 'running',
    capture: 'headless',
    stages: [],
    result: null,
    error: null,
    ...change
  };
}

const stages = [
  { stage: 'analyse', message: 'Reading digits.ipynb', elapsed: 0.1 },
  { stage: 'analyse', message: '3 tagged cells', elapsed: 0.3 },
  { stage: 'capture', message: 'Running the notebook headlessly', elapsed: 1.2 },
  { stage: 'deploy', message: 'Starting replicas', elapsed: 12.5 }
];

describe('stageLabel', () => {
  it.each([
    ['analyse', 'Analyse'],
    ['smoke_test', 'Smoke test'],
    ['build-image', 'Build image'],
    ['', '']
  ])('labels %j %j', (stage, label) => {
    expect(stageLabel(stage)).toBe(label);
  });
});

describe('formatElapsed', () => {
  it.each([
    [0, '0.0 s'],
    [0.14, '0.1 s'],
    [9.96, '10.0 s'],
    [12.4, '12 s'],
    [75, '1 min 15 s'],
    [3725, '1 h 2 min'],
    [-1, ''],
    [Number.NaN, '']
  ])('shows %p seconds as %j', (seconds, text) => {
    expect(formatElapsed(seconds)).toBe(text);
  });
});

describe('stageRows', () => {
  it('gives one row per stage, messages in order, the latest stage active', () => {
    const rows = stageRows(job({ stages }));
    expect(rows.map(row => [row.stage, row.status, row.elapsed])).toEqual([
      ['analyse', 'done', 0.3],
      ['capture', 'done', 1.2],
      ['deploy', 'active', 12.5]
    ]);
    expect(rows[0].messages).toEqual(['Reading digits.ipynb', '3 tagged cells']);
    expect(rows[0].label).toBe('Analyse');
  });

  it('marks every stage done when the job succeeded', () => {
    const rows = stageRows(job({ state: 'succeeded', stages }));
    expect(rows.every(row => row.status === 'done')).toBe(true);
  });

  it('marks the stage named by the error', () => {
    const rows = stageRows(
      job({
        state: 'failed',
        stages,
        error: { message: 'boom', stage: 'capture', cell: 9 }
      })
    );
    expect(rows.map(row => row.status)).toEqual(['done', 'failed', 'done']);
  });

  it('marks the latest stage when the error names none', () => {
    const rows = stageRows(
      job({
        state: 'failed',
        stages,
        error: { message: 'boom', stage: null, cell: null }
      })
    );
    expect(rows.map(row => row.status)).toEqual(['done', 'done', 'failed']);
  });

  it('adds the failed stage when it reported nothing before failing', () => {
    const rows = stageRows(
      job({
        state: 'failed',
        stages: stages.slice(0, 1),
        error: { message: 'no cluster', stage: 'deploy', cell: null }
      })
    );
    expect(rows.map(row => [row.stage, row.status])).toEqual([
      ['analyse', 'done'],
      ['deploy', 'failed']
    ]);
  });

  it('gives no rows before the first stage', () => {
    expect(stageRows(job({}))).toEqual([]);
  });
});

describe('jobSummary', () => {
  it('names the running stage and time', () => {
    expect(jobElapsed(job({ stages }))).toBe(12.5);
    expect(jobSummary(job({ stages }))).toBe('Publishing: deploy (13 s)');
    expect(jobSummary(job({}))).toBe('Publishing: starting');
  });

  it('names the version published', () => {
    const result = {
      name: 'digits',
      version: 3,
      endpoint: 'http://127.0.0.1:8000/digits/predict',
      page: 'http://127.0.0.1:8000/digits/'
    };
    expect(jobSummary(job({ state: 'succeeded', stages, result }))).toBe(
      'Published digits version 3 in 13 s.'
    );
  });

  it('says where and why it failed', () => {
    expect(
      jobSummary(
        job({
          state: 'failed',
          stages,
          error: { message: "name 'scaler' is not defined", stage: 'capture', cell: 9 }
        })
      )
    ).toBe("Publishing failed at capture (cell 9): name 'scaler' is not defined");
  });
});

describe('versionRows', () => {
  const version = (n: number, status: string): IServiceVersion => ({
    version: n,
    status,
    created: '2024-05-01T12:00:00Z',
    failed_stage: null,
    error: null
  });

  it('lists newest first and offers rollback to earlier live versions only', () => {
    const rows = versionRows([
      version(1, 'previous'),
      version(3, 'failed'),
      version(2, 'live')
    ]);
    expect(rows.map(row => [row.version.version, row.canRollback])).toEqual([
      [3, false],
      [2, false],
      [1, true]
    ]);
  });
});

describe('formatCreated', () => {
  it('shows a date and minute', () => {
    expect(formatCreated('2024-05-01T12:34:56')).toBe('2024-05-01 12:34');
  });

  it('shows other text unchanged', () => {
    expect(formatCreated('yesterday')).toBe('yesterday');
  });
});

describe('splitMessage', () => {
  it('keeps a one-line message whole', () => {
    expect(splitMessage(' deploy failed \n')).toEqual({
      first: 'deploy failed',
      rest: ''
    });
  });

  it("folds a replay's differences under its first line", () => {
    const message =
      'replay: 100.0% differ; version 2 does not go live.\n5 requests replayed\n  request #1: {"x": [1]}';
    expect(splitMessage(message)).toEqual({
      first: 'replay: 100.0% differ; version 2 does not go live.',
      rest: '5 requests replayed\n  request #1: {"x": [1]}'
    });
  });
});
