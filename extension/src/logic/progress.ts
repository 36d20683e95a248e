/**
 * Publish progress as the panel shows it: one row per stage, elapsed times and
 * one-line summaries. Pure functions over the job the server reports.
 */

import type { IPublishJob, IServiceVersion } from '../tokens';

/** How far a stage got. */
export type StageStatus = 'done' | 'active' | 'failed';

/** One stage of a publish job, its messages in the order they came. */
export interface IStageRow {
  stage: string;
  label: string;
  messages: string[];
  /** Seconds since the job started, at the stage's latest message. */
  elapsed: number;
  status: StageStatus;
}

/** `smoke_test` → `Smoke test`. */
export function stageLabel(stage: string): string {
  const words = stage.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Seconds as a person reads them: `0.1 s`, `12.3 s`, `1 min 15 s`, `1 h 2 min`. */
export function formatElapsed(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return '';
  }
  if (seconds < 60) {
    const shown = seconds < 10 ? seconds.toFixed(1) : seconds.toFixed(0);
    return `${shown} s`;
  }
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  return hours > 0 ? `${hours} h ${minutes} min` : `${minutes} min ${rest} s`;
}

/**
 * The job's stages, one row each in the order they started.
 *
 * While the job runs its latest stage is active; a failed job marks the stage it
 * failed in (the error's stage, else the latest one).
 */
export function stageRows(job: IPublishJob): IStageRow[] {
  const rows: IStageRow[] = [];
  const byStage = new Map<string, IStageRow>();
  for (const step of job.stages) {
    let row = byStage.get(step.stage);
    if (row === undefined) {
      row = {
        stage: step.stage,
        label: stageLabel(step.stage),
        messages: [],
        elapsed: step.elapsed,
        status: 'done'
      };
      byStage.set(step.stage, row);
      rows.push(row);
    }
    if (step.message) {
      row.messages.push(step.message);
    }
    row.elapsed = step.elapsed;
  }
  const last = rows[rows.length - 1];
  if (job.state === 'running' && last !== undefined) {
    last.status = 'active';
  }
  if (job.state === 'failed') {
    const stage = job.error?.stage;
    let failed = stage ? byStage.get(stage) : last;
    if (failed === undefined && stage) {
      failed = {
        stage,
        label: stageLabel(stage),
        messages: [],
        elapsed: last?.elapsed ?? 0,
        status: 'failed'
      };
      rows.push(failed);
    }
    if (failed !== undefined) {
      failed.status = 'failed';
    }
  }
  return rows;
}

/** Seconds the job has run, as far as its stages tell. */
export function jobElapsed(job: IPublishJob): number {
  return job.stages.reduce((most, step) => Math.max(most, step.elapsed), 0);
}

/** One line on where the job stands. */
export function jobSummary(job: IPublishJob): string {
  const elapsed = formatElapsed(jobElapsed(job));
  switch (job.state) {
    case 'running': {
      const current = job.stages[job.stages.length - 1];
      return current
        ? `Publishing: ${stageLabel(current.stage).toLowerCase()} (${elapsed})`
        : 'Publishing: starting';
    }
    case 'succeeded':
      return job.result
        ? job.result.canary
          ? `Published ${job.result.name} version ${job.result.version} as a canary in ${elapsed}.`
          : `Published ${job.result.name} version ${job.result.version} in ${elapsed}.`
        : `Published in ${elapsed}.`;
    case 'failed': {
      const where = job.error?.stage
        ? ` at ${stageLabel(job.error.stage).toLowerCase()}`
        : '';
      const cell = job.error?.cell ? ` (cell ${job.error.cell})` : '';
      return `Publishing failed${where}${cell}: ${job.error?.message ?? 'no reason given'}`;
    }
  }
}

/** The versions newest first, and whether each may be rolled back to (it was live before). */
export function versionRows(
  versions: readonly IServiceVersion[]
): { version: IServiceVersion; canRollback: boolean }[] {
  return [...versions]
    .sort((a, b) => b.version - a.version)
    .map(version => ({ version, canRollback: version.status === 'previous' }));
}

/** An ISO time as `2024-05-01 14:03`, in the viewer's time zone; the text itself if it is no date. */
export function formatCreated(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** A message's first line, and the lines after it ('' when there are none). */
export function splitMessage(message: string): { first: string; rest: string } {
  const text = message.trim();
  const end = text.indexOf('\n');
  return end < 0
    ? { first: text, rest: '' }
    : { first: text.slice(0, end).trim(), rest: text.slice(end + 1) };
}
