/* The case page's process diagram: the bpmn-js NavigatedViewer (pan and zoom) on the BPMN of
   the case's process version, elements passed marked `cf-done`, current ones `cf-active`. */
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) { return; }
  var completed = JSON.parse(box.getAttribute("data-completed") || "[]");
  var active = JSON.parse(box.getAttribute("data-active") || "[]");
  var viewer = new window.BpmnJS({ container: box });
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
      canvas.zoom("fit-viewport");
      box.setAttribute("data-ready", "true");
    })
    .catch(function () {
      box.textContent = box.getAttribute("data-failed");
      box.classList.add("failed");
    });
}());
