/* The BPMN / DMN editor page (templates/modeler.html): bpmn-js or dmn-js on the deployed
 * XML; validate and deploy through /api/v1/processes; the BPMN diagram linted as it is drawn
 * (static/build/lint.js: bpmnlint's recommended rules and the server's, in the browser);
 * problems of both listed and marked on the canvas (a class and a badge counting them), a
 * click on one zooming to its element; download the XML; load a file from disk. The modeler
 * is window.cadreflowModeler; #canvas gets data-state="ready" once the XML is open,
 * data-dirty="true" while it holds changes not deployed (leaving the page then asks first),
 * and data-linted="<n>" each time the lint has run (n: how many runs). */
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
  var lintSummaryEl = document.getElementById("lint-summary");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var MARKER = "cf-problem";
  var WARNED = "cf-problem-warning";  // an element with warnings only
  var BADGE = "cf-problem-count";     // the overlay type of the badges
  var LINT_DELAY = 300;               // ms after the last change

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
  var serverFound = null;    // the last 校验 or refused deployment: {problems, heading}
  var lintFound = [];        // the lint's findings on the diagram as it is now
  var stale = false;         // the diagram changed since the server's findings
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
    viewer.on("commandStack.changed", function () {
      setDirty(true);
      if (serverFound) { serverFound = null; stale = true; renderProblems(); }
      scheduleLint();
    });
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
    serverFound = null;
    stale = false;
    lintFound = [];
    renderProblems();
    watchChanges();
    canvasEl.dataset.state = "ready";
    await runLint().catch(lintFailed);
  }

  // -- problems ---------------------------------------------------------------------------
  function unmark() {
    var viewer = activeViewer();
    if (hasCanvas(viewer)) {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      marked.forEach(function (id) {
        if (registry.get(id)) { canvas.removeMarker(id, MARKER); canvas.removeMarker(id, WARNED); }
      });
      var overlays = overlaysOf(viewer);
      if (overlays) { overlays.remove({ type: BADGE }); }
    }
    marked = [];
    problemStyle.textContent = "";
  }

  function overlaysOf(viewer) {
    try { return viewer.get("overlays"); } catch (e) { return null; }
  }

  /* Mark each element with problems: the class (red; amber for warnings only) and a badge
   * with their count. */
  function mark(problems) {
    unmark();
    var counts = {};
    problems.forEach(function (p) {
      if (!p.element) { return; }
      var seen = counts[p.element] || (counts[p.element] = { n: 0, error: false });
      seen.n += 1;
      seen.error = seen.error || p.severity !== "warning";
    });
    var ids = Object.keys(counts);
    var viewer = activeViewer();
    if (hasCanvas(viewer)) {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      var overlays = overlaysOf(viewer);
      ids.forEach(function (id) {
        var element = registry.get(id);
        if (!element) { return; }
        canvas.addMarker(id, MARKER);
        if (!counts[id].error) { canvas.addMarker(id, WARNED); }
        marked.push(id);
        if (overlays && element.type !== "bpmn:Process" && !element.waypoints) {
          var badge = document.createElement("span");
          badge.className = "cf-badge" + (counts[id].error ? "" : " cf-badge-warning");
          badge.dataset.element = id;
          badge.textContent = String(counts[id].n);
          badge.title = fill(texts.badge, { n: counts[id].n });
          overlays.add(id, BADGE, { position: { top: -10, right: 10 }, scale: false, html: badge });
        }
      });
    }
    // Table cells are re-rendered on every edit: a style rule survives that, a class does not.
    problemStyle.textContent = ids.map(function (id) {
      return '#canvas td[data-element-id="' + CSS.escape(id) + '"]';
    }).join(",\n") + (ids.length ? " { background: #fde8e8 !important; box-shadow: inset 0 0 0 2px #8f1d1d; }" : "");
  }

  /* The middle of a shape or a connection, in diagram coordinates. */
  function middle(element) {
    if (element.waypoints && element.waypoints.length) {
      var xs = element.waypoints.map(function (p) { return p.x; });
      var ys = element.waypoints.map(function (p) { return p.y; });
      return { x: (Math.min.apply(null, xs) + Math.max.apply(null, xs)) / 2,
               y: (Math.min.apply(null, ys) + Math.max.apply(null, ys)) / 2 };
    }
    return { x: element.x + (element.width || 0) / 2, y: element.y + (element.height || 0) / 2 };
  }

  /* Select an element, zoom in to (at least) its natural size and centre it. */
  async function reveal(id) {
    var viewer = activeViewer();
    if (hasCanvas(viewer) && viewer.get("elementRegistry").get(id)) {
      var element = viewer.get("elementRegistry").get(id);
      var canvas = viewer.get("canvas");
      viewer.get("selection").select(element);
      var scale = Math.max(canvas.zoom(), 1);
      var outer = canvas.viewbox().outer;
      var at = middle(element);
      canvas.viewbox({ x: at.x - outer.width / 2 / scale, y: at.y - outer.height / 2 / scale,
                       width: outer.width / scale, height: outer.height / scale });
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

  /* One problem as a list item: severity, the element (a button that zooms to it), its
   * name, the file when another, the reason, and who found it (the lint or the server). */
  function problemItem(problem, own) {
    var li = document.createElement("li");
    li.className = "problem problem-" + (problem.source || "server");
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
    var origin = document.createElement("span");
    origin.className = "problem-source";
    origin.textContent = " · " + (problem.source === "lint" ? texts.source_lint : texts.source_server);
    li.appendChild(origin);
    return li;
  }

  /* The server's findings and the lint's in one list, errors first; a lint finding the
   * server reported too (same element, same reason) is listed once. */
  function allProblems() {
    var server = serverFound ? serverFound.problems : [];
    var said = {};
    server.forEach(function (p) { said[(p.element || "") + "\u0000" + p.reason] = true; });
    var lint = lintFound.filter(function (p) { return !said[(p.element || "") + "\u0000" + p.reason]; });
    var all = server.map(function (p) { return Object.assign({ source: "server" }, p); })
      .concat(lint.map(function (p) { return Object.assign({ source: "lint" }, p); }));
    var rank = function (p) { return p.severity === "warning" ? 1 : 0; };
    return all.map(function (p, i) { return [p, i]; })
      .sort(function (a, b) { return rank(a[0]) - rank(b[0]) || a[1] - b[1]; })
      .map(function (pair) { return pair[0]; });
  }

  /* The problems panel and the canvas marks, from both sources. */
  function renderProblems() {
    var problems = allProblems();
    var own = fileName();
    problemsEl.textContent = "";
    problems.forEach(function (problem) { problemsEl.appendChild(problemItem(problem, own)); });
    if (serverFound) { summaryEl.textContent = serverFound.heading; }
    else { summaryEl.textContent = stale ? texts.stale : texts.not_validated; }
    if (lintSummaryEl && linting) {
      var errors = lintFound.filter(function (p) { return p.severity !== "warning"; }).length;
      lintSummaryEl.textContent = lintFound.length
        ? fill(texts.lint_found, { n: lintFound.length, e: errors, w: lintFound.length - errors })
        : texts.lint_clean;
    }
    mark(problems);
  }

  function showServer(problems, heading) {
    serverFound = { problems: problems, heading: heading };
    stale = false;
    renderProblems();
  }

  // -- lint (BPMN) ------------------------------------------------------------------------
  var linting = kind === "bpmn" && window.cadreflowLint && editor.lint
    ? window.cadreflowLint.linter(Object.assign({ chinese: editor.chinese }, editor.lint)) : null;
  var lintTimer = null;
  var lintRuns = 0;

  function scheduleLint() {
    if (!linting) { return; }
    clearTimeout(lintTimer);
    lintTimer = setTimeout(function () { runLint().catch(lintFailed); }, LINT_DELAY);
  }

  async function runLint() {
    if (!linting) { return; }
    var run = ++lintRuns;
    var found = await linting.lint(modeler.getDefinitions());
    if (run !== lintRuns) { return; }  // a newer run is under way
    lintFound = found;
    renderProblems();
    canvasEl.dataset.linted = String(run);
  }

  function lintFailed(err) {
    say(texts.lint_failed + (err && err.message ? err.message : err), "error");
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
      var list = document.getElementById("deploy-warnings");
      list.textContent = "";
      warnings.forEach(function (w) { list.appendChild(problemItem(w, fileName())); });
      showServer(warnings, fill(texts.confirm_needed, { n: warnings.length }));
      confirmEl.hidden = false;
      say(fill(texts.confirm_needed, { n: warnings.length }), "error");
      document.getElementById("btn-confirm-deploy").focus();
      return;
    }
    var problems = problemsOf(answer.body);
    if (answer.status === 422 && problems.length) {
      say(fill(texts.not_deployed, { n: problems.length }), "error");
      showServer(problems, fill(texts.problems, { n: problems.length }));
      return;
    }
    say(texts.failed + ((answer.body && answer.body.detail) || answer.status), "error");
  }

  async function validate() {
    say(texts.validating, "info");
    var answer = await post(canvasEl.dataset.validateUrl);
    if (answer.status !== 200) { refused(answer); return; }
    if (answer.body.ok && !answer.body.problems.length) {
      showServer([], texts.valid);
      say(texts.valid, "success");
    } else if (answer.body.ok) {
      var w = answer.body.problems.length;
      showServer(answer.body.problems, fill(texts.valid_warnings, { n: w }));
      say(fill(texts.valid_warnings, { n: w }).replace(/[：:]$/, ""), "info");
    } else {
      var n = answer.body.problems.length;
      showServer(answer.body.problems, fill(texts.problems, { n: n }));
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
    showServer([], texts.valid);
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
      mark(allProblems());
    });
  }

  open(source).then(function () { setDirty(false); say(texts.loaded, "info"); })
    .catch(function (err) { say(texts.load_failed + (err && err.message ? err.message : err), "error"); });
}());
