/* The BPMN editor's properties panel with cadreflow's own fields (bundled by `make setup`
 * with esbuild into static/build/properties.js and .css; see the Makefile).
 *
 * window.cadreflowPanel.modules(settings) → the additionalModules for the bpmn-js modeler:
 * bpmn-js-properties-panel (name, id, documentation) and a provider adding
 *   - lane: its role (the lane's name is a role key, DOMAIN.md §1), chosen from the roles;
 *   - user task: its form (formJsonSchemaFilename; choosing one also sets its UI schema,
 *     formUiSchemaFilename, which can then be chosen apart), action (one of
 *     the registered completion actions), assignee source (assigneeFrom: the process data
 *     field naming the assignee), capacity (handled / decided, for 回避) and time limit
 *     (timeLimit, timeLimitReminder, timeLimitFrom, timeLimitFromLabel, timeLimitPolicy,
 *     timeLimitSameAs, dueAt, deadlineBasis; DOMAIN.md §4), written as spiffworkflow:property
 *     elements inside spiffworkflow:properties, as the shipped BPMN stores them and the
 *     engine reads them;
 *   - script task: its action (one of the registered automatic actions) and its script;
 *   - a gateway's outgoing flow: its condition; a timer event: its expression;
 *   - expressions (conditions, timers, timeLimitFrom, dueAt, deadlineBasis) and scripts are
 *     checked by the server's evaluator as one types (POST /api/v1/processes/check-expression).
 * settings: {roles: {key: 名称}, forms: [file names], ui_forms, actions: {on_complete: [],
 * automatic: []}, may_check, check_url, csrf, texts}.
 * The spiffworkflow elements stay generic XML elements (no moddle descriptor), so that
 * whatever else a file carries in that namespace is kept as it was.
 */
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule
} from "bpmn-js-properties-panel";
import {
  SelectEntry,
  TextAreaEntry,
  TextFieldEntry,
  isSelectEntryEdited,
  isTextAreaEntryEdited,
  isTextFieldEntryEdited
} from "@bpmn-io/properties-panel";
import { h } from "@bpmn-io/properties-panel/preact";
import { useEffect, useState } from "@bpmn-io/properties-panel/preact/hooks";
import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";

const SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
const CONDITIONAL = ["bpmn:ExclusiveGateway", "bpmn:InclusiveGateway", "bpmn:ComplexGateway"];
const TIMER_KINDS = ["timeDate", "timeDuration", "timeCycle"];
const HUMAN_TASKS = ["bpmn:UserTask", "bpmn:ManualTask"];
const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*$/;
const MAX_REMINDER = 2500; // working days: the bound time_limits.check_rule sets
const LIMIT = /^\s*(\d{1,5})\s*(workdays?|working days?|个工作日|工作日|months?|个月|月|days?|日|天|个自然日|自然日)\s*$/i;

/* A reminder as the server reads one: a whole number of working days, 1 to MAX_REMINDER. */
function isReminder(value) {
  const text = value.trim();
  return /^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= MAX_REMINDER;
}

function is(bo, type) {
  return bo && bo.$instanceOf && bo.$instanceOf(type);
}

/* The spiffworkflow:properties element of a business object, or null. */
function spiffProperties(bo) {
  const ext = bo.extensionElements;
  return (ext && (ext.values || []).find((v) => v.$type === "spiffworkflow:properties")) || null;
}

function spiffValue(bo, name) {
  const props = spiffProperties(bo);
  const found = props && (props.$children || []).find((c) => c.name === name);
  return found ? found.value || "" : "";
}

/* Set (or, for an empty value, remove) spiffworkflow properties: one undoable command that
 * replaces the spiffworkflow:properties element, keeping every other property and order. */
function setSpiff(injector, element, changes) {
  const moddle = injector.get("moddle");
  const modeling = injector.get("modeling");
  const bpmnFactory = injector.get("bpmnFactory");
  const bo = element.businessObject;
  const same = Object.keys(changes).every((name) => spiffValue(bo, name) === (changes[name] || "").trim());
  if (same) return; // a field left unchanged (the panel commits on blur): no empty undo step
  const old = spiffProperties(bo);
  const children = (old && old.$children ? old.$children : []).map((c) => c);
  Object.keys(changes).forEach((name) => {
    const value = (changes[name] || "").trim();
    const at = children.findIndex((c) => c.name === name);
    if (!value) {
      if (at >= 0) children.splice(at, 1);
      return;
    }
    const made = moddle.createAny("spiffworkflow:property", SPIFF, { name: name, value: value });
    if (at >= 0) children[at] = made;
    else children.push(made);
  });
  const props = moddle.createAny("spiffworkflow:properties", SPIFF, { $children: children });
  let ext = bo.extensionElements;
  if (!ext) {
    ext = bpmnFactory.create("bpmn:ExtensionElements", { values: children.length ? [props] : [] });
    props.$parent = ext;
    modeling.updateModdleProperties(element, bo, { extensionElements: ext });
    return;
  }
  props.$parent = ext;
  const values = (ext.values || []).filter((v) => v !== old);
  const index = old ? (ext.values || []).indexOf(old) : values.length;
  if (children.length) values.splice(index, 0, props);
  modeling.updateModdleProperties(element, ext, { values: values });
}

/* The server's verdict on an expression, asked 400 ms after the last keystroke. */
function CheckMessage(props) {
  const { settings, kind, text, id } = props;
  const [verdict, setVerdict] = useState(null);
  useEffect(() => {
    if (!settings.may_check || !text || !text.trim()) {
      setVerdict(null);
      return undefined;
    }
    let current = true;
    const timer = setTimeout(async () => {
      try {
        const response = await fetch(settings.check_url, {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "X-CSRF-Token": settings.csrf
          },
          body: JSON.stringify({ expression: text, kind: kind })
        });
        const body = await response.json();
        if (!current) return;
        if (response.ok) setVerdict({ ok: body.ok, message: body.message });
        else setVerdict({ ok: false, message: settings.texts.check_failed + (body.message || response.status) });
      } catch (err) {
        if (current) setVerdict({ ok: false, message: settings.texts.check_failed + err });
      }
    }, 400);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [text, kind]);
  if (!verdict) return null;
  return h(
    "p",
    {
      id: id + "-check",
      class: "cf-check " + (verdict.ok ? "cf-check-ok" : "cf-check-bad"),
      role: "status",
      "aria-live": "polite"
    },
    verdict.message
  );
}

/* A text field (a text area when `multiline`: scripts) for an expression with the server's
 * check beside it. */
function ExpressionEntry(props) {
  const { element, id, label, kind, getValue, setValue, settings, debounce, multiline } = props;
  const value = getValue(element);
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [element, value]); // another element, or undo/redo
  return h(
    "div",
    { class: "cf-expression" },
    h(multiline ? TextAreaEntry : TextFieldEntry, {
      element: element,
      id: id,
      label: label,
      getValue: getValue,
      setValue: (value) => {
        setText(value);
        setValue(value);
      },
      debounce: debounce
    }),
    h(CheckMessage, { settings: settings, kind: kind, text: text, id: id })
  );
}

/* The entries' components are module-level functions (the panel re-renders an entry with
 * the same component when the diagram changes, keeping what is being typed); what each one
 * edits comes in its entry (the panel passes an entry's fields as props). */

/* A text field writing one spiffworkflow property (`name`; empty removes it). */
function PropertyText(props) {
  const { element, id, name, label, validate, injector, debounce } = props;
  return h(TextFieldEntry, {
    element: element,
    id: id,
    label: label,
    getValue: () => spiffValue(element.businessObject, name),
    setValue: (value) => setSpiff(injector, element, { [name]: value }),
    validate: validate,
    debounce: debounce
  });
}

/* A select writing one spiffworkflow property; a value not among `options(element)` is kept
 * and shown as `unknown` says ("{name}（…）"). */
function PropertySelect(props) {
  const { element, id, name, label, options, unknown, injector } = props;
  return h(SelectEntry, {
    element: element,
    id: id,
    label: label,
    getValue: () => spiffValue(element.businessObject, name),
    setValue: (value) => setSpiff(injector, element, { [name]: value }),
    getOptions: () => {
      const choices = options(element);
      const current = spiffValue(element.businessObject, name);
      if (current && !choices.some((o) => o.value === current))
        choices.push({ value: current, label: unknown.replace("{name}", current) });
      return choices;
    }
  });
}

/* A spiffworkflow property holding an expression (timeLimitFrom, dueAt, deadlineBasis),
 * checked as deploying checks it: by the evaluator, as a condition is. */
function PropertyExpression(props) {
  const { element, id, name, label, settings, injector, debounce } = props;
  return h(ExpressionEntry, {
    element: element,
    id: id,
    label: label,
    kind: "condition",
    settings: settings,
    debounce: debounce,
    getValue: () => spiffValue(element.businessObject, name),
    setValue: (value) => setSpiff(injector, element, { [name]: value })
  });
}

/* A lane's role: its name is a role key (DOMAIN.md §1). */
function LaneRole(props) {
  const { element, id, settings, injector } = props;
  const T = settings.texts;
  return h(SelectEntry, {
    element: element,
    id: id,
    label: T.role,
    getValue: () => (element.businessObject.name || "").trim(),
    setValue: (value) => injector.get("modeling").updateProperties(element, { name: value }),
    getOptions: () => {
      const roles = settings.roles;
      const current = (element.businessObject.name || "").trim();
      const options = [{ value: "", label: T.choose }];
      Object.keys(roles).forEach((key) => options.push({ value: key, label: roles[key] + "（" + key + "）" }));
      if (current && !Object.prototype.hasOwnProperty.call(roles, current))
        options.push({ value: current, label: T.unknown_role.replace("{name}", current) });
      return options;
    }
  });
}

/* A user task's form: one of this deployment's form files; its UI schema goes with it. */
function TaskForm(props) {
  const { element, id, settings, injector } = props;
  const T = settings.texts;
  const forms = settings.forms || [];
  return h(SelectEntry, {
    element: element,
    id: id,
    label: T.form,
    getValue: () => spiffValue(element.businessObject, "formJsonSchemaFilename"),
    setValue: (value) => {
      const ui = value.replace(/\.schema\.json$/, "") + ".uischema.json";
      setSpiff(injector, element, {
        formJsonSchemaFilename: value,
        formUiSchemaFilename: value && settings.ui_forms.indexOf(ui) >= 0 ? ui : ""
      });
    },
    getOptions: () => {
      const current = spiffValue(element.businessObject, "formJsonSchemaFilename");
      const options = [{ value: "", label: T.no_form }];
      forms.forEach((name) => options.push({ value: name, label: name }));
      if (current && forms.indexOf(current) < 0)
        options.push({ value: current, label: T.missing_form.replace("{name}", current) });
      return options;
    }
  });
}

/* A gateway's outgoing flow: its condition. */
function FlowCondition(props) {
  const { element, id, settings, injector, debounce } = props;
  return h(ExpressionEntry, {
    element: element,
    id: id,
    label: settings.texts.condition,
    kind: "condition",
    settings: settings,
    debounce: debounce,
    getValue: () => {
      const expr = element.businessObject.conditionExpression;
      return (expr && expr.body) || "";
    },
    setValue: (value) => {
      const modeling = injector.get("modeling");
      const expr = element.businessObject.conditionExpression;
      if ((value || "").trim() === ((expr && expr.body) || "").trim()) return;
      if (!value || !value.trim()) {
        modeling.updateProperties(element, { conditionExpression: undefined });
        return;
      }
      const made = injector.get("bpmnFactory").create("bpmn:FormalExpression", { body: value });
      modeling.updateProperties(element, { conditionExpression: made });
    }
  });
}

function timerKind(timer) {
  return TIMER_KINDS.find((k) => timer.get(k)) || "";
}

/* A timer event's kind (date, duration, cycle); changing it keeps the expression. */
function TimerKind(props) {
  const { element, id, timer, settings, injector } = props;
  const T = settings.texts;
  return h(SelectEntry, {
    element: element,
    id: id,
    label: T.timer_kind,
    getValue: () => timerKind(timer),
    setValue: (value) => {
      const old = timerKind(timer);
      const body = old ? timer.get(old).body || "" : "";
      const changes = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
      if (value) changes[value] = injector.get("bpmnFactory").create("bpmn:FormalExpression", { body: body });
      injector.get("modeling").updateModdleProperties(element, timer, changes);
    },
    getOptions: () => [
      { value: "", label: T.choose },
      { value: "timeDate", label: T.time_date },
      { value: "timeDuration", label: T.time_duration },
      { value: "timeCycle", label: T.time_cycle }
    ]
  });
}

/* A timer event's expression (once it has a kind). */
function TimerExpression(props) {
  const { element, id, timer, settings, injector, debounce } = props;
  if (!timerKind(timer)) return null;
  return h(ExpressionEntry, {
    element: element,
    id: id,
    label: settings.texts.timer,
    kind: "timer",
    settings: settings,
    debounce: debounce,
    getValue: () => {
      const kind = timerKind(timer);
      return (kind && timer.get(kind).body) || "";
    },
    setValue: (value) => {
      const kind = timerKind(timer);
      if ((value || "") === ((kind && timer.get(kind).body) || "")) return;
      const expr = injector.get("bpmnFactory").create("bpmn:FormalExpression", { body: value || "" });
      injector.get("modeling").updateModdleProperties(element, timer, { [kind]: expr });
    }
  });
}

/* A script task's script, checked as a script. */
function TaskScript(props) {
  const { element, id, settings, injector, debounce } = props;
  return h(ExpressionEntry, {
    element: element,
    id: id,
    label: settings.texts.script,
    kind: "script",
    multiline: true,
    settings: settings,
    debounce: debounce,
    getValue: () => element.businessObject.script || "",
    setValue: (value) => {
      if ((value || "") === (element.businessObject.script || "")) return;
      injector.get("modeling").updateProperties(element, { script: value || undefined });
    }
  });
}

function CadreflowProvider(propertiesPanel, injector, translate, settings) {
  this._injector = injector;
  this._settings = settings;
  this._translate = translate;
  propertiesPanel.registerProvider(500, this);
}

CadreflowProvider.$inject = ["propertiesPanel", "injector", "translate", "config.cadreflowPanel"];

CadreflowProvider.prototype.getGroups = function (element) {
  const self = this;
  return function (groups) {
    const bo = element.businessObject;
    let entries = [];
    if (is(bo, "bpmn:Lane")) entries = [self._entry("cadreflow-lane-role", LaneRole, isSelectEntryEdited)];
    else if (HUMAN_TASKS.some((t) => is(bo, t))) entries = self._taskEntries();
    else if (is(bo, "bpmn:ScriptTask")) entries = self._scriptEntries();
    else if (is(bo, "bpmn:SequenceFlow") && bo.sourceRef && CONDITIONAL.some((t) => is(bo.sourceRef, t)))
      entries = [self._entry("cadreflow-condition", FlowCondition, isTextFieldEntryEdited)];
    const timer = (bo.eventDefinitions || []).find((d) => is(d, "bpmn:TimerEventDefinition"));
    if (timer) {
      entries = [
        self._entry("cadreflow-timer-kind", TimerKind, isSelectEntryEdited, { timer: timer }),
        self._entry("cadreflow-timer", TimerExpression, isTextFieldEntryEdited, { timer: timer })
      ];
      groups = groups.filter((g) => g.id !== "timer");
    }
    if (entries.length) {
      groups.splice(Math.min(1, groups.length), 0, {
        id: "cadreflow",
        label: self._settings.texts.group,
        entries: entries
      });
    }
    return groups;
  };
};

/* An entry: its id, component and edited-check, and what the component needs. */
CadreflowProvider.prototype._entry = function (id, component, isEdited, fields) {
  return Object.assign(
    {
      id: id,
      component: component,
      isEdited: isEdited,
      settings: this._settings,
      injector: this._injector,
      debounce: this._injector.get("debounceInput")
    },
    fields || {}
  );
};

CadreflowProvider.prototype._text = function (name, label, validate) {
  return this._entry("cadreflow-" + name, PropertyText, isTextFieldEntryEdited, {
    name: name,
    label: label,
    validate: validate
  });
};

CadreflowProvider.prototype._select = function (name, label, options, unknown) {
  return this._entry("cadreflow-" + name, PropertySelect, isSelectEntryEdited, {
    name: name,
    label: label,
    options: options,
    unknown: unknown || this._settings.texts.unknown_value
  });
};

CadreflowProvider.prototype._expression = function (name, label) {
  return this._entry("cadreflow-" + name, PropertyExpression, isTextFieldEntryEdited, { name: name, label: label });
};

/* The action a task runs when completed (user tasks) or reached (script tasks): one of
 * the registered `names`; one nobody registered is shown as such (deploying refuses it). */
CadreflowProvider.prototype._action = function (names) {
  const T = this._settings.texts;
  const options = () => [{ value: "", label: T.no_action }].concat(names.map((n) => ({ value: n, label: n })));
  return this._select("action", T.action, options, T.unknown_action);
};

/* The process's other human tasks, for timeLimitSameAs ("name（id）"). */
CadreflowProvider.prototype._otherTasks = function (element) {
  const tasks = this._injector
    .get("elementRegistry")
    .filter((e) => e.id !== element.id && HUMAN_TASKS.some((t) => is(e.businessObject, t)));
  return [{ value: "", label: this._settings.texts.not_set }].concat(
    tasks.map((e) => ({ value: e.id, label: (e.businessObject.name || e.id) + "（" + e.id + "）" }))
  );
};

CadreflowProvider.prototype._taskEntries = function () {
  const T = this._settings.texts;
  return [
    this._entry("cadreflow-form", TaskForm, isSelectEntryEdited),
    this._select(
      "formUiSchemaFilename",
      T.ui_form,
      () => [{ value: "", label: T.no_ui_form }].concat(this._settings.ui_forms.map((n) => ({ value: n, label: n }))),
      T.missing_form
    ),
    this._action(this._settings.actions.on_complete),
    this._text("assigneeFrom", T.assignee_from, (value) =>
      value && !IDENTIFIER.test(value.trim()) ? T.assignee_bad : null
    ),
    this._select("capacity", T.capacity, () => [
      { value: "", label: T.capacity_default },
      { value: "handled", label: T.capacity_handled },
      { value: "decided", label: T.capacity_decided }
    ]),
    this._text("timeLimit", T.time_limit, (value) => (value && !LIMIT.test(value) ? T.time_limit_bad : null)),
    this._text("timeLimitReminder", T.reminder, (value) => (value && !isReminder(value) ? T.reminder_bad : null)),
    this._expression("timeLimitFrom", T.time_limit_from_expr),
    this._text("timeLimitFromLabel", T.time_limit_from),
    this._text("timeLimitPolicy", T.time_limit_policy),
    this._select("timeLimitSameAs", T.same_as, (element) => this._otherTasks(element)),
    this._expression("dueAt", T.due_at),
    this._expression("deadlineBasis", T.deadline_basis)
  ];
};

CadreflowProvider.prototype._scriptEntries = function () {
  return [
    this._action(this._settings.actions.automatic),
    this._entry("cadreflow-script", TaskScript, isTextAreaEntryEdited)
  ];
};

const CadreflowProviderModule = {
  __init__: ["cadreflowPropertiesProvider"],
  cadreflowPropertiesProvider: ["type", CadreflowProvider]
};

window.cadreflowPanel = {
  /* The modules to add to the modeler (its config carries `cadreflowPanel`: the settings). */
  modules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, CadreflowProviderModule]
};
