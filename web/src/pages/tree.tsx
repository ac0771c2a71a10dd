import { memo } from 'preact/compat';
import { useMemo, useState } from 'preact/hooks';
import type { Budget } from '../api.js';
import { EditBudgetDialog, GrantDialog, setPaused } from '../budget-dialogs.js';
import { Bar, ErrorText, Money, StatusBadge, useLive, useLiveModel } from '../ui.js';

/**
 * The budget tree: every budget under its parent with a bar of spent and reserved against its
 * limit; an admin edits the limit and policy, tops up, and pauses from each row. Orgs and
 * teams start open; agents start closed (their children are the spend tokens' envelopes).
 */

interface Line {
  budget: Budget;
  depth: number;
  children: number;
}

/** The visible lines: a depth-first walk (a stack, no recursion) that skips closed nodes' children. */
function linesOf(budgets: Iterable<Budget>, open: (b: Budget) => boolean): Line[] {
  const children = new Map<number | null, Budget[]>();
  for (const b of budgets) {
    const list = children.get(b.parent_id) ?? [];
    list.push(b);
    children.set(b.parent_id, list);
  }
  for (const list of children.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines: Line[] = [];
  const stack: { budget: Budget; depth: number }[] = [...(children.get(null) ?? [])].reverse().map((budget) => ({ budget, depth: 0 }));
  while (stack.length > 0) {
    const { budget, depth } = stack.pop() as { budget: Budget; depth: number };
    const kids = children.get(budget.id) ?? [];
    lines.push({ budget, depth, children: kids.length });
    if (open(budget)) for (let i = kids.length - 1; i >= 0; i -= 1) stack.push({ budget: kids[i] as Budget, depth: depth + 1 });
  }
  return lines;
}

type Editing = { kind: 'edit' | 'grant'; budget: Budget } | undefined;

function RowActions({ budget, onEdit }: { budget: Budget; onEdit: (e: Editing) => void }) {
  const live = useLiveModel();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  if (budget.status === 'closed') return <span class="muted">closed</span>;
  const paused = budget.status === 'paused';
  async function toggle() {
    setBusy(true);
    setError(await setPaused(live, budget.path, !paused));
    setBusy(false);
  }
  return (
    <div class="row-actions">
      <button type="button" onClick={() => onEdit({ kind: 'edit', budget })} aria-label={`Edit ${budget.path}`}>
        Edit
      </button>
      <button type="button" onClick={() => onEdit({ kind: 'grant', budget })} disabled={budget.limit_micros === null} aria-label={`Top up ${budget.path}`} title={budget.limit_micros === null ? 'a budget without a limit needs no top-up' : undefined}>
        Top up
      </button>
      <button type="button" disabled={busy} onClick={() => void toggle()} aria-label={`${paused ? 'Resume' : 'Pause'} ${budget.path}`}>
        {paused ? 'Resume' : 'Pause'}
      </button>
      <ErrorText message={error} />
    </div>
  );
}

const TreeRow = memo(function TreeRow({ line, open, admin, onToggle, onEdit }: { line: Line; open: boolean; admin: boolean; onToggle: (path: string) => void; onEdit: (e: Editing) => void }) {
  const b = line.budget;
  return (
    <tr data-path={b.path} aria-level={line.depth + 1}>
      <th scope="row" class="tree-name" style={{ paddingLeft: `${0.5 + line.depth * 1.25}rem` }}>
        {line.children > 0 ? (
          <button type="button" class="toggle" aria-expanded={open} aria-label={`${open ? 'Collapse' : 'Expand'} ${b.path}`} onClick={() => onToggle(b.path)}>
            {open ? '▾' : '▸'}
          </button>
        ) : (
          <span class="toggle-space" />
        )}
        <span title={b.path}>{b.name}</span>
      </th>
      <td class="muted">{b.kind}</td>
      <td><StatusBadge status={b.status} /></td>
      <td class="bar-cell"><Bar budget={b} compact /></td>
      <td class="num"><Money micros={b.spent_micros} /></td>
      <td class="num"><Money micros={b.reserved_micros} /></td>
      <td class="num">
        <Money micros={b.limit_micros} />
        {b.granted_micros > 0 && <span class="muted"> +<Money micros={b.granted_micros} /></span>}
      </td>
      <td class="muted">{b.period}</td>
      {admin && <td><RowActions budget={b} onEdit={onEdit} /></td>}
    </tr>
  );
});

export function TreePage() {
  const live = useLive();
  const admin = live.role === 'admin';
  const [toggled, setToggled] = useState<ReadonlySet<string>>(new Set());
  const [editing, setEditing] = useState<Editing>();
  // Orgs and teams start open, everything else closed; a click flips a node from its default.
  const open = (b: Budget) => (b.kind === 'org' || b.kind === 'team' || b.parent_id === null) !== toggled.has(b.path);
  const lines = useMemo(() => linesOf(live.budgets.values(), open), [live.budgetsVersion, toggled]);
  const onToggle = useMemo(
    () => (path: string) =>
      setToggled((t) => {
        const next = new Set(t);
        if (next.has(path)) next.delete(path);
        else next.add(path);
        return next;
      }),
    [],
  );
  return (
    <div class="page tree">
      <h1 class="visually-hidden">Budgets</h1>
      {lines.length === 0 ? (
        <p class="empty">No budgets yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="table tree-table">
            <caption class="visually-hidden">Budget tree: spent, reserved and limit this period</caption>
            <thead>
              <tr>
                <th scope="col">Budget</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Spent / reserved / limit</th>
                <th scope="col" class="num">Spent</th>
                <th scope="col" class="num">Reserved</th>
                <th scope="col" class="num">Limit</th>
                <th scope="col">Period</th>
                {admin && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {lines.map((l) => (
                <TreeRow key={l.budget.path} line={l} open={open(l.budget)} admin={admin} onToggle={onToggle} onEdit={setEditing} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing?.kind === 'edit' && <EditBudgetDialog budget={editing.budget} full onClose={() => setEditing(undefined)} />}
      {editing?.kind === 'grant' && <GrantDialog budget={editing.budget} onClose={() => setEditing(undefined)} />}
    </div>
  );
}
