/* The case page's process diagram: the bpmn-js NavigatedViewer (pan and zoom) on the BPMN of
   the case's process version, elements passed marked `cf-done`, current ones `cf-active`; lanes
   drawn with their roles' names (static/editor-zh.js; data-roles), zoom buttons beside it.
   Opened fitted to the box, but never so small that labels cannot be read: then at the
   smallest legible zoom, centred on the current step ("适应窗口" shows the whole). */
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) { return; }
  var LEGIBLE = 0.6;  // below this the 12px labels are too small to read
  var completed = JSON.parse(box.getAttribute("data-completed") || "[]");
  var active = JSON.parse(box.getAttribute("data-active") || "[]");
  var roles = JSON.parse(box.getAttribute("data-roles") || "{}");
  var modules = window.cadreflowEditors ? [window.cadreflowEditors.laneModule(roles, false)] : [];
  var viewer = new window.BpmnJS({ container: box, additionalModules: modules });
  window.cadreflowDiagram = viewer;

  function zoomBy(factor) {
    var canvas = viewer.get("canvas");
    var viewbox = canvas.viewbox();
    var centre = { x: viewbox.x + viewbox.width / 2, y: viewbox.y + viewbox.height / 2 };
    canvas.zoom(Math.min(4, Math.max(0.2, canvas.zoom() * factor)), centre);
  }

  function opening() {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    canvas.zoom("fit-viewport", "auto");
    if (canvas.zoom() >= LEGIBLE) { return; }
    canvas.zoom(LEGIBLE);
    var current = active.map(function (id) { return registry.get(id); }).filter(Boolean)[0];
    if (current) {
      var viewbox = canvas.viewbox();
      canvas.viewbox({
        x: current.x + current.width / 2 - viewbox.width / 2,
        y: current.y + current.height / 2 - viewbox.height / 2,
        width: viewbox.width,
        height: viewbox.height
      });
    }
  }

  function on(id, action) {
    var button = document.getElementById(id);
    if (button) { button.addEventListener("click", action); }
  }

  fetch(box.getAttribute("data-xml"), { credentials: "same-origin", headers: { Accept: "application/xml" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      completed.forEach(function (id) {
        if (registry.get(id) && active.indexOf(id) < 0) { canvas.addMarker(id, "cf-done"); }
      });
      active.forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, "cf-active"); }
      });
      opening();
      on("diagram-zoom-in", function () { zoomBy(1.25); });
      on("diagram-zoom-out", function () { zoomBy(0.8); });
      on("diagram-fit", function () { canvas.zoom("fit-viewport", "auto"); });
      box.setAttribute("data-ready", "true");
    })
    .catch(function () {
      box.textContent = box.getAttribute("data-failed");
      box.classList.add("failed");
    });
}());
