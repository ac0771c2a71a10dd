import type { BudgetView } from '../core/index.js';
import { budgetJson } from './output.js';

/** One line of the drawn tree: the budget and its label with the branch drawing before it. */
export interface TreeLine {
  budget: BudgetView;
  label: string;
}

function childrenByParent(budgets: readonly BudgetView[]): Map<number | null, BudgetView[]> {
  const children = new Map<number | null, BudgetView[]>();
  for (const b of [...budgets].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) {
    const siblings = children.get(b.parentId) ?? [];
    siblings.push(b);
    children.set(b.parentId, siblings);
  }
  return children;
}

function rootsOf(budgets: readonly BudgetView[], children: Map<number | null, BudgetView[]>, root: string | undefined): BudgetView[] {
  if (root === undefined) return children.get(null) ?? [];
  return budgets.filter((b) => b.path === root);
}

/**
 * The budgets as an indented tree, depth first, siblings by name, drawn with `├─`, `└─` and
 * `│`. With `root`, only that budget and what lies under it. A loop with an explicit stack.
 *
 * @example
 * treeLines(budgets).map((l) => l.label) // ['acme', '├─ research', '│  └─ bot', '└─ sales']
 */
export function treeLines(budgets: readonly BudgetView[], root?: string): TreeLine[] {
  const children = childrenByParent(budgets);
  const stack = rootsOf(budgets, children, root)
    .reverse()
    .map((budget) => ({ budget, lead: '', branch: '' }));
  const out: TreeLine[] = [];
  while (stack.length > 0) {
    const item = stack.pop();
    if (!item) break;
    out.push({ budget: item.budget, label: `${item.lead}${item.branch}${item.budget.name}` });
    const kids = children.get(item.budget.id) ?? [];
    const lead = item.branch === '' ? item.lead : `${item.lead}${item.branch === '└─ ' ? '   ' : '│  '}`;
    for (let i = kids.length - 1; i >= 0; i -= 1) {
      const kid = kids[i];
      if (kid) stack.push({ budget: kid, lead, branch: i === kids.length - 1 ? '└─ ' : '├─ ' });
    }
  }
  return out;
}

type TreeNode = Record<string, unknown> & { children: TreeNode[] };

/**
 * The budgets as nested JSON: each budget's fields plus `children`.
 *
 * @example
 * treeJson(budgets)[0].children[0].path // 'acme/research'
 */
export function treeJson(budgets: readonly BudgetView[], root?: string): TreeNode[] {
  const nodes = new Map<number, TreeNode>(budgets.map((b) => [b.id, { ...budgetJson(b), children: [] }]));
  const roots: TreeNode[] = [];
  for (const line of treeLines(budgets, root)) {
    const node = nodes.get(line.budget.id);
    if (!node) continue;
    const parent = line.budget.parentId === null || line.budget.path === root ? undefined : nodes.get(line.budget.parentId);
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}
