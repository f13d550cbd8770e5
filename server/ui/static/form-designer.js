/* The form designer (templates/form_designer.html): edits a form's JSON Schema and UI schema
 * through a field list, a field editor and cross-field rules; the preview is rendered by the
 * server (the task page's renderer) and 试填校验 validates sample values as completion does.
 * Drafts are saved, discarded and deployed through /api/v1/forms/<stem>/…; a save names the
 * revision it started from, and a conflict keeps the edits on the page.
 * #fd-fields gets data-state="ready" once built; document.body data-dirty="true" while the
 * page holds edits not saved. */
(function () {
  "use strict";

  var state = JSON.parse(document.getElementById("fd-state").textContent);
  var texts = JSON.parse(document.getElementById("fd-texts").textContent);
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var KEY = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;
  var POLES = ["favourable", "unfavourable"];

  var schema = state.schema;
  var ui = state.uischema;
  var draft = state.draft;  // {revision, saved_by, saved_at} or null
  var selected = null;
  var conflict = null;  // the draft a refused save was told of
  var dirty = false;

  function $(id) { return document.getElementById(id); }
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_m, name) { return values[name] === undefined ? "" : values[name]; });
  }
  function props() { schema.properties = schema.properties || {}; return schema.properties; }
  function uiOf(key) { if (typeof ui[key] !== "object" || ui[key] === null) { ui[key] = {}; } return ui[key]; }
  function requiredList() { return Array.isArray(schema.required) ? schema.required : []; }

  // -- reading the form as fields ---------------------------------------------------------
  function choicesOf(spec) {
    if (Array.isArray(spec.oneOf) && spec.oneOf.every(function (o) { return o && "const" in o; })) {
      return spec.oneOf.map(function (o) { return { value: o.const, label: o.title || String(o.const) }; });
    }
    if (Array.isArray(spec.enum)) { return spec.enum.map(function (v) { return { value: v, label: String(v) }; }); }
    return null;
  }
  function isPole(key) {
    var found = choicesOf(props()[key] || {});
    return !!found && found.length === 2 && POLES.every(function (p) {
      return found.some(function (o) { return o.value === p; });
    }) && (key + "_reason") in props();
  }
  function kindOf(key) {
    var spec = props()[key] || {};
    var widget = (ui[key] || {})["ui:widget"];
    if (isPole(key)) { return "grid"; }
    if (choicesOf(spec)) { return widget === "radio" ? "radio" : "select"; }
    if (spec.type === "boolean") { return "checkbox"; }
    if (spec.type === "integer") { return widget === "document" ? "document" : "integer"; }
    if (spec.type === "number") { return "number"; }
    if (spec.type === "string" && spec.format === "date") { return "date"; }
    if (spec.type === "string" && !spec.format) { return widget === "textarea" ? "textarea" : "text"; }
    return "other";
  }
  function order() {
    var names = Object.keys(props());
    var listed = Array.isArray(ui["ui:order"]) ? ui["ui:order"].filter(function (n) { return names.indexOf(n) >= 0; }) : [];
    return listed.concat(names.filter(function (n) { return listed.indexOf(n) < 0; }));
  }
  function shown() {  // the reason of a six-element row is edited with its pole
    return order().filter(function (key) {
      return !(/_reason$/.test(key) && isPole(key.replace(/_reason$/, "")));
    });
  }
  function typeLabel(kind) {
    var option = document.querySelector('#fd-add-type option[value="' + kind + '"]');
    return option ? option.textContent : texts.other;
  }

  // -- changing it ------------------------------------------------------------------------
  function changed() {
    dirty = true;
    document.body.dataset.dirty = "true";
    showDraft();
    renderAll();
    schedulePreview();
  }
  function setOrder(keys) {
    var full = [];
    keys.forEach(function (key) {
      full.push(key);
      if (isPole(key)) { full.push(key + "_reason"); }
    });
    ui["ui:order"] = full;
  }
  function move(key, step) {
    var keys = shown();
    var at = keys.indexOf(key);
    var to = at + step;
    if (to < 0 || to >= keys.length) { return; }
    keys.splice(at, 1);
    keys.splice(to, 0, key);
    setOrder(keys);
    changed();
    var button = document.querySelector('[data-key="' + key + '"] [data-move="' + step + '"]');
    (button && !button.disabled ? button : document.querySelector('[data-key="' + key + '"] [data-edit]')).focus();
  }
  function freeKey(base) {
    var n = 1;
    while ((base + "_" + n) in props()) { n += 1; }
    return base + "_" + n;
  }
  function add(kind) {
    var key = freeKey(kind === "grid" ? "element" : "field");
    var spec = { title: texts.new_field };
    var member = {};
    if (kind === "text") { spec.type = "string"; }
    if (kind === "textarea") { spec.type = "string"; member["ui:widget"] = "textarea"; }
    if (kind === "date") { spec.type = "string"; spec.format = "date"; }
    if (kind === "number") { spec.type = "number"; }
    if (kind === "integer") { spec.type = "integer"; }
    if (kind === "checkbox") { spec.type = "boolean"; }
    if (kind === "document") { spec.type = "integer"; member["ui:widget"] = "document"; }
    if (kind === "select" || kind === "radio") {
      spec.type = "string";
      spec.oneOf = [1, 2].map(function (n) { return { const: "option_" + n, title: fill(texts.option_n, { n: n }) }; });
      member["ui:widget"] = kind;
    }
    if (kind === "grid") {
      spec.type = "string";
      spec.oneOf = [{ const: "favourable", title: texts.favourable }, { const: "unfavourable", title: texts.unfavourable }];
      member["ui:widget"] = "radio";
      props()[key + "_reason"] = { type: "string", title: texts.new_field, minLength: 4 };
      ui[key + "_reason"] = { "ui:widget": "textarea" };
    }
    props()[key] = spec;
    if (Object.keys(member).length) { ui[key] = member; }
    setOrder(shown().filter(function (k) { return k !== key; }).concat([key]));
    selected = key;
    changed();
    $("fd-key").focus();
    $("fd-key").select();
  }
  function remove(key) {
    var keys = isPole(key) ? [key, key + "_reason"] : [key];
    var rest = shown().filter(function (k) { return k !== key; });
    keys.forEach(function (k) {
      delete props()[k];
      delete ui[k];
      schema.required = requiredList().filter(function (r) { return r !== k; });
    });
    dropRulesOf(keys);
    if (!schema.required.length) { delete schema.required; }
    setOrder(rest);
    if (selected === key) { selected = null; }
    changed();
    var next = document.querySelector("#fd-fields [data-edit]");
    (next || $("fd-add-type")).focus();
  }
  /* A field's key changed: everywhere it is named (a six-element row's reason follows its pole). */
  function rename(from, to) {
    if (isPole(from)) { renameOne(from + "_reason", to + "_reason"); }
    renameOne(from, to);
  }
  function renameOne(from, to) {
    var renamed = {};
    Object.keys(props()).forEach(function (k) { renamed[k === from ? to : k] = props()[k]; });
    schema.properties = renamed;
    if (from in ui) { ui[to] = ui[from]; delete ui[from]; }
    if (Array.isArray(ui["ui:order"])) { ui["ui:order"] = ui["ui:order"].map(function (k) { return k === from ? to : k; }); }
    if (Array.isArray(schema.required)) { schema.required = schema.required.map(function (k) { return k === from ? to : k; }); }
    eachRule(function (rule) { ["a", "b"].forEach(function (side) { if (rule[side] === from) { rule[side] = to; } }); });
  }
  /* 必填 of a six-element row asks for its pole and its reason. */
  function setRequired(key, on) {
    var keys = isPole(key) ? [key, key + "_reason"] : [key];
    var list = requiredList().filter(function (k) { return keys.indexOf(k) < 0; });
    if (on) { list = list.concat(keys); }
    if (list.length) { schema.required = list; } else { delete schema.required; }
  }

  // -- cross-field rules: allOf if/then (当 A 为 x 时 B 必填) and dependentRequired -----------
  function rules() {
    var found = [];
    (Array.isArray(schema.allOf) ? schema.allOf : []).forEach(function (item, index) {
      var cond = item && item.if && item.if.properties;
      var names = cond ? Object.keys(cond) : [];
      var then = item && item.then && item.then.required;
      if (names.length === 1 && cond[names[0]] && "const" in cond[names[0]] && Array.isArray(then)) {
        then.forEach(function (b) { found.push({ kind: "when", a: names[0], x: cond[names[0]].const, b: b, index: index }); });
      }
    });
    Object.keys(schema.dependentRequired || {}).forEach(function (a) {
      (schema.dependentRequired[a] || []).forEach(function (b) { found.push({ kind: "filled", a: a, b: b }); });
    });
    return found;
  }
  function writeRules(list) {
    var known = rules().filter(function (r) { return r.kind === "when"; }).map(function (r) { return r.index; });
    var others = (Array.isArray(schema.allOf) ? schema.allOf : []).filter(function (_item, index) {
      return known.indexOf(index) < 0;  // rules of other shapes, kept as written in the JSON
    });
    var whens = list.filter(function (r) { return r.kind === "when"; }).map(function (r) {
      var cond = {};
      cond[r.a] = { const: r.x };
      return { if: { properties: cond, required: [r.a] }, then: { required: [r.b] } };
    });
    var allOf = others.concat(whens);
    if (allOf.length) { schema.allOf = allOf; } else { delete schema.allOf; }
    var dependent = {};
    list.filter(function (r) { return r.kind === "filled"; }).forEach(function (r) {
      dependent[r.a] = (dependent[r.a] || []).concat([r.b]);
    });
    if (Object.keys(dependent).length) { schema.dependentRequired = dependent; } else { delete schema.dependentRequired; }
  }
  function eachRule(change) {
    var list = rules();
    list.forEach(change);
    writeRules(list);
  }
  function dropRulesOf(keys) {
    writeRules(rules().filter(function (r) { return keys.indexOf(r.a) < 0 && keys.indexOf(r.b) < 0; }));
  }
  function ruleText(rule) {
    var a = titleOf(rule.a);
    var b = titleOf(rule.b);
    if (rule.kind === "filled") { return fill(texts.when_filled, { a: a, b: b }); }
    var choice = (choicesOf(props()[rule.a] || {}) || []).filter(function (o) { return o.value === rule.x; })[0];
    return fill(texts.when_equals, { a: a, x: choice ? choice.label : JSON.stringify(rule.x), b: b });
  }
  function titleOf(key) { return ((props()[key] || {}).title || key) + "（" + key + "）"; }

  // -- rendering ----------------------------------------------------------------------------
  function button(text, label, attrs, action) {
    var el = document.createElement("button");
    el.type = "button";
    el.className = "secondary small";
    el.textContent = text;
    el.setAttribute("aria-label", label);
    Object.keys(attrs).forEach(function (name) { el.setAttribute(name, attrs[name]); });
    el.addEventListener("click", action);
    return el;
  }
  function renderFields() {
    var list = $("fd-fields");
    list.textContent = "";
    var keys = shown();
    keys.forEach(function (key, index) {
      var spec = props()[key];
      var li = document.createElement("li");
      li.dataset.key = key;
      if (key === selected) { li.className = "selected"; }
      var name = document.createElement("span");
      name.className = "fd-name";
      name.textContent = (spec.title || key) + " ";
      var code = document.createElement("code");
      code.textContent = key;
      name.appendChild(code);
      var meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = " · " + typeLabel(kindOf(key)) + (requiredList().indexOf(key) >= 0 ? " · " + texts.required : "");
      li.appendChild(name);
      li.appendChild(meta);
      if (state.may_edit) {
        var tools = document.createElement("span");
        tools.className = "fd-tools";
        var label = spec.title || key;
        var up = button(texts.up, texts.up + " " + label, { "data-move": "-1" }, function () { move(key, -1); });
        var down = button(texts.down, texts.down + " " + label, { "data-move": "1" }, function () { move(key, 1); });
        up.disabled = index === 0;
        down.disabled = index === keys.length - 1;
        tools.appendChild(up);
        tools.appendChild(down);
        if (kindOf(key) !== "other") {
          tools.appendChild(button(texts.edit, texts.edit + " " + label, { "data-edit": key }, function () {
            selected = key;
            renderAll();
            $("fd-label").focus();
          }));
        }
        tools.appendChild(button(texts.remove, texts.remove + " " + label, { "data-remove": key }, function () { remove(key); }));
        li.appendChild(tools);
      }
      list.appendChild(li);
    });
    if (!keys.length) {
      var empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = texts.fields_none;
      list.appendChild(empty);
    }
    list.dataset.state = "ready";
  }
  function input(id, labelText, value, type, onChange) {
    var wrap = document.createElement("div");
    wrap.className = "field";
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = labelText;
    var el = document.createElement("input");
    el.id = id;
    el.type = type;
    el.value = value === undefined || value === null ? "" : String(value);
    el.disabled = !state.may_edit;
    el.addEventListener("change", function () { onChange(el.value.trim()); });
    wrap.appendChild(label);
    wrap.appendChild(el);
    return wrap;
  }
  /* A change handler for a bound (minLength, maximum, …): empty removes it; lengths are
   * whole numbers from 0. */
  function bound(spec, name, whole) {
    return function (raw) {
      var n = Number(raw);
      if (raw === "") { delete spec[name]; } else if (!isNaN(n)) { spec[name] = whole ? Math.max(0, Math.round(n)) : n; }
      changed();
    };
  }
  function renderEditor() {
    var box = $("fd-editor");
    if (!selected || !(selected in props())) { box.hidden = true; return; }
    box.hidden = false;
    var key = selected;
    var spec = props()[key];
    var kind = kindOf(key);
    $("fd-editor-legend").textContent = typeLabel(kind) + "：" + (spec.title || key);
    $("fd-key").value = key;
    $("fd-label").value = spec.title || "";
    $("fd-help").value = (ui[key] || {})["ui:help"] || "";
    $("fd-required").checked = requiredList().indexOf(key) >= 0;
    ["fd-key", "fd-label", "fd-help", "fd-required"].forEach(function (id) { $(id).disabled = !state.may_edit; });
    keyError("");
    var bounds = $("fd-bounds");
    bounds.textContent = "";
    if (kind === "text" || kind === "textarea") {
      bounds.appendChild(input("fd-min-length", texts.min_length, spec.minLength, "number", bound(spec, "minLength", true)));
      bounds.appendChild(input("fd-max-length", texts.max_length, spec.maxLength, "number", bound(spec, "maxLength", true)));
    }
    if (kind === "number" || kind === "integer") {
      bounds.appendChild(input("fd-minimum", texts.minimum, spec.minimum, "number", bound(spec, "minimum", false)));
      bounds.appendChild(input("fd-maximum", texts.maximum, spec.maximum, "number", bound(spec, "maximum", false)));
    }
    renderOptions(key, kind);
  }
  function renderOptions(key, kind) {
    var box = $("fd-options");
    box.textContent = "";
    var spec = props()[key];
    if (kind === "grid") {
      var reason = props()[key + "_reason"];
      spec.oneOf.forEach(function (option, index) {
        box.appendChild(input("fd-pole-" + index, option.const === "favourable" ? texts.favourable : texts.unfavourable,
          option.title, "text", function (value) { option.title = value || option.const; changed(); }));
      });
      box.appendChild(input("fd-reason-title", texts.reason_title, reason.title, "text", function (value) {
        reason.title = value; changed();
      }));
      box.appendChild(input("fd-reason-min", texts.reason_min, reason.minLength, "number", bound(reason, "minLength", true)));
      return;
    }
    if (kind !== "select" && kind !== "radio") { return; }
    var table = document.createElement("table");
    table.className = "grid fd-choices";
    var head = document.createElement("tr");
    [texts.option_value, texts.option_label, ""].forEach(function (text) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      head.appendChild(th);
    });
    table.appendChild(head);
    spec.oneOf.forEach(function (option, index) {
      var row = document.createElement("tr");
      [["const", texts.option_value], ["title", texts.option_label]].forEach(function (part) {
        var cell = document.createElement("td");
        var el = document.createElement("input");
        el.type = "text";
        el.value = option[part[0]];
        el.disabled = !state.may_edit;
        el.setAttribute("aria-label", part[1] + " " + (index + 1));
        el.addEventListener("change", function () { option[part[0]] = el.value.trim(); changed(); });
        cell.appendChild(el);
        row.appendChild(cell);
      });
      var cell = document.createElement("td");
      if (state.may_edit && spec.oneOf.length > 1) {
        cell.appendChild(button(texts.remove, texts.remove + " " + option.title, {}, function () {
          spec.oneOf.splice(index, 1); changed();
        }));
      }
      row.appendChild(cell);
      table.appendChild(row);
    });
    box.appendChild(table);
    if (state.may_edit) {
      box.appendChild(button(texts.add_option, texts.add_option, { "class": "secondary" }, function () {
        var n = spec.oneOf.length + 1;
        while (spec.oneOf.some(function (o) { return o.const === "option_" + n; })) { n += 1; }
        spec.oneOf.push({ const: "option_" + n, title: fill(texts.option_n, { n: n }) });
        changed();
      }));
    }
  }
  function renderRules() {
    var list = $("fd-rules");
    list.textContent = "";
    var found = rules();
    found.forEach(function (rule, index) {
      var li = document.createElement("li");
      li.appendChild(document.createTextNode(ruleText(rule) + " "));
      if (state.may_edit) {
        li.appendChild(button(texts.remove, texts.remove + " " + ruleText(rule), {}, function () {
          writeRules(rules().filter(function (_r, i) { return i !== index; }));
          changed();
        }));
      }
      list.appendChild(li);
    });
    if (!found.length) {
      var empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = texts.rules_none;
      list.appendChild(empty);
    }
    if (!state.may_edit) { return; }
    ["fd-rule-a", "fd-rule-b"].forEach(function (id) {
      var select = $(id);
      var was = select.value;
      select.textContent = "";
      select.appendChild(new Option(texts.choose, ""));
      order().forEach(function (key) { select.appendChild(new Option(titleOf(key), key)); });
      select.value = was in props() ? was : "";
    });
    ruleValues();
  }
  function ruleValues() {
    var when = $("fd-rule-kind").value === "when";
    $("fd-rule-x-wrap").hidden = !when;
    var select = $("fd-rule-x");
    select.textContent = "";
    var spec = props()[$("fd-rule-a").value] || {};
    var choices = choicesOf(spec) || (spec.type === "boolean" ? [{ value: true, label: texts.yes }, { value: false, label: texts.no }] : []);
    select.appendChild(new Option(texts.choose, ""));
    choices.forEach(function (o, index) { select.appendChild(new Option(o.label, String(index))); });
    select.dataset.values = JSON.stringify(choices.map(function (o) { return o.value; }));
  }
  function addRule() {
    var kind = $("fd-rule-kind").value;
    var a = $("fd-rule-a").value;
    var b = $("fd-rule-b").value;
    var picked = $("fd-rule-x").value;
    var error = $("fd-rule-error");
    if (!a || !b || a === b || (kind === "when" && picked === "")) {
      error.textContent = texts.rule_incomplete;
      error.hidden = false;
      return;
    }
    error.hidden = true;
    var rule = { kind: kind, a: a, b: b };
    if (kind === "when") { rule.x = JSON.parse($("fd-rule-x").dataset.values)[Number(picked)]; }
    writeRules(rules().concat([rule]));
    changed();
  }
  function renderJson() {
    $("fd-schema").value = JSON.stringify(schema, null, 2);
    $("fd-uischema").value = JSON.stringify(ui, null, 2);
    $("fd-form-title").value = schema.title || "";
    $("fd-form-description").value = schema.description || "";
    $("fd-title-shown").textContent = schema.title || state.stem;
  }
  function renderAll() {
    renderFields();
    renderEditor();
    renderRules();
    renderJson();
  }
  function keyError(message) {
    $("fd-key-error").textContent = message;
    $("fd-key-error").hidden = !message;
    if (message) { $("fd-key").setAttribute("aria-invalid", "true"); } else { $("fd-key").removeAttribute("aria-invalid"); }
  }

  // -- the preview --------------------------------------------------------------------------
  var previewTimer = null;
  function values() {
    var found = {};
    var form = document.querySelector("#preview form");
    if (!form) { return found; }
    new FormData(form).forEach(function (value, name) { found[name] = String(value); });
    return found;
  }
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(function () { preview(false); }, 300);
  }
  async function preview(check) {
    clearTimeout(previewTimer);
    var response = await fetch(state.preview_url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ schema: schema, uischema: ui, values: values(), check: check })
    });
    var html = await response.text();
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector("#preview");
    if (fresh) { $("preview").replaceWith(fresh); }
    if (check) {
      var first = document.querySelector('#preview [aria-invalid="true"]');
      if (first) { first.focus(); }
    }
  }

  // -- saving, discarding, deploying ---------------------------------------------------------
  function say(message, kind) {
    var box = $("fd-status");
    box.textContent = "";
    if (!message) { return; }
    var p = document.createElement("p");
    p.className = "flash flash-" + (kind || "info");
    p.textContent = message;
    box.appendChild(p);
  }
  function showErrors(body) {
    var list = $("fd-errors");
    list.textContent = "";
    var errors = (body && body.errors) || {};
    Object.keys(errors).forEach(function (field) {
      errors[field].forEach(function (message) {
        var li = document.createElement("li");
        var code = document.createElement("code");
        code.textContent = field;
        li.appendChild(code);
        li.appendChild(document.createTextNode("：" + message));
        list.appendChild(li);
      });
    });
    (body && Array.isArray(body.problems) ? body.problems : []).forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = (p.file || "") + (p.element ? " " + p.element : "") + "：" + p.reason;
      list.appendChild(li);
    });
    list.hidden = !list.children.length;
  }
  function when(iso) {
    var d = new Date(iso);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }
  function showDraft() {
    var text = draft ? fill(texts.saved, { n: draft.revision, who: draft.saved_by, when: when(draft.saved_at) }) : texts.no_draft;
    $("fd-draft").textContent = text + (dirty ? "（" + texts.unsaved + "）" : "");
  }
  async function call(method, url, body) {
    var response = await fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    });
    var answer = null;
    try { answer = await response.json(); } catch (e) { answer = null; }
    return { status: response.status, body: answer };
  }
  function refused(answer, prefix) {
    if (answer.status === 401) { say(texts.logged_out, "error"); return; }
    showErrors(answer.body);
    say((prefix || texts.failed) + ((answer.body && answer.body.detail) || answer.status), "error");
  }
  async function save(base) {
    say(texts.saving, "info");
    var answer = await call("PUT", state.api + "/draft", {
      schema: schema, uischema: ui, base_revision: base === undefined ? (draft ? draft.revision : 0) : base
    });
    if (answer.status === 409 && answer.body && answer.body.code === "draft_conflict") {
      conflict = answer.body.draft;
      $("fd-conflict-detail").textContent = answer.body.detail;
      $("fd-conflict").hidden = false;
      say(fill(texts.conflict, { detail: answer.body.detail }), "error");
      $("fd-overwrite").focus();
      return false;
    }
    if (answer.status !== 200) { refused(answer, texts.save_failed); return false; }
    draft = { revision: answer.body.revision, saved_by: answer.body.saved_by, saved_at: answer.body.saved_at };
    conflict = null;
    $("fd-conflict").hidden = true;
    showErrors(null);
    dirty = false;
    document.body.dataset.dirty = "false";
    showDraft();
    say($("fd-draft").textContent, "success");
    return true;
  }
  async function reload() {
    var answer = await call("GET", state.api);
    if (answer.status !== 200) { refused(answer); return; }
    var found = answer.body;
    draft = found.draft ? { revision: found.draft.revision, saved_by: found.draft.saved_by, saved_at: found.draft.saved_at } : null;
    schema = found.draft ? found.draft.schema : (found.schema || { type: "object", properties: {} });
    ui = found.draft ? found.draft.uischema : (found.uischema || {});
    selected = null;
    dirty = false;
    document.body.dataset.dirty = "false";
    conflict = null;
    $("fd-conflict").hidden = true;
    showDraft();
    renderAll();
    schedulePreview();
  }
  async function discard() {
    if (!draft) { await reload(); say(texts.discarded, "info"); return; }
    if (!window.confirm(texts.discard_confirm)) { return; }
    var answer = await call("DELETE", state.api + "/draft?revision=" + draft.revision);
    if (answer.status !== 204) { refused(answer); return; }
    await reload();
    say(texts.discarded, "success");
  }
  function noteError(message) {
    $("fd-note-error").textContent = message || "";
    $("fd-note-error").hidden = !message;
    if (message) { $("fd-note").setAttribute("aria-invalid", "true"); $("fd-note").focus(); } else { $("fd-note").removeAttribute("aria-invalid"); }
  }
  async function deploy(confirmed) {
    var note = $("fd-note").value.trim();
    if (!note) { noteError(texts.note_missing); say(texts.note_missing, "error"); return; }
    noteError("");
    if ((dirty || !draft) && !(await save())) { return; }
    say(texts.deploying, "info");
    var answer = await call("POST", state.api + "/deploy", { note: note, confirm: confirmed === true });
    if (answer.status === 409 && answer.body && Array.isArray(answer.body.problems)) {
      var list = $("fd-warnings");
      list.textContent = "";
      answer.body.problems.forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = p.file + (p.element ? " " + p.element : "") + "：" + p.reason;
        list.appendChild(li);
      });
      $("fd-confirm").hidden = false;
      say(fill(texts.confirm_needed, { n: answer.body.problems.length }), "error");
      $("fd-confirm-deploy").focus();
      return;
    }
    if (answer.status !== 201) {
      if (answer.body && answer.body.errors && answer.body.errors.note) { noteError(answer.body.errors.note.join(" ")); }
      refused(answer);
      return;
    }
    $("fd-confirm").hidden = true;
    $("fd-note").value = "";
    var parts = answer.body.deployed.map(function (d) { return d.key + " " + fill(texts.version, { n: d.version }); });
    var kept = answer.body.unchanged.map(function (d) { return d.key + " " + fill(texts.version, { n: d.version }); });
    var text = parts.length ? texts.deployed + "：" + parts.join("，") : "";
    if (kept.length) { text += (text ? "；" : "") + texts.unchanged + "：" + kept.join("，"); }
    await reload();
    say(text + "。", "success");
  }
  function applyJson() {
    var error = $("fd-json-error");
    try {
      var s = JSON.parse($("fd-schema").value);
      var u = JSON.parse($("fd-uischema").value || "{}");
      if (!s || typeof s !== "object" || Array.isArray(s) || !u || typeof u !== "object" || Array.isArray(u)) {
        throw new Error("{}");
      }
      schema = s;
      ui = u;
      error.hidden = true;
      selected = null;
      changed();
      say(texts.json_applied, "info");
    } catch (err) {
      error.textContent = texts.json_bad + err.message;
      error.hidden = false;
    }
  }
  function guard(action) {
    return function (event) {
      action(event).catch(function (err) { say(texts.failed + (err && err.message ? err.message : err), "error"); });
    };
  }

  // -- wiring -------------------------------------------------------------------------------
  if (state.may_edit) {
    $("fd-add").addEventListener("click", function () { add($("fd-add-type").value); });
    $("fd-key").addEventListener("change", function () {
      var key = $("fd-key").value.trim();
      if (key === selected) { keyError(""); return; }
      if (!KEY.test(key)) { keyError(texts.key_bad); return; }
      if (key in props() || (isPole(selected) && (key + "_reason") in props())) { keyError(texts.key_taken); return; }
      rename(selected, key);
      selected = key;
      changed();
    });
    $("fd-label").addEventListener("change", function () { props()[selected].title = $("fd-label").value.trim(); changed(); });
    $("fd-help").addEventListener("change", function () {
      var text = $("fd-help").value.trim();
      if (text) { uiOf(selected)["ui:help"] = text; } else if (ui[selected]) { delete ui[selected]["ui:help"]; }
      changed();
    });
    $("fd-required").addEventListener("change", function () { setRequired(selected, $("fd-required").checked); changed(); });
    $("fd-form-title").addEventListener("change", function () { schema.title = $("fd-form-title").value.trim(); changed(); });
    $("fd-form-description").addEventListener("change", function () {
      var text = $("fd-form-description").value.trim();
      if (text) { schema.description = text; } else { delete schema.description; }
      changed();
    });
    $("fd-rule-kind").addEventListener("change", ruleValues);
    $("fd-rule-a").addEventListener("change", ruleValues);
    $("fd-rule-add").addEventListener("click", addRule);
    $("fd-apply-json").addEventListener("click", applyJson);
    $("fd-save").addEventListener("click", guard(function () { return save(); }));
    $("fd-discard").addEventListener("click", guard(discard));
    $("fd-deploy").addEventListener("click", guard(function () { return deploy(false); }));
    $("fd-confirm-deploy").addEventListener("click", guard(function () { return deploy(true); }));
    $("fd-cancel-deploy").addEventListener("click", function () { $("fd-confirm").hidden = true; say("", "info"); });
    $("fd-load-theirs").addEventListener("click", guard(reload));
    $("fd-overwrite").addEventListener("click", guard(function () { return save(conflict ? conflict.revision : 0); }));
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });
  } else {
    ["fd-form-title", "fd-form-description", "fd-schema", "fd-uischema"].forEach(function (id) { $(id).disabled = true; });
  }
  $("fd-check").addEventListener("click", guard(function () { return preview(true); }));
  showDraft();
  renderAll();
}());
