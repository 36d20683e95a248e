/**
 * Cell roles, kept as tags in each cell's standard `metadata.tags` list.
 *
 * The converter decides which roles there are and which tag gives each: the
 * server answers them (`GET cellserve/roles`) and every function here reads
 * that table. Pure functions over plain values: no JupyterLab import, so jest
 * tests them directly.
 */

/** A role's name, as the converter names it (`predict`). */
export type Role = string;

/** One role and the tag that gives a cell that role. */
export interface IRole {
  name: Role;
  tag: string;
}

/** Answer of `GET cellserve/roles`: the roles in the order the service runs them. */
export interface IRoleTable {
  roles: readonly IRole[];
}

/** The table before the server answered, or when it cannot: no cell has a role. */
export const NO_ROLES: IRoleTable = { roles: [] };

/** The server's answer, checked: throws if it is not a list of roles with names and tags. */
export function roleTable(answer: unknown): IRoleTable {
  const roles = (answer as { roles?: unknown } | null)?.roles;
  if (!Array.isArray(roles)) {
    throw new Error('the server named no cell roles');
  }
  return {
    roles: roles.map(entry => {
      const { name, tag } = (entry ?? {}) as { name?: unknown; tag?: unknown };
      if (typeof name !== 'string' || typeof tag !== 'string' || !name || !tag) {
        throw new Error(
          `the server named a cell role without a name and a tag: ${JSON.stringify(entry)}`
        );
      }
      return { name, tag };
    })
  };
}

/** The roles' names, in the order the service runs them. */
export function roleNames(table: IRoleTable): Role[] {
  return table.roles.map(role => role.name);
}

/** The tag that gives a cell `role`, e.g. `cellserve:predict`; null for a role the table lacks. */
export function roleTag(table: IRoleTable, role: Role): string | null {
  return table.roles.find(known => known.name === role)?.tag ?? null;
}

/** Whether `value` names a role of the table. */
export function isRole(table: IRoleTable, value: unknown): value is Role {
  return typeof value === 'string' && table.roles.some(role => role.name === value);
}

/** Only the strings of a metadata `tags` value, which a hand-edited notebook may hold anything in. */
export function asTags(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((tag): tag is string => typeof tag === 'string')
    : [];
}

/** The role a tag gives, or null for any other tag. */
export function roleOfTag(table: IRoleTable, tag: string): Role | null {
  return table.roles.find(role => role.tag === tag)?.name ?? null;
}

/**
 * Every role the tags give, in role order, each once.
 *
 * A cell should have one role; a hand-edited notebook can have more, and the
 * server's check reports that.
 */
export function rolesOfTags(table: IRoleTable, tags: readonly string[]): Role[] {
  return table.roles.filter(role => tags.includes(role.tag)).map(role => role.name);
}

/**
 * The tags of a cell given `role` (null: no role).
 *
 * Every role tag is removed, the other tags keep their order, and the new role
 * tag goes last. A role the table lacks changes nothing.
 */
export function withRole(
  table: IRoleTable,
  tags: readonly string[],
  role: Role | null
): string[] {
  const tag = role === null ? null : roleTag(table, role);
  if (role !== null && tag === null) {
    return [...tags];
  }
  const kept = tags.filter(known => roleOfTag(table, known) === null);
  return tag === null ? kept : [...kept, tag];
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

/** The tagged cells of each role of the table, keyed by role name. */
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

/** The cells grouped by role (every role of the table, in its order), each group in notebook order. */
export function groupByRole(
  table: IRoleTable,
  cells: readonly ICellSummary[]
): RoleGroups {
  const groups: RoleGroups = Object.fromEntries(
    table.roles.map(role => [role.name, [] as IRoleEntry[]])
  );
  cells.forEach((cell, index) => {
    for (const role of rolesOfTags(table, cell.tags)) {
      groups[role].push({ cell: index + 1, firstLine: firstLine(cell.source) });
    }
  });
  return groups;
}

/** How many cells have a role. */
export function countTagged(groups: RoleGroups): number {
  const cells = new Set(
    Object.values(groups).flatMap(entries => entries.map(entry => entry.cell))
  );
  return cells.size;
}
