/**
 * Cell roles, kept as tags in each cell's standard `metadata.tags` list.
 *
 * Pure functions over plain values: no JupyterLab import, so jest tests them directly.
 */

/** The roles a cell can have, in the order the service runs them. */
export const ROLES = ['setup', 'preprocessing', 'predict'] as const;

export type Role = (typeof ROLES)[number];

/** Prefix shared by every cellserve tag. */
export const TAG_PREFIX = 'cellserve:';

/** The tag that gives a cell `role`, e.g. `cellserve:predict`. */
export function roleTag(role: Role): string {
  return TAG_PREFIX + role;
}

/** Whether `value` names a role. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Only the strings of a metadata `tags` value, which a hand-edited notebook may hold anything in. */
export function asTags(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((tag): tag is string => typeof tag === 'string')
    : [];
}

/** The role a tag gives, or null for any other tag. */
export function roleOfTag(tag: string): Role | null {
  if (!tag.startsWith(TAG_PREFIX)) {
    return null;
  }
  const role = tag.slice(TAG_PREFIX.length);
  return isRole(role) ? role : null;
}

/**
 * Every role the tags give, in role order, each once.
 *
 * A cell should have one role; a hand-edited notebook can have more, and the
 * server's check reports that.
 */
export function rolesOfTags(tags: readonly string[]): Role[] {
  const found = new Set(tags.map(roleOfTag));
  return ROLES.filter(role => found.has(role));
}

/**
 * The tags of a cell given `role` (null: no role).
 *
 * Every cellserve role tag is removed, the other tags keep their order, and the
 * new role tag goes last.
 */
export function withRole(tags: readonly string[], role: Role | null): string[] {
  const kept = tags.filter(tag => roleOfTag(tag) === null);
  return role === null ? kept : [...kept, roleTag(role)];
}

/** What the panel needs to know of one notebook cell. */
export interface ICellSummary {
  /** Tags from `metadata.tags`. */
  tags: readonly string[];
  /** The cell's source text. */
  source: string;
}

/** One tagged cell as the panel lists it. */
export interface IRoleEntry {
  /** 1-based position among all cells, markdown included, as the server numbers cells. */
  cell: number;
  /** First line of the source worth showing. */
  firstLine: string;
}

export type RoleGroups = Record<Role, IRoleEntry[]>;

/** Longest first line shown before it is cut with an ellipsis. */
export const FIRST_LINE_LENGTH = 60;

/** The first non-blank line of `source`, trimmed and cut to `limit` characters. */
export function firstLine(source: string, limit = FIRST_LINE_LENGTH): string {
  const line =
    source
      .split(/\r?\n/)
      .map(text => text.trim())
      .find(text => text.length > 0) ?? '';
  return line.length > limit ? line.slice(0, limit - 1).trimEnd() + '…' : line;
}

/** The cells grouped by role, each group in notebook order. */
export function groupByRole(cells: readonly ICellSummary[]): RoleGroups {
  const groups: RoleGroups = { setup: [], preprocessing: [], predict: [] };
  cells.forEach((cell, index) => {
    for (const role of rolesOfTags(cell.tags)) {
      groups[role].push({ cell: index + 1, firstLine: firstLine(cell.source) });
    }
  });
  return groups;
}

/** How many cells have a role. */
export function countTagged(groups: RoleGroups): number {
  const cells = new Set(ROLES.flatMap(role => groups[role].map(entry => entry.cell)));
  return cells.size;
}
