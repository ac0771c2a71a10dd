import { z } from 'zod';
import { route, type Route } from '../deps.js';
import {
  ok,
  budgetToJson,
  closedPeriodToJson,
  policyFromJson,
  policyPatchFromJson,
  policyToJson,
  ActorHeaders,
  BudgetJson,
  BudgetsQuery,
  ClosedPeriodJson,
  CreateBudgetBody,
  GrantBody,
  MoveBody,
  PathParams,
  PolicyJson,
  ReasonBody,
  TreeNodeJson,
  TreeQuery,
  UpdateBudgetBody,
  WriteHeaders,
  type TreeNodeValue,
} from '../../contract/index.js';
import { budgetDetail, budgetTree, closedPeriods as closedPeriodsOp, listBudgets as listBudgetsOp, type BudgetNode } from '../../ops/index.js';

const tag = 'budgets';

const BudgetResponse = z.object({ budget: BudgetJson });

const listBudgets = route({
  method: 'GET',
  path: '/api/budgets',
  operationId: 'listBudgets',
  summary: 'List budgets, sorted by path',
  tag,
  access: 'viewer',
  query: BudgetsQuery,
  response: { status: 200, description: 'the budgets', schema: z.object({ budgets: z.array(BudgetJson) }) },
  handler: async ({ query, deps }) => ({ budgets: ok(await listBudgetsOp(deps.store, query)).budgets.map(budgetToJson) }),
});

const createBudget = route({
  method: 'POST',
  path: '/api/budgets',
  operationId: 'createBudget',
  summary: 'Create a budget',
  description: 'Creates a budget at a path. Its parent must exist unless create_parents is true. A child\'s policy may only narrow its parents\'.',
  tag,
  access: 'admin',
  body: CreateBudgetBody,
  headers: WriteHeaders,
  response: { status: 201, description: 'the new budget', schema: BudgetResponse },
  handler: async ({ body, headers, actor, deps }) => {
    const { budget } = ok(
      await deps.store.createBudget({
        path: body.path,
        kind: body.kind,
        limitMicros: body.limit_micros,
        period: body.period,
        timezone: body.timezone,
        policy: body.policy && policyFromJson(body.policy),
        createParents: body.create_parents,
        reason: body.reason,
        actor,
        idempotencyKey: headers['idempotency-key'],
      }),
    );
    return { budget: budgetToJson(budget) };
  },
});

const getBudget = route({
  method: 'GET',
  path: '/api/budgets/{path}',
  operationId: 'getBudget',
  summary: 'Read a budget with its chain',
  description: 'The budget, every budget above it (root first), what the tightest level can still take, and the policy in force.',
  tag,
  access: 'viewer',
  params: PathParams,
  response: {
    status: 200,
    description: 'the budget and its chain',
    schema: z.object({
      budget: BudgetJson,
      chain: z.array(BudgetJson).describe('root first, ending with the budget'),
      remaining_micros: z.int().nullable().describe('what the budget can spend now: the least any level has left; null when no level has a limit'),
      tightest: z.string().nullable(),
      effective_policy: PolicyJson,
    }),
  },
  handler: async ({ params, deps }) => {
    const d = ok(await budgetDetail(deps.store, params.path));
    return {
      budget: budgetToJson(d.budget),
      chain: d.chain.map(budgetToJson),
      remaining_micros: d.tightest?.remainingMicros ?? null,
      tightest: d.tightest?.path ?? null,
      effective_policy: policyToJson(d.effectivePolicy),
    };
  },
});

const updateBudget = route({
  method: 'PATCH',
  path: '/api/budgets/{path}',
  operationId: 'updateBudget',
  summary: 'Change a budget\'s limit, period, time zone or policy',
  description: 'Only the fields given change. Policy fields are merged into the budget\'s own policy atomically: a value sets one, null removes it.',
  tag,
  access: 'admin',
  params: PathParams,
  body: UpdateBudgetBody,
  headers: WriteHeaders,
  response: { status: 200, description: 'the budget after the change', schema: BudgetResponse },
  handler: async ({ params, body, headers, actor, deps }) => {
    const { budget } = ok(
      await deps.store.updateBudget({
        path: params.path,
        limitMicros: body.limit_micros,
        period: body.period,
        timezone: body.timezone,
        policyPatch: policyPatchFromJson(body.policy),
        reason: body.reason,
        actor,
        idempotencyKey: headers['idempotency-key'],
      }),
    );
    return { budget: budgetToJson(budget) };
  },
});

function statusRoute(action: 'pause' | 'resume' | 'close', status: 'paused' | 'active' | 'closed', summary: string): Route {
  return route({
    method: 'POST',
    path: `/api/budgets/{path}/${action}`,
    operationId: `${action}Budget`,
    summary,
    tag,
    access: 'admin',
    params: PathParams,
    body: ReasonBody,
    headers: ActorHeaders,
    response: { status: 200, description: 'the budget after the change', schema: BudgetResponse },
    handler: async ({ params, body, actor, deps }) => {
      const { budget } = ok(await deps.store.setStatus({ path: params.path, status, reason: body?.reason, actor }));
      return { budget: budgetToJson(budget) };
    },
  });
}

const grantBudget = route({
  method: 'POST',
  path: '/api/budgets/{path}/grant',
  operationId: 'grantBudget',
  summary: 'Top up a budget for its current period',
  description: 'Adds an allowance on top of the limit until the period ends. Refused (budget_unlimited) for a budget without a limit.',
  tag,
  access: 'admin',
  params: PathParams,
  body: GrantBody,
  headers: WriteHeaders,
  response: { status: 200, description: 'the budget after the grant', schema: z.object({ budget: BudgetJson, granted_micros: z.int() }) },
  handler: async ({ params, body, headers, actor, deps }) => {
    const { budget } = ok(await deps.store.grant({ path: params.path, amountMicros: body.amount_micros, reason: body.reason, actor, idempotencyKey: headers['idempotency-key'] }));
    return { budget: budgetToJson(budget), granted_micros: body.amount_micros };
  },
});

const moveBudget = route({
  method: 'POST',
  path: '/api/budgets/{path}/move',
  operationId: 'moveBudget',
  summary: 'Move a budget (and everything under it) to a new parent',
  description: 'Refused while anything under it holds a reservation (budget_busy) and when the new parent lies inside it (tree_cycle).',
  tag,
  access: 'admin',
  params: PathParams,
  body: MoveBody,
  headers: ActorHeaders,
  response: { status: 200, description: 'the budget at its new path', schema: BudgetResponse },
  handler: async ({ params, body, actor, deps }) => {
    const { budget } = ok(await deps.store.moveBudget({ path: params.path, parent: body.parent, reason: body.reason, actor }));
    return { budget: budgetToJson(budget) };
  },
});

const closedPeriods = route({
  method: 'GET',
  path: '/api/budgets/{path}/periods',
  operationId: 'listClosedPeriods',
  summary: 'Totals of a budget\'s closed periods',
  tag,
  access: 'viewer',
  params: PathParams,
  response: { status: 200, description: 'closed periods, oldest first', schema: z.object({ budget: z.string(), periods: z.array(ClosedPeriodJson) }) },
  handler: async ({ params, deps }) => ({ budget: params.path, periods: ok(await closedPeriodsOp(deps.store, params.path)).periods.map(closedPeriodToJson) }),
});

/** A budget tree in JSON: each node is the budget's JSON with its children (a loop over a stack, no recursion). */
function treeToJson(roots: readonly BudgetNode[]): TreeNodeValue[] {
  const out: TreeNodeValue[] = [];
  const stack: { node: BudgetNode; into: TreeNodeValue[] }[] = [...roots].reverse().map((node) => ({ node, into: out }));
  while (stack.length > 0) {
    const { node, into } = stack.pop() as { node: BudgetNode; into: TreeNodeValue[] };
    const json: TreeNodeValue = { ...budgetToJson(node.budget), children: [] };
    into.push(json);
    for (const child of [...node.children].reverse()) stack.push({ node: child, into: json.children });
  }
  return out;
}

const tree = route({
  method: 'GET',
  path: '/api/tree',
  operationId: 'budgetTree',
  summary: 'The budget tree',
  description: 'Every budget nested under its parent, siblings sorted by name.',
  tag,
  access: 'viewer',
  query: TreeQuery,
  response: { status: 200, description: 'root budgets with their children', schema: z.object({ budgets: z.array(TreeNodeJson) }) },
  handler: async ({ query, deps }) => ({ budgets: treeToJson(ok(await budgetTree(deps.store, query.root)).roots) }),
});

export const budgetRoutes: Route[] = [
  listBudgets,
  createBudget,
  tree,
  getBudget,
  updateBudget,
  statusRoute('pause', 'paused', 'Pause a budget: everything under it is refused new reservations'),
  statusRoute('resume', 'active', 'Resume a paused budget'),
  statusRoute('close', 'closed', 'Close a budget for good'),
  grantBudget,
  moveBudget,
  closedPeriods,
];
