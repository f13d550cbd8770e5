/* The BPMN editor's properties panel with cadreflow's own fields (bundled by `make setup`
 * with esbuild into static/build/properties.js and .css; see the Makefile).
 *
 * window.cadreflowPanel.modules(settings) → the additionalModules for the bpmn-js modeler:
 * bpmn-js-properties-panel (name, id, documentation) and a provider adding
 *   - lane: its role (the lane's name is a role key, DOMAIN.md §1), chosen from the roles;
 *   - user task: its form (formJsonSchemaFilename / formUiSchemaFilename) and time limit
 *     (timeLimit, timeLimitFromLabel, timeLimitPolicy), written as spiffworkflow:property
 *     elements inside spiffworkflow:properties, as the shipped BPMN stores them;
 *   - a gateway's outgoing flow: its condition; a timer event: its expression — each checked
 *     by the server's evaluator as one types (POST /api/v1/processes/check-expression).
 * settings: {roles: {key: 名称}, forms: [file names], may_check, check_url, csrf, texts}.
 * The spiffworkflow elements stay generic XML elements (no moddle descriptor), so that
 * whatever else a file carries in that namespace is kept as it was.
 */
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule
} from "bpmn-js-properties-panel";
import {
  SelectEntry,
  TextFieldEntry,
  isSelectEntryEdited,
  isTextFieldEntryEdited
} from "@bpmn-io/properties-panel";
import { h } from "@bpmn-io/properties-panel/preact";
import { useEffect, useState } from "@bpmn-io/properties-panel/preact/hooks";
import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";

const SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
const CONDITIONAL = ["bpmn:ExclusiveGateway", "bpmn:InclusiveGateway", "bpmn:ComplexGateway"];
const TIMER_KINDS = ["timeDate", "timeDuration", "timeCycle"];
const LIMIT = /^\s*(\d{1,5})\s*(workdays?|working days?|个工作日|工作日|months?|个月|月|days?|日|天|个自然日|自然日)\s*$/i;

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

/* A text field for an expression with the server's check beside it. */
function ExpressionEntry(props) {
  const { element, id, label, kind, getValue, setValue, settings, debounce } = props;
  const [text, setText] = useState(getValue(element));
  return h(
    "div",
    { class: "cf-expression" },
    h(TextFieldEntry, {
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
    const T = self._settings.texts;
    let entries = [];
    if (is(bo, "bpmn:Lane")) entries = self._laneEntries(element);
    else if (is(bo, "bpmn:UserTask")) entries = self._taskEntries(element);
    else if (is(bo, "bpmn:SequenceFlow") && bo.sourceRef && CONDITIONAL.some((t) => is(bo.sourceRef, t)))
      entries = self._conditionEntries(element);
    const timer = (bo.eventDefinitions || []).find((d) => is(d, "bpmn:TimerEventDefinition"));
    if (timer) {
      entries = self._timerEntries(element, timer);
      groups = groups.filter((g) => g.id !== "timer");
    }
    if (entries.length) {
      groups.splice(Math.min(1, groups.length), 0, {
        id: "cadreflow",
        label: T.group,
        entries: entries
      });
    }
    return groups;
  };
};

CadreflowProvider.prototype._debounce = function () {
  return this._injector.get("debounceInput");
};

CadreflowProvider.prototype._laneEntries = function (element) {
  const injector = this._injector;
  const settings = this._settings;
  const roles = settings.roles;
  return [
    {
      id: "cadreflow-lane-role",
      isEdited: isSelectEntryEdited,
      component: (props) =>
        h(SelectEntry, {
          element: element,
          id: props.id,
          label: settings.texts.role,
          getValue: () => (element.businessObject.name || "").trim(),
          setValue: (value) => injector.get("modeling").updateProperties(element, { name: value }),
          getOptions: () => {
            const current = (element.businessObject.name || "").trim();
            const options = [{ value: "", label: settings.texts.choose }];
            Object.keys(roles).forEach((key) => options.push({ value: key, label: roles[key] + "（" + key + "）" }));
            if (current && !Object.prototype.hasOwnProperty.call(roles, current))
              options.push({ value: current, label: settings.texts.unknown_role.replace("{name}", current) });
            return options;
          }
        })
    }
  ];
};

CadreflowProvider.prototype._taskEntries = function (element) {
  const injector = this._injector;
  const settings = this._settings;
  const T = settings.texts;
  const debounce = this._debounce();
  const forms = settings.forms || [];
  const text = (name, label, validate) => ({
    id: "cadreflow-" + name,
    isEdited: isTextFieldEntryEdited,
    component: (props) =>
      h(TextFieldEntry, {
        element: element,
        id: props.id,
        label: label,
        getValue: () => spiffValue(element.businessObject, name),
        setValue: (value) => {
          const changes = {};
          changes[name] = value;
          setSpiff(injector, element, changes);
        },
        validate: validate,
        debounce: debounce
      })
  });
  return [
    {
      id: "cadreflow-form",
      isEdited: isSelectEntryEdited,
      component: (props) =>
        h(SelectEntry, {
          element: element,
          id: props.id,
          label: T.form,
          getValue: () => spiffValue(element.businessObject, "formJsonSchemaFilename"),
          setValue: (value) => {
            const stem = value.replace(/\.schema\.json$/, "");
            const ui = stem + ".uischema.json";
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
        })
    },
    text("timeLimit", T.time_limit, (value) => (value && !LIMIT.test(value) ? T.time_limit_bad : null)),
    text("timeLimitFromLabel", T.time_limit_from),
    text("timeLimitPolicy", T.time_limit_policy)
  ];
};

CadreflowProvider.prototype._conditionEntries = function (element) {
  const injector = this._injector;
  const settings = this._settings;
  const debounce = this._debounce();
  return [
    {
      id: "cadreflow-condition",
      isEdited: isTextFieldEntryEdited,
      component: (props) =>
        h(ExpressionEntry, {
          element: element,
          id: props.id,
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
            if (!value || !value.trim()) {
              modeling.updateProperties(element, { conditionExpression: undefined });
              return;
            }
            const expr = injector.get("bpmnFactory").create("bpmn:FormalExpression", { body: value });
            modeling.updateProperties(element, { conditionExpression: expr });
          }
        })
    }
  ];
};

CadreflowProvider.prototype._timerEntries = function (element, timer) {
  const injector = this._injector;
  const settings = this._settings;
  const T = settings.texts;
  const debounce = this._debounce();
  const kindOf = () => TIMER_KINDS.find((k) => timer.get(k)) || "";
  return [
    {
      id: "cadreflow-timer-kind",
      isEdited: isSelectEntryEdited,
      component: (props) =>
        h(SelectEntry, {
          element: element,
          id: props.id,
          label: T.timer_kind,
          getValue: kindOf,
          setValue: (value) => {
            const old = kindOf();
            const body = old ? timer.get(old).body || "" : "";
            const changes = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
            if (value)
              changes[value] = injector.get("bpmnFactory").create("bpmn:FormalExpression", { body: body });
            injector.get("modeling").updateModdleProperties(element, timer, changes);
          },
          getOptions: () => [
            { value: "", label: T.choose },
            { value: "timeDate", label: T.time_date },
            { value: "timeDuration", label: T.time_duration },
            { value: "timeCycle", label: T.time_cycle }
          ]
        })
    },
    {
      id: "cadreflow-timer",
      isEdited: isTextFieldEntryEdited,
      component: (props) =>
        kindOf()
          ? h(ExpressionEntry, {
              element: element,
              id: props.id,
              label: T.timer,
              kind: "timer",
              settings: settings,
              debounce: debounce,
              getValue: () => {
                const kind = kindOf();
                return (kind && timer.get(kind).body) || "";
              },
              setValue: (value) => {
                const kind = kindOf();
                const expr = injector.get("bpmnFactory").create("bpmn:FormalExpression", { body: value || "" });
                const changes = {};
                changes[kind] = expr;
                injector.get("modeling").updateModdleProperties(element, timer, changes);
              }
            })
          : null
    }
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
