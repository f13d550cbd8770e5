/* The BPMN / DMN editor page (templates/modeler.html): bpmn-js or dmn-js on the deployed
 * XML; validate and deploy through /api/v1/processes; problems listed and marked on the
 * canvas; download the XML; load a file from disk. The modeler is window.cadreflowModeler;
 * #canvas gets data-state="ready" once the XML is open, and data-dirty="true" while it holds
 * changes not deployed (leaving the page then asks first). */
(function () {
  "use strict";

  var canvasEl = document.getElementById("canvas");
  var kind = canvasEl.dataset.kind;
  var key = canvasEl.dataset.key;
  var texts = JSON.parse(document.getElementById("modeler-texts").textContent);
  var source = JSON.parse(document.getElementById("modeler-source").textContent);
  var companions = JSON.parse(document.getElementById("modeler-companions").textContent);
  var statusEl = document.getElementById("modeler-status");
  var problemsEl = document.getElementById("problems");
  var summaryEl = document.getElementById("problems-summary");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var MARKER = "cf-problem";

  // Chinese editor texts on Chinese pages, lanes named by their roles, coded cells labelled
  // (static/editor-zh.js; the page's #modeler-editor says which).
  var editor = JSON.parse(document.getElementById("modeler-editor").textContent);
  var editors = window.cadreflowEditors;
  var modules = editor.chinese ? [editors.translateModule] : [];
  var Modeler = kind === "dmn" ? window.DmnJS : window.BpmnJS;
  var modeler = kind === "dmn"
    ? new Modeler({  // dmn-js takes modules per view ("common" ones would be replaced)
      container: canvasEl,
      drd: { additionalModules: modules },
      decisionTable: { additionalModules: modules },
      literalExpression: { additionalModules: modules },
      boxedExpression: { additionalModules: modules }
    })
    : new Modeler(bpmnConfig());
  /* The BPMN modeler, with the properties panel (static/build/properties.js, bundled by
   * `make setup`) in #properties when the page has it. */
  function bpmnConfig() {
    var config = {
      container: canvasEl,
      additionalModules: modules.concat([editors.laneModule(editor.roles, true)])
    };
    var host = document.getElementById("properties");
    if (host && window.cadreflowPanel && editor.panel) {
      config.additionalModules = config.additionalModules.concat(window.cadreflowPanel.modules);
      config.propertiesPanel = { parent: host, layout: { groups: { cadreflow: { open: true } } } };
      config.cadreflowPanel = Object.assign({ csrf: csrf }, editor.panel);
    }
    return config;
  }
  window.cadreflowModeler = modeler;

  /* The Chinese label of `code` in a decision-table cell: by the column's input expression
   * (motive → 出以公心 / 缘于私利), else the same for every column (exempt → 免责). */
  function cellLabel(cell, code) {
    var column = cell.getAttribute("data-col-id");
    var viewer = modeler.getActiveViewer();
    var table = null;
    try { table = viewer.get("sheet").getRoot().businessObject; } catch (e) { table = null; }
    var input = table && (table.input || []).filter(function (i) { return i.id === column; })[0];
    var expression = input && input.inputExpression && (input.inputExpression.text || "").trim();
    var own = expression && editor.columns[expression];
    if (own && Object.prototype.hasOwnProperty.call(own, code)) { return own[code]; }
    return Object.prototype.hasOwnProperty.call(editor.codes, code) ? editor.codes[code] : null;
  }
  if (kind === "dmn") { editors.codedCells(canvasEl, cellLabel); }

  var marked = [];           // BPMN / DRD element ids carrying the marker
  var problemStyle = document.createElement("style");  // decision-table cells, which re-render
  document.head.appendChild(problemStyle);

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  function say(text, level, extra) {
    statusEl.textContent = "";
    if (!text) { return; }
    var p = document.createElement("p");
    p.className = "flash flash-" + (level || "info");
    p.textContent = text;
    if (extra) { p.appendChild(document.createTextNode(" ")); p.appendChild(extra); }
    statusEl.appendChild(p);
  }

  // -- the diagram ------------------------------------------------------------------------
  function bpmnProcessIds() {
    var definitions = modeler.getDefinitions();
    return (definitions && definitions.rootElements || [])
      .filter(function (e) { return e.$type === "bpmn:Process"; })
      .map(function (e) { return e.id; });
  }

  /* The file name a deployment derives the process from: <process id>.bpmn. */
  function fileName() {
    if (kind === "dmn") { return canvasEl.dataset.file; }
    var ids = bpmnProcessIds();
    return (ids.indexOf(key) >= 0 ? key : (ids[0] || key)) + ".bpmn";
  }

  function activeViewer() {
    return kind === "dmn" ? modeler.getActiveViewer() : modeler;
  }

  function hasCanvas(viewer) {
    try { return viewer && viewer.get("canvas") && viewer.get("elementRegistry"); } catch (e) { return null; }
  }

  // -- changes not deployed -----------------------------------------------------------------
  var watched = [];  // the viewers whose command stacks are followed (DMN: one per view)

  function setDirty(dirty) { canvasEl.dataset.dirty = dirty ? "true" : "false"; }

  function watchChanges() {
    var viewer = activeViewer();
    if (!viewer || watched.indexOf(viewer) >= 0) { return; }
    watched.push(viewer);
    viewer.on("commandStack.changed", function () { setDirty(true); });
  }

  window.addEventListener("beforeunload", function (event) {
    if (canvasEl.dataset.dirty === "true" && document.getElementById("btn-deploy")) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  async function open(xml) {
    await modeler.importXML(xml);
    if (kind === "dmn") {
      var table = modeler.getViews().filter(function (v) {
        return v.type === "decisionTable" && v.element.id === key;
      })[0];
      if (table) { await modeler.open(table); }
    } else {
      modeler.get("canvas").zoom("fit-viewport");
    }
    clearProblems();
    watchChanges();
    canvasEl.dataset.state = "ready";
  }

  // -- problems ---------------------------------------------------------------------------
  function unmark() {
    var viewer = activeViewer();
    if (hasCanvas(viewer)) {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      marked.forEach(function (id) { if (registry.get(id)) { canvas.removeMarker(id, MARKER); } });
    }
    marked = [];
    problemStyle.textContent = "";
  }

  function mark(ids) {
    unmark();
    var viewer = activeViewer();
    if (hasCanvas(viewer)) {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      ids.forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, MARKER); marked.push(id); }
      });
    }
    // Table cells are re-rendered on every edit: a style rule survives that, a class does not.
    problemStyle.textContent = ids.map(function (id) {
      return '#canvas td[data-element-id="' + CSS.escape(id) + '"]';
    }).join(",\n") + (ids.length ? " { background: #fde8e8 !important; box-shadow: inset 0 0 0 2px #8f1d1d; }" : "");
  }

  function clearProblems() {
    unmark();
    problemsEl.textContent = "";
    summaryEl.textContent = "";
  }

  async function reveal(id) {
    var viewer = activeViewer();
    if (hasCanvas(viewer) && viewer.get("elementRegistry").get(id)) {
      var element = viewer.get("elementRegistry").get(id);
      viewer.get("selection").select(element);
      viewer.get("canvas").scrollToElement(element);
      canvasEl.focus({ preventScroll: true });
      return;
    }
    if (kind !== "dmn") { return; }
    var selector = '[data-element-id="' + CSS.escape(id) + '"]';
    var views = modeler.getViews();
    for (var i = 0; i < views.length; i++) {
      if (views[i].type === "drd") { continue; }
      if (views[i] !== modeler.getActiveView()) { await modeler.open(views[i]); }
      var cell = canvasEl.querySelector(selector);
      if (cell) {
        cell.scrollIntoView({ block: "center", inline: "center" });
        var editable = cell.querySelector("[contenteditable]") || cell;
        if (editable.focus) { editable.focus(); }
        return;
      }
    }
  }

  function showProblems(problems, heading, list) {
    clearProblems();
    var own = fileName();
    var target = list || problemsEl;
    if (list) { list.textContent = ""; }
    summaryEl.textContent = heading;
    problems.forEach(function (problem) {
      var li = document.createElement("li");
      var where;
      if (problem.element) {
        where = document.createElement("button");
        where.type = "button";
        where.className = "link problem-element";
        where.dataset.element = problem.element;
        var code = document.createElement("code");
        code.textContent = problem.element;
        where.appendChild(code);
        where.addEventListener("click", function () { reveal(problem.element); });
      } else {
        where = document.createElement("span");
        where.textContent = texts.no_element;
      }
      if (problem.severity) {
        var badge = document.createElement("span");
        badge.className = "severity severity-" + problem.severity;
        badge.textContent = (problem.severity === "warning" ? texts.warning : texts.error) + " ";
        li.appendChild(badge);
      }
      li.appendChild(where);
      if (problem.name) { li.appendChild(document.createTextNode(" " + problem.name)); }
      if (problem.file && problem.file !== own) {
        li.appendChild(document.createTextNode(" (" + problem.file + ")"));
      }
      li.appendChild(document.createTextNode("：" + problem.reason));
      target.appendChild(li);
    });
    mark(problems.map(function (p) { return p.element; }).filter(Boolean));
  }

  /* The problems of a refusal: a definition error lists them, a validation error maps fields. */
  function problemsOf(body) {
    if (body && Array.isArray(body.problems)) { return body.problems; }
    if (body && body.errors) {
      var found = [];
      Object.keys(body.errors).forEach(function (field) {
        body.errors[field].forEach(function (message) {
          found.push({ file: "", element: null, reason: field + "：" + message });
        });
      });
      return found;
    }
    return [];
  }

  // -- the API ----------------------------------------------------------------------------
  async function files() {
    var saved = await modeler.saveXML({ format: true });
    return [{ name: fileName(), content: saved.xml }].concat(companions);
  }

  async function post(url, extra) {
    var body = Object.assign({ files: await files() }, extra || {});
    var response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    });
    var answer = null;
    try { answer = await response.json(); } catch (e) { answer = null; }
    return { status: response.status, body: answer };
  }

  var noteEl = document.getElementById("deploy-note");
  var noteErrorEl = document.getElementById("deploy-note-error");
  var confirmEl = document.getElementById("deploy-confirm");

  function noteError(message) {
    if (!noteEl) { return; }
    noteErrorEl.textContent = message || "";
    noteErrorEl.hidden = !message;
    if (message) { noteEl.setAttribute("aria-invalid", "true"); noteEl.focus(); }
    else { noteEl.removeAttribute("aria-invalid"); }
  }

  function refused(answer) {
    if (answer.status === 401) { say(texts.logged_out, "error"); return; }
    if (answer.status === 422 && answer.body && answer.body.errors && answer.body.errors.note) {
      noteError(answer.body.errors.note.join(" "));
      say(answer.body.errors.note.join(" "), "error");
      return;
    }
    if (answer.status === 409 && answer.body && Array.isArray(answer.body.problems)) {
      var warnings = answer.body.problems;
      showProblems(warnings, fill(texts.confirm_needed, { n: warnings.length }),
                   document.getElementById("deploy-warnings"));
      confirmEl.hidden = false;
      say(fill(texts.confirm_needed, { n: warnings.length }), "error");
      document.getElementById("btn-confirm-deploy").focus();
      return;
    }
    var problems = problemsOf(answer.body);
    if (answer.status === 422 && problems.length) {
      say(fill(texts.not_deployed, { n: problems.length }), "error");
      showProblems(problems, fill(texts.problems, { n: problems.length }));
      return;
    }
    say(texts.failed + ((answer.body && answer.body.detail) || answer.status), "error");
  }

  async function validate() {
    say(texts.validating, "info");
    var answer = await post(canvasEl.dataset.validateUrl);
    if (answer.status !== 200) { refused(answer); return; }
    if (answer.body.ok && !answer.body.problems.length) {
      clearProblems();
      summaryEl.textContent = texts.valid;
      say(texts.valid, "success");
    } else if (answer.body.ok) {
      var w = answer.body.problems.length;
      showProblems(answer.body.problems, fill(texts.valid_warnings, { n: w }));
      say(fill(texts.valid_warnings, { n: w }).replace(/[：:]$/, ""), "info");
    } else {
      var n = answer.body.problems.length;
      showProblems(answer.body.problems, fill(texts.problems, { n: n }));
      say(fill(texts.problems, { n: n }).replace(/[：:]$/, ""), "error");
    }
  }

  async function deploy(confirmed) {
    var note = noteEl ? noteEl.value.trim() : "";
    if (!note) { noteError(texts.note_missing); say(texts.note_missing, "error"); return; }
    noteError("");
    say(texts.deploying, "info");
    var answer = await post(canvasEl.dataset.deployUrl, { note: note, confirm: confirmed === true });
    if (answer.status !== 201) { refused(answer); return; }
    confirmEl.hidden = true;
    noteEl.value = "";
    clearProblems();
    setDirty(false);
    var parts = answer.body.deployed.map(function (d) {
      return d.key + " " + fill(texts.version, { n: d.version });
    });
    var kept = answer.body.unchanged.map(function (d) {
      return d.key + " " + fill(texts.version, { n: d.version });
    });
    var text = parts.length ? texts.deployed + "：" + parts.join("，") : "";
    if (kept.length) { text += (text ? "；" : "") + texts.unchanged + "：" + kept.join("，"); }
    var mine = answer.body.deployed.concat(answer.body.unchanged).filter(function (d) { return d.key === key; })[0];
    if (mine) {
      canvasEl.dataset.version = String(mine.version);
      document.getElementById("modeler-version").textContent =
        fill(texts.now_version, { n: mine.version, file: fileName() });
    }
    var back = document.createElement("a");
    back.href = canvasEl.dataset.listUrl;
    back.textContent = texts.back;
    say(text + "。", "success", back);
    summaryEl.textContent = texts.valid;
  }

  async function download() {
    var saved = await modeler.saveXML({ format: true });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([saved.xml], { type: "application/xml" }));
    link.download = fileName();
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    say(fill(texts.downloaded, { file: link.download }), "info");
  }

  async function upload(event) {
    var input = event.target;
    var file = input.files && input.files[0];
    if (!file) { return; }
    try {
      await open(await file.text());
      setDirty(true);
      var ids = kind === "bpmn" ? bpmnProcessIds() : [];
      if (kind === "bpmn" && ids.length && ids.indexOf(key) < 0) {
        say(fill(texts.other_process, { key: ids[0] }), "error");
      } else {
        say(texts.uploaded, "info");
      }
    } catch (err) {
      say(texts.load_failed + (err && err.message ? err.message : err), "error");
    }
    input.value = "";
  }

  function guard(action) {
    return function (event) {
      action(event).catch(function (err) { say(texts.failed + (err && err.message ? err.message : err), "error"); });
    };
  }

  var validateButton = document.getElementById("btn-validate");
  var deployButton = document.getElementById("btn-deploy");
  if (validateButton) { validateButton.addEventListener("click", guard(validate)); }
  if (deployButton) {
    deployButton.addEventListener("click", guard(function () { return deploy(false); }));
    document.getElementById("btn-confirm-deploy").addEventListener(
      "click", guard(function () { return deploy(true); }));
    document.getElementById("btn-cancel-deploy").addEventListener("click", function () {
      confirmEl.hidden = true;
      say("", "info");
    });
  }
  document.getElementById("btn-download").addEventListener("click", guard(download));
  document.getElementById("upload").addEventListener("change", guard(upload));
  if (kind === "dmn") {
    // Markers live on a view's canvas: re-apply them when the view changes.
    modeler.on("views.changed", function () {
      watchChanges();
      var ids = Array.prototype.map.call(problemsEl.querySelectorAll("[data-element]"),
                                          function (b) { return b.dataset.element; });
      if (ids.length) { mark(ids); }
    });
  }

  open(source).then(function () { setDirty(false); say(texts.loaded, "info"); })
    .catch(function (err) { say(texts.load_failed + (err && err.message ? err.message : err), "error"); });
}());
