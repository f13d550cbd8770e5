/* cadreflow's own bpmnlint rules (the plugin "cadreflow"): the server's lint
 * (workflows/definitions/lint.py and deployment._check_user_tasks) run on the diagram in the
 * browser, with the same findings, severities and Chinese reasons, so that a designer sees
 * them while drawing; the server still decides when deploying.
 *
 * Each rule is a bpmnlint rule factory: factory(config) → {check(node, reporter)}. The
 * reporter's messages are the server's reasons; the severity each finding carries is the
 * configured one (lint.js), except where a rule has findings of both kinds.
 */

/* Flow node kinds, by the local name the server's lint reads (lint._FLOW_NODES). */
const FLOW_NODES = new Set([
  "task", "userTask", "serviceTask", "scriptTask", "manualTask", "businessRuleTask",
  "sendTask", "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
  "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
  "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"
]);
const SCOPES = new Set(["process", "subProcess", "transaction", "adHocSubProcess"]);
const CONDITIONAL_GATEWAYS = new Set(["exclusiveGateway", "inclusiveGateway", "complexGateway"]);
/* The tasks the engine gives people (its "manual" task specs): user and manual tasks. */
const HUMAN_TASKS = new Set(["userTask", "manualTask"]);

/* Chinese names of element kinds (lint.KIND_NAMES). */
const KIND_NAMES = {
  userTask: "人工任务",
  scriptTask: "脚本任务",
  serviceTask: "服务任务",
  businessRuleTask: "规则任务",
  callActivity: "调用活动",
  subProcess: "子流程",
  startEvent: "开始事件",
  endEvent: "结束事件",
  intermediateCatchEvent: "中间捕获事件",
  intermediateThrowEvent: "中间抛出事件",
  boundaryEvent: "边界事件",
  exclusiveGateway: "排他网关",
  inclusiveGateway: "包容网关",
  parallelGateway: "并行网关",
  eventBasedGateway: "事件网关"
};

/* "bpmn:UserTask" → "userTask", the XML element's local name. */
function local(node) {
  const name = (node.$type || "").split(":")[1] || "";
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function kindName(node) {
  return KIND_NAMES[local(node)] || "元素";
}

function isEntry(node) {
  return ["startEvent", "boundaryEvent"].includes(local(node)) || node.triggeredByEvent || node.isForCompensation;
}

function isExit(node) {
  return local(node) === "endEvent" || node.triggeredByEvent || node.isForCompensation;
}

/* The flow nodes of a process or subprocess and their flows, as the server's lint reads the
 * XML: by ids (sourceRef/targetRef), whatever the moddle references say. */
function scopeGraph(scope) {
  const nodes = new Map();
  const flows = [];
  (scope.flowElements || []).forEach((element) => {
    if (FLOW_NODES.has(local(element)) && element.id) nodes.set(element.id, element);
    else if (local(element) === "sequenceFlow") flows.push(element);
  });
  const incoming = new Map();
  const outgoing = new Map();
  nodes.forEach((_node, id) => {
    incoming.set(id, []);
    outgoing.set(id, []);
  });
  flows.forEach((flow) => {
    const source = flow.sourceRef && flow.sourceRef.id;
    const target = flow.targetRef && flow.targetRef.id;
    if (outgoing.has(source)) outgoing.get(source).push(flow);
    if (incoming.has(target)) incoming.get(target).push(flow);
  });
  return { nodes, incoming, outgoing };
}

/* The ids reached from the scope's start events (and the boundary events of what they reach). */
function reachedIn(graph) {
  const attached = new Map();
  graph.nodes.forEach((node, id) => {
    if (local(node) === "boundaryEvent") {
      const host = (node.attachedToRef && node.attachedToRef.id) || "";
      if (!attached.has(host)) attached.set(host, []);
      attached.get(host).push(id);
    }
  });
  const reached = new Set();
  const todo = [];
  graph.nodes.forEach((node, id) => {
    if (isEntry(node) && local(node) !== "boundaryEvent") todo.push(id);
  });
  while (todo.length) {
    const id = todo.pop();
    if (reached.has(id)) continue;
    reached.add(id);
    graph.outgoing.get(id).forEach((flow) => {
      const target = flow.targetRef && flow.targetRef.id;
      if (graph.nodes.has(target)) todo.push(target);
    });
    (attached.get(id) || []).forEach((boundary) => todo.push(boundary));
  }
  return reached;
}

function isScope(node) {
  return SCOPES.has(local(node));
}

/* Whether the engine builds a node into the process: the nodes reached from a start event,
 * in a scope itself reached. Only those are checked as human tasks when deploying (the
 * server checks the compiled process), and so here. `cache`: scope → its reached ids. */
function compiled(node, cache) {
  const scope = node.$parent;
  if (!scope || !isScope(scope)) return true;
  if (!cache.has(scope)) cache.set(scope, reachedIn(scopeGraph(scope)));
  return cache.get(scope).has(node.id) && (local(scope) === "process" || compiled(scope, cache));
}

/* cadreflow/connected: a node without an incoming or an outgoing sequence flow (error). */
export function connected() {
  function check(node, reporter) {
    if (!isScope(node)) return;
    const graph = scopeGraph(node);
    graph.nodes.forEach((child, id) => {
      if (!graph.incoming.get(id).length && !isEntry(child))
        reporter.report(id, kindName(child) + "没有连入的顺序流（未连接）");
      if (!graph.outgoing.get(id).length && !isExit(child))
        reporter.report(id, kindName(child) + "没有连出的顺序流（未连接），应连到后续步骤或结束事件");
    });
  }
  return { check };
}

/* cadreflow/reachable: a connected node no start event leads to (error). */
export function reachable() {
  function check(node, reporter) {
    if (!isScope(node)) return;
    const graph = scopeGraph(node);
    const reached = reachedIn(graph);
    graph.nodes.forEach((child, id) => {
      if (graph.incoming.get(id).length && !reached.has(id))
        reporter.report(id, kindName(child) + "从开始事件无法到达");
    });
  }
  return { check };
}

/* cadreflow/gateway-conditions: an exclusive, inclusive or complex gateway with several
 * outgoing flows, one without a condition, and no default flow (error). */
export function gatewayConditions() {
  function check(node, reporter) {
    if (!isScope(node)) return;
    const graph = scopeGraph(node);
    graph.nodes.forEach((child, id) => {
      const out = graph.outgoing.get(id);
      if (!CONDITIONAL_GATEWAYS.has(local(child)) || out.length < 2 || child.default) return;
      const bare = out
        .filter((flow) => !((flow.conditionExpression && flow.conditionExpression.body) || "").trim())
        .map((flow) => flow.id);
      if (bare.length)
        reporter.report(
          id,
          kindName(child) + "有 " + out.length + " 条连出的顺序流，其中 " + bare.join("、") +
            " 没有条件，且网关没有默认流：请为每条流设置条件或指定默认流"
        );
    });
  }
  return { check };
}

/* The name of a flow node's lane, as the engine reads it: a subprocess gives its own lane to
 * what it holds; else the lane listing the node (the innermost); null without one. */
function laneOf(node) {
  const parent = node.$parent;
  const inherited = parent && SCOPES.has(local(parent)) && local(parent) !== "process" ? laneOf(parent) : null;
  if (inherited !== null) return inherited;
  let scope = parent;
  while (scope && local(scope) !== "process") scope = scope.$parent;
  let found = null;
  const visit = (laneSets) =>
    (laneSets || []).forEach((set) =>
      (set.lanes || []).forEach((lane) => {
        if ((lane.flowNodeRef || []).some((ref) => ref === node || ref.id === node.id))
          found = lane.name || null;
        if (lane.childLaneSet) visit([lane.childLaneSet]);
      })
    );
  if (scope) visit(scope.laneSets);
  return found;
}

function spiffProperty(node, name) {
  const values = (node.extensionElements && node.extensionElements.values) || [];
  const props = values.find((v) => v.$type === "spiffworkflow:properties");
  const found = props && (props.$children || []).find((c) => c.name === name);
  return found ? (found.value || "").trim() : "";
}

/* cadreflow/user-task-lane: a user task (of the compiled process) in a lane whose name is a
 * known role (error).
 * config.roles: the role keys. */
export function userTaskLane(config) {
  const roles = (config && config.roles) || [];
  const reached = new Map();
  function check(node, reporter) {
    if (!HUMAN_TASKS.has(local(node)) || !compiled(node, reached)) return;
    const lane = laneOf(node);
    if (lane === null) reporter.report(node.id, "人工任务不在任何泳道中：泳道决定由哪个角色办理");
    else if (!roles.includes(lane))
      reporter.report(node.id, "泳道 '" + lane + "' 不是已知角色（应为 " + roles.join(", ") + " 之一）");
  }
  return { check };
}

/* cadreflow/user-task-form: a user task (of the compiled process) without a form (warning). */
export function userTaskForm() {
  const reached = new Map();
  function check(node, reporter) {
    if (!HUMAN_TASKS.has(local(node)) || !compiled(node, reached)) return;
    if (!spiffProperty(node, "formJsonSchemaFilename"))
      reporter.report(node.id, "人工任务没有表单（formJsonSchemaFilename）：办理人只能直接提交");
  }
  return { check };
}

/* Ids of the activities a boundary timer is attached to, in the whole diagram. */
function timedByBoundary(definitions) {
  const timed = new Set();
  const visit = (element) => {
    (element.flowElements || []).forEach((child) => {
      const timer = (child.eventDefinitions || []).some((d) => d.$type === "bpmn:TimerEventDefinition");
      if (local(child) === "boundaryEvent" && timer && child.attachedToRef) timed.add(child.attachedToRef.id);
      visit(child);
    });
  };
  (definitions.rootElements || []).forEach(visit);
  return timed;
}

/* cadreflow/user-task-time-limit: a user task (of the compiled process) without a time limit rule — timeLimit, dueAt,
 * timeLimitSameAs, a boundary timer or an administrator's setting (config.limited: the
 * elements that have one) all count (warning). */
export function userTaskTimeLimit(config) {
  const limited = (config && config.limited) || [];
  const reached = new Map();
  function check(node, reporter) {
    if (!HUMAN_TASKS.has(local(node)) || !compiled(node, reached)) return;
    if (["timeLimit", "dueAt", "timeLimitSameAs"].some((name) => spiffProperty(node, name))) return;
    if (limited.includes(node.id)) return;
    let root = node;
    while (root.$parent) root = root.$parent;
    if (timedByBoundary(root).has(node.id)) return;
    reporter.report(
      node.id,
      "人工任务没有办理时限（timeLimit、dueAt、timeLimitSameAs 或边界定时器，也没有管理员设置的时限）"
    );
  }
  return { check };
}
