/* The BPMN editor's lint (bundled by `make setup` with esbuild into static/build/lint.js):
 * bpmnlint's recommended rules plus cadreflow's own (rules.js: the server's lint, same
 * findings and reasons), run in the browser on the diagram as it is drawn.
 *
 * window.cadreflowLint.linter(settings) → {lint(definitions) → Promise<[finding]>}, a finding
 * being {element, name, severity: "error"|"warning", reason, rule}. settings: {roles: [role
 * keys], limited: [elements with an administrator's time limit], chinese: bool}.
 *
 * bpmnlint normally compiles its configuration with bpmnlint-pack-config (a rollup plugin);
 * here the rules are imported and the static resolver's cache is built by hand.
 *
 * Findings of the recommended rules are warnings: the server does not check them and does
 * not refuse a deployment for them. Four of them are replaced by cadreflow's rules, which
 * check the same things as the server does (no-disconnected, no-implicit-start,
 * no-implicit-end → connected and reachable; conditional-flows → gateway-conditions).
 */
import Linter from "bpmnlint/lib/linter";
import StaticResolver from "bpmnlint/lib/resolver/static-resolver";
import recommended from "bpmnlint/config/recommended";
import adHocSubProcess from "bpmnlint/rules/ad-hoc-sub-process";
import conditionalFlows from "bpmnlint/rules/conditional-flows";
import endEventRequired from "bpmnlint/rules/end-event-required";
import eventBasedGateway from "bpmnlint/rules/event-based-gateway";
import eventSubProcessTypedStartEvent from "bpmnlint/rules/event-sub-process-typed-start-event";
import fakeJoin from "bpmnlint/rules/fake-join";
import globalElements from "bpmnlint/rules/global";
import labelRequired from "bpmnlint/rules/label-required";
import linkEvent from "bpmnlint/rules/link-event";
import noBpmndi from "bpmnlint/rules/no-bpmndi";
import noComplexGateway from "bpmnlint/rules/no-complex-gateway";
import noDisconnected from "bpmnlint/rules/no-disconnected";
import noDuplicateSequenceFlows from "bpmnlint/rules/no-duplicate-sequence-flows";
import noGatewayJoinFork from "bpmnlint/rules/no-gateway-join-fork";
import noImplicitSplit from "bpmnlint/rules/no-implicit-split";
import noImplicitEnd from "bpmnlint/rules/no-implicit-end";
import noImplicitStart from "bpmnlint/rules/no-implicit-start";
import noInclusiveGateway from "bpmnlint/rules/no-inclusive-gateway";
import noOverlappingElements from "bpmnlint/rules/no-overlapping-elements";
import singleBlankStartEvent from "bpmnlint/rules/single-blank-start-event";
import singleEventDefinition from "bpmnlint/rules/single-event-definition";
import startEventRequired from "bpmnlint/rules/start-event-required";
import subProcessBlankStartEvent from "bpmnlint/rules/sub-process-blank-start-event";
import superfluousGateway from "bpmnlint/rules/superfluous-gateway";
import superfluousLabel from "bpmnlint/rules/superfluous-label";
import superfluousTermination from "bpmnlint/rules/superfluous-termination";
import {
  connected,
  gatewayConditions,
  reachable,
  userTaskForm,
  userTaskLane,
  userTaskTimeLimit
} from "./rules.js";

const RECOMMENDED = {
  "ad-hoc-sub-process": adHocSubProcess,
  "conditional-flows": conditionalFlows,
  "end-event-required": endEventRequired,
  "event-based-gateway": eventBasedGateway,
  "event-sub-process-typed-start-event": eventSubProcessTypedStartEvent,
  "fake-join": fakeJoin,
  global: globalElements,
  "label-required": labelRequired,
  "link-event": linkEvent,
  "no-bpmndi": noBpmndi,
  "no-complex-gateway": noComplexGateway,
  "no-disconnected": noDisconnected,
  "no-duplicate-sequence-flows": noDuplicateSequenceFlows,
  "no-gateway-join-fork": noGatewayJoinFork,
  "no-implicit-split": noImplicitSplit,
  "no-implicit-end": noImplicitEnd,
  "no-implicit-start": noImplicitStart,
  "no-inclusive-gateway": noInclusiveGateway,
  "no-overlapping-elements": noOverlappingElements,
  "single-blank-start-event": singleBlankStartEvent,
  "single-event-definition": singleEventDefinition,
  "start-event-required": startEventRequired,
  "sub-process-blank-start-event": subProcessBlankStartEvent,
  "superfluous-gateway": superfluousGateway,
  "superfluous-label": superfluousLabel,
  "superfluous-termination": superfluousTermination
};

/* cadreflow's rules with the server's severities. */
const OWN = {
  connected: ["error", connected],
  reachable: ["error", reachable],
  "gateway-conditions": ["error", gatewayConditions],
  "user-task-lane": ["error", userTaskLane],
  "user-task-form": ["warn", userTaskForm],
  "user-task-time-limit": ["warn", userTaskTimeLimit]
};
const REPLACED = ["no-disconnected", "no-implicit-start", "no-implicit-end", "conditional-flows"];
const PLUGIN = "bpmnlint-plugin-cadreflow";

/* The recommended rules' reasons in Chinese, by rule; a rule reporting several things maps
 * each English message (its start) to its Chinese. */
const ZH = {
  "ad-hoc-sub-process": "自由子流程（Ad Hoc）中不能有开始或结束事件",
  "end-event-required": "缺少结束事件",
  "event-based-gateway": {
    "An <Event-based Gateway> must": "事件网关至少要有 2 条连出的顺序流",
    "A <Sequence Flow> outgoing": "事件网关连出的顺序流不能带条件"
  },
  "event-sub-process-typed-start-event": "事件子流程的开始事件须有事件类型（如消息、定时）",
  "fake-join": "多条顺序流直接汇入任务，不会等待汇合：请用并行网关汇合",
  global: {
    "Element is missing name": "全局元素（消息、信号等）没有名称",
    "Element is unused": "全局元素（消息、信号等）没有被使用",
    "Element name is not unique": "全局元素（消息、信号等）的名称重复"
  },
  "label-required": "元素没有名称：请写明该步骤或分支的名称",
  "link-event": "链接事件缺少链接名称，或没有成对的抛出/捕获事件",
  "no-bpmndi": "元素没有图形信息（BPMNDI），在图中不可见",
  "no-complex-gateway": "不建议使用复杂网关",
  "no-duplicate-sequence-flows": "有重复的顺序流",
  "no-gateway-join-fork": "网关同时汇合和分支：请拆成两个网关",
  "no-implicit-split": "多条顺序流直接从任务连出（隐式分支）：请用网关分支",
  "no-inclusive-gateway": "不建议使用包容网关",
  "no-overlapping-elements": {
    "Element overlaps": "元素与其他元素重叠",
    "Element is outside": "元素超出了所在容器的边界"
  },
  "single-blank-start-event": "有多个无类型的开始事件",
  "single-event-definition": "事件有多个事件定义",
  "start-event-required": "缺少开始事件",
  "sub-process-blank-start-event": "子流程的开始事件不能有事件类型",
  "superfluous-gateway": "网关只有一条连入和一条连出的顺序流，是多余的",
  "superfluous-label": "该顺序流的名称不会显示（多余的标签）",
  "superfluous-termination": "终止结束事件是多余的：用普通结束事件即可"
};

function chinese(rule, message) {
  const text = ZH[rule];
  if (typeof text === "string") return text;
  const key = text && Object.keys(text).find((start) => message.indexOf(start) === 0);
  return key ? text[key] : message;
}

/* The static resolver's cache: "rule:<package>/<rule>" → the rule factory. */
function resolverCache() {
  const cache = {};
  Object.keys(RECOMMENDED).forEach((name) => {
    cache["rule:bpmnlint/" + name] = RECOMMENDED[name];
  });
  Object.keys(OWN).forEach((name) => {
    cache["rule:" + PLUGIN + "/" + name] = OWN[name][1];
  });
  return cache;
}

/* The recommended rules (as warnings, those replaced off) and cadreflow's, configured. */
function config(settings) {
  const rules = {};
  Object.keys(recommended.rules).forEach((name) => {
    rules[name] = REPLACED.includes(name) ? "off" : "warn";
  });
  const ruleConfig = { roles: settings.roles || [], limited: settings.limited || [] };
  Object.keys(OWN).forEach((name) => {
    rules["cadreflow/" + name] = [OWN[name][0], ruleConfig];
  });
  return { rules: rules };
}

/* Element id → name, for naming elements in the findings. */
function names(definitions) {
  const found = {};
  const visit = (element) => {
    if (!element || typeof element !== "object") return;
    if (element.id) found[element.id] = element.name || "";
    ["rootElements", "flowElements", "laneSets", "lanes", "participants"].forEach((key) =>
      (element[key] || []).forEach(visit)
    );
    if (element.childLaneSet) visit(element.childLaneSet);
  };
  visit(definitions);
  return found;
}

function linter(settings) {
  const resolver = new StaticResolver(resolverCache());
  return {
    /* The findings on a diagram's bpmn:Definitions, errors first. A new Linter each time:
     * it keeps its rules, and some rules keep what they saw (no-duplicate-sequence-flows). */
    lint: async function (definitions) {
      const engine = new Linter({ config: config(settings), resolver: resolver });
      const reports = await engine.lint(definitions);
      const named = names(definitions);
      const found = [];
      Object.keys(reports).forEach((rule) => {
        const own = rule.indexOf("cadreflow/") === 0;
        reports[rule].forEach((report) => {
          if (report.category === "rule-error") return; // a rule that failed says nothing
          found.push({
            element: report.id || null,
            name: named[report.id] || "",
            severity: report.category === "error" ? "error" : "warning",
            reason: own || !settings.chinese ? report.message : chinese(rule, report.message),
            rule: rule
          });
        });
      });
      return found.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
    }
  };
}

window.cadreflowLint = { linter: linter };
